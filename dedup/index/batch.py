"""`dedup index add|check CONFIG`: a corpus against an index, with the same output files as `dedup run`.

`unique.parquet` holds the records that are new to the index (added by `add`), `duplicates.parquet`
those the index already holds (`match`: `exact`, `near`, or `present` when the id itself is
indexed), `rejects.parquet` what could not be read or cleaned, and `report.json` the counts with
the accounting identity checked.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from dedup.config import Config, fingerprint, refuse_own_fields, size_bytes, to_dict
from dedup.engines.local import out_of_memory
from dedup.engines.shards import Limits, add_counts, conform, pieces
from dedup.errors import ConfigError
from dedup.index.core import Index
from dedup.index.paragraphs import target as paragraph_target
from dedup.index.store import MEMORY, is_redis
from dedup.io import fields, readers, work, writers
from dedup.outputs import duplicates_table, rejects_table, schemas, unique_table
from dedup.progress import NullProgress, Progress
from dedup.records import (
    ID,
    PARAGRAPHS,
    SOURCE_FILE,
    SOURCE_LINE,
    TEXT,
    Reject,
    clip_raw,
    describe_reject,
    every_record_rejected,
    fail_fast,
)
from dedup.report import Report
from dedup.resolve import MATCHED_BY

#: Records per index transaction, at most (fewer when `memory_budget` asks for smaller batches).
BATCH = 10_000
_SPOOL = ".dedup-index-work"


def run(config: Config, add: bool, progress: Progress | None = None) -> Report:
    """Check (and with `add`, index) every input record; write the outputs; return the report.

    Records are read, matched and spooled to disk batch by batch (batches sized from
    `memory_budget`, at most `BATCH` records each), so memory does not grow with the corpus.

    Raises:
        DedupError: a subclass for a bad config, input or index, an output folder another run is
            writing or that cannot be written, or a run whose every record was rejected.
    """
    refuse_own_fields(config)  # a Config built directly was never checked
    if config.index.path == MEMORY:
        raise ConfigError(
            f"index.path {MEMORY!r} is an index in memory, gone when the job ends: what it added would "
            "be lost and a check would find nothing; name a SQLite file or a Redis URL"
        )
    files = sorted(set(readers.discover(config.input.paths)))
    writers.refuse_inputs_inside(Path(config.output.dir), config.input.paths, files)
    _refuse_index_in_input(config, files)
    # The output folder's refusal first, then the index: a job refused creates no index, and a
    # check of a path that holds none (or an index built otherwise) is refused before the output
    # folder is created or an earlier run's outputs are touched.
    writers.refuse_earlier(config.output)
    with contextlib.ExitStack() as held:
        if add:  # the output folder held first: an add that cannot write creates no index
            existed = Path(config.output.dir).exists()
            folder = held.enter_context(writers.claim(config.output))
            try:
                index = held.enter_context(Index.open(config.index.path, config, create=True))
            except BaseException:
                if not existed:  # the folder this job made, still empty: gone with the job
                    with contextlib.suppress(OSError):
                        folder.rmdir()
                raise
        else:
            index = held.enter_context(Index.open(config.index.path, config, create=False))
            folder = held.enter_context(writers.claim(config.output))
        spool = folder / _SPOOL
        try:
            return _run(config, index, add, progress or NullProgress(), spool)
        except (OSError, pa.ArrowException) as err:
            if out_of_memory(err):
                raise MemoryError(str(err)) from None
            if not isinstance(err, OSError):
                raise
            raise writers.failure(folder, err) from None
        finally:
            shutil.rmtree(spool, ignore_errors=True)


def _run(config: Config, index: Index, add: bool, progress: Progress, spool: Path) -> Report:
    started = time.perf_counter()
    report = Report(config=to_dict(config), fingerprint=fingerprint(config), output_dir=config.output.dir)
    folder = writers.prepare(config.output)
    shutil.rmtree(spool, ignore_errors=True)
    spool.mkdir()
    limits = Limits.from_budget(size_bytes(config.memory_budget))
    limits = Limits(min(limits.records, BATCH), limits.text_bytes)
    counts = {"exact": 0, "near": 0, "present": 0, "new": 0, "rejected": 0}
    matched_by = {name: 0 for name in MATCHED_BY[1:]}
    first_reject = ""
    parts: list[tuple[Path, Path]] = []
    skipped_records: dict[str, int] = {}
    progress.stage("index add" if add else "index check")
    for k, piece in enumerate(pieces(readers.read(config.input), limits)):
        fail_fast(piece.rejects, config.on_error)
        part, rejects = piece.records, list(piece.rejects)
        report.read += part.num_rows + len(piece.rejects)
        report.skipped_blank_lines += piece.skipped_blank
        skipped_records = add_counts([skipped_records, piece.skipped_records])
        matches, rows, readable, paragraphs = (
            index.ingest(part, add) if part.num_rows else ([], None, None, None)
        )
        files, lines = part[SOURCE_FILE].to_pylist(), part[SOURCE_LINE].to_pylist()
        texts, ids = part[TEXT], part[ID].to_pylist()
        for r, m in enumerate(matches):
            counts[m.status] += 1
            if m.status in ("exact", "near"):
                matched_by[m.matched_by or "exact"] += 1
            if m.status == "rejected":
                raw = clip_raw(texts[r].as_py())
                field = config.input.text_field
                rejects.append(Reject(files[r], lines[r], m.reason or "", "clean", ids[r], field, raw))
        fail_fast(rejects, config.on_error)
        if rejects and not first_reject:
            first_reject = describe_reject(rejects[0])
        counts["rejected"] += len(piece.rejects)
        matched = _matched(matches, rows, readable, paragraphs)
        parts.append((spool / f"{k:06d}.arrow", spool / f"{k:06d}.rejects.arrow"))
        work.save_table(parts[-1][0], matched)
        work.save_table(parts[-1][1], rejects_table(rejects))
        progress.advance(part.num_rows + len(piece.rejects))
    report.outputs = {"index": index.stats()}
    report.shards = {"total": len(parts), "reused": 0}  # batches, each one transaction
    report.skipped_records = skipped_records
    report.kept = counts["new"]
    report.exact_duplicates, report.near_duplicates = counts["exact"], counts["near"]
    report.present = counts["present"]
    report.duplicates = report.exact_duplicates + report.near_duplicates + report.present
    report.matched_by = dict(matched_by)
    report.rejected = counts["rejected"]
    if report.read and report.rejected == report.read:
        raise every_record_rejected(report.read, first_reject)
    report.check()
    progress.stage("write")
    writers.retract_report(folder)
    _write(folder, parts, config)
    report.timings["total"] = round(time.perf_counter() - started, 6)
    writers.write_report(folder, report.to_dict())
    return report


_STATUS, _NAMED, _SIM, _CONT, _BY = "_status", "_named", "_similarity", "_containment", "_matched_by"


def _matched(matches: list[Any], rows: Any, readable: Any, paragraphs: Any) -> pa.Table:
    """One batch's readable records with what the index said of each, to spool until the end."""
    if rows is None or readable is None:
        return pa.table({ID: pa.array([], pa.string())})
    slot = {row: k for k, row in enumerate(rows.tolist())}
    said = [matches[r] for r in sorted(slot, key=slot.__getitem__)]
    table = readable.drop_columns([c for c in (TEXT,) if c in readable.column_names])
    table = table.append_column(PARAGRAPHS, paragraphs)
    table = table.append_column(_STATUS, pa.array([m.status for m in said], pa.string()))
    table = table.append_column(_NAMED, pa.array([m.duplicate_of for m in said], pa.string()))
    table = table.append_column(_SIM, pa.array([m.similarity for m in said], pa.float64()))
    table = table.append_column(_CONT, pa.array([m.containment for m in said], pa.float64()))
    return table.append_column(_BY, pa.array([m.matched_by for m in said], pa.string()))


def _write(folder: Path, parts: list[tuple[Path, Path]], config: Config) -> None:
    """The three Parquet files, from the spooled batches, each pass-through field of one type."""
    own = {_STATUS, _NAMED, _SIM, _CONT, _BY}
    extra = pa.schema(
        [
            f
            for f in fields.schema(work.load_schema(p) for p, _ in parts)
            if f.name not in own and f.name != PARAGRAPHS
        ]
    )
    unique_schema, duplicates_schema = schemas(extra)
    cfg = config.output
    staged = parts[0][0].parent if parts else folder / _SPOOL
    staged.mkdir(exist_ok=True)
    with (
        writers.TableWriter(staged / "unique.parquet", unique_schema, cfg) as unique,
        writers.TableWriter(staged / "duplicates.parquet", duplicates_schema, cfg) as duplicates,
        writers.TableWriter(staged / "rejects.parquet", rejects_table([]).schema, cfg) as rejected,
    ):
        for matched_path, rejects_path in parts:
            matched = work.load_table(matched_path)
            rejected.write(work.load_table(rejects_path))
            if not matched.num_rows:
                continue
            status = matched[_STATUS].to_pylist()
            records = conform(matched, extra)
            new = pa.array([i for i, s in enumerate(status) if s == "new"], pa.int64())
            dup = pa.array([i for i, s in enumerate(status) if s in ("exact", "near", "present")], pa.int64())
            unique.write(
                unique_table(
                    records.take(new), matched[PARAGRAPHS].take(new), np.ones(len(new), dtype=np.int64)
                )
            )
            named = matched[_NAMED].take(dup)
            # The evidence as the index named it: `present` records add `id` (another text
            # under an indexed id) to what `dedup run` names, so the names are written as given.
            names = [b or "exact" for b in matched[_BY].take(dup).to_pylist()]
            by = [MATCHED_BY.index(b) if b in MATCHED_BY else 0 for b in names]
            table = duplicates_table(
                records.take(dup),
                matched[PARAGRAPHS].take(dup),
                named,
                named,
                np.asarray(matched[_SIM].take(dup).to_numpy(zero_copy_only=False), dtype=np.float64),
                np.asarray(matched[_CONT].take(dup).to_numpy(zero_copy_only=False), dtype=np.float64),
                np.array(by, dtype=np.int8),
            )
            kinds = matched[_STATUS].take(dup).cast(pa.string())
            table = table.set_column(table.schema.get_field_index("match"), "match", kinds)
            evidence = pa.array(names, pa.string())
            at = table.schema.get_field_index("matched_by")
            duplicates.write(table.set_column(at, "matched_by", evidence))
        for writer in (unique, duplicates, rejected):
            writer.finish()  # the last row groups encode side by side while the files close
    written = ("unique.parquet", "duplicates.parquet", "rejects.parquet")
    writers.remove_stale(folder, written)
    for name in written:
        writers.publish(staged / name, folder)


def _refuse_index_in_input(config: Config, files: list[str]) -> None:
    """Refuse an index file inside the input (the next job would read the index as records).

    Raises:
        ConfigError: an `input.paths` folder holds the SQLite index, or a file it names is the index.
    """
    if is_redis(config.index.path):
        return
    index = Path(config.index.path).resolve()
    own = {index, index.with_name(index.name + "-wal"), index.with_name(index.name + "-shm")}
    if config.granularity == "paragraph":  # the paragraph store beside it (`dedup.index.paragraphs`)
        beside = Path(paragraph_target(str(index), config.index.name)[0])
        own |= {beside, beside.with_name(beside.name + "-wal"), beside.with_name(beside.name + "-shm")}
    held = [e for e in config.input.paths if os.path.isdir(e) and index.is_relative_to(Path(e).resolve())]
    named = [f for f in files if Path(f).resolve() in own]
    if held or named:
        where = f"'{held[0]}' holds" if held else f"'{named[0]}' is"
        raise ConfigError(
            f"input.paths: {where} the index (index.path: {config.index.path}); a job would read the "
            "index as input. Keep the index outside the input"
        )
