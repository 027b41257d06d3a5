"""Ground truth by exact set similarity: every pair of records at or above a Jaccard threshold.

All-pairs similarity join with prefix filtering: order shingles rarest first; a pair with Jaccard
at least `t` must share one of the first `|A| - ceil(t |A|) + 1` shingles of each record's set in
that order, so only records sharing such a prefix shingle are compared, and every candidate is
then checked exactly. The result is exact (no pair at or above `t` is missed), without the
quadratic all-pairs loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dedup import cluster, lsh


@dataclass(frozen=True)
class Truth:
    """Exact pairs: `pairs (m, 2)` with `i < j`, their Jaccard and containment (overlap / smaller set)."""

    pairs: npt.NDArray[np.int64]
    jaccard: npt.NDArray[np.float64]
    containment: npt.NDArray[np.float64]

    def at(self, threshold: float) -> set[tuple[int, int]]:
        keep = self.jaccard >= threshold
        return {(int(a), int(b)) for a, b in self.pairs[keep]}


def _sets(hashes: npt.NDArray[np.uint32], offsets: npt.NDArray[np.int64]) -> list[npt.NDArray[np.uint32]]:
    return [np.unique(hashes[offsets[i] : offsets[i + 1]]) for i in range(len(offsets) - 1)]


def _group_pairs(keys: npt.NDArray[np.int64], docs: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """All pairs of docs sharing a key (docs of one key listed once each)."""
    order = np.lexsort((docs, keys))
    keys, docs = keys[order], docs[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    lengths = np.diff(np.r_[starts, len(keys)])
    chunks = []
    for offset in range(1, int(lengths.max()) if len(lengths) else 1):
        live = lengths > offset
        s, length = starts[live], lengths[live]
        count = length - offset
        within = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
        first = np.repeat(s, count) + within
        a, b = docs[first], docs[first + offset]
        chunks.append(np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1))
    if not chunks:
        return np.empty((0, 2), dtype=np.int64)
    return np.unique(np.concatenate(chunks), axis=0)


def exact_pairs(hashes: npt.NDArray[np.uint32], offsets: npt.NDArray[np.int64], threshold: float) -> Truth:
    """Every pair of records whose shingle sets have Jaccard >= `threshold`."""
    sets = _sets(hashes, offsets)
    sizes = np.array([len(s) for s in sets], dtype=np.int64)
    values, inverse, counts = np.unique(np.concatenate(sets), return_inverse=True, return_counts=True)
    rank = np.empty(len(values), dtype=np.int64)
    rank[np.lexsort((values, counts))] = np.arange(len(values))
    token_rank = rank[inverse]
    starts = np.r_[0, np.cumsum(sizes)]
    keys, docs = [], []
    for i in range(len(sets)):
        if sizes[i] == 0:
            continue
        ranks = np.sort(token_rank[starts[i] : starts[i + 1]])
        prefix = int(sizes[i] - np.ceil(threshold * sizes[i]) + 1)
        keys.append(ranks[:prefix])
        docs.append(np.full(prefix, i, dtype=np.int64))
    candidates = _group_pairs(np.concatenate(keys), np.concatenate(docs))
    common, size_a, size_b = lsh.exact_overlaps(hashes, offsets, candidates)
    union = size_a + size_b - common
    jaccard = common / np.maximum(union, 1)
    containment = common / np.maximum(np.minimum(size_a, size_b), 1)
    keep = jaccard >= threshold
    return Truth(candidates[keep], jaccard[keep], containment[keep])


def components(n: int, pairs: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Connected-component label of each of `n` records joined by `pairs`."""
    return cluster.connect(n, pairs.reshape(-1, 2))


def adjusted_rand(labels_a: npt.NDArray[np.int64], labels_b: npt.NDArray[np.int64]) -> float:
    """Adjusted Rand index of two clusterings of the same records."""
    n = len(labels_a)

    def comb2(x: npt.NDArray[np.int64]) -> float:
        return float(np.sum(x * (x - 1) // 2))

    _, joint = np.unique(np.stack([labels_a, labels_b], axis=1), axis=0, return_counts=True)
    _, count_a = np.unique(labels_a, return_counts=True)
    _, count_b = np.unique(labels_b, return_counts=True)
    index, sum_a, sum_b = comb2(joint), comb2(count_a), comb2(count_b)
    expected = sum_a * sum_b / (n * (n - 1) / 2) if n > 1 else 0.0
    top = (sum_a + sum_b) / 2
    return 1.0 if top == expected else (index - expected) / (top - expected)
