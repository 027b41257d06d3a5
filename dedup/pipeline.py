"""The batch pipeline: read, clean, exact, shingle+sign, band, candidates, verify, cluster, choose, write.

`run(config)` is what `dedup run` calls. Each stage is also importable on its own: `read_all`,
`clean_records`, `find_duplicates` and `write_run`, so a notebook can stop after any of them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from dedup import cluster, exact, figures, kernels, lsh, minhash, normalize
from dedup.config import Config, fingerprint, to_dict
from dedup.errors import InputError
from dedup.io import readers, writers
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
    arrow_bytes,
    clip_raw,
    ints,
    strings,
)
from dedup.report import Report


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


@dataclass(slots=True)
class Duplicates:
    """What the dedup stages found for a `Cleaned` set.

    Attributes:
        kept_of: `int64 (n,)`, for each record the index of the record its cluster keeps.
        exact_group: `int64 (n,)`, exact-repeat group of each record.
        similarity: `float64 (n,)`, each record's Jaccard similarity to its kept record (1.0 when kept).
        containment: `float64 (n,)`, the share of the smaller of the two in the other (NaN when not
            counted: `verify: estimate` without containment).
        cluster_size: `int64 (n,)`, the size of each record's cluster.
        candidate_pairs: pairs that shared a band key.
        verified_pairs: candidates that reached the threshold.
        bands: bands used.
        rows: rows per band used.
        edges: `int64 (m, 2)`, the verified near-duplicate edges between exact groups (group
            numbers, as in `exact_group`).
    """

    kept_of: npt.NDArray[np.int64]
    exact_group: npt.NDArray[np.int64]
    similarity: npt.NDArray[np.float64]
    containment: npt.NDArray[np.float64]
    cluster_size: npt.NDArray[np.int64]
    candidate_pairs: int
    verified_pairs: int
    bands: int
    rows: int
    edges: npt.NDArray[np.int64]


class _Clock:
    def __init__(self, report: Report, progress: Progress) -> None:
        self.report, self.progress = report, progress

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self.progress.stage(name)
        start = time.perf_counter()
        yield
        self.report.timings[name] = round(time.perf_counter() - start, 6)


def strings_of(array: pa.Array) -> list[str]:
    """A string array as a Python list."""
    return list(array.to_pylist())


def workers(config: Config) -> int:
    """Threads a run uses: `config.workers`, or every core when it is 0."""
    return config.workers or os.cpu_count() or 1


def _fail_fast(rejects: list[Reject], config: Config) -> None:
    if rejects and config.on_error == "fail":
        first = rejects[0]
        message = first.reason + " (on_error: fail)"
        raise InputError(message, path=first.source_file, line=first.source_line, field=first.field)


def read_all(config: Config, progress: Progress | None = None) -> tuple[pa.Table, list[Reject], int]:
    """Read every input record.

    Returns:
        `(records, rejects, skipped_blank_lines)`. A record whose id repeats an earlier one (by
        source position) is rejected, so every id in `records` is unique.
    """
    progress = progress or NullProgress()
    tables: list[pa.Table] = []
    rejects: list[Reject] = []
    skipped = 0
    for batch in readers.read(config.input):
        _fail_fast(batch.rejects, config)
        tables.append(batch.records)
        rejects.extend(batch.rejects)
        skipped += batch.skipped_blank
        progress.advance(batch.records.num_rows + len(batch.rejects))
    table = readers.concat(tables)
    drop: list[int] = []
    if len(pc.unique(table[ID])) < table.num_rows:  # the rare case: look for the repeats
        ids = strings(table, ID)
        files, lines = strings(table, SOURCE_FILE), ints(table, SOURCE_LINE)
        first_at: dict[str, int] = {}
        for i in np.argsort(cluster.position_rank(files, lines, ids), kind="stable").tolist():
            if ids[i] in first_at:
                j = first_at[ids[i]]
                reason = f"duplicate id '{ids[i]}'; first seen at {files[j]}:{lines[j]}"
                rejects.append(Reject(files[i], lines[i], reason, "read", ids[i], config.input.id_field))
                drop.append(i)
            else:
                first_at[ids[i]] = i
    _fail_fast(rejects, config)
    if drop:
        keep = np.ones(len(ids), dtype=bool)
        keep[drop] = False
        table = table.filter(pa.array(keep))
    return table, rejects, skipped


def clean_records(records: pa.Table, config: Config) -> tuple[Cleaned, list[Reject]]:
    """Clean every record into paragraphs and its hashing form; reject what has no words left."""
    cfg = config.normalize
    texts = records[TEXT].combine_chunks() if records.num_rows else pa.array([], pa.large_string())
    too_long = np.asarray(pc.utf8_length(texts).to_numpy(zero_copy_only=False)) > cfg.max_chars
    fits = np.flatnonzero(~too_long)
    paragraphs = normalize.clean_batch(texts.take(pa.array(fits, pa.int64())), cfg, workers(config))
    forms = normalize.hashing_forms(normalize.join_paragraphs(paragraphs, "\n"), workers(config))
    no_text = np.asarray(pc.list_value_length(paragraphs).to_numpy(zero_copy_only=False)) == 0
    no_words = np.asarray(pc.binary_length(forms).to_numpy(zero_copy_only=False)) == 0
    reasons: dict[int, str] = {}
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
    _fail_fast(rejects, config)
    good = pa.array(np.flatnonzero(~no_words), pa.int64())
    kept = records.take(pa.array(fits[~no_words], pa.int64()))
    position = cluster.position_rank(strings(kept, SOURCE_FILE), ints(kept, SOURCE_LINE), strings(kept, ID))
    return Cleaned(kept, paragraphs.take(good), forms.take(good), position), rejects


def find_duplicates(
    cleaned: Cleaned, config: Config, report: Report | None = None, progress: Progress | None = None
) -> Duplicates:
    """Exact repeats, then near-duplicates among one representative per exact group; clusters; keep rule.

    Stage timings go into `report.timings` when a report is given.
    """
    clock = _Clock(report if report is not None else Report(), progress or NullProgress())
    records, n = cleaned.records, cleaned.records.num_rows
    with clock.stage("exact"):
        group, rep = exact.groups(exact.digest(cleaned.forms))
    with clock.stage("sign"):
        rep_forms = cleaned.forms.take(pa.array(rep, pa.int64()))
        signatures = minhash.sign_forms(rep_forms, config.shingle.ngram, config.minhash, workers(config))
        clock.progress.advance(len(rep))

    # Shingle sets of the records in candidate pairs, made once (only these are ever compared).
    shingled: dict[str, Any] = {}

    def check(pairs: npt.NDArray[np.int64], judge: bool = True) -> lsh.Verdict:
        """Verify pairs of representatives; `judge=False` only measures them (no figures rule)."""
        if config.lsh.verify == "estimate" and config.lsh.containment is None and not config.lsh.figures:
            return lsh.verify(pairs, signatures, None, config.lsh)
        if "involved" not in shingled or not np.isin(pairs, shingled["involved"]).all():
            involved = np.unique(pairs)
            forms = rep_forms.take(pa.array(involved, pa.int64()))
            shingled["involved"] = involved
            shingled["sets"] = kernels.shingle_bytes(*arrow_bytes(forms), config.shingle.ngram)
        involved = shingled["involved"]
        local = np.searchsorted(involved, pairs)
        verdict = lsh.verify(local, signatures[involved], shingled["sets"], config.lsh, workers(config))
        if judge and config.lsh.figures and verdict.keep.any():
            kept = np.flatnonzero(verdict.keep)
            ends = np.unique(local[kept])
            texts = strings_of(
                normalize.join_paragraphs(cleaned.paragraphs.take(pa.array(rep[involved[ends]])), "\n")
            )
            clash = figures.conflicts(texts, np.searchsorted(ends, local[kept]).tolist())
            verdict.keep[kept[np.asarray(clash, dtype=bool)]] = False
        return verdict

    bands, rows = lsh.resolve_params(config.lsh, config.minhash.num_perm)
    with clock.stage("candidates"):
        pairs = lsh.candidates(lsh.band(signatures, bands, rows), config.lsh.max_bucket)
    with clock.stage("verify"):
        verdict = check(pairs)
        edges = pairs[verdict.keep]
    with clock.stage("cluster"):
        labels = cluster.connect(len(rep), edges)[group] if n else np.empty(0, dtype=np.int64)
        position = cleaned.position
        rule, field_name = cluster.parse_keep(config.cluster.keep)
        if rule == "first":
            kept_of = cluster.choose(labels, position)
        elif rule == "longest":
            lengths = np.asarray(pc.utf8_length(cleaned.paragraphs.flatten()).to_numpy(), dtype=np.int64)
            parents = np.asarray(pc.list_parent_indices(cleaned.paragraphs).to_numpy(), dtype=np.int64)
            lengths = np.bincount(parents, weights=lengths, minlength=n).astype(np.int64)
            kept_of = cluster.choose(labels, -lengths, position)
        else:
            assert field_name is not None
            values = records[field_name].to_pylist() if field_name in records.column_names else [None] * n
            try:
                kept_of = cluster.choose(labels, cluster.value_rank(values, field_name), position)
            except ValueError as err:
                raise InputError(f"{err} (cluster.keep: {config.cluster.keep})", field=field_name) from None
        sizes = np.bincount(labels, minlength=int(labels.max()) + 1 if n else 0)[labels]
    with clock.stage("similarity"):
        similarity = np.ones(n, dtype=np.float64)
        containment = np.ones(n, dtype=np.float64)
        near = np.flatnonzero(group != group[kept_of])
        if len(near):
            # Signatures and shingle sets are indexed by exact group (one representative each).
            near_pairs = np.stack([group[near], group[kept_of[near]]], axis=1)
            to_kept = check(near_pairs, judge=False)
            similarity[near] = to_kept.jaccard
            containment[near] = to_kept.containment
    counts = (len(pairs), len(edges))
    return Duplicates(
        kept_of, group, similarity, containment, sizes.astype(np.int64), *counts, bands, rows, edges
    )


def _rejects_table(rejects: list[Reject]) -> pa.Table:
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


def write_run(
    config: Config,
    cleaned: Cleaned,
    found: Duplicates,
    rejects: list[Reject],
    report: Report,
    *,
    started: float | None = None,
) -> None:
    """Check the accounting, then write the four outputs atomically into `config.output.dir`.

    `started` (a `time.perf_counter()` value) lets the report carry the write and total times.
    """
    write_start = time.perf_counter()
    records = cleaned.records
    n = records.num_rows
    ids = strings(records, ID)
    position = cleaned.position
    kept_mask = found.kept_of == np.arange(n)
    kept = np.flatnonzero(kept_mask)
    kept = kept[np.argsort(position[kept])]
    dropped = np.flatnonzero(~kept_mask)
    dropped = dropped[np.argsort(position[dropped])]
    exact_match = found.exact_group[dropped] == found.exact_group[found.kept_of[dropped]]

    report.kept, report.duplicates, report.rejected = len(kept), len(dropped), len(rejects)
    report.exact_duplicates = int(exact_match.sum())
    report.near_duplicates = len(dropped) - report.exact_duplicates
    report.clusters = int(np.sum(kept_mask & (found.cluster_size > 1)))
    report.candidate_pairs, report.verified_pairs = found.candidate_pairs, found.verified_pairs
    report.bands, report.rows = found.bands, found.rows
    report.check()

    take = pa.array(kept, pa.int64())
    unique = records.take(take).drop_columns([TEXT])
    paras = cleaned.paragraphs.take(take)
    unique = unique.add_column(1, TEXT, normalize.join_paragraphs(paras, "\n\n").cast(pa.string()))
    paras = paras.cast(pa.list_(pa.string()))
    unique = unique.add_column(2, PARAGRAPHS, paras)
    unique = unique.append_column(CLUSTER_ID, pa.array([ids[i] for i in kept.tolist()], pa.string()))
    unique = unique.append_column(CLUSTER_SIZE, pa.array(found.cluster_size[kept], pa.int64()))
    duplicates = pa.table(
        {
            ID: pa.array([ids[i] for i in dropped.tolist()], pa.string()),
            "duplicate_of": pa.array([ids[i] for i in found.kept_of[dropped].tolist()], pa.string()),
            CLUSTER_ID: pa.array([ids[i] for i in found.kept_of[dropped].tolist()], pa.string()),
            "similarity": pa.array(found.similarity[dropped], pa.float64()),
            "containment": pa.array(found.containment[dropped], pa.float64(), from_pandas=True),
            "match": pa.array(np.where(exact_match, "exact", "near").tolist(), pa.string()),
            TEXT: normalize.join_paragraphs(
                cleaned.paragraphs.take(pa.array(dropped, pa.int64())), "\n\n"
            ).cast(pa.string()),
            SOURCE_FILE: records[SOURCE_FILE].take(pa.array(dropped, pa.int64())),
            SOURCE_LINE: records[SOURCE_LINE].take(pa.array(dropped, pa.int64())),
        }
    )
    folder = writers.prepare(config.output)
    writers.retract_report(folder)
    writers.write_table(folder, "unique.parquet", unique, config.output)
    writers.write_table(folder, "duplicates.parquet", duplicates, config.output)
    writers.write_table(folder, "rejects.parquet", _rejects_table(rejects), config.output)
    if started is not None:
        report.timings["write"] = round(time.perf_counter() - write_start, 6)
        report.timings["total"] = round(time.perf_counter() - started, 6)
    writers.write_report(folder, report.to_dict())


def run(config: Config, progress: Progress | None = None) -> Report:
    """Run the whole batch job as `config` says and return its report.

    Raises:
        DedupError: a subclass saying what was wrong with the config, the input or the output.
    """
    report = Report(config=to_dict(config), fingerprint=fingerprint(config), output_dir=config.output.dir)
    clock = _Clock(report, progress or NullProgress())
    start = time.perf_counter()
    writers.prepare(config.output)  # refuse an earlier run before doing any work
    with clock.stage("read"):
        records, rejects, report.skipped_blank_lines = read_all(config, clock.progress)
        report.read = records.num_rows + len(rejects)
        report.input_bytes = int(pc.sum(pc.binary_length(records[TEXT])).as_py() or 0)
    with clock.stage("clean"):
        cleaned, clean_rejects = clean_records(records, config)
        rejects += clean_rejects
        clock.progress.advance(records.num_rows)
    found = find_duplicates(cleaned, config, report, clock.progress)
    clock.progress.stage("write")
    write_run(config, cleaned, found, rejects, report, started=start)
    return report
