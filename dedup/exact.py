"""Exact repeats: a 128-bit xxhash of each record's hashing form, grouped without a Python dict.

Two records are exact repeats when their hashing forms (casefolded, punctuation folded) are equal,
so a copy with restyled quotes or different case is still an exact repeat. 128 bits make an
accidental collision across any realistic corpus negligible (about 2**-64 at 2**32 records).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import xxhash

from dedup.records import arrow_bytes


def digest(forms: pa.Array[Any]) -> npt.NDArray[np.uint64]:
    """xxh3-128 of each hashing form's UTF-8 bytes, as `uint64` of shape `(n, 2)` (high, low word)."""
    return digest_ranges(*arrow_bytes(forms))


def digest_ranges(data: npt.NDArray[np.uint8], offsets: npt.NDArray[np.int64]) -> npt.NDArray[np.uint64]:
    """xxh3-128 of each range `data[offsets[i]:offsets[i + 1]]`, as `uint64 (n, 2)` (high, low word).

    Args:
        data: `uint8`, C-contiguous.
        offsets: `int64 (n + 1,)`, non-decreasing, within `data`.
    """
    view, bounds, hash128 = data.data, offsets.tolist(), xxhash.xxh3_128_digest
    # The canonical (big-endian) digests, joined and read as pairs of words: no Python int per word.
    raw = b"".join([hash128(view[bounds[i] : bounds[i + 1]]) for i in range(len(bounds) - 1)])
    return np.frombuffer(raw, dtype=">u8").reshape(-1, 2).astype(np.uint64)


def groups(digests: npt.NDArray[np.uint64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Group equal digests.

    Returns:
        `(group, representative)`: `group[i]` is record `i`'s group number (`int64`, shape `(n,)`),
        and `representative[g]` is the lowest record index in group `g` (`int64`, shape `(groups,)`).
    """
    if len(digests) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    _, first, inverse = np.unique(digests, axis=0, return_index=True, return_inverse=True)
    return inverse.reshape(-1).astype(np.int64), first.astype(np.int64)
