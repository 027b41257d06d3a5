"""Locality-sensitive hashing: banding signatures, finding candidate pairs, verifying them.

`bands x rows` come from the threshold by minimizing the weighted false-positive and
false-negative areas under the S-curve `1 - (1 - s**rows)**bands`, as datasketch does. Each band of
a signature is mixed into one 64-bit key; records sharing a key in any band are candidates, found by
grouping each band's keys in a hash table inside a compiled kernel (no all-pairs loop, no Python
object per record). Every candidate is then
verified against the threshold, from the full signatures or from the exact shingle sets, before it
becomes an edge: a chain of weak band collisions cannot glue unrelated records together.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dedup import kernels
from dedup.settings import LSHConfig as LSHConfig


def candidate_probability(similarity: npt.ArrayLike, bands: int, rows: int) -> npt.NDArray[np.float64]:
    """The S-curve: the chance two records of Jaccard `similarity` share at least one band key."""
    s = np.asarray(similarity, dtype=np.float64)
    return np.asarray(1.0 - (1.0 - s**rows) ** bands, dtype=np.float64)


@functools.cache
def optimal_params(
    threshold: float, num_perm: int, false_positive_weight: float = 0.05, false_negative_weight: float = 0.95
) -> tuple[int, int]:
    """`(bands, rows)` with `bands * rows <= num_perm` minimizing the weighted error areas.

    The false-positive area is the S-curve's integral below the threshold, the false-negative area
    the integral of its complement above it (trapezoid rule on 1,001 points).
    """
    grid = np.linspace(0.0, 1.0, 1001)
    below, above = grid[grid <= threshold], grid[grid >= threshold]
    best: tuple[float, int, int] | None = None
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            fp = float(np.trapezoid(candidate_probability(below, bands, rows), below))
            fn = float(np.trapezoid(1.0 - candidate_probability(above, bands, rows), above))
            error = false_positive_weight * fp + false_negative_weight * fn
            if best is None or error < best[0] - 1e-12:
                best = (error, bands, rows)
    assert best is not None
    return best[1], best[2]


def resolve_params(cfg: LSHConfig, num_perm: int) -> tuple[int, int]:
    """The `(bands, rows)` a run uses: the configured ones, or derived from the threshold."""
    if cfg.bands is not None and cfg.rows is not None:
        return cfg.bands, cfg.rows
    if cfg.bands is not None:
        return cfg.bands, max(1, num_perm // cfg.bands)
    if cfg.rows is not None:
        return max(1, num_perm // cfg.rows), cfg.rows
    return optimal_params(cfg.threshold, num_perm, cfg.false_positive_weight, cfg.false_negative_weight)


def band(signatures: npt.NDArray[np.uint32], bands: int, rows: int) -> npt.NDArray[np.uint64]:
    """One 64-bit key per record and band.

    Args:
        signatures: `uint32`, shape `(n, num_perm)` with `num_perm >= bands * rows`.
        bands: how many bands.
        rows: signature slots per band.

    Returns:
        `uint64`, shape `(n, bands)`; equal sub-signatures in the same band give equal keys, and the
        band index is mixed in so that equal values in different bands do not.
    """
    if bands * rows > signatures.shape[1]:
        raise ValueError(f"bands * rows = {bands * rows} exceeds the signature length {signatures.shape[1]}")
    return kernels.band_keys(np.ascontiguousarray(signatures), bands, rows)


def candidates(keys: npt.NDArray[np.uint64], max_bucket: int = 200) -> npt.NDArray[np.int64]:
    """Candidate pairs: records sharing a key in at least one band.

    Each band's keys are grouped in a hash table (no all-pairs loop, no Python object per record).

    Args:
        keys: `uint64`, shape `(n, bands)`, from `band`.
        max_bucket: a record joining a bucket is paired with at most this many of the records
            already in it (the latest), which bounds the work on boilerplate and keeps the bucket
            connected.

    Returns:
        `int64`, shape `(m, 2)`, each row `(i, j)` with `i < j`, unique, sorted.
    """
    n = keys.shape[0]
    pairs = kernels.bucket_pairs(np.ascontiguousarray(keys), max_bucket)
    if len(pairs) == 0:
        return np.empty((0, 2), dtype=np.int64)
    codes = kernels.distinct(pairs[:, 0] * n + pairs[:, 1])
    return np.stack([codes // n, codes % n], axis=1)


def estimate_pairs(
    signatures: npt.NDArray[np.uint32], pairs: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """Estimated Jaccard of each pair `(i, j)` from full signatures, in blocks to bound memory."""
    out = np.empty(len(pairs), dtype=np.float64)
    step = max(1, 4_000_000 // max(1, signatures.shape[1]))
    for start in range(0, len(pairs), step):
        chunk = pairs[start : start + step]
        out[start : start + step] = np.mean(signatures[chunk[:, 0]] == signatures[chunk[:, 1]], axis=1)
    return out


def exact_overlaps(
    hashes: npt.NDArray[np.uint32],
    offsets: npt.NDArray[np.int64],
    pairs: npt.NDArray[np.int64],
    workers: int = 1,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Exact overlaps of shingle sets, for Jaccard, containment and evaluation.

    Args:
        hashes: shingle hashes of every record (repeats allowed), `uint32`.
        offsets: `int64`, record `i` owns `hashes[offsets[i]:offsets[i + 1]]`.
        pairs: `int64 (m, 2)` record index pairs.
        workers: threads.

    Returns:
        `(common, size_a, size_b)`, each `int64 (m,)`: the intersection size and both set sizes.
    """
    sets, sizes = kernels.shingle_sets(hashes, offsets)
    common = kernels.pair_overlaps(sets, offsets, sizes, pairs, workers)
    return common, sizes[pairs[:, 0]], sizes[pairs[:, 1]]


#: `Verdict.inside`: the pair are duplicates of each other both ways (Jaccard, or each inside the other).
MUTUAL = 0
#: `Verdict.inside`: only the pair's first record is inside the second (the first is the redundant one).
FIRST_INSIDE = 1
#: `Verdict.inside`: only the pair's second record is inside the first.
SECOND_INSIDE = 2


@dataclass(frozen=True, slots=True)
class Verdict:
    """Verification of candidate pairs `(a, b)`.

    Attributes:
        keep: `bool (m,)`, which pairs are near-duplicates (an edge, in at least one direction).
        jaccard: `float64 (m,)`, Jaccard (exact or estimated, as configured).
        containment: `float64 (m,)`, exact share of the smaller set in the larger (NaN when not computed).
        similar: `bool (m,)`, the pair passes the Jaccard rule (the threshold, and `short_threshold`
            for a short record); figures conflicts included when the caller judged them.
        share_a: `float64 (m,)`, the share of `a`'s distinct shingles that are in `b` (NaN when not
            computed).
        share_b: `float64 (m,)`, the share of `b`'s distinct shingles that are in `a`.
        inside: `int8 (m,)`, `MUTUAL`, `FIRST_INSIDE` or `SECOND_INSIDE`: when exactly one record
            reaches the containment share inside the other, that one is the redundant copy whatever
            the Jaccard, so a quoting reply or a full interview is never dropped for the part of it
            that another record holds.
    """

    keep: npt.NDArray[np.bool_]
    jaccard: npt.NDArray[np.float64]
    containment: npt.NDArray[np.float64]
    similar: npt.NDArray[np.bool_]
    share_a: npt.NDArray[np.float64]
    share_b: npt.NDArray[np.float64]
    inside: npt.NDArray[np.int8]

    @staticmethod
    def empty() -> Verdict:
        """A verdict on no pairs."""
        none = np.empty(0, dtype=np.float64)
        no = np.empty(0, dtype=bool)
        return Verdict(no, none, none, no, none, none, np.empty(0, dtype=np.int8))

    @staticmethod
    def concat(parts: list[Verdict]) -> Verdict:
        """The verdicts of consecutive chunks of pairs as one."""
        if not parts:
            return Verdict.empty()
        return Verdict(*(np.concatenate([getattr(p, f) for p in parts]) for f in Verdict.__slots__))


def verify(
    pairs: npt.NDArray[np.int64],
    signatures: npt.NDArray[np.uint32],
    sets: tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]] | None,
    cfg: LSHConfig,
    workers: int = 1,
) -> Verdict:
    """Decide which candidate pairs are near-duplicates, and in which direction.

    A pair is a near-duplicate when its Jaccard reaches `cfg.threshold` (and `cfg.short_threshold`
    when its smaller record has fewer than `cfg.min_shingles` distinct shingles), or when at least
    `cfg.containment` of one record's distinct shingles are in the other and that record has at
    least `cfg.min_shingles` of them. The figures rule is the caller's (it reads text).

    Args:
        pairs: `int64 (m, 2)` candidate pairs.
        signatures: `uint32 (n, num_perm)`; read only for `verify: estimate`.
        sets: `(hashes, offsets)` of the shingles, needed for `verify: exact` and containment.
        cfg: the LSH section.
        workers: threads for exact counting.

    Returns:
        The `Verdict`, pair by pair.
    """
    m = len(pairs)
    containment = np.full(m, np.nan)
    share_a, share_b = np.full(m, np.nan), np.full(m, np.nan)
    size_a = size_b = small = np.zeros(m, dtype=np.int64)
    counted = sets is not None and (cfg.verify == "exact" or cfg.containment is not None)
    if counted:
        assert sets is not None
        common, size_a, size_b = exact_overlaps(sets[0], sets[1], pairs, workers)
        small = np.minimum(size_a, size_b)
        containment = np.divide(common, small, out=np.ones(m), where=small > 0)
        share_a = np.divide(common, size_a, out=np.ones(m), where=size_a > 0)
        share_b = np.divide(common, size_b, out=np.ones(m), where=size_b > 0)
        union = (size_a + size_b - common).astype(np.float64)
        exact = np.divide(common.astype(np.float64), union, out=np.ones(m), where=union > 0)
    jaccard = exact if cfg.verify == "exact" and sets is not None else estimate_pairs(signatures, pairs)
    similar = jaccard >= cfg.threshold
    if counted:
        similar &= (small >= cfg.min_shingles) | (jaccard >= max(cfg.threshold, cfg.short_threshold))
    a_in = np.zeros(m, dtype=bool)
    b_in = np.zeros(m, dtype=bool)
    if cfg.containment is not None and counted:
        a_in = (share_a >= cfg.containment) & (size_a >= cfg.min_shingles)
        b_in = (share_b >= cfg.containment) & (size_b >= cfg.min_shingles)
    inside = np.full(m, MUTUAL, dtype=np.int8)
    inside[a_in & ~b_in] = FIRST_INSIDE
    inside[b_in & ~a_in] = SECOND_INSIDE
    return Verdict(similar | a_in | b_in, jaccard, containment, similar, share_a, share_b, inside)
