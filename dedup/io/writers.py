"""Writers: the run's Parquet files and report, written aside and renamed into place.

A run's folder holds `unique.parquet`, `duplicates.parquet`, `rejects.parquet` and `report.json`.
Each file is written under a hidden temporary name in the same folder, fsynced, then renamed over
the old one, and the folder is fsynced after each rename, so what a finished run wrote survives a
power cut. `report.json` is removed first and written last, so a folder with a `report.json`
always holds one complete run, and a folder without one holds none. One run writes a folder at a
time: `claim` takes the folder's lock (`flock` on the folder, released by the kernel when the
process ends, however it ends).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
from collections.abc import Collection, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import xxhash

from dedup.errors import ConfigError, OutputError
from dedup.settings import OutputConfig as OutputConfig

#: What a run leaves in its output folder; `report.html` is `dedup report`'s page of that run,
#: removed with the rest when a run overwrites the folder.
OUTPUT_FILES = (
    "unique.parquet",
    "duplicates.parquet",
    "rejects.parquet",
    "paragraphs.parquet",
    "report.json",
    "report.html",
)
REPORT = "report.json"
_NO_DICTIONARY = frozenset({"id", "text", "paragraphs", "duplicate_of", "cluster_id", "raw", "reason"})


def prepare(cfg: OutputConfig, resuming: bool = False) -> Path:
    """Create the output folder, refusing one that holds an earlier run unless `overwrite`.

    Args:
        cfg: the output section.
        resuming: the folder holds this same run's checkpoints; output files without a
            `report.json` are then this run's own, half published when it was stopped.

    Raises:
        OutputError: the folder holds an earlier run and `overwrite` is off, or cannot be created.
    """
    folder = refuse_earlier(cfg, resuming)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"{folder}: cannot create the output folder: {err.strerror or err}") from None
    return folder


def refuse_earlier(cfg: OutputConfig, resuming: bool = False) -> Path:
    """The output folder, refused (creating nothing) when it holds an earlier run and not `overwrite`.

    Raises:
        OutputError: the path is no folder, or the folder holds an earlier run's outputs.
    """
    folder = Path(cfg.dir)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder}: the output path exists and is not a folder")
    earlier = [name for name in OUTPUT_FILES if (folder / name).exists()]
    if resuming and not (folder / REPORT).exists():
        earlier = []
    if earlier and not cfg.overwrite:
        raise OutputError(
            f"{folder}: the output folder holds an earlier run ({', '.join(earlier)}); "
            "set output.overwrite: true or choose another output.dir"
        )
    return folder


@contextmanager
def claim(cfg: OutputConfig) -> Iterator[Path]:
    """Hold the output folder's lock (creating the folder) while a run writes it.

    The lock is `flock` on the folder itself: no lock file is left behind, and the kernel releases
    it when the process ends, however it ends (a kill -9 leaves no stale lock).

    Raises:
        OutputError: another run holds the lock, or the folder cannot be created or opened.
    """
    folder = Path(cfg.dir)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder}: the output path exists and is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as err:
        raise OutputError(f"{folder}: cannot create the output folder: {err.strerror or err}") from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputError(
                f"{folder}: another dedup run is writing to this output folder; "
                "wait for it to finish or choose another output.dir"
            ) from None
        yield folder
    finally:
        os.close(handle)  # releases the lock


def failure(folder: Path, err: OSError) -> OutputError:
    """The one-line error for an output folder that cannot be written (full disk, no permission)."""
    code = err.errno
    if code is None:  # Arrow's I/O errors carry the cause in their text: "... [errno 28] ..."
        found = re.search(r"\[errno (\d+)\]", str(err), re.IGNORECASE)
        code = int(found.group(1)) if found else None
    cause = os.strerror(code) if code else str(err)
    if code is None and _SHORT_WRITE.search(cause):  # Arrow's words for a write cut short
        cause = f"a write stopped short, the disk is probably full ({cause})"
    return OutputError(f"{folder}: cannot write the output folder: {cause}")


_SHORT_WRITE = re.compile(r"\d+ requested and \d+ written")


def refuse_inputs_inside(folder: Path, paths: tuple[str, ...], files: list[str]) -> None:
    """Refuse input that is, holds or lies inside the output folder (a run would read its own outputs).

    Raises:
        ConfigError: an `input.paths` entry is the output folder or a folder holding it, or a file it
            names is inside the output folder.
    """
    out = folder.resolve()
    problem = None
    for entry in paths:
        if os.path.isdir(entry) and out.is_relative_to(Path(entry).resolve()):
            relation = "is" if out == Path(entry).resolve() else "holds"
            problem = f"'{entry}' {relation} the output folder"
            break
    for file in files if problem is None else []:
        if Path(file).resolve().is_relative_to(out):
            problem = f"'{file}' is inside the output folder"
            break
    if problem is not None:
        raise ConfigError(
            f"input.paths: {problem} (output.dir: {folder}); a run would read its own outputs. "
            "Choose an output.dir outside the input"
        )


def sync_folder(folder: Path) -> None:
    """Fsync a folder, so the renames and removals in it survive a power cut."""
    try:
        handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as err:
        raise failure(folder, err) from None
    try:
        os.fsync(handle)
    except OSError as err:
        raise failure(folder, err) from None
    finally:
        os.close(handle)


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
    sync_folder(folder)


def _parquet_options(schema: pa.Schema, cfg: OutputConfig) -> dict[str, Any]:
    # Unique-per-row text columns gain nothing from dictionary encoding and cost time to try.
    dictionary = [c for c in schema.names if c not in _NO_DICTIONARY]
    level = 1 if cfg.compression == "zstd" else None  # zstd's fastest level: near level 3's size here
    return {"compression": cfg.compression, "compression_level": level, "use_dictionary": dictionary}


def write_table(folder: Path, name: str, table: pa.Table, cfg: OutputConfig) -> None:
    """Write one Parquet file atomically (aside, then renamed)."""
    with TableWriter(folder / name, table.schema, cfg) as writer:
        writer.write(table)


class TableWriter:
    """Writes one Parquet file in pieces, aside and renamed into place when closed without error.

    Row groups are cut where the rows say, not where the pieces happen to end: a group closes
    after `ROW_GROUP_ROWS` rows or once its text passes `ROW_GROUP_BYTES`, so the same rows give
    the same file byte for byte however they were batched on the way (shards, workers, a resumed run).

    Each row group is encoded and compressed on a thread of the writer's own, which Arrow runs
    without the GIL: the caller builds the next rows meanwhile, and the writers of one run encode
    side by side when a caller `finish`es all its writers before closing one (a run's `unique` and
    `duplicates` files alone: 0.41 s one after the other, 0.18 s side by side, on 2 cores; in a
    whole run the write stage gains less, since building the rows stays on one thread). One row
    group is in the making at a time, so a writer holds at most two groups' rows; the file is the
    same bytes (the groups go in order, through one thread).
    """

    ROW_GROUP_ROWS = 65_536
    ROW_GROUP_BYTES = 64 << 20

    def __init__(self, path: Path, schema: pa.Schema, cfg: OutputConfig) -> None:
        self.path, self.schema = path, schema
        self.temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        self.writer = pq.ParquetWriter(self.temp, schema, **_parquet_options(schema, cfg))
        self.held: list[pa.Table] = []
        self.sizes: list[npt.NDArray[np.int64]] = []
        self._encoder: ThreadPoolExecutor | None = None
        self._encoding: Future[None] | None = None  # the row group on the writer's thread

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        if kind is None:
            self.close()
            return
        with contextlib.suppress(Exception):  # the run is failing already: that error is the one told
            self._wait()
        self._discard()

    def _discard(self) -> None:
        """Stop the writer's thread, close the file as far as it closes, and remove it."""
        self._stop()
        with contextlib.suppress(Exception):  # already closed, or closing flushes and fails again
            self.writer.close()
        self.temp.unlink(missing_ok=True)

    def write(self, table: pa.Table) -> None:
        """Add rows (cast to the file's schema); full row groups are written out.

        Raises:
            OSError: writing an earlier row group failed.
        """
        if table.num_rows == 0:
            return
        self.held.append(table.cast(self.schema) if table.schema != self.schema else table)
        self.sizes.append(_row_bytes(table))
        while self.held:  # rows that end exactly at a row group's end leave none held
            sizes = np.concatenate(self.sizes)
            over = np.flatnonzero(np.cumsum(sizes) >= self.ROW_GROUP_BYTES)
            cut = min(self.ROW_GROUP_ROWS, int(over[0]) + 1 if len(over) else len(sizes) + 1)
            if cut > len(sizes):
                return
            held = pa.concat_tables(self.held)
            self._emit(held.slice(0, cut))
            rest = held.slice(cut)
            self.held, self.sizes = ([rest], [sizes[cut:]]) if rest.num_rows else ([], [])

    def _emit(self, table: pa.Table) -> None:
        """Hand one row group to the writer's thread, once the one before it is written."""
        self._wait()
        if self._encoder is None:
            self._encoder = ThreadPoolExecutor(1, thread_name_prefix="dedup-parquet")
        self._encoding = self._encoder.submit(self._write_group, table)

    def _write_group(self, table: pa.Table) -> None:
        self.writer.write_table(table.combine_chunks(), row_group_size=table.num_rows)

    def _wait(self) -> None:
        """Wait for the row group in the making; raise what writing it raised."""
        encoding, self._encoding = self._encoding, None
        if encoding is not None:
            encoding.result()

    def _stop(self) -> None:
        if self._encoder is not None:
            self._encoder.shutdown(wait=True)
            self._encoder = None

    def finish(self) -> None:
        """Hand the rows still held to the writer's thread as the last row group; `close` waits.

        Returns once the row group before it is written, without waiting for this one: a caller
        finishing all its writers before closing any has their last row groups encoded side by side.

        Raises:
            OSError: writing an earlier row group failed.
        """
        if self.held:
            self._emit(pa.concat_tables(self.held))
            self.held, self.sizes = [], []

    def close(self) -> None:
        """Write the last row group, fsync and rename the file into place.

        On any failure (Ctrl-C included) the temporary file is removed.

        Raises:
            OutputError: the file cannot be written.
        """
        try:
            self.finish()
            self._wait()
            self._stop()
            self.writer.close()
            with open(self.temp, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(self.temp, self.path)
        except BaseException as err:
            self._discard()
            if isinstance(err, OSError):
                raise OutputError(f"{self.path}: cannot write: {err.strerror or err}") from None
            raise


def _row_bytes(table: pa.Table) -> npt.NDArray[np.int64]:
    """Each row's bytes of string data (what dominates a row group's size), plus a fixed 64."""
    sizes = np.full(table.num_rows, 64, dtype=np.int64)
    for column in table.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            lengths = pc.binary_length(column).to_numpy(zero_copy_only=False)
            sizes += np.nan_to_num(np.asarray(lengths, dtype=np.float64)).astype(np.int64)
    return sizes


def digest_file(path: Path) -> str:
    """xxh3-64 of a file's bytes, as hex (written into `report.json` for each output)."""
    digest = xxhash.xxh3_64()
    with open(path, "rb") as handle:
        while block := handle.read(4 << 20):
            digest.update(block)
    return digest.hexdigest()


def remove_output(path: Path) -> None:
    """Remove one output, whatever it is; nothing when none is there.

    A file, a link (never followed), or a folder of part files (an `engine: spark` run writes
    each output as one).

    Raises:
        OSError: it cannot be removed.
    """
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def remove_stale(folder: Path, written: Collection[str]) -> None:
    """Remove an earlier run's outputs (`OUTPUT_FILES`) that this run does not write, files or folders.

    `written` names what this run writes (it replaces those itself); `report.json` is left to
    `retract_report`, which the caller has already called.

    Raises:
        OutputError: one cannot be removed.
    """
    try:
        for name in OUTPUT_FILES:
            if name != REPORT and name not in written:
                remove_output(folder / name)
    except OSError as err:
        raise failure(folder, err) from None


def publish(staged: Path, folder: Path) -> None:
    """Put a staged output file into `folder` under its name, atomically; the staged copy stays.

    A hard link (no copy) under a temporary name, renamed over the old file; a copy where links
    are not possible. A folder under the name (an `engine: spark` run writes each output as a
    folder of part files) is removed first, as the Spark engine removes a file.
    """
    final = folder / staged.name
    temp = folder / f".{staged.name}.{os.getpid()}.publish"
    try:
        temp.unlink(missing_ok=True)
        try:
            os.link(staged, temp)
        except OSError:
            shutil.copyfile(staged, temp)
        if final.is_dir() and not final.is_symlink():
            remove_output(final)  # a folder cannot be renamed over
        os.replace(temp, final)
        # `rename` between two links of one file (an earlier try published this very file) does
        # nothing and leaves `temp`: the link it left goes.
        temp.unlink(missing_ok=True)
    except OSError as err:
        temp.unlink(missing_ok=True)
        raise OutputError(f"{final}: cannot write: {err.strerror or err}") from None


def write_report(folder: Path, report: dict[str, Any]) -> None:
    """Write `report.json` atomically; it marks the folder's run as complete."""
    text = json.dumps(report, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    _replace(folder, REPORT, lambda path: Path(path).write_text(text, encoding="utf-8"))


def retract_report(folder: Path) -> None:
    """Remove an earlier `report.json` (durably) before the other files are replaced."""
    try:
        (folder / REPORT).unlink(missing_ok=True)
    except OSError as err:
        raise failure(folder, err) from None
    sync_folder(folder)
