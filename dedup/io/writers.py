"""Writers: the run's Parquet files and report, written aside and renamed into place.

A run's folder holds `unique.parquet`, `duplicates.parquet`, `rejects.parquet` and `report.json`.
Each file is written under a hidden temporary name in the same folder, fsynced, then renamed over
the old one. `report.json` is removed first and written last, so a folder with a `report.json`
always holds one complete run, and a folder without one holds none.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from dedup.errors import OutputError

OUTPUT_FILES = ("unique.parquet", "duplicates.parquet", "rejects.parquet", "report.json")
REPORT = "report.json"
_NO_DICTIONARY = frozenset({"id", "text", "paragraphs", "duplicate_of", "cluster_id", "raw", "reason"})


@dataclass(frozen=True, slots=True)
class OutputConfig:
    """Where a run writes.

    Attributes:
        dir: the output folder (created if missing).
        overwrite: replace an earlier run's outputs in `dir`; without it such a folder is an error.
        compression: Parquet compression codec.
    """

    dir: str = "out"
    overwrite: bool = False
    compression: Literal["zstd", "snappy", "gzip", "none"] = "zstd"


def prepare(cfg: OutputConfig) -> Path:
    """Create the output folder, refusing one that holds an earlier run unless `overwrite`.

    Raises:
        OutputError: the folder holds an earlier run and `overwrite` is off, or cannot be created.
    """
    folder = Path(cfg.dir)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder}: the output path exists and is not a folder")
    earlier = [name for name in OUTPUT_FILES if (folder / name).exists()]
    if earlier and not cfg.overwrite:
        raise OutputError(
            f"{folder}: the output folder holds an earlier run ({', '.join(earlier)}); "
            "set output.overwrite: true or choose another output.dir"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"{folder}: cannot create the output folder: {err.strerror or err}") from None
    return folder


def _replace(folder: Path, name: str, write: Any) -> None:
    final = folder / name
    temp = folder / f".{name}.{os.getpid()}.tmp"
    try:
        write(temp)
        with open(temp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temp, final)
    except OSError as err:
        temp.unlink(missing_ok=True)
        raise OutputError(f"{final}: cannot write: {err.strerror or err}") from None


def write_table(folder: Path, name: str, table: pa.Table, cfg: OutputConfig) -> None:
    """Write one Parquet file atomically (aside, then renamed)."""
    # Unique-per-row text columns gain nothing from dictionary encoding and cost time to try.
    dictionary = [c for c in table.column_names if c not in _NO_DICTIONARY]
    level = 1 if cfg.compression == "zstd" else None  # zstd's fastest level: near level 3's size here

    def write(path: Path) -> None:
        codec = cfg.compression
        pq.write_table(table, path, compression=codec, compression_level=level, use_dictionary=dictionary)

    _replace(folder, name, write)


def write_report(folder: Path, report: dict[str, Any]) -> None:
    """Write `report.json` atomically; it marks the folder's run as complete."""
    text = json.dumps(report, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    _replace(folder, REPORT, lambda path: Path(path).write_text(text, encoding="utf-8"))


def retract_report(folder: Path) -> None:
    """Remove an earlier `report.json` before the other files are replaced."""
    (folder / REPORT).unlink(missing_ok=True)
