"""Execution engines: the local one (one machine, bounded memory, resumable)."""
