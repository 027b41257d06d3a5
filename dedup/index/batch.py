"""`dedup index add|check CONFIG`: a corpus against an index, with the same output files as `dedup run`.

`unique.parquet` holds the records that are new to the index (added by `add`), `duplicates.parquet`
those the index already holds (`match`: `exact`, `near`, or `present` when the id itself is
indexed), `rejects.parquet` what could not be read or cleaned, and `report.json` the counts with
the accounting identity checked.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from dedup.config import Config, fingerprint, to_dict
from dedup.errors import ConfigError
from dedup.index.core import Index
from dedup.io import readers, writers
from dedup.pipeline import (
    describe_reject,
    duplicates_table,
    every_record_rejected,
    read_all,
    rejects_table,
    unique_table,
)
from dedup.progress import NullProgress, Progress
from dedup.records import ID, SOURCE_FILE, SOURCE_LINE, TEXT, Reject, clip_raw
from dedup.report import Report
from dedup.resolve import MATCHED_BY

BATCH = 10_000  # records per index transaction


def run(config: Config, add: bool, progress: Progress | None = None) -> Report:
    """Check (and with `add`, index) every input record; write the outputs; return the report.

    Raises:
        DedupError: a subclass for a bad config, input or index, an output folder another run is
            writing or that cannot be written, or a run whose every record was rejected.
    """
    files = sorted(set(readers.discover(config.input.paths)))
    writers.refuse_inputs_inside(Path(config.output.dir), config.input.paths, files)
    _refuse_index_in_input(config, files)
    with writers.claim(config.output) as folder:
        try:
            return _run(config, add, progress or NullProgress())
        except OSError as err:
            raise writers.failure(folder, err) from None


def _run(config: Config, add: bool, progress: Progress) -> Report:
    started = time.perf_counter()
    report = Report(config=to_dict(config), fingerprint=fingerprint(config), output_dir=config.output.dir)
    folder = writers.prepare(config.output)
    progress.stage("read")
    records, rejects, report.skipped_blank_lines = read_all(config, progress, report.skipped_records)
    report.read = records.num_rows + len(rejects)
    if report.read and len(rejects) == report.read:
        raise every_record_rejected(report.read, describe_reject(rejects[0]))
    uniques: list[pa.Table] = []
    duplicates: list[pa.Table] = []
    counts = {"exact": 0, "near": 0, "present": 0}
    matched_by = {name: 0 for name in MATCHED_BY[1:]}
    progress.stage("index add" if add else "index check")
    with Index.open(config.index.path, config) as index:
        for start in range(0, records.num_rows, BATCH):
            part = records.slice(start, BATCH)
            matches, rows, readable, paragraphs = index.ingest(part, add)
            slot = {row: k for k, row in enumerate(rows.tolist())}
            new = [slot[r] for r, m in enumerate(matches) if m.status == "new"]
            dup = [slot[r] for r, m in enumerate(matches) if m.status in ("exact", "near", "present")]
            uniques.append(
                unique_table(
                    readable.take(pa.array(new, pa.int64())),
                    paragraphs.take(pa.array(new, pa.int64())),
                    np.ones(len(new), dtype=np.int64),
                )
            )
            found = [m for m in matches if m.status in ("exact", "near", "present")]
            named = pa.array([m.duplicate_of for m in found], pa.string())
            table = duplicates_table(
                readable.take(pa.array(dup, pa.int64())),
                paragraphs.take(pa.array(dup, pa.int64())),
                named,
                named,
                np.array([m.similarity for m in found], dtype=np.float64),
                np.array([m.containment for m in found], dtype=np.float64),
                np.array([MATCHED_BY.index(m.matched_by or "exact") for m in found], dtype=np.int8),
            )
            status = pa.array([m.status for m in found], pa.string())
            duplicates.append(table.set_column(table.schema.get_field_index("match"), "match", status))
            for m in found:
                counts[m.status] += 1
                if m.status != "present":
                    matched_by[m.matched_by or "exact"] += 1
            files, lines = part[SOURCE_FILE].to_pylist(), part[SOURCE_LINE].to_pylist()
            texts, ids = part[TEXT], part[ID].to_pylist()
            for r, m in enumerate(matches):
                if m.status == "rejected":
                    raw = clip_raw(texts[r].as_py())
                    field = config.input.text_field
                    rejects.append(Reject(files[r], lines[r], m.reason or "", "clean", ids[r], field, raw))
            progress.advance(part.num_rows)
        report.outputs = {"index": index.stats()}
    unique = pa.concat_tables(uniques, promote_options="permissive") if uniques else None
    dups = pa.concat_tables(duplicates, promote_options="permissive") if duplicates else None
    report.kept = unique.num_rows if unique is not None else 0
    report.exact_duplicates, report.near_duplicates = counts["exact"], counts["near"]
    report.present = counts["present"]
    report.duplicates = report.exact_duplicates + report.near_duplicates + report.present
    report.matched_by = dict(matched_by)
    report.rejected = len(rejects)
    if report.read and report.rejected == report.read:
        raise every_record_rejected(report.read, describe_reject(rejects[0]))
    report.check()
    progress.stage("write")
    writers.retract_report(folder)
    empty = pa.table({ID: pa.array([], pa.string())})
    writers.write_table(folder, "unique.parquet", unique if unique is not None else empty, config.output)
    writers.write_table(folder, "duplicates.parquet", dups if dups is not None else empty, config.output)
    writers.write_table(folder, "rejects.parquet", rejects_table(rejects), config.output)
    report.timings["total"] = round(time.perf_counter() - started, 6)
    writers.write_report(folder, report.to_dict())
    return report


def _refuse_index_in_input(config: Config, files: list[str]) -> None:
    """Refuse an index file inside the input (the next job would read the index as records).

    Raises:
        ConfigError: an `input.paths` folder holds the SQLite index, or a file it names is the index.
    """
    if config.index.path.startswith(("redis://", "rediss://", "unix://")):
        return
    index = Path(config.index.path).resolve()
    own = {index, index.with_name(index.name + "-wal"), index.with_name(index.name + "-shm")}
    held = [e for e in config.input.paths if os.path.isdir(e) and index.is_relative_to(Path(e).resolve())]
    named = [f for f in files if Path(f).resolve() in own]
    if held or named:
        where = f"'{held[0]}' holds" if held else f"'{named[0]}' is"
        raise ConfigError(
            f"input.paths: {where} the index (index.path: {config.index.path}); a job would read the "
            "index as input. Keep the index outside the input"
        )
