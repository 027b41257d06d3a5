"""How far this process has read into an input file, for the progress display's bytes and ETA.

The readers hand over records, not file offsets; the offset of the descriptor a reader holds
open on the file is the operating system's (`/proc/self/fdinfo` on Linux). For a compressed file
it counts compressed bytes, the unit its size is known in up front. Where the offset cannot be
read (another system, a reader using positioned reads such as Parquet's), progress moves a whole
file at a time.
"""

from __future__ import annotations

import os

_FD = "/proc/self/fd"


def read_position(path: str) -> int | None:
    """Bytes of `path` read so far by a descriptor this process holds open on it, or None."""
    target = os.path.realpath(path)
    try:
        descriptors = os.listdir(_FD)
    except OSError:
        return None
    found: int | None = None
    for fd in descriptors:
        try:
            if os.readlink(f"{_FD}/{fd}") != target:
                continue
            with open(f"/proc/self/fdinfo/{fd}", encoding="ascii") as info:
                for row in info:
                    if row.startswith("pos:"):
                        found = max(found or 0, int(row.split()[1]))
        except (OSError, ValueError):
            continue
    return found
