"""The pipeline's stages for records held in memory, and the output tables every engine writes.

`read_all`, `clean_records`, `find_duplicates` and `write_run` run the batch job on a corpus that
fits in memory, so a notebook can stop after any of them. The local engine (`dedup.engines.local`,
what `dedup run` calls) runs the same stages shard by shard (`clean_table`) and writes the same
tables (`unique_table`, `duplicates_table`, `rejects_table`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from dedup import cluster, exact, lsh, minhash, normalize
from dedup.config import Config
from dedup.errors import InputError
from dedup.io import fields, readers, writers
from dedup.progress import NullProgress, Progress
from dedup.records import (
    CLUSTER_ID,
    CLUSTER_SIZE,
    ID,
    PARAGRAPHS,
    SOURCE_FILE,
    SOURCE_LINE,
    TEXT,
    Reject,
    clip_raw,
    ints,
    strings,
)
from dedup.report import Report
from dedup.resolve import CONTAINMENT, CONTAINS, EXACT, JACCARD, MATCHED_BY, Clock, Duplicates, resolve


@dataclass(slots=True)
class Cleaned:
    """Records that survived reading and cleaning, as Arrow arrays aligned row by row.

    Attributes:
        records: the read table (`id`, `text`, source position, pass-through fields).
        paragraphs: `large_list<large_string>`, each record's cleaned paragraphs.
        forms: `large_string`, each record's hashing form.
        position: `int64 (n,)`, each record's rank by source position (file, line, id).
    """

    records: pa.Table
    paragraphs: pa.LargeListArray
    forms: pa.LargeStringArray
    position: npt.NDArray[np.int64]


def strings_of(array: pa.Array) -> list[str]:
    """A string array as a Python list."""
    return list(array.to_pylist())


def workers(config: Config) -> int:
    """Threads a run uses: `config.workers`, or every core when it is 0."""
    return config.workers or os.cpu_count() or 1


def fail_fast(rejects: list[Reject], config: Config) -> None:
    """Raise `InputError` for the first reject when `on_error: fail`."""
    if rejects and config.on_error == "fail":
        first = rejects[0]
        message = first.reason + " (on_error: fail)"
        raise InputError(message, path=first.source_file, line=first.source_line, field=first.field)


def describe_reject(reject: Reject) -> str:
    """A reject as one line for the terminal: `file:line: field 'x': reason`."""
    field_part = f" field '{reject.field}':" if reject.field else ""
    return f"{reject.where}:{field_part} {reject.reason}"


def every_record_rejected(read: int, first: str) -> InputError:
    """The error for a run whose every record was rejected (a misnamed field, the wrong format).

    Args:
        read: records read.
        first: the first reject as `file:line: field 'x': reason`.
    """
    return InputError(f"every record read was rejected ({read:,}), nothing written; the first: {first}")


def repeated_ids(
    ids: list[str], files: list[str], lines: list[int], order: list[int], id_field: str
) -> tuple[list[int], list[Reject]]:
    """Records whose id repeats one seen earlier in `order` (source position), and a reject for each."""
    first_at: dict[str, int] = {}
    drop: list[int] = []
    rejects: list[Reject] = []
    for i in order:
        if ids[i] in first_at:
            j = first_at[ids[i]]
            reason = f"duplicate id '{ids[i]}'; first seen at {files[j]}:{lines[j]}"
            rejects.append(Reject(files[i], lines[i], reason, "read", ids[i], id_field))
            drop.append(i)
        else:
            first_at[ids[i]] = i
    return drop, rejects


def read_all(
    config: Config, progress: Progress | None = None, skipped_records: dict[str, int] | None = None
) -> tuple[pa.Table, list[Reject], int]:
    """Read every input record.

    Args:
        config: the run's config.
        progress: where progress goes.
        skipped_records: when given, WARC records that hold no document are counted into it by
            kind (see `ReadBatch.skipped_records`).

    Returns:
        `(records, rejects, skipped_blank_lines)`. A record whose id repeats an earlier one (by
        source position) is rejected, so every id in `records` is unique.
    """
    progress = progress or NullProgress()
    tables: list[pa.Table] = []
    rejects: list[Reject] = []
    skipped = 0
    for batch in readers.read(config.input):
        fail_fast(batch.rejects, config)
        tables.append(batch.records)
        rejects.extend(batch.rejects)
        skipped += batch.skipped_blank
        if skipped_records is not None:
            for kind, n in batch.skipped_records.items():
                skipped_records[kind] = skipped_records.get(kind, 0) + n
        progress.advance(batch.records.num_rows + len(batch.rejects))
    if skipped_records:
        counts = sorted(skipped_records.items())
        skipped_records.clear()
        skipped_records.update(counts)
    table = readers.concat(tables)
    drop: list[int] = []
    if len(pc.unique(table[ID])) < table.num_rows:  # the rare case: look for the repeats
        ids = strings(table, ID)
        files, lines = strings(table, SOURCE_FILE), ints(table, SOURCE_LINE)
        order = np.argsort(cluster.position_rank(files, lines, ids), kind="stable").tolist()
        drop, repeats = repeated_ids(ids, files, lines, order, config.input.id_field)
        rejects += repeats
    fail_fast(rejects, config)
    if drop:
        keep = np.ones(len(ids), dtype=bool)
        keep[drop] = False
        table = table.filter(pa.array(keep))
    return table, rejects, skipped


def clean_table(
    records: pa.Table, config: Config
) -> tuple[pa.Table, pa.LargeListArray, pa.LargeStringArray, list[Reject]]:
    """Clean records into paragraphs and hashing forms; reject what is too long or has no words left.

    Returns:
        `(kept, paragraphs, forms, rejects)`: the records that survived, their paragraphs and
        hashing forms (aligned row by row), and the rejected ones.
    """
    cfg = config.normalize
    texts = records[TEXT].combine_chunks() if records.num_rows else pa.array([], pa.large_string())
    too_long = np.asarray(pc.utf8_length(texts).to_numpy(zero_copy_only=False)) > cfg.max_chars
    binary = np.asarray(pc.match_substring(texts, "\x00").to_numpy(zero_copy_only=False), dtype=bool)
    fits = np.flatnonzero(~too_long & ~binary)
    paragraphs = normalize.clean_batch(texts.take(pa.array(fits, pa.int64())), cfg, workers(config))
    forms = normalize.hashing_forms(normalize.join_paragraphs(paragraphs, "\n"), workers(config))
    no_text = np.asarray(pc.list_value_length(paragraphs).to_numpy(zero_copy_only=False)) == 0
    no_words = np.asarray(pc.binary_length(forms).to_numpy(zero_copy_only=False)) == 0
    reasons: dict[int, str] = {}
    for i in np.flatnonzero(binary & ~too_long).tolist():
        at = texts[i].as_py().index("\x00")
        reasons[i] = f"the text holds NUL bytes (binary data, not text); the first at character {at + 1:,}"
    for i in np.flatnonzero(too_long).tolist():
        length = len(texts[i].as_py())
        reasons[i] = f"the record has {length:,} characters, over normalize.max_chars ({cfg.max_chars:,})"
    for k in np.flatnonzero(no_words).tolist():
        reasons[int(fits[k])] = (
            "no text left after cleaning (empty, whitespace or markup only)"
            if no_text[k]
            else "no words left after cleaning (only punctuation or symbols)"
        )
    rejects: list[Reject] = []
    if reasons:
        ids, files, lines = strings(records, ID), strings(records, SOURCE_FILE), ints(records, SOURCE_LINE)
        for i in sorted(reasons):
            raw = clip_raw(texts[i].as_py())
            field_name = config.input.text_field
            rejects.append(Reject(files[i], lines[i], reasons[i], "clean", ids[i], field_name, raw))
    fail_fast(rejects, config)
    if not reasons:
        return records, paragraphs, forms, rejects
    good = pa.array(np.flatnonzero(~no_words), pa.int64())
    kept = records.take(pa.array(fits[~no_words], pa.int64()))
    return kept, paragraphs.take(good), forms.take(good), rejects


def clean_records(records: pa.Table, config: Config) -> tuple[Cleaned, list[Reject]]:
    """Clean every record into paragraphs and its hashing form; reject what has no words left."""
    kept, paragraphs, forms, rejects = clean_table(records, config)
    position = cluster.position_rank(strings(kept, SOURCE_FILE), ints(kept, SOURCE_LINE), strings(kept, ID))
    return Cleaned(kept, paragraphs, forms, position), rejects


class _MemorySource:
    """A `resolve.Source` over a `Cleaned` set and its representatives' signatures."""

    def __init__(
        self,
        cleaned: Cleaned,
        rep: npt.NDArray[np.int64],
        signatures: npt.NDArray[np.uint32],
        bands: int,
        rows: int,
    ) -> None:
        self.cleaned, self.sig, self.bands, self.rows = cleaned, signatures, bands, rows
        self.slot = np.full(cleaned.records.num_rows, -1, dtype=np.int64)
        self.slot[rep] = np.arange(len(rep), dtype=np.int64)
        self.keys: npt.NDArray[np.uint64] | None = None

    def __len__(self) -> int:
        return int(self.cleaned.records.num_rows)

    def band_keys(self, rows: npt.NDArray[np.int64], band: int) -> npt.NDArray[np.uint64]:
        if self.keys is None:
            self.keys = lsh.band(self.sig, self.bands, self.rows)
        keys: npt.NDArray[np.uint64] = self.keys[self.slot[rows], band]
        return keys

    def signatures(self, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.uint32]:
        return self.sig[self.slot[rows]]

    def forms(self, rows: npt.NDArray[np.int64]) -> pa.Array[Any]:
        return self.cleaned.forms.take(pa.array(rows, pa.int64()))

    def texts(self, rows: npt.NDArray[np.int64]) -> list[str]:
        paragraphs = self.cleaned.paragraphs.take(pa.array(rows, pa.int64()))
        return strings_of(normalize.join_paragraphs(paragraphs, "\n"))

    def lengths(self) -> npt.NDArray[np.int64]:
        return paragraph_lengths(self.cleaned.paragraphs)

    def values(self, field_name: str) -> list[object]:
        records = self.cleaned.records
        if field_name in records.column_names:
            return fields.values(records[field_name], records.schema.field(field_name))
        return [None] * records.num_rows

    def record_ids(self, rows: npt.NDArray[np.int64]) -> list[str]:
        return strings_of(self.cleaned.records[ID].take(pa.array(rows, pa.int64())))


def paragraph_lengths(paragraphs: pa.Array[Any]) -> npt.NDArray[np.int64]:
    """`int64 (n,)`: each record's total paragraph length in characters."""
    n = len(paragraphs)
    if n == 0:
        return np.empty(0, dtype=np.int64)
    lengths = np.asarray(pc.utf8_length(paragraphs.flatten()).to_numpy(zero_copy_only=False), dtype=np.int64)
    parents = np.asarray(pc.list_parent_indices(paragraphs).to_numpy(zero_copy_only=False), dtype=np.int64)
    return np.bincount(parents, weights=lengths, minlength=n).astype(np.int64)


def find_duplicates(
    cleaned: Cleaned, config: Config, report: Report | None = None, progress: Progress | None = None
) -> Duplicates:
    """Exact repeats, then near-duplicates among one representative per exact group; clusters; keep rule.

    Stage timings go into `report.timings` when a report is given.
    """
    timings = report.timings if report is not None else {}
    clock = Clock(timings, (progress or NullProgress()).stage)
    with clock.stage("exact"):
        group, rep = exact.groups(exact.digest(cleaned.forms))
    with clock.stage("sign"):
        rep_forms = cleaned.forms.take(pa.array(rep, pa.int64()))
        signatures = minhash.sign_forms(rep_forms, config.shingle.ngram, config.minhash, workers(config))
        if progress is not None:
            progress.advance(len(rep))
    bands, rows = lsh.resolve_params(config.lsh, config.minhash.num_perm)
    source = _MemorySource(cleaned, rep, signatures, bands, rows)
    return resolve(source, group, rep, cleaned.position, config, clock, workers(config))


def rejects_table(rejects: list[Reject]) -> pa.Table:
    """`rejects.parquet`'s rows: position, id, stage, field, reason and (a prefix of) the raw content."""
    return pa.table(
        {
            SOURCE_FILE: pa.array([r.source_file for r in rejects], pa.string()),
            SOURCE_LINE: pa.array([r.source_line for r in rejects], pa.int64()),
            ID: pa.array([r.id for r in rejects], pa.string()),
            "stage": pa.array([r.stage for r in rejects], pa.string()),
            "field": pa.array([r.field for r in rejects], pa.string()),
            "reason": pa.array([r.reason for r in rejects], pa.string()),
            "raw": pa.array([r.raw for r in rejects], pa.string()),
        }
    )


def unique_table(
    records: pa.Table, paragraphs: pa.Array[Any], cluster_size: npt.NDArray[np.int64]
) -> pa.Table:
    """`unique.parquet`'s rows for kept `records`.

    Columns: id, cleaned text and paragraphs, position, pass-through fields, `cluster_id` (the
    record's own id) and `cluster_size`.
    """
    if TEXT in records.column_names:
        records = records.drop_columns([TEXT])
    unique = records.add_column(1, TEXT, normalize.join_paragraphs(paragraphs, "\n\n").cast(pa.string()))
    unique = unique.add_column(2, PARAGRAPHS, paragraphs.cast(pa.list_(pa.string())))
    unique = unique.append_column(CLUSTER_ID, records[ID])
    return unique.append_column(CLUSTER_SIZE, pa.array(cluster_size, pa.int64()))


def duplicates_table(
    records: pa.Table,
    paragraphs: pa.Array[Any],
    duplicate_of: pa.Array[Any],
    cluster_id: pa.Array[Any],
    similarity: npt.NDArray[np.float64],
    containment: npt.NDArray[np.float64],
    matched_by: npt.NDArray[np.int8],
) -> pa.Table:
    """`duplicates.parquet`'s rows for dropped `records`.

    Columns: id, the id of the record it duplicates, its cluster id, the evidence (Jaccard
    `similarity`, `containment` of the dropped record in the named one, `matched_by` = `exact`,
    `jaccard` or `containment`, and `match` = `exact` or `near`), the dropped record's cleaned text
    (for auditing) and its position.
    """
    names = np.asarray(MATCHED_BY, dtype=object)[matched_by]
    return pa.table(
        {
            ID: records[ID],
            "duplicate_of": pa.array(duplicate_of, pa.string()),
            CLUSTER_ID: pa.array(cluster_id, pa.string()),
            "similarity": pa.array(similarity, pa.float64()),
            "containment": pa.array(containment, pa.float64(), from_pandas=True),
            "matched_by": pa.array(names.tolist(), pa.string()),
            "match": pa.array(np.where(matched_by == EXACT, "exact", "near").tolist(), pa.string()),
            TEXT: normalize.join_paragraphs(paragraphs, "\n\n").cast(pa.string()),
            SOURCE_FILE: records[SOURCE_FILE],
            SOURCE_LINE: records[SOURCE_LINE],
        }
    )


def count(report: Report, found: Duplicates, rejected: int) -> None:
    """Fill the report's counts from what `find_duplicates` found, and check the accounting."""
    kept_mask = found.kept
    by = found.matched_by[~kept_mask]
    report.kept, report.duplicates, report.rejected = int(kept_mask.sum()), len(by), rejected
    report.exact_duplicates = int(np.sum(by == EXACT))
    report.near_duplicates = int(np.sum((by == JACCARD) | (by == CONTAINMENT) | (by == CONTAINS)))
    report.matched_by = {name: int(np.sum(by == code)) for code, name in enumerate(MATCHED_BY) if code}
    report.clusters = int(np.sum(kept_mask & (found.cluster_size > 1)))
    report.groups = found.groups
    report.candidate_pairs, report.verified_pairs = found.candidate_pairs, found.verified_pairs
    report.bands, report.rows = found.bands, found.rows
    report.check()


def write_run(
    config: Config,
    cleaned: Cleaned,
    found: Duplicates,
    rejects: list[Reject],
    report: Report,
) -> None:
    """Check the accounting, then write the four outputs of an in-memory run into `config.output.dir`.

    `report.read` must be set by the caller (records read, rejects included).
    """
    records = cleaned.records
    n = records.num_rows
    count(report, found, len(rejects))
    by_position = np.argsort(cleaned.position, kind="stable")
    kept = by_position[found.kept[by_position]]
    dropped = by_position[~found.kept[by_position]]
    take, drop = pa.array(kept, pa.int64()), pa.array(dropped, pa.int64())
    ids = records[ID].combine_chunks() if n else pa.array([], pa.string())
    unique = unique_table(records.take(take), cleaned.paragraphs.take(take), found.cluster_size[kept])
    duplicates = duplicates_table(
        records.take(drop),
        cleaned.paragraphs.take(drop),
        ids.take(pa.array(found.duplicate_of[dropped], pa.int64())),
        ids.take(pa.array(found.cluster[dropped], pa.int64())),
        found.similarity[dropped],
        found.containment[dropped],
        found.matched_by[dropped],
    )
    with writers.claim(config.output):
        folder = writers.prepare(config.output)
        writers.retract_report(folder)
        writers.write_table(folder, "unique.parquet", unique, config.output)
        writers.write_table(folder, "duplicates.parquet", duplicates, config.output)
        writers.write_table(folder, "rejects.parquet", rejects_table(rejects), config.output)
        writers.write_report(folder, report.to_dict())
