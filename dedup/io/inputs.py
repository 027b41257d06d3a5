"""The input files a config names: globs and folders expanded, in a stable order.

Light (the standard library only), so that `dedup run` can size its input before it imports the
readers (`dedup.engines.workers.start_early`).
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

from dedup.errors import InputError


def discover(paths: tuple[str, ...]) -> list[str]:
    """The input files named by `paths`, in a stable order, as display paths.

    Raises:
        InputError: an entry names nothing, or a glob matches no file.
    """
    found: list[str] = []
    for entry in paths:
        if any(ch in entry for ch in "*?["):
            matches = sorted(m for m in glob.glob(entry, recursive=True) if os.path.isfile(m))
            if not matches:
                raise InputError("the glob matched no files", path=entry)
            found.extend(matches)
        elif os.path.isdir(entry):
            root = Path(entry)
            files = sorted(
                p.relative_to(root).as_posix()
                for p in root.rglob("*")
                if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
            )
            if not files:
                raise InputError("the folder holds no files", path=entry)
            found.extend(os.path.join(entry, f) for f in files)
        elif os.path.isfile(entry):
            found.append(entry)
        else:
            raise InputError("no such file or folder", path=entry)
    return found
