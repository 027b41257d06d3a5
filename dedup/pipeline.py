"""The batch pipeline: read, clean, exact, shingle+sign, band, candidates, verify, cluster, choose, write.

`run(config)` is what `dedup run` calls. Each stage is also importable on its own: `read_all`,
`clean_records`, `find_duplicates` and `write_run`, so a notebook can stop after any of them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from dedup import cluster, exact, lsh, minhash, normalize, shingle
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
    clip_raw,
    ints,
    strings,
)
from dedup.report import Report


@dataclass(slots=True)
class Cleaned:
    """Records that survived reading and cleaning.

    Attributes:
        records: the read table (`id`, `text`, source position, pass-through fields).
        paragraphs: per record, its cleaned paragraphs.
        tokens: per record, per paragraph, its hashing-form tokens.
        position: `int64 (n,)`, each record's rank by source position (file, line, id).
    """

    records: pa.Table
    paragraphs: list[list[str]]
    tokens: list[list[list[str]]]
    position: npt.NDArray[np.int64]


@dataclass(slots=True)
class Duplicates:
    """What the dedup stages found for a `Cleaned` set.

    Attributes:
        kept_of: `int64 (n,)`, for each record the index of the record its cluster keeps.
        exact_group: `int64 (n,)`, exact-repeat group of each record.
        similarity: `float64 (n,)`, each record's similarity to its kept record (1.0 when kept).
        cluster_size: `int64 (n,)`, the size of each record's cluster.
        candidate_pairs: pairs that shared a band key.
        verified_pairs: candidates that reached the threshold.
        bands: bands used.
        rows: rows per band used.
    """

    kept_of: npt.NDArray[np.int64]
    exact_group: npt.NDArray[np.int64]
    similarity: npt.NDArray[np.float64]
    cluster_size: npt.NDArray[np.int64]
    candidate_pairs: int
    verified_pairs: int
    bands: int
    rows: int


class _Clock:
    def __init__(self, report: Report, progress: Progress) -> None:
        self.report, self.progress = report, progress

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self.progress.stage(name)
        start = time.perf_counter()
        yield
        self.report.timings[name] = round(time.perf_counter() - start, 6)


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
    ids = strings(table, ID)
    files, lines = strings(table, SOURCE_FILE), ints(table, SOURCE_LINE)
    first_at: dict[str, int] = {}
    drop: list[int] = []
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
    """Clean every record into paragraphs and hashing-form tokens; reject what has no words left."""
    cfg = config.normalize
    ok: list[int] = []
    paragraphs: list[list[str]] = []
    token_lists: list[list[list[str]]] = []
    rejects: list[Reject] = []
    texts = strings(records, TEXT)
    ids = strings(records, ID)
    files, lines = strings(records, SOURCE_FILE), ints(records, SOURCE_LINE)
    for i, text in enumerate(texts):
        reason = None
        if len(text) > cfg.max_chars:
            reason = f"the record has {len(text):,} characters, over normalize.max_chars ({cfg.max_chars:,})"
        else:
            paras = normalize.clean(text, cfg)
            toks = [normalize.tokens(p) for p in paras]
            if not paras:
                reason = "no text left after cleaning (empty, whitespace or markup only)"
            elif not any(toks):
                reason = "no words left after cleaning (only punctuation or symbols)"
        if reason is not None:
            field_name = config.input.text_field
            rejects.append(Reject(files[i], lines[i], reason, "clean", ids[i], field_name, clip_raw(text)))
            continue
        ok.append(i)
        paragraphs.append(paras)
        token_lists.append(toks)
    _fail_fast(rejects, config)
    kept = records.take(pa.array(ok, pa.int64()))
    position = cluster.position_rank(strings(kept, SOURCE_FILE), ints(kept, SOURCE_LINE), strings(kept, ID))
    return Cleaned(kept, paragraphs, token_lists, position), rejects


def find_duplicates(cleaned: Cleaned, config: Config, clock: _Clock | None = None) -> Duplicates:
    """Exact repeats, then near-duplicates among one representative per exact group; clusters; keep rule."""
    clock = clock or _Clock(Report(), NullProgress())
    records, n = cleaned.records, cleaned.records.num_rows
    with clock.stage("exact"):
        forms = ["\n".join(" ".join(t) for t in doc) for doc in cleaned.tokens]
        group, rep = exact.groups(exact.digest(forms))
    with clock.stage("sign"):
        hashes, offsets = shingle.shingle_batch([cleaned.tokens[r] for r in rep.tolist()], config.shingle)
        signatures = minhash.sign(hashes, offsets, config.minhash)
        clock.progress.advance(len(rep))
    bands, rows = lsh.resolve_params(config.lsh, config.minhash.num_perm)
    with clock.stage("candidates"):
        pairs = lsh.candidates(lsh.band(signatures, bands, rows), config.lsh.max_bucket)
    with clock.stage("verify"):
        if config.lsh.verify == "exact":
            sims = lsh.exact_pairs(hashes, offsets, pairs)
        else:
            sims = lsh.estimate_pairs(signatures, pairs)
        edges = pairs[sims >= config.lsh.threshold]
    with clock.stage("cluster"):
        labels = cluster.connect(len(rep), edges)[group] if n else np.empty(0, dtype=np.int64)
        position = cleaned.position
        rule, field_name = cluster.parse_keep(config.cluster.keep)
        if rule == "first":
            kept_of = cluster.choose(labels, position)
        elif rule == "longest":
            lengths = np.array([sum(len(p) for p in paras) for paras in cleaned.paragraphs], dtype=np.int64)
            kept_of = cluster.choose(labels, -lengths, position)
        else:
            assert field_name is not None
            values = records[field_name].to_pylist() if field_name in records.column_names else [None] * n
            try:
                kept_of = cluster.choose(labels, cluster.value_rank(values, field_name), position)
            except ValueError as err:
                raise InputError(f"{err} (cluster.keep: {config.cluster.keep})", field=field_name) from None
        similarity = np.ones(n, dtype=np.float64)
        near = np.flatnonzero(group != group[kept_of])
        if len(near):
            # Signatures and shingle sets are indexed by exact group (one representative each).
            near_pairs = np.stack([group[near], group[kept_of[near]]], axis=1)
            if config.lsh.verify == "exact":
                similarity[near] = lsh.exact_pairs(hashes, offsets, near_pairs)
            else:
                similarity[near] = lsh.estimate_pairs(signatures, near_pairs)
        sizes = np.bincount(labels, minlength=int(labels.max()) + 1 if n else 0)[labels]
    return Duplicates(kept_of, group, similarity, sizes.astype(np.int64), len(pairs), len(edges), bands, rows)


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

    unique = records.take(pa.array(kept, pa.int64())).drop_columns([TEXT])
    paras = [cleaned.paragraphs[i] for i in kept.tolist()]
    unique = unique.add_column(1, TEXT, pa.array(["\n\n".join(p) for p in paras], pa.string()))
    unique = unique.add_column(2, PARAGRAPHS, pa.array(paras, pa.list_(pa.string())))
    unique = unique.append_column(CLUSTER_ID, pa.array([ids[i] for i in kept.tolist()], pa.string()))
    unique = unique.append_column(CLUSTER_SIZE, pa.array(found.cluster_size[kept], pa.int64()))
    duplicates = pa.table(
        {
            ID: pa.array([ids[i] for i in dropped.tolist()], pa.string()),
            "duplicate_of": pa.array([ids[i] for i in found.kept_of[dropped].tolist()], pa.string()),
            CLUSTER_ID: pa.array([ids[i] for i in found.kept_of[dropped].tolist()], pa.string()),
            "similarity": pa.array(found.similarity[dropped], pa.float64()),
            "match": pa.array(np.where(exact_match, "exact", "near").tolist(), pa.string()),
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
        report.input_bytes = sum(len(t.encode("utf-8")) for t in strings(records, TEXT))
    with clock.stage("clean"):
        cleaned, clean_rejects = clean_records(records, config)
        rejects += clean_rejects
        clock.progress.advance(records.num_rows)
    found = find_duplicates(cleaned, config, clock)
    clock.progress.stage("write")
    write_run(config, cleaned, found, rejects, report, started=start)
    return report
