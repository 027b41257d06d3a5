"""Input and output: the only part of `dedup` that touches data files."""
