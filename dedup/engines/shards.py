"""Shards: a stretch of one input file, processed alone and kept on disk.

`process` turns a read stretch into a finished shard (`featurize`: cleaned records, digests, band
keys, shingle sets, lengths; and its rejects) in the checkpoint folder, in this process or in one of
the worker processes of `Featurizers`; `Shard` is its handle;
`ShardSource` gives the global steps (`dedup.resolve`) read access to all shards by row, touching
only the rows asked for.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import multiprocessing.context
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from dedup import figures, kernels, normalize
from dedup.config import Config
from dedup.engines import workers
from dedup.engines.workers import COMPRESSION_RATIO as COMPRESSION_RATIO
from dedup.engines.workers import PARALLEL_SHARDS as PARALLEL_SHARDS
from dedup.engines.workers import SHARD_TEXT_BYTES as SHARD_TEXT_BYTES
from dedup.engines.workers import Limits as Limits
from dedup.engines.workers import estimated_bytes as estimated_bytes
from dedup.featurize import featurize
from dedup.io import fields, readers, work
from dedup.outputs import rejects_table
from dedup.records import ID, PARAGRAPHS, SOURCE_FILE, SOURCE_LINE, TEXT, Reject, fail_fast
from dedup.resolve import Clock, Duplicates, Part, collector_paused

#: Seconds a failing run waits, at most, for the thread managing its worker processes to end.
ABANDON_WAIT = 10.0
#: Corpora of at most this many records keep their shards' arrays mapped between calls...
KEEP_OPEN_ROWS = 500_000
#: ... the first this many of them (a mapping holds no file descriptor, but counts against the
#: process's limit on mappings, 65,530 by default; a crawl comes as tens of thousands of files).
KEEP_OPEN_ARRAYS = 8192


def split(batch: readers.ReadBatch, cut: int) -> tuple[readers.ReadBatch, readers.ReadBatch]:
    """Split a read batch before record `cut`; rejects go with the part holding their line."""
    first, rest = batch.records.slice(0, cut), batch.records.slice(cut)
    line = rest[SOURCE_LINE][0].as_py()
    before = [r for r in batch.rejects if r.source_line is None or r.source_line < line]
    after = [r for r in batch.rejects if r.source_line is not None and r.source_line >= line]
    first_part = readers.ReadBatch(first, before, batch.skipped_blank, batch.skipped_records)
    return first_part, readers.ReadBatch(rest, after, 0)


def _merge(batches: list[readers.ReadBatch]) -> readers.ReadBatch:
    rejects = [r for b in batches for r in b.rejects]
    skipped = sum(b.skipped_blank for b in batches)
    return readers.ReadBatch(
        readers.concat([b.records for b in batches]),
        rejects,
        skipped,
        add_counts(b.skipped_records for b in batches),
    )


def add_counts(counts: Iterable[dict[str, int]]) -> dict[str, int]:
    """Counts by key added up, keys in sorted order."""
    total: dict[str, int] = {}
    for one in counts:
        for key, value in one.items():
            total[key] = total.get(key, 0) + value
    return dict(sorted(total.items()))


def pieces(batches: Iterator[readers.ReadBatch], limits: Limits) -> Iterator[readers.ReadBatch]:
    """Regroup one file's read batches into shards within `limits`; the cuts depend on the data alone.

    A single record larger than the limits makes a shard of its own.
    """
    held: list[readers.ReadBatch] = []
    count = size = 0
    for incoming in batches:
        batch = incoming
        while True:
            sizes = np.asarray(pc.binary_length(batch.records[TEXT]).to_numpy(zero_copy_only=False), np.int64)
            raw = sum(len(r.raw or "") for r in batch.rejects)
            counts, texts = _first_parts(batch, sizes)
            fit = int(np.searchsorted(counts, limits.records - count, side="right"))
            over = np.flatnonzero(texts + size >= limits.text_bytes)
            cut = min(fit, int(over[0]) + 1 if len(over) else len(sizes))
            if cut == 0 and not held:
                cut = 1
            if cut >= batch.records.num_rows:
                held.append(batch)
                count += batch.records.num_rows + len(batch.rejects)
                size += int(sizes.sum()) + raw
                break
            if cut > 0:
                first, batch = split(batch, cut)
                held.append(first)
            yield _merge(held)
            held, count, size = [], 0, 0
        if count >= limits.records or size >= limits.text_bytes:
            yield _merge(held)
            held, count, size = [], 0, 0
    if held:
        yield _merge(held)


def _first_parts(
    batch: readers.ReadBatch, sizes: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """What the first part of `batch` holds when it is `split` before record `k + 1`, for each `k`.

    The rejects go with the part holding their line (`split`): the first part takes those before
    the next record's line, and all of them when it takes every record.

    Returns:
        `(counts, text)`, `int64 (n,)` each: records and rejects, and bytes of text (the records'
        and the rejects' raw text), in the first `k + 1` records' part.
    """
    n = len(sizes)
    at = np.array([-1 if r.source_line is None else r.source_line for r in batch.rejects], dtype=np.int64)
    raw = np.array([len(r.raw or "") for r in batch.rejects], dtype=np.int64)
    order = np.argsort(at, kind="stable")
    raw_before = np.zeros(len(at) + 1, dtype=np.int64)
    np.cumsum(raw[order], out=raw_before[1:])
    lines = np.asarray(batch.records[SOURCE_LINE].to_numpy(zero_copy_only=False), dtype=np.int64)
    taken = np.append(np.searchsorted(at[order], lines[1:], side="left"), len(at))[:n]
    counts = np.arange(1, n + 1, dtype=np.int64) + taken
    return counts, np.cumsum(sizes) + raw_before[taken]


def process(
    piece: readers.ReadBatch,
    file: str,
    name: str,
    config: Config,
    store: work.WorkDir,
    clock: Clock,
    figure_digests: bool = True,
) -> None:
    """Featurize one shard and save it (marker last); `figure_digests` as `featurize` takes it."""
    records, rejects = piece.records, list(piece.rejects)
    fail_fast(rejects, config.on_error)
    text_bytes = int(pc.sum(pc.binary_length(records[TEXT])).as_py() or 0)
    features = featurize(records, config, clock, figure_digests)
    rejects += features.rejects
    lines = [r.source_line for r in rejects if r.source_line is not None]
    lines += [records[SOURCE_LINE][0].as_py(), records[SOURCE_LINE][-1].as_py()] if records.num_rows else []
    rejects.sort(key=lambda r: -1 if r.source_line is None else r.source_line)
    meta = {
        "file": file,
        "first_line": min(lines, default=0),
        "last_line": max(lines, default=0),
        "rows": len(features),
        "read": records.num_rows + len(piece.rejects),
        "rejected": len(rejects),
        "skipped": piece.skipped_blank,
        "skipped_records": piece.skipped_records,
        "text_bytes": text_bytes,
    }
    # Only estimating needs whole signatures after banding.
    arrays = features.arrays(signatures=config.lsh.verify == "estimate")
    if features.paragraph is not None:  # granularity: paragraph (`dedup.engines.paragraphs`)
        arrays.update({f"paragraph_{k}": v for k, v in features.paragraph.arrays().items()})
    store.save_shard(name, features.records, rejects_table(rejects), arrays, meta)


def _process_apart(
    handed: Handed, file: str, name: str, config: Config, store: work.WorkDir
) -> dict[str, float]:
    """`process` in a worker process; returns the seconds it spent in each stage.

    `DEDUP_CRASH_AT=worker:<file>-<part>` kills the worker as it starts that shard (fault injection,
    as `dedup.engines.local` does for this process).
    """
    if os.environ.get("DEDUP_CRASH_AT") == f"worker:{name}":
        os.kill(os.getpid(), signal.SIGKILL)
    clock = Clock({})
    try:
        batch = handed.batch()  # `HandedReadError` as it is: no write failed
        process(batch, file, name, config, store, clock)
    except OSError as err:  # writing the shard failed (a full disk): the run's own error, not a death
        raise ShardWriteError.of(err) from None
    finally:
        give_back_memory()
    return clock.timings


def give_back_memory() -> None:
    """Return the memory a process freed to the system: Arrow's pool, then the C heap.

    A worker waits between shards, and after the last one through the keep step; what it freed
    would otherwise stay in its allocators' free lists, counted in its resident memory. The run's
    own process calls it after the keep step, before it writes the outputs.
    """
    pa.default_memory_pool().release_unused()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: no `malloc_trim`
        ctypes.CDLL(None).malloc_trim(0)


def _decide_apart(part: Part) -> Duplicates:
    """A share of the keep step's groups decided in a worker process (`resolve.Part.decide`).

    The part's source is the run's shards, mapped here from their files (`ShardSource` travels as
    them). What the worker freed goes back to the system after: it idles through the rest of the run.
    """
    try:
        return part.decide()
    finally:
        give_back_memory()


def _conflicts_apart(texts: list[str], pairs: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """The figures rule in a worker process: `bool (len(pairs),)` (the collector paused).

    Every text is held by some pair (`resolve._Verifier._hand_over` sends only those), so each is
    read once (`figures.Packer`) and the pairs go to the compiled comparison as they came. The
    statements kept for reuse (by the few records `figures.facts` reads) are let go after, while
    the collector still waits: the worker then idles through the rest of the keep step.
    """
    with collector_paused():
        try:
            packer = figures.Packer()
            for text in texts:
                packer.add(text)
            return figures.clashes(packer.finish(), pairs)
        finally:
            figures.forget()


class ShardWriteError(OSError):
    """A worker could not write its shard (the `OSError` it met, told apart from a worker's death)."""

    @classmethod
    def of(cls, err: OSError) -> ShardWriteError:
        """The error a worker met, as this type: its code and text, or its text alone.

        An error without a code (Arrow's I/O errors: "... [errno 28] No space left on device",
        "247520 requested and 198640 written") keeps its text, which `OSError(None, None)` would
        print as "[Errno None] None".
        """
        if err.errno is None:
            return cls(str(err))
        return cls(err.errno, err.strerror, err.filename)


class HandedReadError(Exception):
    """A worker could not read the records handed to it: their file was removed or damaged.

    Its text is `<file>: <cause>`. The run stops and keeps the shards made for a rerun
    (`dedup.engines.local`), as when a worker dies; no write failed.
    """


@dataclass(frozen=True, slots=True)
class Handed:
    """A shard as it crosses to a worker process: its records as one Arrow IPC stream, the rest as read.

    Arrow's IPC writer writes only the rows of a sliced table, where pickling the slice would pickle
    the whole read block it was cut from, and copying its rows out first (`take`) costs a copy more:
    on 5 copies of Reuters+BBC at `workers: 0`, 0.22 s of the run's own process went to that copy.
    The types of the records' columns cross unchanged (an IPC stream holds the schema).

    The stream goes through a file in the run's checkpoint folder when one is given (`of`): the
    run's process writes it once and the worker maps it, where a stream sent through the pool's
    pipe is copied five times more, each time into fresh memory (into bytes, into the pickle, into
    the pipe, out of it, out of the pickle). On the 5-copies news corpus at `workers: 0` that made
    whole runs 3.6% faster (median of 15 paired runs). The worker removes the file once it has
    mapped it (`batch`); a file that cannot be written leaves the stream in memory, as bytes.

    Attributes:
        stream: the records (`readers.ReadBatch.records`) as an Arrow IPC stream, bytes; empty
            when `path` holds them.
        rejects, skipped_blank, skipped_records: as in `readers.ReadBatch`.
        path: the file holding the stream, or None.
        rows: how many records the file holds: a stream cut where one of its messages ends reads
            as a whole shorter one, so the count is what tells it apart.
    """

    stream: bytes
    rejects: list[Reject]
    skipped_blank: int
    skipped_records: dict[str, int]
    path: str | None = None
    rows: int = 0

    @classmethod
    def of(cls, piece: readers.ReadBatch, path: Path | None = None) -> Handed:
        """The shard `piece`, its records written to an IPC stream (only the rows of a slice).

        Args:
            piece: the shard as read.
            path: a file to hold the stream; None (or a file that cannot be written) keeps it in memory.
        """
        rest = (piece.rejects, piece.skipped_blank, piece.skipped_records)
        if path is not None:
            try:
                with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, piece.records.schema) as out:
                    out.write_table(piece.records)
            except OSError:  # a full disk or a folder gone: the stream goes in memory instead
                with contextlib.suppress(OSError):
                    path.unlink(missing_ok=True)
            else:
                return cls(b"", *rest, path=str(path), rows=piece.records.num_rows)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, piece.records.schema) as writer:
            writer.write_table(piece.records)
        return cls(sink.getvalue().to_pybytes(), *rest)

    def batch(self) -> readers.ReadBatch:
        """The shard as it was read (its records read back from the stream, without a copy).

        A stream in a file is mapped and the file removed (the mapping outlives its name).

        Raises:
            HandedReadError: the file is gone, or does not hold the whole stream it was given.
        """
        if self.path is None:
            records = pa.ipc.open_stream(self.stream).read_all()
        else:
            try:
                records = pa.ipc.open_stream(pa.memory_map(self.path)).read_all()
            except (OSError, pa.ArrowException) as err:
                cause = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
                raise HandedReadError(f"{self.path}: {cause}") from None
            if records.num_rows != self.rows:
                raise HandedReadError(
                    f"{self.path}: it holds {records.num_rows:,} of the shard's {self.rows:,} records"
                )
            with contextlib.suppress(OSError):
                os.unlink(self.path)
        return readers.ReadBatch(records, self.rejects, self.skipped_blank, self.skipped_records)


@contextlib.contextmanager
def _main_module_hidden() -> Iterator[None]:
    """Worker processes started inside do not run the caller's main script again.

    `multiprocessing` (spawn and forkserver) re-imports the main module in each new process, as
    `__mp_main__`, so a script calling `dedup.run` without an `if __name__ == "__main__":` guard
    would run again in every worker (its top-level code, and `dedup.run` with it). The workers need
    nothing of it: what they run lives in this module. Without the main module's `__file__` and
    `__spec__` while a process starts, `multiprocessing.spawn.get_preparation_data` names no main
    module to import.
    """
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    saved: dict[str, Any] = {k: main.__dict__[k] for k in ("__file__", "__spec__") if k in main.__dict__}
    main.__dict__.pop("__file__", None)
    main.__dict__["__spec__"] = None
    try:
        yield
    finally:
        main.__dict__.pop("__spec__", None)
        main.__dict__.update(saved)


def _watch(lifeline: Connection) -> None:
    """A worker's initializer: exit at once when the run's process is gone (`lifeline` at its end).

    A killed run cannot stop its workers, and a worker of `concurrent.futures` would otherwise wait
    for work forever, holding its memory and the terminal's pipes.
    """

    def wait() -> None:
        with contextlib.suppress(EOFError, OSError):
            lifeline.recv_bytes()
        os._exit(1)

    # Ctrl-C reaches the whole process group: the run's process handles it, and its end of the
    # lifeline closing ends the workers, without a traceback from each.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=wait, name="dedup-lifeline", daemon=True).start()


class Featurizers:
    """Worker processes that featurize shards (`process`) while this process reads the next ones.

    `count` processes, each running its kernels on one thread; a shard's files are written by the
    worker that made it, and they are the same bytes whichever process made them. The processes are
    forked from a fork server (`multiprocessing`'s "forkserver" start method) that imports this
    module once: a child forked from the run's own process would inherit its OpenMP and Arrow thread
    pools in whatever state they were in, which a fork leaves unusable. Nothing starts before the
    first `submit`; `close` stops the processes, dropping shards not yet started. Between the
    shards and `close` the workers take part in the keep step (a `resolve.Farm`): a share of its
    groups (`decide`) and parts of its figures rule (`conflicts`: its pairs cut into `count` parts,
    one read by the run's own process).
    """

    def __init__(self, count: int, config: Config, store: work.WorkDir) -> None:
        self.count, self.store = count, store
        self.config = replace(config, workers=1)
        self._pool: ProcessPoolExecutor | None = None
        self._started = False
        self._lifeline: Connection | None = None  # this process's end; the workers', `_watched`
        self._watched: Connection
        self._handed: list[Future[Any]] = []  # parts of the keep step (figures rule, groups)
        self._refused = 0  # parts of it no worker took

    def submit(self, piece: readers.ReadBatch, file: str, name: str) -> Future[dict[str, float]]:
        """Featurize and save one shard in a worker; the future gives its stage seconds.

        The future raises what `process` raised (a `DedupError` under `on_error: fail`), or
        `concurrent.futures.process.BrokenProcessPool` when a worker died (killed, out of memory).
        """
        self._started = True
        if self._pool is None:
            # The workers hold the reading end; the writing end closes with this process, however
            # it ends (a kill included), and each worker then exits instead of waiting forever.
            self._watched, self._lifeline = multiprocessing.Pipe(duplex=False)
            self._pool = ProcessPoolExecutor(
                self.count, mp_context=self.warm(), initializer=_watch, initargs=(self._watched,)
            )
        job = Handed.of(piece, self.store.handed_file(name))
        with _main_module_hidden():  # a worker starts here, when one more is needed
            return self._pool.submit(_process_apart, job, file, name, self.config, self.store)

    def conflicts(
        self, texts: list[str], pairs: npt.NDArray[np.int64]
    ) -> Future[npt.NDArray[np.bool_]] | None:
        """The figures rule on `pairs` of `texts` in a worker (`resolve.Farm`); None when none runs.

        The workers stay up after the shards, until `close`, for this: the keep step's first
        reading of figures is its longest single step.
        """
        if self._pool is None:
            return None
        try:
            with _main_module_hidden():
                future = self._pool.submit(_conflicts_apart, texts, pairs)
        except (RuntimeError, OSError, EOFError):  # a broken or shut-down pool raises RuntimeError
            self._refused += 1
            return None
        self._handed.append(future)
        return future

    def decide(self, part: Part) -> Future[Duplicates] | None:
        """A share of the keep step's groups decided in a worker (`resolve.Farm`); None when none runs."""
        if self._pool is None:
            return None
        try:
            with _main_module_hidden():
                future = self._pool.submit(_decide_apart, part)
        except (RuntimeError, OSError, EOFError):  # a broken or shut-down pool raises RuntimeError
            self._refused += 1
            return None
        self._handed.append(future)
        return future

    def lost(self) -> str | None:
        """Why parts of the keep step were done by the run's own process after all; None if none.

        Asked once the parts handed over have been waited for (`resolve` reads a failed part itself).
        """
        died = sum(1 for f in self._handed if f.done() and not f.cancelled() and f.exception() is not None)
        if not died and not self._refused:
            return None
        why = "a worker process stopped (killed, or out of memory)"
        if not died:
            why = "the worker processes had stopped (one was killed, or out of memory)"
        parts = died + self._refused
        return (
            f"{parts} part(s) of the keep step (its figures rule or a share of its groups) were "
            f"read by the run's own process: {why}"
        )

    @property
    def running(self) -> bool:
        """Whether the worker processes are up (started by `submit`, not closed or given up since)."""
        return self._pool is not None

    @property
    def started(self) -> bool:
        """Whether a shard was handed to the workers (closed since or not)."""
        return self._started

    @staticmethod
    def warm() -> multiprocessing.context.ForkServerContext:
        """Start the fork server without waiting for it (`workers.start_fork_server`); its context."""
        return workers.start_fork_server()

    def close(self) -> None:
        """Stop the worker processes (waiting for the shards they are making)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._lifeline is not None:
            self._lifeline.close()
            self._watched.close()
            self._lifeline = None

    def __enter__(self) -> Featurizers:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is not None:
            self.abandon()
        self.close()

    def abandon(self) -> None:
        """Stop the workers now, without waiting for their shards (the run is failing)."""
        if self._lifeline is not None:
            self._lifeline.close()  # each worker exits at once (`_watch`)
            self._watched.close()
            self._lifeline = None
        if self._pool is not None:
            # The pool's manager thread closes its wake-up pipe as it ends, while the interpreter's
            # exit hook (`concurrent.futures.process._python_exit`) writes to that pipe: racing,
            # the hook prints "Exception ignored ... Bad file descriptor" after Ctrl-C (CPython
            # 3.11; later versions lock the pipe, gh-125451). The workers exit at once (their
            # lifeline is closed), so the thread ends soon: wait for it, a bounded while.
            manager = getattr(self._pool, "_executor_manager_thread", None)  # gone after shutdown
            self._pool.shutdown(wait=False, cancel_futures=True)
            if isinstance(manager, threading.Thread):
                manager.join(timeout=ABANDON_WAIT)
            self._pool = None


@dataclass(frozen=True, slots=True)
class Shard:
    """A finished shard on disk and its counts."""

    base: Path
    file: str
    first_line: int
    last_line: int
    rows: int
    read: int
    rejected: int
    skipped: int
    text_bytes: int
    skipped_records: dict[str, int]

    @classmethod
    def load(cls, store: work.WorkDir, name: str) -> Shard:
        """The handle of a finished shard (its marker must be there)."""
        meta = store.shard_meta(name)
        assert meta is not None, f"shard {name} is not finished"
        fields = ("file", "first_line", "last_line", "rows", "read", "rejected", "skipped", "text_bytes")
        counts = {k: meta[k] for k in fields}
        return cls(
            store.shard_file(name, "x").with_suffix(""), **counts, skipped_records=meta["skipped_records"]
        )

    def _path(self, piece: str) -> Path:
        return self.base.with_name(f"{self.base.name}.{piece}")

    def table(self) -> pa.Table:
        """The shard's records (`id`, position, pass-through fields, `paragraphs`), mapped."""
        return work.load_table(self._path("arrow"))

    def column(self, name: str) -> pa.Array[Any]:
        """One column of the shard's records, copied into memory (the mapping is released)."""
        column = self.table()[name]
        return pa.concat_arrays([*column.chunks, pa.array([], column.type)])

    def rejects(self) -> pa.Table:
        """The shard's rejects, in line order."""
        return work.load_table(self._path("rejects.arrow"))

    def has(self, name: str) -> bool:
        """Whether the shard keeps the array `name`."""
        return self._path(f"{name}.npy").exists()

    def array(self, name: str) -> npt.NDArray[Any]:
        """One of the shard's arrays (`digests`, `keys`, `lengths`; `signatures` for `verify: estimate`)."""
        return work.load_array(self._path(f"{name}.npy"))


def passthrough_schema(shards: list[Shard]) -> pa.Schema:
    """The pass-through fields of all shards, in order of first appearance, with one type each.

    The type is decided from every shard's (`dedup.io.fields.unify`): a field whose types do not
    promote to one (an integer in one file, text in another) becomes JSON text, whatever the shards.
    """
    return pa.schema(fields.schema(work.load_schema(s._path("arrow")) for s in shards))


def conform(records: pa.Table, extra: pa.Schema) -> pa.Table:
    """`id`, position and the pass-through fields of `extra`, in that order and of those types."""
    columns: dict[str, Any] = {
        ID: records[ID],
        SOURCE_FILE: records[SOURCE_FILE],
        SOURCE_LINE: records[SOURCE_LINE],
    }
    for f in extra:
        if f.name not in records.column_names:
            columns[f.name] = pa.nulls(records.num_rows, f.type)
            continue
        columns[f.name] = fields.conform(records[f.name], records.schema.field(f.name), f)
    return fields.table(columns, {f.name: f for f in extra})


class ShardSource:
    """A `resolve.Source` over the valid rows of all shards (rows numbered in source order)."""

    def __init__(self, shards: list[Shard], valid: npt.NDArray[np.int64], config: Config) -> None:
        self.shards, self.valid, self.config = shards, valid, config
        self.offsets = np.cumsum([0] + [s.rows for s in shards]).astype(np.int64)
        self._located: tuple[
            npt.NDArray[np.int64], list[tuple[int, npt.NDArray[np.int64], npt.NDArray[np.int64]]]
        ]
        self._located = (np.empty(0, dtype=np.int64), [])
        # Mapped arrays stay open between calls only for small corpora: their touched pages count
        # as resident memory while they are mapped.
        self._keep_open = int(self.offsets[-1]) <= KEEP_OPEN_ROWS
        self._open: dict[tuple[int, str], npt.NDArray[Any]] = {}
        self._fields: dict[str, pa.Field] | None = None
        self._figure_digests: bool | None = None  # whether every shard keeps figure digests

    def __len__(self) -> int:
        return len(self.valid)

    def __reduce__(self) -> tuple[type[ShardSource], tuple[list[Shard], npt.NDArray[np.int64], Config]]:
        """Pickled as its shards, rows and config: another process maps the files itself."""
        return (ShardSource, (self.shards, self.valid, self.config))

    def _locate(
        self, rows: npt.NDArray[np.int64]
    ) -> list[tuple[int, npt.NDArray[np.int64], npt.NDArray[np.int64]]]:
        """`(shard, positions in rows, local rows)` for each shard holding some of `rows`."""
        if self._located[0] is rows:
            return self._located[1]
        where = self.valid[rows]
        shard = np.searchsorted(self.offsets, where, side="right") - 1
        order = np.argsort(shard, kind="stable")
        bounds = np.searchsorted(shard[order], np.arange(len(self.shards) + 1))
        out = []
        for s in range(len(self.shards)):
            at = order[bounds[s] : bounds[s + 1]]
            if len(at):
                out.append((s, at, where[at] - self.offsets[s]))
        self._located = (rows, out)
        return out

    def _array(self, s: int, name: str) -> npt.NDArray[Any]:
        """One of shard `s`'s arrays, mapped (kept open between calls for small corpora)."""
        array = self._open.get((s, name))
        if array is None:
            array = self.shards[s].array(name)
            if self._keep_open and len(self._open) < KEEP_OPEN_ARRAYS:
                self._open[s, name] = array  # bands are read in shard order: no eviction
        return array

    def _gather(self, rows: npt.NDArray[np.int64], name: str, band: int | None = None) -> npt.NDArray[Any]:
        parts = self._locate(rows)
        out: npt.NDArray[Any] | None = None
        for s, at, local in parts:
            array = self._array(s, name)
            values = np.asarray(array[band][local] if band is not None else array[local])
            if out is None:
                out = np.empty((len(rows), *values.shape[1:]), dtype=values.dtype)
            out[at] = values
        if out is None:
            width = () if band is not None else (self.config.minhash.num_perm,)
            return np.empty((0, *width), dtype=np.uint64 if band is not None else np.uint32)
        return out

    def _take(
        self, rows: npt.NDArray[np.int64], fetch: Callable[[pa.Table, pa.Array[Any]], pa.Array[Any]]
    ) -> pa.Array[Any]:
        parts = self._locate(rows)
        pieces, at_all = [], []
        for s, at, local in parts:
            pieces.append(fetch(self.shards[s].table(), pa.array(local, pa.int64())))
            at_all.append(at)
        if not pieces:
            return pa.array([], pa.large_list(pa.large_string()))
        joined = pa.concat_arrays(
            [p.combine_chunks() if isinstance(p, pa.ChunkedArray) else p for p in pieces]
        )
        inverse = np.empty(len(rows), dtype=np.int64)
        inverse[np.concatenate(at_all)] = np.arange(len(rows), dtype=np.int64)
        return joined.take(pa.array(inverse, pa.int64()))

    def digests(self) -> npt.NDArray[np.uint64]:
        """`uint64 (n, 2)`: every valid row's exact digest."""
        if not self.shards:
            return np.empty((0, 2), dtype=np.uint64)
        return np.concatenate([np.array(s.array("digests")) for s in self.shards])[self.valid]

    def band_keys(self, rows: npt.NDArray[np.int64], band: int) -> npt.NDArray[np.uint64]:
        """See `resolve.Source`."""
        return self._gather(rows, "keys", band)

    def signatures(self, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.uint32]:
        """See `resolve.Source`."""
        return self._gather(rows, "signatures")

    def sets(self, rows: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]]:
        """See `resolve.Source`."""
        parts = self._locate(rows)
        sizes = np.zeros(len(rows), dtype=np.int64)
        starts: list[npt.NDArray[np.int64]] = []
        for s, at, local in parts:
            offsets = self._array(s, "set_offsets")
            starts.append(offsets[local])
            sizes[at] = offsets[local + 1] - starts[-1]
        packed = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(sizes, out=packed[1:])
        out = np.empty(int(packed[-1]), dtype=np.uint32)
        for (s, at, _), start in zip(parts, starts, strict=True):  # each shard's sets into the rows' places
            kernels.copy_ranges(self._array(s, "sets"), start, out, packed[at], sizes[at])
        return out, packed

    def texts(self, rows: npt.NDArray[np.int64]) -> list[str]:
        """See `resolve.Source`."""
        paragraphs = self._take(rows, lambda table, local: table[PARAGRAPHS].take(local))
        return list(normalize.join_paragraphs(paragraphs, "\n").to_pylist())

    def figure_digests(self, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.uint64] | None:
        """See `resolve.Source`: None unless every shard keeps them (not shards without boilerplate)."""
        if self._figure_digests is None:
            self._figure_digests = all(s.has("figure_digests") for s in self.shards)
        if not self._figure_digests:
            return None
        if not len(rows):
            return np.empty((0, 2), dtype=np.uint64)
        return self._gather(rows, "figure_digests")

    def lengths(self) -> npt.NDArray[np.int64]:
        """See `resolve.Source`."""
        if not self.shards:
            return np.empty(0, dtype=np.int64)
        return np.concatenate([np.array(s.array("lengths")) for s in self.shards])[self.valid]

    def values(self, field_name: str) -> list[object]:
        """See `resolve.Source`: each value as the field's one type across all shards gives it."""
        if self._fields is None:
            self._fields = {f.name: f for f in passthrough_schema(self.shards)}
        target = self._fields.get(field_name)
        values: list[object] = []
        for shard in self.shards:
            table = shard.table()
            if target is not None and field_name in table.column_names:
                column = fields.conform(table[field_name], table.schema.field(field_name), target)
                values.extend(fields.values(column, target))
            else:
                values.extend([None] * table.num_rows)
        return [values[i] for i in self.valid.tolist()]

    def record_ids(self, rows: npt.NDArray[np.int64]) -> list[str]:
        """See `resolve.Source`."""
        return list(self._take(rows, lambda table, local: table[ID].take(local)).to_pylist())

    @staticmethod
    def ids(shards: list[Shard], valid: npt.NDArray[np.int64]) -> pa.Array[Any]:
        """The ids of the valid rows, as one string array."""
        if not shards:
            return pa.array([], pa.string())
        ids = pa.chunked_array([s.column(ID) for s in shards], pa.string()).combine_chunks()
        return ids.take(pa.array(valid, pa.int64()))
