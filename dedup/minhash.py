"""MinHash signatures for whole batches of shingle sets, and Jaccard estimates from them.

The one scheme, `affine32`, is the one datasketch 2.0 uses by default: each 32-bit shingle hash
goes through the MurmurHash3 32-bit finalizer, then through `num_perm` affine maps
`a * h + b mod 2**32` with odd `a`; `a` and `b` are drawn from `numpy.random.RandomState(seed)`
exactly as datasketch draws them. Given the same shingle hashes, our signatures therefore equal
datasketch's hash values bit for bit, which the tests check.

Two paths compute them: `sign` is the numpy reference (all permutations applied to all shingle
hashes of a batch in blocks, reduced per record with `minimum.reduceat`), and `sign_forms` runs
the compiled kernel from hashing forms in one pass. Tests hold the two equal.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from dedup import kernels
from dedup.records import arrow_bytes
from dedup.settings import MinHashConfig as MinHashConfig

#: The value an empty set's signature holds in every slot (datasketch's empty MinHash).
EMPTY = np.uint32(0xFFFFFFFF)
# Rows of the (shingles x permutations) block computed at once: 64k x 128 x 4 B = 32 MiB.
_BLOCK_ROWS = 65_536


def permutations(num_perm: int, seed: int) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32]]:
    """The `(a, b)` coefficients of the affine permutations, each `uint32` of shape `(num_perm,)`."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def fmix32(h: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint32]:
    """MurmurHash3's 32-bit finalizer, element-wise (a bijection that avalanches weak hashes)."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def sign(
    hashes: npt.NDArray[np.uint32], offsets: npt.NDArray[np.int64], cfg: MinHashConfig
) -> npt.NDArray[np.uint32]:
    """MinHash signatures of a batch of shingle sets.

    Args:
        hashes: flat `uint32` shingle hashes of every record (see `shingle.shingle_batch`).
        offsets: `int64`, length `n + 1`; record `i` owns `hashes[offsets[i]:offsets[i + 1]]`.
        cfg: the MinHash section.

    Returns:
        `uint32` array of shape `(n, num_perm)`. A record with no shingles gets `EMPTY` everywhere.
    """
    a, b = permutations(cfg.num_perm, cfg.seed)
    n = len(offsets) - 1
    out = np.full((n, cfg.num_perm), EMPTY, dtype=np.uint32)
    sizes = np.diff(offsets)
    nonempty = np.flatnonzero(sizes > 0)
    if len(nonempty) == 0:
        return out
    mixed = fmix32(hashes.astype(np.uint32, copy=False))
    # Walk records in blocks whose shingles fit `_BLOCK_ROWS` (a huge record is a block alone).
    i = 0
    while i < len(nonempty):
        j = i + 1
        start = offsets[nonempty[i]]
        while j < len(nonempty) and offsets[nonempty[j] + 1] - start <= _BLOCK_ROWS:
            j += 1
        docs = nonempty[i:j]
        stop = offsets[docs[-1] + 1]
        block = mixed[start:stop, None] * a[None, :] + b[None, :]
        out[docs] = np.minimum.reduceat(block, offsets[docs] - start, axis=0)
        i = j
    return out


def sign_forms(
    forms: pa.Array[Any], ngram: int, cfg: MinHashConfig, workers: int = 1
) -> npt.NDArray[np.uint32]:
    """MinHash signatures straight from hashing forms, in the compiled kernel.

    Equal to `sign(*shingle.shingle_batch(forms, ShingleConfig(ngram)), cfg)`, much faster.

    Args:
        forms: Arrow string array of hashing forms (see `normalize.hashing_forms`).
        ngram: words per shingle.
        cfg: the MinHash section.
        workers: threads to use.

    Returns:
        `uint32` array of shape `(n, num_perm)`; a record with no tokens gets `EMPTY` everywhere.
    """
    data, offsets = arrow_bytes(forms)
    a, b = permutations(cfg.num_perm, cfg.seed)
    return kernels.sign_bytes(data, offsets, ngram, a, b, workers)


def sign_sets(
    sets: npt.NDArray[np.uint32],
    set_offsets: npt.NDArray[np.int64],
    rows: npt.NDArray[np.int64],
    cfg: MinHashConfig,
    workers: int = 1,
) -> npt.NDArray[np.uint32]:
    """MinHash signatures of packed shingle sets (`featurize.shingle_sets`), in the compiled kernel.

    The signature of a set equals `sign_forms` of the hashing form it came from: a minimum over a
    record's shingles is the minimum over its distinct ones (`kernels.sign_sets`).

    Args:
        sets: `uint32 (total,)`, each record's distinct shingle hashes, packed.
        set_offsets: `int64 (n + 1,)`.
        rows: `int64 (m,)`, the records to sign.
        cfg: the MinHash section.
        workers: threads to use.

    Returns:
        `uint32` array of shape `(m, num_perm)`; an empty set gets `EMPTY` everywhere.

    Raises:
        IndexError: a row names no record.
    """
    a, b = permutations(cfg.num_perm, cfg.seed)
    return kernels.sign_sets(sets, set_offsets, np.asarray(rows, dtype=np.int64), a, b, workers)


def jaccard(sig_a: npt.NDArray[np.uint32], sig_b: npt.NDArray[np.uint32]) -> npt.NDArray[np.float64]:
    """Estimated Jaccard similarity: the share of equal slots, along the last axis.

    Accepts `(num_perm,)` or `(m, num_perm)` arrays (broadcast against each other).
    """
    return np.asarray(np.mean(sig_a == sig_b, axis=-1), dtype=np.float64)
