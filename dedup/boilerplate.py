"""The paragraph index: paragraph groups across the corpus, boilerplate, and the records it pairs.

Under `granularity: paragraph` this global step reads every paragraph that counts (not short, in
a record whose id is not a repeat) through `Part`s, one batch of records each (a shard of the
local engine, or all records in memory), and decides:

1. **Exact groups**: paragraphs with equal hashing forms (xxh3-128 digests).
2. **Near pairs**: one representative per exact group; candidates share an LSH band key
   (`resolve.candidate_pairs`, one band at a time) and are verified on their exact shingle sets by
   `lsh.verify`, with the document thresholds (Jaccard `lsh.threshold`, `lsh.short_threshold`
   below `lsh.min_shingles` shingles, containment `lsh.containment`).
3. **Paragraph groups**: exact groups joined by pairs that are near-duplicates both ways: each
   paragraph holds at least `lsh.containment` of the other's shingles (Jaccard alone when
   containment is off), joined as connected components. A paragraph that holds a boilerplate
   paragraph and words of its own (a footer run on with the page's last sentence) passes Jaccard
   but is no copy of it: it stays, own words and all. A group's *records* are the records holding
   one of its paragraphs.
4. **Boilerplate**: a group is boilerplate when it occurs in at least `paragraphs.min_records`
   documents with text of their own. A record has text of its own when it holds a paragraph (that
   counts) whose group occurs in fewer than `min_records` records; records whose own texts are
   near-duplicates (the document rules) are copies of one document and count once. So a footer
   shared by a site's pages is boilerplate, while the paragraphs of a story syndicated whole to
   many records are not (those records hold nothing else: the copies are left to document-level
   dedup), nor is a background paragraph that two stories share when each comes with its
   re-issues. A paragraph wholly inside a boilerplate paragraph (containment) is boilerplate too.
5. **Candidate pairs**: records holding paragraphs of one group that is not boilerplate (joined
   by any verified pair, containment included) are proposed as document candidates, however
   different their lengths: a truncated copy shares its paragraphs with the full story. Each
   record is paired with at most `lsh.max_bucket` earlier records of a group, as LSH buckets are.

Memory: the step holds a few integers per paragraph that counts (its digest while grouping, its
group, and per group its representative, label and counts), one band of the representatives' keys
at a time, and one part's arrays while it reads them. On 5,000,000 records of one paragraph each
(`benchmarks/reports/paragraphs.md`) it peaked at 1.73 GB, below the document steps' 1.77 GB.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from dedup import cluster, exact, kernels, lsh
from dedup.config import Config
from dedup.featurize import gather_sets
from dedup.records import ID, PARAGRAPHS, SOURCE_FILE, SOURCE_LINE
from dedup.resolve import VERIFY_CHUNK, Clock, candidate_pairs


@dataclass(frozen=True, slots=True)
class Part:
    """One batch of records as the paragraph index reads it.

    Attributes:
        records: records in the batch.
        array: a paragraph array by name (`dedup.paragraphs.ARRAYS`: `offsets`, `digests`,
            `keys`, `sets`, `set_offsets`, `words`); may be memory-mapped.
        table: the batch's records (`id`, `source_file`, `source_line`, `paragraphs`), read only
            for the representatives of boilerplate groups.
        valid: `bool (records,)`, the records whose id is not a repeat (None: all).
    """

    records: int
    array: Callable[[str], npt.NDArray[Any]]
    table: Callable[[], pa.Table]
    valid: npt.NDArray[np.bool_] | None = None


@dataclass(slots=True)
class Boilerplate:
    """What the paragraph index found.

    Attributes:
        removed: per part, `bool (paragraphs,)`: the boilerplate paragraphs, to take out.
        pairs: `int64 (m, 2)`, candidate pairs of records (rows numbered across the parts in
            order), each `(i, j)` with `i < j`, unique.
        groups: `paragraphs.parquet`'s rows, one per boilerplate group (`GROUPS_SCHEMA`).
        stats: counts for the report (`paragraphs`, `short`, `exact_groups`, `candidate_pairs`,
            `near_pairs`, `groups`, `boilerplate_groups`, `boilerplate_paragraphs`,
            `records_touched`: records that lost a paragraph, `record_pairs`).
    """

    removed: list[npt.NDArray[np.bool_]]
    pairs: npt.NDArray[np.int64]
    groups: pa.Table
    stats: dict[str, int]


GROUPS_SCHEMA = pa.schema(
    [
        pa.field("group", pa.int64()),
        pa.field("text", pa.string()),
        pa.field("records", pa.int64()),
        pa.field("paragraphs", pa.int64()),
        pa.field("variants", pa.int64()),
        pa.field("words", pa.int64()),
        pa.field("first_record", pa.string()),
        pa.field(SOURCE_FILE, pa.string()),
        pa.field(SOURCE_LINE, pa.int64()),
    ]
)


class _Source:
    """A `resolve.Source` (band keys and shingle sets only) over the paragraphs of all parts."""

    def __init__(self, parts: list[Part], bases: npt.NDArray[np.int64]) -> None:
        self.parts, self.bases = parts, bases

    def _split(
        self, rows: npt.NDArray[np.int64]
    ) -> list[tuple[int, npt.NDArray[np.int64], npt.NDArray[np.int64]]]:
        part = np.searchsorted(self.bases, rows, side="right") - 1
        order = np.argsort(part, kind="stable")
        bounds = np.searchsorted(part[order], np.arange(len(self.parts) + 1))
        out = []
        for s in range(len(self.parts)):
            at = order[bounds[s] : bounds[s + 1]]
            if len(at):
                out.append((s, at, rows[at] - self.bases[s]))
        return out

    def band_keys(self, rows: npt.NDArray[np.int64], band: int) -> npt.NDArray[np.uint64]:
        out = np.empty(len(rows), dtype=np.uint64)
        for s, at, local in self._split(rows):
            out[at] = np.asarray(self.parts[s].array("keys")[band])[local]
        return out

    def sets(self, rows: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]]:
        sizes = np.zeros(len(rows), dtype=np.int64)
        pieces = []
        for s, at, local in self._split(rows):
            part = self.parts[s]
            hashes, offsets = gather_sets(part.array("sets"), part.array("set_offsets"), local)
            sizes[at] = np.diff(offsets)
            pieces.append((at, hashes, offsets))
        packed = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(sizes, out=packed[1:])
        out = np.empty(int(packed[-1]), dtype=np.uint32)
        for at, hashes, offsets in pieces:
            starts = np.repeat(packed[at] - offsets[:-1], np.diff(offsets))
            out[starts + np.arange(len(hashes), dtype=np.int64)] = hashes
        return out, packed


def _parents(part: Part) -> npt.NDArray[np.int64]:
    """`int64 (paragraphs,)`: the record (row in the part) of each paragraph."""
    offsets = np.asarray(part.array("offsets"), dtype=np.int64)
    return np.repeat(np.arange(part.records, dtype=np.int64), np.diff(offsets))


def _distinct(
    labels: npt.NDArray[np.int64], records: npt.NDArray[np.int64], width: int, size: int
) -> npt.NDArray[np.int64]:
    """`int64 (size,)`: distinct records per label, for one part's `(label, record)` entries."""
    if not len(labels):
        return np.zeros(size, dtype=np.int64)
    codes = kernels.distinct(labels * max(width, 1) + records)
    return np.bincount(codes // max(width, 1), minlength=size).astype(np.int64)


def find(parts: list[Part], config: Config, clock: Clock | None = None, workers: int = 1) -> Boilerplate:
    """Run the paragraph index over all parts (the module's steps 1 to 5).

    Args:
        parts: the batches of records, in source order.
        config: the run's config (`paragraphs`, `lsh`, `minhash`).
        clock: collects the stage timings (`paragraph groups`, `boilerplate`).
        workers: threads for exact counting.

    Returns:
        `Boilerplate`.
    """
    clock = clock or Clock()
    cfg = config.paragraphs
    min_records = cfg.min_records
    bases = np.zeros(len(parts) + 1, dtype=np.int64)
    record_bases = np.zeros(len(parts) + 1, dtype=np.int64)
    counted: list[npt.NDArray[np.int64]] = []  # per part, the local paragraphs that count
    with clock.stage("paragraph groups"):
        digests = []
        short = 0
        for s, part in enumerate(parts):
            words = np.asarray(part.array("words"))
            bases[s + 1] = bases[s] + len(words)
            record_bases[s + 1] = record_bases[s] + part.records
            ok = words >= cfg.min_words
            short += int(np.sum(~ok))
            if part.valid is not None:
                ok &= part.valid[_parents(part)]
            local = np.flatnonzero(ok).astype(np.int64)
            counted.append(local)
            digests.append(np.asarray(part.array("digests"))[local])
        joined = np.concatenate(digests) if digests else np.empty((0, 2), dtype=np.uint64)
        del digests
        group, first = exact.groups(joined)
        del joined
        starts = np.cumsum([0] + [len(c) for c in counted])
        rep = np.concatenate([c + bases[s] for s, c in enumerate(counted)])[first] if len(first) else first
        units = len(rep)
        source = _Source(parts, bases)
        bands, _ = lsh.resolve_params(config.lsh, config.minhash.num_perm)
        pairs = candidate_pairs(source, rep, bands, config.lsh.max_bucket)
        verdict = _verify(source, rep, pairs, config, workers)
        near = pairs[verdict.keep]
        # Two paragraphs are one text when each is inside the other (`lsh.containment`): a paragraph
        # that holds boilerplate and words of its own passes Jaccard, but is no copy of it.
        both = verdict.inside == lsh.MUTUAL
        mutual = (both if config.lsh.containment is not None else verdict.similar | both)[verdict.keep]
        inner = np.where((verdict.inside == lsh.SECOND_INSIDE)[verdict.keep][:, None], near[:, ::-1], near)
        inner = inner[~mutual]  # (a, b): paragraph group a is inside b
        label = cluster.connect(units, near[mutual])
        labels = int(label.max()) + 1 if units else 0
        candidates = len(pairs)
        del verdict, pairs, mutual  # a few hundred bytes per candidate pair of paragraphs

    def per_part(s: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Part `s`'s counted paragraphs: their exact group and their record (row in the part)."""
        return group[starts[s] : starts[s + 1]], _parents(parts[s])[counted[s]]

    with clock.stage("boilerplate"):
        records = np.zeros(labels, dtype=np.int64)
        for s, part in enumerate(parts):
            g, r = per_part(s)
            records += _distinct(label[g], r, part.records, labels)
        boiler_group = np.zeros(units, dtype=bool)
        if min_records is not None and units:
            documents = _documents(parts, per_part, counted, record_bases, label, records, config, workers)
            boiler_group = (documents >= min_records)[label]
        report_label = label.copy()
        if len(inner) and boiler_group.any():  # a piece of boilerplate is boilerplate
            take = boiler_group[inner[:, 1]] & ~boiler_group[inner[:, 0]]
            boiler_group[inner[take, 0]] = True
            report_label[inner[take, 0]] = label[inner[take, 1]]
        removed: list[npt.NDArray[np.bool_]] = []
        for s in range(len(parts)):
            mask = np.zeros(int(bases[s + 1] - bases[s]), dtype=bool)
            mask[counted[s][boiler_group[per_part(s)[0]]]] = True
            removed.append(mask)
        groups = _groups(
            parts, per_part, counted, bases, record_bases, boiler_group, report_label, rep, labels
        )
        record_pairs = _record_pairs(parts, per_part, record_bases, boiler_group, near, units, config)
    stats = {
        "paragraphs": int(bases[-1]),
        "short": short,
        "exact_groups": units,
        "candidate_pairs": candidates,
        "near_pairs": len(near),
        "groups": int(np.sum(records >= 2)),
        "boilerplate_groups": groups.num_rows,
        "boilerplate_paragraphs": int(sum(int(m.sum()) for m in removed)),
        "records_touched": sum(len(np.unique(_parents(p)[m])) for p, m in zip(parts, removed, strict=True)),
        "record_pairs": len(record_pairs),
    }
    return Boilerplate(removed, record_pairs, groups, stats)


def _documents(
    parts: list[Part],
    per_part: Callable[[int], tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]],
    counted: list[npt.NDArray[np.int64]],
    record_bases: npt.NDArray[np.int64],
    label: npt.NDArray[np.int64],
    records: npt.NDArray[np.int64],
    config: Config,
    workers: int,
) -> npt.NDArray[np.int64]:
    """`int64 (labels,)`: per paragraph group, the documents with text of their own that hold it.

    A record's *own text* is its paragraphs (that count) whose group is in fewer than
    `min_records` records. Records whose own texts are near-duplicates by the document rules
    (Jaccard `lsh.threshold`, or one inside the other at `lsh.containment`) are copies of one
    document (a story and its re-issues) and count once. Only groups in at least `min_records`
    records can reach it, so only their holders are compared, and only those sharing an own
    paragraph group.
    """
    min_records = config.paragraphs.min_records
    assert min_records is not None
    labels, total = len(records), int(record_bases[-1])
    rare = records < min_records
    owned = []
    holders = np.zeros(total, dtype=bool)  # records with own text that hold a frequent group
    for s, part in enumerate(parts):
        g, r = per_part(s)
        owned.append(rare[label[g]])
        has_own = np.zeros(part.records, dtype=bool)
        has_own[r[owned[s]]] = True
        holds = ~owned[s] & has_own[r]
        holders[r[holds] + record_bases[s]] = True
    entries = []
    for s in range(len(parts)):
        g, r = per_part(s)
        shared = owned[s] & (records[label[g]] >= 2) & holders[r + record_bases[s]]
        width = max(parts[s].records, 1)
        codes = kernels.distinct(label[g][shared] * width + r[shared])
        entries.append(np.stack([codes // width, codes % width + record_bases[s]], axis=1))
    table = np.concatenate(entries)
    table = table[np.lexsort((table[:, 1], table[:, 0]))]
    found = kernels.bucket_pairs(np.ascontiguousarray(table[:, :1].astype(np.uint64)), min_records)
    pairs = (
        np.unique(np.sort(table[:, 1][found], axis=1), axis=0) if len(found) else np.empty((0, 2), np.int64)
    )
    copies = np.empty((0, 2), dtype=np.int64)
    if len(pairs):
        involved = kernels.distinct(pairs.ravel())
        hashes, offsets = _own_text(parts, counted, owned, record_bases, involved)
        cfg = dataclasses.replace(config.lsh, verify="exact")
        local = np.searchsorted(involved, pairs)
        verdict = lsh.verify(local, np.empty((len(involved), 0), np.uint32), (hashes, offsets), cfg, workers)
        copies = pairs[verdict.keep]
    document = cluster.connect(total, copies)
    held = []
    for s in range(len(parts)):
        g, r = per_part(s)
        keep = ~owned[s] & holders[r + record_bases[s]]
        held.append(np.stack([label[g][keep], document[r[keep] + record_bases[s]]], axis=1))
    joined = np.concatenate(held)
    if not len(joined):
        return np.zeros(labels, dtype=np.int64)
    width = int(document.max()) + 1
    codes = kernels.distinct(joined[:, 0] * width + joined[:, 1])
    return np.bincount(codes // width, minlength=labels).astype(np.int64)


def _own_text(
    parts: list[Part],
    counted: list[npt.NDArray[np.int64]],
    owned: list[npt.NDArray[np.bool_]],
    record_bases: npt.NDArray[np.int64],
    rows: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]]:
    """The shingle hashes of the own text of records `rows` (global, sorted), repeats allowed, packed."""
    sizes = np.zeros(len(rows), dtype=np.int64)
    pieces = []
    for s, part in enumerate(parts):
        lo, hi = np.searchsorted(rows, [record_bases[s], record_bases[s + 1]])
        if lo == hi:
            continue
        parents = _parents(part)[counted[s]]
        pick = owned[s] & np.isin(parents + record_bases[s], rows[lo:hi])
        paragraphs = counted[s][pick]  # in record order: a record's paragraphs are contiguous
        hashes, offsets = gather_sets(part.array("sets"), part.array("set_offsets"), paragraphs)
        at = np.searchsorted(rows, parents[pick] + record_bases[s])
        sizes += np.bincount(at, weights=np.diff(offsets), minlength=len(rows)).astype(np.int64)
        pieces.append(hashes)
    packed = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(sizes, out=packed[1:])
    hashes = np.concatenate(pieces) if pieces else np.empty(0, dtype=np.uint32)
    return hashes, packed


def _verify(
    source: _Source, rep: npt.NDArray[np.int64], pairs: npt.NDArray[np.int64], config: Config, workers: int
) -> lsh.Verdict:
    """Verify pairs of representatives on their exact shingle sets, a chunk at a time."""
    cfg = dataclasses.replace(config.lsh, verify="exact")
    parts = []
    for start in range(0, len(pairs), VERIFY_CHUNK):
        chunk = pairs[start : start + VERIFY_CHUNK]
        involved = kernels.distinct(chunk.ravel())
        local = np.searchsorted(involved, chunk)
        sets = source.sets(rep[involved])
        parts.append(lsh.verify(local, np.empty((len(involved), 0), np.uint32), sets, cfg, workers))
    return lsh.Verdict.concat(parts)


def _groups(
    parts: list[Part],
    per_part: Callable[[int], tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]],
    counted: list[npt.NDArray[np.int64]],
    bases: npt.NDArray[np.int64],
    record_bases: npt.NDArray[np.int64],
    boiler_group: npt.NDArray[np.bool_],
    report_label: npt.NDArray[np.int64],
    rep: npt.NDArray[np.int64],
    labels: int,
) -> pa.Table:
    """`paragraphs.parquet`'s rows: each boilerplate group's representative, records and first record."""
    if not boiler_group.any():
        return GROUPS_SCHEMA.empty_table()
    units = len(boiler_group)
    records = np.zeros(labels, dtype=np.int64)
    occurrences = np.zeros(labels, dtype=np.int64)
    per_group = np.zeros(units, dtype=np.int64)  # records of each exact group
    first = np.full(labels, np.iinfo(np.int64).max, dtype=np.int64)
    for s, part in enumerate(parts):
        g, r = per_part(s)
        gone = boiler_group[g]
        g, r = g[gone], r[gone]
        records += _distinct(report_label[g], r, part.records, labels)
        occurrences += np.bincount(report_label[g], minlength=labels)
        per_group += _distinct(g, r, part.records, units)
        np.minimum.at(first, report_label[g], r + record_bases[s])
    members = np.flatnonzero(boiler_group)
    # The representative: the variant in most records, then the first seen.
    order = np.lexsort((rep[members], -per_group[members], report_label[members]))
    heads = members[order][np.r_[True, np.diff(report_label[members][order]) != 0]]
    chosen = report_label[heads]
    variants = np.bincount(report_label[members], minlength=labels)[chosen]
    rank = np.lexsort((first[chosen], -records[chosen]))
    heads, chosen, variants = heads[rank], chosen[rank], variants[rank]
    texts, words = _paragraph_texts(parts, bases, rep[heads])
    ids, files, lines = _record_positions(parts, record_bases, first[chosen])
    return pa.table(
        {
            "group": pa.array(np.arange(len(chosen)), pa.int64()),
            "text": pa.array(texts, pa.string()),
            "records": pa.array(records[chosen], pa.int64()),
            "paragraphs": pa.array(occurrences[chosen], pa.int64()),
            "variants": pa.array(variants, pa.int64()),
            "words": pa.array(words, pa.int64()),
            "first_record": pa.array(ids, pa.string()),
            SOURCE_FILE: pa.array(files, pa.string()),
            SOURCE_LINE: pa.array(lines, pa.int64()),
        },
        schema=GROUPS_SCHEMA,
    )


def _paragraph_texts(
    parts: list[Part], bases: npt.NDArray[np.int64], rows: npt.NDArray[np.int64]
) -> tuple[list[str], list[int]]:
    """The cleaned text and word count of paragraphs by global number."""
    texts: list[str] = [""] * len(rows)
    words: list[int] = [0] * len(rows)
    part_of = np.searchsorted(bases, rows, side="right") - 1
    for s in np.unique(part_of).tolist():
        at = np.flatnonzero(part_of == s)
        flat = parts[s].table()[PARAGRAPHS].combine_chunks().flatten()
        local = rows[at] - bases[s]
        values = flat.take(pa.array(local, pa.int64())).to_pylist()
        counts = np.asarray(parts[s].array("words"))[local].tolist()
        for k, i in enumerate(at.tolist()):
            texts[i], words[i] = values[k], int(counts[k])
    return texts, words


def _record_positions(
    parts: list[Part], record_bases: npt.NDArray[np.int64], rows: npt.NDArray[np.int64]
) -> tuple[list[str], list[str], list[int]]:
    """Id, file and line of records by global row."""
    ids: list[str] = [""] * len(rows)
    files: list[str] = [""] * len(rows)
    lines: list[int] = [0] * len(rows)
    part_of = np.searchsorted(record_bases, rows, side="right") - 1
    for s in np.unique(part_of).tolist():
        at = np.flatnonzero(part_of == s)
        table = parts[s].table().take(pa.array(rows[at] - record_bases[s], pa.int64()))
        for k, i in enumerate(at.tolist()):
            ids[i] = table[ID][k].as_py()
            files[i] = table[SOURCE_FILE][k].as_py()
            lines[i] = table[SOURCE_LINE][k].as_py()
    return ids, files, lines


def _record_pairs(
    parts: list[Part],
    per_part: Callable[[int], tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]],
    record_bases: npt.NDArray[np.int64],
    boiler_group: npt.NDArray[np.bool_],
    near: npt.NDArray[np.int64],
    units: int,
    config: Config,
) -> npt.NDArray[np.int64]:
    """Pairs of records holding paragraphs of one group that is not boilerplate (module step 5)."""
    if not units:
        return np.empty((0, 2), dtype=np.int64)
    joined = near[~boiler_group[near[:, 0]] & ~boiler_group[near[:, 1]]]
    label = cluster.connect(units, joined)
    labels = int(label.max()) + 1
    records = np.zeros(labels, dtype=np.int64)
    for s, part in enumerate(parts):
        g, r = per_part(s)
        keep = ~boiler_group[g]
        records += _distinct(label[g[keep]], r[keep], part.records, labels)
    shared = records >= 2
    entries = []
    for s, part in enumerate(parts):
        g, r = per_part(s)
        keep = ~boiler_group[g] & shared[label[g]]
        if not keep.any():
            continue
        width = max(part.records, 1)
        codes = kernels.distinct(label[g[keep]] * width + r[keep])
        entries.append(np.stack([codes // width, codes % width + record_bases[s]], axis=1))
    if not entries:
        return np.empty((0, 2), dtype=np.int64)
    table = np.concatenate(entries)
    table = table[np.lexsort((table[:, 1], table[:, 0]))]
    keys = np.ascontiguousarray(table[:, :1].astype(np.uint64))
    found = kernels.bucket_pairs(keys, config.lsh.max_bucket)
    rows = table[:, 1][found]
    rows = np.sort(rows, axis=1)
    rows = rows[rows[:, 0] != rows[:, 1]]
    if not len(rows):
        return np.empty((0, 2), dtype=np.int64)
    width = int(record_bases[-1])
    codes = kernels.distinct(rows[:, 0] * width + rows[:, 1])
    return np.stack([codes // width, codes % width], axis=1).astype(np.int64)
