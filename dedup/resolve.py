"""Deciding which records are duplicates of which, wherever the records are held.

The global steps of a run (exact groups, band-key candidates, verification, clusters, the keep
rule, each dropped record's similarity to its kept one) read the records through a `Source`: the
in-memory one the notebook API builds, or the spilled shards of the local engine. `resolve` asks a
source only for what it needs, one band of keys at a time and only the candidate records' texts,
so the engine's memory stays bounded by the number of records, not by their size.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from dedup import cluster, figures, kernels, lsh
from dedup.config import Config
from dedup.errors import InputError
from dedup.records import arrow_bytes

#: Band-key pairs held before repeats across bands are dropped (8 bytes each).
PAIRS_HELD = 1 << 22
#: Candidate pairs verified at once; bounds the texts and shingle sets held during verification.
VERIFY_CHUNK = 1 << 18


class Source(Protocol):
    """Read access to `n` cleaned records by row (`int64` row arrays, any order, repeats allowed)."""

    def __len__(self) -> int: ...

    def band_keys(self, rows: npt.NDArray[np.int64], band: int) -> npt.NDArray[np.uint64]:
        """`uint64 (len(rows),)`: the rows' keys in one band."""
        ...

    def signatures(self, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.uint32]:
        """`uint32 (len(rows), num_perm)`: the rows' MinHash signatures."""
        ...

    def forms(self, rows: npt.NDArray[np.int64]) -> pa.Array[Any]:
        """The rows' hashing forms."""
        ...

    def texts(self, rows: npt.NDArray[np.int64]) -> list[str]:
        """The rows' cleaned paragraphs joined by newlines (what the figures rule reads)."""
        ...

    def lengths(self) -> npt.NDArray[np.int64]:
        """`int64 (n,)`: each record's cleaned length in characters (for `keep: longest`)."""
        ...

    def values(self, field_name: str) -> list[object]:
        """Each record's value of a pass-through field (None where missing), for `keep: newest:<field>`."""
        ...


@dataclass(slots=True)
class Duplicates:
    """What the dedup stages found.

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


@dataclass(slots=True)
class Clock:
    """Adds each stage's seconds into `timings` (stages may run many times, once per shard)."""

    timings: dict[str, float] = field(default_factory=dict)
    on_stage: Any = None

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the block under `name` (and tell the progress display)."""
        if self.on_stage is not None:
            self.on_stage(name)
        start = time.perf_counter()
        try:
            yield
        finally:
            spent = time.perf_counter() - start
            self.timings[name] = round(self.timings.get(name, 0.0) + spent, 6)


def candidate_pairs(
    source: Source, rep: npt.NDArray[np.int64], bands: int, max_bucket: int
) -> npt.NDArray[np.int64]:
    """Pairs of representatives (indices into `rep`) sharing a key in some band, one band at a time.

    Returns:
        `int64 (m, 2)`, each row `(i, j)` with `i < j`, unique, sorted.
    """
    k = max(len(rep), 1)
    held: list[npt.NDArray[np.int64]] = []
    size = 0
    for b in range(bands):
        keys = np.ascontiguousarray(source.band_keys(rep, b).reshape(-1, 1))
        found = kernels.bucket_pairs(keys, max_bucket)
        held.append(found[:, 0] * k + found[:, 1])
        size += len(found)
        if size > PAIRS_HELD:  # repeats across bands out, so memory follows the distinct pairs
            held = [np.unique(np.concatenate(held))]
            size = len(held[0])
    codes = np.unique(np.concatenate(held)) if held else np.empty(0, dtype=np.int64)
    return np.stack([codes // k, codes % k], axis=1).astype(np.int64)


class _Verifier:
    """Verifies pairs of representatives in chunks, fetching only the chunk's records."""

    def __init__(self, source: Source, rep: npt.NDArray[np.int64], config: Config, workers: int) -> None:
        self.source, self.rep, self.config, self.workers = source, rep, config, workers

    def __call__(self, pairs: npt.NDArray[np.int64], judge: bool = True) -> lsh.Verdict:
        parts = [self._chunk(pairs[s : s + VERIFY_CHUNK], judge) for s in range(0, len(pairs), VERIFY_CHUNK)]
        if not parts:
            empty = np.empty(0, dtype=np.float64)
            return lsh.Verdict(np.empty(0, dtype=bool), empty, empty.copy())
        return lsh.Verdict(
            np.concatenate([p.keep for p in parts]),
            np.concatenate([p.jaccard for p in parts]),
            np.concatenate([p.containment for p in parts]),
        )

    def _chunk(self, pairs: npt.NDArray[np.int64], judge: bool) -> lsh.Verdict:
        cfg = self.config.lsh
        involved = np.unique(pairs)
        local = np.searchsorted(involved, pairs)
        rows = self.rep[involved]
        needs_sets = cfg.verify == "exact" or cfg.containment is not None
        signatures = (
            self.source.signatures(rows)
            if cfg.verify == "estimate"
            else np.empty((len(rows), 0), dtype=np.uint32)
        )
        sets = None
        if needs_sets:
            sets = kernels.shingle_bytes(*arrow_bytes(self.source.forms(rows)), self.config.shingle.ngram)
        verdict = lsh.verify(local, signatures, sets, cfg, self.workers)
        if judge and cfg.figures and verdict.keep.any():
            kept = np.flatnonzero(verdict.keep)
            ends = np.unique(local[kept])
            texts = self.source.texts(rows[ends])
            clash = figures.conflicts(texts, np.searchsorted(ends, local[kept]).tolist())
            verdict.keep[kept[np.asarray(clash, dtype=bool)]] = False
        return verdict


def resolve(
    source: Source,
    group: npt.NDArray[np.int64],
    rep: npt.NDArray[np.int64],
    position: npt.NDArray[np.int64],
    config: Config,
    clock: Clock,
    workers: int = 1,
) -> Duplicates:
    """Near-duplicates among one representative per exact group; clusters; the keep rule.

    Args:
        source: the cleaned records.
        group: `int64 (n,)`, each record's exact group (from `exact.groups`).
        rep: `int64 (groups,)`, each group's representative record.
        position: `int64 (n,)`, each record's rank by source position (file, line, id).
        config: the run's config.
        clock: collects the stage timings (`candidates`, `verify`, `cluster`, `similarity`).
        workers: threads for exact counting.
    """
    n = len(group)
    check = _Verifier(source, rep, config, workers)
    bands, rows = lsh.resolve_params(config.lsh, config.minhash.num_perm)
    with clock.stage("candidates"):
        pairs = candidate_pairs(source, rep, bands, config.lsh.max_bucket)
    with clock.stage("verify"):
        verdict = check(pairs)
        edges = pairs[verdict.keep]
    with clock.stage("cluster"):
        labels = cluster.connect(len(rep), edges)[group] if n else np.empty(0, dtype=np.int64)
        rule, field_name = cluster.parse_keep(config.cluster.keep)
        if rule == "first":
            kept_of = cluster.choose(labels, position)
        elif rule == "longest":
            kept_of = cluster.choose(labels, -source.lengths(), position)
        else:
            assert field_name is not None
            try:
                ranks = cluster.value_rank(source.values(field_name), field_name)
                kept_of = cluster.choose(labels, ranks, position)
            except ValueError as err:
                raise InputError(f"{err} (cluster.keep: {config.cluster.keep})", field=field_name) from None
        sizes = np.bincount(labels, minlength=int(labels.max()) + 1 if n else 0)[labels]
    with clock.stage("similarity"):
        similarity = np.ones(n, dtype=np.float64)
        containment = np.ones(n, dtype=np.float64)
        near = np.flatnonzero(group != group[kept_of])
        if len(near):
            # Signatures and shingle sets are those of each exact group's representative.
            to_kept = check(np.stack([group[near], group[kept_of[near]]], axis=1), judge=False)
            similarity[near] = to_kept.jaccard
            containment[near] = to_kept.containment
    return Duplicates(
        kept_of,
        group,
        similarity,
        containment,
        sizes.astype(np.int64),
        len(pairs),
        len(edges),
        bands,
        rows,
        edges,
    )
