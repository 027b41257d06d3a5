"""The local engine: the batch job on one machine, in bounded memory, resumable after a kill.

`run(config)` is what `dedup run` calls. It works in four steps, each leaving checkpoints
(`dedup.io.work`) that a rerun of the same input and config picks up:

1. **shards**: input files in sorted order, cut into shards sized from `memory_budget` (at most
   `shards.SHARD_TEXT_BYTES` of text each); each shard is read here, then cleaned, hashed, signed
   and banded (in `workers` worker processes while this process reads the next shards, or here
   with one worker), and its records, digests, signatures and band keys go to disk (under
   `granularity: paragraph`, each paragraph's too). At most two shards per worker and the one
   being read are in memory at a time. Under `granularity: paragraph` the paragraph index then
   runs over the shards and each shard is written again without its boilerplate
   (`dedup.engines.paragraphs`); the steps below read those shards.
2. **resolve**: duplicate ids, exact groups, candidate pairs one band at a time, verification,
   clusters and the keep rule over all shards (`dedup.resolve`), reading back only what each step
   needs.
3. **stage**: the output files are written into the checkpoint folder, in source order, with row
   groups cut by the rows alone, so they are byte-identical whatever the shard size, the worker
   count or the order the input files were named in.
4. **publish**: `report.json` is removed, each staged file is linked into the output folder
   atomically, then `report.json` is written and the checkpoints are removed. The output folder
   holds a complete run exactly when it holds a `report.json`; a kill before publishing leaves the
   previous run as it was.

One run writes an output folder at a time (`dedup.io.writers.claim`); a second is refused. A run
that cannot write its folder (a full disk, no permission) stops with one line naming the folder and
the cause, and removes what it staged. A run in which every record was rejected is an error.

For tests, `DEDUP_CRASH_AT=<point>` makes the process kill itself (SIGKILL) at a named point, and
`DEDUP_STOP_AT=<point>` stops it (SIGSTOP, to be continued): `shard:<file>-<part>`, `paragraphs`
(after the paragraph step, under `granularity: paragraph`), `resolve`, `stage:<file name>`,
`publish:<file name>`, `report`; `DEDUP_CRASH_AT=worker:<file>-<part>` kills the worker process
making that shard (`dedup.engines.shards.Featurizers`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import resource
import signal
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

import dedup
from dedup import exact, outputs
from dedup.config import (
    Config,
    fingerprint,
    refuse_own_fields,
    size_bytes,
    threads,
    to_dict,
    too_many_workers,
)
from dedup.engines import paragraphs as paragraph_step
from dedup.engines import workers
from dedup.engines.position import read_position
from dedup.engines.shards import (
    Featurizers,
    HandedReadError,
    Limits,
    Shard,
    ShardSource,
    ShardWriteError,
    add_counts,
    conform,
    give_back_memory,
    passthrough_schema,
    pieces,
    process,
)
from dedup.errors import DedupError, EngineError
from dedup.io import readers, work, writers
from dedup.outputs import rejects_table
from dedup.progress import NullProgress, Progress
from dedup.records import (
    ID,
    PARAGRAPHS,
    SOURCE_FILE,
    SOURCE_LINE,
    Reject,
    describe_reject,
    every_record_rejected,
    fail_fast,
    repeated_ids,
)
from dedup.report import Report
from dedup.resolve import Clock, Duplicates, resolve
from dedup.settings import NORMALIZE_VERSION

OUTPUTS = ("unique.parquet", "duplicates.parquet", "rejects.parquet")
#: The layout of the checkpoints; a change makes older ones stale (7: shards cut where their
#: rejects stand, `shards.pieces`).
CHECKPOINT_LAYOUT = 7


def crash_point(name: str) -> None:
    """Kill (`DEDUP_CRASH_AT`) or stop (`DEDUP_STOP_AT`) this process at a named point (fault injection)."""
    if os.environ.get("DEDUP_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
    if os.environ.get("DEDUP_STOP_AT") == name:
        os.kill(os.getpid(), signal.SIGSTOP)


def _settings(config: Config, limits: Limits) -> dict[str, Any]:
    """Everything that changes a run's outputs (and so its checkpoints); not where they go."""
    data = to_dict(config)
    for key in ("workers", "progress", "memory_budget", "engine", "spark"):
        data.pop(key, None)
    data["output"] = {"compression": config.output.compression}
    data["limits"] = [limits.records, limits.text_bytes]
    data["version"] = [dedup.__version__, NORMALIZE_VERSION, CHECKPOINT_LAYOUT]
    return data


def _timed(batches: Iterator[readers.ReadBatch], clock: Clock) -> Iterator[readers.ReadBatch]:
    """Charge the time spent inside the reader to the `read` stage."""
    while True:
        with clock.stage("read"):
            batch = next(batches, None)
        if batch is None:
            return
        yield batch


class _Run:
    """One run's state across its steps."""

    def __init__(self, config: Config, progress: Progress) -> None:
        self.config, self.progress = config, progress
        self.report = Report(
            config=to_dict(config), fingerprint=fingerprint(config), output_dir=config.output.dir
        )
        self.clock = Clock(self.report.timings, progress.stage)
        # The stages of each shard are parts of the one `shards` line of the display.
        self.shard_clock = Clock(self.report.timings, progress.part)
        self.budget = size_bytes(config.memory_budget)
        self.limits = Limits.from_budget(self.budget)
        self.outputs = OUTPUTS + (("paragraphs.parquet",) if config.granularity == "paragraph" else ())
        self.derived: paragraph_step.Derived | None = None
        self.report.warnings.extend(filter(None, [too_many_workers(config)]))

    def find_inputs(self) -> None:
        """Find the input files; refuse input inside the output folder (nothing is written yet)."""
        self.files = sorted(set(readers.discover(self.config.input.paths)))
        writers.refuse_inputs_inside(Path(self.config.output.dir), self.config.input.paths, self.files)

    def start(self) -> None:
        """Key the checkpoints and take the output folder (the caller holds its lock)."""
        files = self.files
        folder = Path(self.config.output.dir)
        with self.clock.stage("fingerprint"):
            inputs = work.describe(files)
        key = work.run_key(_settings(self.config, self.limits), inputs)
        resuming = folder.is_dir() and work.WorkDir.exists(folder, key)
        self.folder = writers.prepare(self.config.output, resuming=resuming)
        self.work = work.WorkDir.open(self.folder, key)
        self.featurizers = Featurizers(threads(self.config), self.config, self.work)
        self.report.inputs = [{"file": f.path, "bytes": f.bytes, "xxh3": f.xxh3} for f in inputs]
        self.report.memory_budget = self.budget

    # Step 1 -------------------------------------------------------------------------------------

    def shards(self) -> list[Shard]:
        """Process every shard not yet done; return all shards in source order.

        With more than one worker (`workers`) and input that is not small (`workers.small_input`:
        a small corpus never pays for starting them), shards are
        featurized in worker processes (`Featurizers`) while this process reads on. Each shard's
        stage seconds are added up over the processes that spent them. The workers stay up until
        the keep step is done (`resolve` hands them part of the figures rule's pairs).

        A small corpus's shards leave the figure digests (`featurize`'s `figure_digests`) to the
        keep step, which makes them for the records of verified pairs only: with few
        near-duplicates, a small part of the records (Reuters+BBC: 0.15 s less of 1.6 s). A larger
        corpus keeps one per record, made in the workers, and the keep step reads no text for
        them (on 5 dense copies of Reuters+BBC at one worker, making them late cost 8% more time
        and 50% more memory: the texts of nearly every record read again).
        """
        self._out: list[Shard] = []
        self._reused = 0
        sizes = [int(f["bytes"]) for f in self.report.inputs]
        self.progress.stage("shards", input_bytes=sum(sizes))
        count = threads(self.config)
        small = workers.small_input(self.files, sizes, self.limits)
        if small:
            count = 1
        featurizers = self.featurizers
        steps = _Steps(featurizers, count, self.config, self.work, self.shard_clock, figure_digests=not small)
        if count > 1:
            # The fork server imports while the first shard is read. One that cannot start fails
            # again at the first shard, which then leaves the run to this process and says so.
            with contextlib.suppress(OSError, EOFError, AssertionError):
                featurizers.warm()
        for index, display in enumerate(self.files):
            names = self.work.file_shards(index)
            if names is not None:
                steps.then(partial(self._reuse_file, index, names, sizes[index]))
                continue
            names = []
            batches = _timed(readers.read_file(display, self.config.input), self.shard_clock)
            self.progress.shard(len(self._out) + 1, index + 1, len(self.files))
            at = 0  # input bytes of this file counted so far
            for part, piece in enumerate(pieces(batches, self.limits)):
                name = f"{index:05d}-{part:05d}"
                names.append(name)
                now = min(read_position(display) or at, sizes[index])
                made = self.work.shard_meta(name) is None
                done = partial(self._shard_done, name, made, now - at, index)
                at = now
                if made:
                    steps.make(piece, display, name, done)
                else:
                    self._reused += 1
                    steps.then(done)
            steps.then(partial(self._file_done, index, names, sizes[index] - at))
        steps.finish()
        self.progress.shard(len(self._out), len(self.files), len(self.files))
        made_by = steps.count if steps.featurizers.started else 1
        self.report.shards = {"total": len(self._out), "reused": self._reused, "workers": made_by}
        if steps.failed is not None:
            self.report.warnings.append(steps.failed)
        return self._out

    def _reuse_file(self, index: int, names: list[str], size: int, _: dict[str, float]) -> None:
        """Take the shards of a file done by an earlier try."""
        self._out.extend(Shard.load(self.work, name) for name in names)
        self._reused += len(names)
        self.progress.shard(len(self._out), index + 1, len(self.files))
        self.progress.advance(sum(s.read for s in self._out[-len(names) :]), size)

    def _shard_done(self, name: str, made: bool, advance: int, index: int, timings: dict[str, float]) -> None:
        """A shard is on disk (made now, or by an earlier try): count it."""
        for stage, spent in timings.items():
            self.report.timings[stage] = round(self.report.timings.get(stage, 0.0) + spent, 6)
        if made:
            crash_point(f"shard:{name}")
        self._out.append(Shard.load(self.work, name))
        self.progress.advance(self._out[-1].read, advance)
        self.progress.shard(len(self._out) + 1, index + 1, len(self.files))

    def _file_done(self, index: int, names: list[str], tail: int, _: dict[str, float]) -> None:
        """Every shard of a file is on disk: mark the file done."""
        self.progress.advance(0, tail)
        self.work.finish_file(index, names)

    def paragraphs(self, shards: list[Shard]) -> list[Shard]:
        """Under `granularity: paragraph`: the paragraph index, and the shards without boilerplate."""
        with self.clock.stage("ids"):
            valid, id_rejects = _unique_ids(shards, self.config)
        by_shard: dict[int, list[Reject]] = {}
        for reject in id_rejects:
            by_shard.setdefault(_shard_of(shards, reject), []).append(reject)
        self.derived = paragraph_step.derive(self.work, shards, valid, by_shard, self.config, self.clock)
        crash_point("paragraphs")
        self.report.paragraphs = dict(self.derived.stats)
        return self.derived.shards

    # Step 2 -------------------------------------------------------------------------------------

    def resolve(self, shards: list[Shard]) -> tuple[Duplicates, npt.NDArray[np.int64], list[Reject]]:
        """Duplicates over all shards (from the checkpoint when done): found, valid rows, id rejects."""
        done = self.work.load_global()
        if done is not None:
            arrays, meta = done
            self.report.timings.update(
                {k: v for k, v in meta["timings"].items() if k not in self.report.timings}
            )
            found = Duplicates(
                arrays["duplicate_of"],
                arrays["matched_by"],
                arrays["exact_group"],
                arrays["similarity"],
                arrays["containment"],
                arrays["cluster"],
                arrays["cluster_size"],
                int(meta["candidate_pairs"]),
                int(meta["verified_pairs"]),
                int(meta["groups"]),
                int(meta["bands"]),
                int(meta["rows"]),
                np.empty((0, 2), dtype=np.int64),
            )
            rejects = [Reject(**r) for r in meta["id_rejects"]]
            return found, arrays["valid"], rejects
        before = dict(self.report.timings)
        with self.clock.stage("ids"):
            valid, id_rejects = _unique_ids(shards, self.config)
        source = ShardSource(shards, valid, self.config)
        with self.clock.stage("exact"):
            group, rep = exact.groups(source.digests())
        position = np.arange(len(valid), dtype=np.int64)  # shards are in source order
        extra = self.derived.pairs if self.derived is not None else None
        farm = self.featurizers if self.featurizers.running and self.config.lsh.figures else None
        if farm is None:
            self.featurizers.close()  # nothing for them in the keep step: their memory goes now
        found = resolve(
            source, group, rep, position, self.config, self.clock, threads(self.config), extra, farm
        )
        # What the global steps freed (a shared keep step's exchanges among it) would otherwise stay
        # in the C heap's free lists under the outputs' rows: on a million short records (the
        # corpus of benchmarks/scale.py) this process peaked at 0.55 GB with it returned here and
        # 0.71 GB without (0.65 GB before the keep step was shared).
        give_back_memory()
        arrays = {
            "duplicate_of": found.duplicate_of,
            "matched_by": found.matched_by,
            "exact_group": found.exact_group,
            "similarity": found.similarity,
            "containment": found.containment,
            "cluster": found.cluster,
            "cluster_size": found.cluster_size,
            "valid": valid,
        }
        spent = {k: round(v - before.get(k, 0.0), 6) for k, v in self.report.timings.items()}
        meta = {
            "candidate_pairs": found.candidate_pairs,
            "verified_pairs": found.verified_pairs,
            "groups": found.groups,
            "bands": found.bands,
            "rows": found.rows,
            "id_rejects": [_reject_dict(r) for r in id_rejects],
            "timings": spent,
        }
        self.work.save_global(arrays, meta)
        lost = self.featurizers.lost()
        if lost is not None:
            self.report.warnings.append(lost)
        crash_point("resolve")
        return found, valid, id_rejects

    # Step 3 -------------------------------------------------------------------------------------

    def stage(
        self, shards: list[Shard], found: Duplicates, valid: npt.NDArray[np.int64], id_rejects: list[Reject]
    ) -> dict[str, Any]:
        """Write the three Parquet files into the checkpoint folder; return their descriptions."""
        done = self.work.staged()
        if done is not None:
            return done
        cfg = self.config.output
        stage = self.work.stage
        extra = passthrough_schema(shards)
        unique_schema, duplicates_schema = outputs.schemas(extra)
        ids = ShardSource.ids(shards, valid)
        offsets = np.cumsum([0] + [s.rows for s in shards])
        starts = np.searchsorted(valid, offsets)
        by_shard: dict[int, list[Reject]] = {}
        for reject in id_rejects:
            by_shard.setdefault(_shard_of(shards, reject), []).append(reject)
        if self.derived is not None:
            groups = self.derived.groups
            with writers.TableWriter(stage / self.outputs[3], groups.schema, cfg) as paragraphs:
                paragraphs.write(groups)
        with (
            writers.TableWriter(stage / OUTPUTS[0], unique_schema, cfg) as unique,
            writers.TableWriter(stage / OUTPUTS[1], duplicates_schema, cfg) as duplicates,
            writers.TableWriter(stage / OUTPUTS[2], rejects_table([]).schema, cfg) as rejected,
        ):
            for s, shard in enumerate(shards):
                rows = np.arange(starts[s], starts[s + 1], dtype=np.int64)  # valid-space rows
                local = valid[rows] - offsets[s]
                table = shard.table().take(pa.array(local, pa.int64()))
                records = conform(table.drop_columns([PARAGRAPHS]), extra)
                unique_rows, duplicate_rows = outputs.build(records, table[PARAGRAPHS], rows, found, ids)
                unique.write(unique_rows)
                duplicates.write(duplicate_rows)
                rejected.write(_sorted_rejects(shard.rejects(), by_shard.get(s, [])))
                del table, records
                self.progress.advance(shard.read)
            for writer in (unique, duplicates, rejected):
                writer.finish()  # the last row groups encode side by side while the files close
        described = {}
        for name in self.outputs:
            path = stage / name
            crash_point(f"stage:{name}")
            described[name] = {"bytes": path.stat().st_size, "xxh3": writers.digest_file(path)}
        meta = {"outputs": described}
        self.work.finish_stage(meta)
        return meta

    def discard(self) -> None:
        """Remove what this run staged and checkpointed (a run that failed for good)."""
        if hasattr(self, "work"):
            self.work.remove()

    # Step 4 -------------------------------------------------------------------------------------

    def publish(self, staged: dict[str, Any]) -> None:
        """Move the staged files into the output folder, then write `report.json`."""
        self.report.outputs = staged["outputs"]
        self.report.spilled_bytes = self.work.size()
        writers.retract_report(self.folder)
        writers.remove_stale(self.folder, self.outputs)
        for name in self.outputs:
            writers.publish(self.work.stage / name, self.folder)
            crash_point(f"publish:{name}")
        writers.sync_folder(self.folder)  # the outputs are in place on disk before the report says so
        crash_point("report")
        self.report.peak_rss_bytes = _peak_rss()
        writers.write_report(self.folder, self.report.to_dict())
        self.work.remove()


Then = Callable[[dict[str, float]], None]
_Job = tuple[readers.ReadBatch, str, str]  # a shard to make: its records, file and name


class _Steps:
    """The shard step's work in source order: shards in the making and what follows each.

    With `count` > 1 every shard is handed to a worker as soon as it is read; with 1, it is made
    here. Each step's `then` runs in the order the steps were queued, with the seconds its shard's
    stages took, once the shard is made; at most two shards per worker are in the making at once.
    Workers that cannot start (no permission to run the interpreter, no process left to fork, a
    daemonic caller) leave the rest of the run to this process (`failed` says why); a worker that
    dies stops the run (`EngineError`; the shards made are kept for a rerun), and one that cannot
    write its shard stops it with that `OSError`, as this process would.
    """

    def __init__(
        self,
        featurizers: Featurizers,
        count: int,
        config: Config,
        store: work.WorkDir,
        clock: Clock,
        figure_digests: bool = True,
    ) -> None:
        self.featurizers, self.count = featurizers, count
        self.config, self.store, self.clock = config, store, clock
        self.figure_digests = figure_digests
        self.pending: deque[tuple[Future[dict[str, float]] | None, Then]] = deque()
        self.failed: str | None = None

    def make(self, piece: readers.ReadBatch, file: str, name: str, then: Then) -> None:
        """A shard to make; `then` once it is made."""
        job = (piece, file, name)
        if self.count == 1:  # one worker, or workers that did not start
            self._here(job, then)
            return
        try:
            future = self.featurizers.submit(*job)
        except BrokenProcessPool:  # a worker died since the last shard was handed over
            raise _worker_died() from None
        except (OSError, EOFError, AssertionError) as err:  # the workers cannot start
            self._give_up(err)
            self._here(job, then)
        else:
            self._queue(future, then)

    def then(self, then: Then) -> None:
        """A step with no shard to make, after every step queued before it."""
        self._queue(None, then)

    def finish(self) -> None:
        """Run every step left."""
        self._drain(0)

    def _here(self, job: _Job, then: Then) -> None:
        process(*job, self.config, self.store, self.clock, self.figure_digests)
        self._queue(None, then)

    def _queue(self, future: Future[dict[str, float]] | None, then: Then) -> None:
        self.pending.append((future, then))
        self._drain(self.count if self.count == 1 else 2 * self.count)

    def _drain(self, keep: int) -> None:
        """Run steps in order until at most `keep` shards are in the making."""
        pending = self.pending
        while pending and (pending[0][0] is None or sum(f is not None for f, _ in pending) > keep):
            future, then = pending.popleft()
            timings: dict[str, float] = {}
            if future is not None:
                try:
                    timings = future.result()
                except ShardWriteError:
                    raise  # the worker could not write the shard: the run's own `OSError`
                except HandedReadError as err:
                    raise EngineError(
                        f"a worker process could not read the records handed to it: {err} (removed "
                        "or damaged during the run); run again to resume from the shards already made"
                    ) from None
                except (BrokenProcessPool, OSError, EOFError, MemoryError):
                    raise _worker_died() from None
            then(timings)

    def _give_up(self, err: BaseException) -> None:
        """The workers could not start: make every shard in this process from now on."""
        reason = f"{type(err).__name__}: {err}".rstrip(": ")
        self.failed = f"worker processes did not start ({reason}); this process made the shards"
        self.count = 1
        self.featurizers.close()


def _worker_died() -> EngineError:
    return EngineError(
        "a worker process making a shard stopped (killed, or out of memory); "
        "run again to resume from the shards already made, or lower `workers` or `memory_budget`"
    )


def _unique_ids(shards: list[Shard], config: Config) -> tuple[npt.NDArray[np.int64], list[Reject]]:
    """Global rows whose id is not a repeat of an earlier one, and a reject for each repeat."""
    ids = pa.chunked_array([s.column(ID) for s in shards], pa.string())
    total = len(ids)
    if pc.count_distinct(ids).as_py() == total:
        return np.arange(total, dtype=np.int64), []
    files = pa.chunked_array([s.column(SOURCE_FILE) for s in shards], pa.string()).to_pylist()
    lines = pa.chunked_array([s.column(SOURCE_LINE) for s in shards], pa.int64()).to_pylist()
    # Shards are in source order, so row order is position order.
    drop, rejects = repeated_ids(ids.to_pylist(), files, lines, list(range(total)), config.input.id_field)
    fail_fast(rejects, config.on_error)
    keep = np.ones(total, dtype=bool)
    keep[drop] = False
    return np.flatnonzero(keep).astype(np.int64), rejects


def _reject_dict(reject: Reject) -> dict[str, Any]:
    return {
        "source_file": reject.source_file,
        "source_line": reject.source_line,
        "reason": reject.reason,
        "stage": reject.stage,
        "id": reject.id,
        "field": reject.field,
        "raw": reject.raw,
    }


def _shard_of(shards: list[Shard], reject: Reject) -> int:
    """The shard that read the record a duplicate-id reject points at."""
    for s, shard in enumerate(shards):
        if (
            shard.file == reject.source_file
            and shard.first_line <= (reject.source_line or 0) <= shard.last_line
        ):
            return s
    return len(shards) - 1


def _sorted_rejects(stored: pa.Table, more: list[Reject]) -> pa.Table:
    """A shard's rejects with its duplicate-id rejects, in line order (whole-file problems first)."""
    table = pa.concat_tables([stored, rejects_table(more)]) if more else stored
    if table.num_rows < 2:
        return table
    lines = np.asarray(table[SOURCE_LINE].fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
    return table.take(pa.array(np.argsort(lines, kind="stable"), pa.int64()))


def _peak_rss() -> int:
    """Peak resident memory of the process in bytes (Linux reports KiB)."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def run(config: Config, progress: Progress | None = None) -> Report:
    """Run the batch job as `config` says and return its report.

    A rerun after a kill resumes from the checkpoints of the same input and config. With
    `engine: spark` the same job runs on Apache Spark instead (`dedup.engines.spark.run`).

    Raises:
        DedupError: a subclass saying what was wrong with the config, the input or the output:
            `OutputError` for a folder another run is writing or one that cannot be written,
            `InputError` when every record read was rejected. What the run staged is removed.
        MemoryError: the process ran out of memory or threads (`out_of_memory`, Arrow's failed
            memory maps and threads included); the shards made are kept for a rerun.
    """
    refuse_own_fields(config)  # a Config built directly was never checked
    if config.engine == "spark":
        from dedup.engines import spark  # noqa: PLC0415 - PySpark only for the runs that ask for it

        return spark.run(config, progress)
    started = time.perf_counter()
    state = _Run(config, progress or NullProgress())
    state.find_inputs()
    with writers.claim(config.output) as folder:
        try:
            state.start()
            return _steps(state, started)
        except (OSError, pa.ArrowException) as err:
            if out_of_memory(err):  # not the output's fault: the shards made are kept for a rerun
                raise MemoryError(str(err)) from None
            if not isinstance(err, OSError):
                raise
            state.discard()
            raise writers.failure(folder, err) from None
        except EngineError:  # a worker died: what it and the others made is kept for a rerun
            raise
        except DedupError:  # failed for good (the same input and config fail again): nothing kept
            state.discard()
            raise


def _steps(state: _Run, started: float) -> Report:
    with state.featurizers:  # the worker processes: up for the shards and the keep step, no longer
        shards, found, valid, id_rejects, rejected = _find(state)
    outputs.count(state.report, found, rejected)
    state.progress.stage("write", total=state.report.read)
    with state.clock.stage("write"):
        staged = state.stage(shards, found, valid, id_rejects)
    state.report.timings["total"] = round(time.perf_counter() - started, 6)
    state.report.first_rejects = _first_rejects(shards, id_rejects)
    state.publish(staged)
    return replace(state.report)


def _find(
    state: _Run,
) -> tuple[list[Shard], Duplicates, npt.NDArray[np.int64], list[Reject], int]:
    """Steps 1 and 2: shards, duplicates, valid rows, id rejects, and how many records were rejected."""
    shards = state.shards()
    state.report.read = sum(s.read for s in shards)
    state.report.skipped_blank_lines = sum(s.skipped for s in shards)
    state.report.skipped_records = add_counts(s.skipped_records for s in shards)
    state.report.input_bytes = sum(s.text_bytes for s in shards)
    rejected = sum(s.rejected for s in shards)
    if state.report.read and rejected == state.report.read:
        raise every_record_rejected(state.report.read, _first_rejects(shards, [], limit=1)[0])
    if state.config.granularity == "paragraph":
        shards = state.paragraphs(shards)
        rejected = sum(s.rejected for s in shards)
    found, valid, id_rejects = state.resolve(shards)
    return shards, found, valid, id_rejects, rejected + len(id_rejects)


def out_of_memory(err: BaseException) -> bool:
    """Whether an error is the process running out of memory or threads, however it was raised.

    Arrow reports a failed memory map as `OSError` ("Memory mapping file failed: Cannot allocate
    memory", no errno) and a thread it could not start as a bare `ArrowException` ("Failed to launch
    worker thread: Resource temporarily unavailable"); both happen under a limit such as `ulimit -v`.
    """
    if isinstance(err, MemoryError) or (isinstance(err, OSError) and err.errno == errno.ENOMEM):
        return True
    if not isinstance(err, OSError | pa.ArrowException):
        return False
    text = str(err)
    return os.strerror(errno.ENOMEM) in text or "Failed to launch worker thread" in text


def _first_rejects(shards: list[Shard], id_rejects: list[Reject], limit: int = 5) -> list[str]:
    """`file:line: field 'x': reason` for the first few rejects, for the terminal."""
    lines: list[str] = []
    for shard in shards:
        if shard.rejected and len(lines) < limit:
            table = shard.rejects()
            for row in table.slice(0, limit - len(lines)).to_pylist():
                lines.append(describe_reject(Reject(**{k: row[k] for k in _REJECT_KEYS})))
    for reject in id_rejects[: max(0, limit - len(lines))]:
        lines.append(describe_reject(reject))
    return lines


_REJECT_KEYS = ("source_file", "source_line", "reason", "stage", "id", "field")
