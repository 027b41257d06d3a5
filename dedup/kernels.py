"""Compiled kernels: hashing forms straight to MinHash signatures, one pass over the bytes.

The kernel walks each record's UTF-8 hashing form once: it hashes tokens byte by byte (FNV-1a,
then fmix64), keeps the last `ngram` token hashes of the current paragraph in a ring, hashes each
full window (or a short paragraph) into a 32-bit shingle hash, and folds it into the record's
`num_perm` minima with the `affine32` permutations. No Python object is made per token or shingle.
It computes exactly what `shingle.shingle_batch` followed by `minhash.sign` compute (the numpy
reference path), which the tests check. Records are spread over `workers` threads with numba's
`prange`; compiled code is cached on disk after the first run.
"""

from __future__ import annotations

import threading

import numba
import numpy as np
import numpy.typing as npt
from numba import prange

from dedup.shingle import CHAIN_MIX, CHAIN_MUL, FNV_OFFSET, FNV_PRIME

_U64 = np.uint64
_FNV_OFFSET = _U64(FNV_OFFSET)
_FNV_PRIME = _U64(FNV_PRIME)
_CHAIN_MUL = _U64(CHAIN_MUL)
_CHAIN_MIX = _U64(CHAIN_MIX)
_F1 = _U64(0xFF51AFD7ED558CCD)
_F2 = _U64(0xC4CEB9FE1A85EC53)
_MASK32 = _U64(0xFFFFFFFF)
_S33, _S32, _S29, _S16, _S13 = _U64(33), _U64(32), _U64(29), _U64(16), _U64(13)
_M32A, _M32B = _U64(0x85EBCA6B), _U64(0xC2B2AE35)


@numba.njit(cache=True, inline="always")
def _fmix64(h: np.uint64) -> np.uint64:
    h ^= h >> _S33
    h *= _F1
    h ^= h >> _S33
    h *= _F2
    return h ^ (h >> _S33)


@numba.njit(cache=True, inline="always")
def _chain(ring: npt.NDArray[np.uint64], first: int, length: int, ngram: int) -> np.uint64:
    h = _U64(0)
    idx = first
    for _ in range(length):  # walk the ring without a division per step
        h = (h ^ ring[idx]) * _CHAIN_MUL
        idx += 1
        if idx == ngram:
            idx = 0
    h ^= h >> _S29
    h *= _CHAIN_MIX
    h ^= h >> _S32
    return h & _MASK32


@numba.njit(cache=True)
def _record_shingles(
    data: npt.NDArray[np.uint8],
    start: int,
    end: int,
    ngram: int,
    ring: npt.NDArray[np.uint64],
    out: npt.NDArray[np.uint64],
) -> int:
    """Write record `data[start:end]`'s shingle hashes into `out`; return how many."""
    count = 0
    in_para = 0  # tokens seen in the current paragraph
    slot = 0  # ring slot the next token hash goes to (== in_para % ngram)
    h = _FNV_OFFSET
    in_token = False
    for p in range(start, end + 1):
        c = data[p] if p < end else np.uint8(10)  # a virtual newline closes the record
        if c == 32 or c == 10:
            if in_token:
                ring[slot] = _fmix64(h)
                in_para += 1
                slot += 1
                if slot == ngram:
                    slot = 0
                if in_para >= ngram:
                    out[count] = _chain(ring, slot, ngram, ngram)  # the oldest token sits at `slot`
                    count += 1
                h = _FNV_OFFSET
                in_token = False
            if c == 10:
                if 0 < in_para < ngram:
                    out[count] = _chain(ring, 0, in_para, ngram)
                    count += 1
                in_para = 0
                slot = 0
        else:
            h = (h ^ _U64(c)) * _FNV_PRIME
            in_token = True
    return count


@numba.njit(cache=True, parallel=True)
def _sign_records(
    data: npt.NDArray[np.uint8],
    offsets: npt.NDArray[np.int64],
    ngram: int,
    a: npt.NDArray[np.uint64],
    b: npt.NDArray[np.uint64],
    out: npt.NDArray[np.uint32],
) -> None:
    num_perm = a.shape[0]
    a32 = a.astype(np.uint32)
    b32 = b.astype(np.uint32)
    for i in prange(offsets.shape[0] - 1):
        start, end = offsets[i], offsets[i + 1]
        ring = np.empty(ngram, dtype=np.uint64)
        hashes = np.empty(end - start + 1, dtype=np.uint64)
        count = _record_shingles(data, start, end, ngram, ring, hashes)
        mixed = np.empty(count, dtype=np.uint32)
        for s in range(count):  # fmix32 of each shingle hash
            hv = hashes[s]
            hv ^= hv >> _S16
            hv = (hv * _M32A) & _MASK32
            hv ^= hv >> _S13
            hv = (hv * _M32B) & _MASK32
            hv ^= hv >> _S16
            mixed[s] = np.uint32(hv)
        for k in range(num_perm):  # a * h + b mod 2**32, minimum over the shingles (SIMD-friendly)
            ak = a32[k]
            bk = b32[k]
            low = np.uint32(0xFFFFFFFF)
            for s in range(count):
                v = np.uint32(ak * mixed[s] + bk)
                low = min(low, v)
            out[i, k] = low


@numba.njit(cache=True)
def _shingle_records(
    data: npt.NDArray[np.uint8], offsets: npt.NDArray[np.int64], ngram: int
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]:
    n = offsets.shape[0] - 1
    out = np.empty(offsets[n] - offsets[0] + n, dtype=np.uint64)
    counts = np.zeros(n + 1, dtype=np.int64)
    ring = np.empty(ngram, dtype=np.uint64)
    used = 0
    for i in range(n):
        got = _record_shingles(data, offsets[i], offsets[i + 1], ngram, ring, out[used:])
        used += got
        counts[i + 1] = used
    return out[:used], counts


def _cuts(offsets: npt.NDArray[np.int64], workers: int) -> npt.NDArray[np.int64]:
    """Record indices cutting the records into `workers` shares of about equal bytes."""
    n = len(offsets) - 1
    if workers <= 1 or n < 2 * workers:
        return np.array([0, n], dtype=np.int64)
    targets = offsets[0] + (offsets[-1] - offsets[0]) * np.arange(1, workers) // workers
    return np.unique(np.r_[0, np.searchsorted(offsets, targets), n]).astype(np.int64)


_SCRATCH = threading.local()
_SCRATCH_LIMIT = 256 << 20


def _buffer(size: int, shared: bool) -> npt.NDArray[np.uint8]:
    """An output buffer of at least `size` bytes.

    Parallel parts (`shared`) write into a per-thread scratch buffer kept between calls: fresh
    memory would take a page fault on first touch in every part at once, and those faults
    serialize the threads. The parts are copied out of it by `_join_parts`, so it is never
    returned. A single part writes into fresh memory and is returned as is.
    """
    if not shared or size > _SCRATCH_LIMIT:
        return np.empty(size, dtype=np.uint8)
    buffer: npt.NDArray[np.uint8] | None = getattr(_SCRATCH, "buffer", None)
    if buffer is None or len(buffer) < size:
        buffer = np.empty(max(size, 1 << 20), dtype=np.uint8)
        _SCRATCH.buffer = buffer
    return buffer


_Layout = tuple[
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.uint8],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
]


def _layout(offsets: npt.NDArray[np.int64], workers: int, widest: int) -> _Layout:
    """Shares of the records for a bytes-to-bytes kernel: `(cuts, bases, out, part_offsets, used)`.

    Share `k` takes records `cuts[k]:cuts[k + 1]`, writes bytes into `out[bases[k]:bases[k + 1]]`
    (room for `widest` output bytes per input byte), offsets into
    `part_offsets[cuts[k] + k : cuts[k + 1] + k + 1]`, and its byte count into `used[k]`.
    """
    cuts = _cuts(offsets, workers)
    bases = np.r_[0, np.cumsum((offsets[cuts[1:]] - offsets[cuts[:-1]]) * widest + np.diff(cuts) + 1)]
    out = _buffer(max(1, int(bases[-1])), shared=len(cuts) > 2)
    part_offsets = np.empty(len(offsets) + len(cuts) - 2, dtype=np.int64)
    used = np.empty(len(cuts) - 1, dtype=np.int64)
    return cuts, bases, out, part_offsets, used


def _join_parts(
    out: npt.NDArray[np.uint8],
    bases: npt.NDArray[np.int64],
    part_offsets: npt.NDArray[np.int64],
    cuts: npt.NDArray[np.int64],
    used: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Join the parts' regions of `out` and their offsets into one bytes-and-offsets pair."""
    if len(cuts) == 2:
        return out[: used[0]], part_offsets
    shifts = np.r_[0, np.cumsum(used)[:-1]]
    pieces = [out[bases[k] : bases[k] + used[k]] for k in range(len(used))]
    offsets = [part_offsets[cuts[k] + k : cuts[k + 1] + k] + shifts[k] for k in range(len(used))]
    return np.concatenate(pieces), np.r_[np.concatenate(offsets), used.sum()].astype(np.int64)


class _threads:
    """Run numba's parallel loops on `workers` threads, restoring the count afterwards."""

    def __init__(self, workers: int) -> None:
        self.workers = max(1, min(workers, int(getattr(numba.config, "NUMBA_NUM_THREADS", 1))))

    def __enter__(self) -> None:
        self.previous = numba.get_num_threads()
        numba.set_num_threads(self.workers)

    def __exit__(self, *exc: object) -> None:
        numba.set_num_threads(self.previous)


def sign_bytes(
    data: npt.NDArray[np.uint8],
    offsets: npt.NDArray[np.int64],
    ngram: int,
    a: npt.NDArray[np.uint32],
    b: npt.NDArray[np.uint32],
    workers: int = 1,
) -> npt.NDArray[np.uint32]:
    """Signatures of records given as UTF-8 hashing forms.

    Args:
        data: `uint8` bytes of all records' hashing forms.
        offsets: `int64`, length `n + 1`; record `i` is `data[offsets[i]:offsets[i + 1]]`.
        ngram: words per shingle.
        a: `uint32` permutation multipliers, shape `(num_perm,)`.
        b: `uint32` permutation offsets, shape `(num_perm,)`.
        workers: threads to spread records over.

    Returns:
        `uint32`, shape `(n, num_perm)`; a record with no tokens gets `0xFFFFFFFF` everywhere.
    """
    out = np.empty((len(offsets) - 1, len(a)), dtype=np.uint32)
    with _threads(workers):
        _sign_records(data, offsets, ngram, a.astype(np.uint64), b.astype(np.uint64), out)
    return out


def shingle_bytes(
    data: npt.NDArray[np.uint8], offsets: npt.NDArray[np.int64], ngram: int
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]]:
    """Shingle hashes of records given as UTF-8 hashing forms (as `shingle.shingle_batch` returns)."""
    hashes, counts = _shingle_records(data, offsets, ngram)
    return hashes.astype(np.uint32), counts


@numba.njit(cache=True, inline="always")
def _decode(data: npt.NDArray[np.uint8], p: int) -> tuple[np.int64, int]:
    """The code point starting at `data[p]` and its length in bytes (input is valid UTF-8)."""
    c0 = np.int64(data[p])
    if c0 < 0x80:
        return c0, 1
    if c0 < 0xE0:
        return ((c0 & 0x1F) << 6) | (np.int64(data[p + 1]) & 0x3F), 2
    if c0 < 0xF0:
        return ((c0 & 0x0F) << 12) | ((np.int64(data[p + 1]) & 0x3F) << 6) | (np.int64(data[p + 2]) & 0x3F), 3
    cp = ((c0 & 0x07) << 18) | ((np.int64(data[p + 1]) & 0x3F) << 12) | ((np.int64(data[p + 2]) & 0x3F) << 6)
    return cp | (np.int64(data[p + 3]) & 0x3F), 4


@numba.njit(cache=True, inline="always")
def _emit(
    out: npt.NDArray[np.uint8], pos: int, pending: int, wrote: bool, byte: np.uint8
) -> tuple[int, int, bool]:
    """Feed one folded byte to a hashing form; return `(pos, pending, wrote)`.

    Newline and space become owed separators, written (one at most, a newline winning) only
    before the next token byte.
    """
    if byte == 10:
        return pos, 2 if wrote else pending, wrote
    if byte == 32:
        return pos, 1 if wrote and pending == 0 else pending, wrote
    if pending:
        out[pos] = 10 if pending == 2 else 32
        pos += 1
    out[pos] = byte
    return pos + 1, 0, True


@numba.njit(cache=True)
def _fold_records(
    data: npt.NDArray[np.uint8],
    offsets: npt.NDArray[np.int64],
    table: npt.NDArray[np.uint8],
    table_offsets: npt.NDArray[np.int64],
    limit: int,
    dropped_lo: int,
    dropped_hi: int,
    out: npt.NDArray[np.uint8],
    out_offsets: npt.NDArray[np.int64],
) -> int:
    pos = 0
    for i in range(offsets.shape[0] - 1):
        out_offsets[i] = pos
        wrote = False  # the record has output a token byte
        pending = 0  # separator owed before the next token byte: 0 none, 1 space, 2 newline
        skip = 0
        # A `for` loop over a range (not `while`) spares numba a negative-index check per byte.
        for p in range(offsets[i], offsets[i + 1]):
            if skip:  # a continuation byte of a code point already decoded
                skip -= 1
                continue
            c0 = data[p]
            if c0 < 0x80:  # ASCII: one byte in, at most one byte out
                pos, pending, wrote = _emit(out, pos, pending, wrote, table[table_offsets[c0]])
                continue
            cp, width = _decode(data, p)
            skip = width - 1
            if cp >= limit:
                if not dropped_lo <= cp <= dropped_hi:
                    pos, pending, wrote = _emit(out, pos, pending, wrote, np.uint8(32))
                continue
            for t in range(table_offsets[cp], table_offsets[cp + 1]):
                pos, pending, wrote = _emit(out, pos, pending, wrote, table[t])
    out_offsets[offsets.shape[0] - 1] = pos
    return pos


@numba.njit(cache=True, parallel=True)
def _fold_parts(
    data: npt.NDArray[np.uint8],
    offsets: npt.NDArray[np.int64],
    cuts: npt.NDArray[np.int64],
    bases: npt.NDArray[np.int64],
    table: npt.NDArray[np.uint8],
    table_offsets: npt.NDArray[np.int64],
    limit: int,
    dropped_lo: int,
    dropped_hi: int,
    out: npt.NDArray[np.uint8],
    part_offsets: npt.NDArray[np.int64],
    used: npt.NDArray[np.int64],
) -> None:
    for k in prange(cuts.shape[0] - 1):
        lo, hi = cuts[k], cuts[k + 1]
        used[k] = _fold_records(
            data, offsets[lo : hi + 1], table, table_offsets, limit, dropped_lo, dropped_hi,
            out[bases[k] : bases[k + 1]], part_offsets[lo + k : hi + k + 1],
        )  # fmt: skip


def fold_bytes(
    data: npt.NDArray[np.uint8],
    offsets: npt.NDArray[np.int64],
    table: npt.NDArray[np.uint8],
    table_offsets: npt.NDArray[np.int64],
    limit: int,
    dropped: tuple[int, int],
    workers: int = 1,
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Fold UTF-8 records to their hashing forms with a per-code-point table.

    Args:
        data: `uint8` UTF-8 bytes of all records (paragraphs separated by newlines).
        offsets: `int64`, length `n + 1`, into `data`.
        table: `uint8` folded bytes of every code point below `limit` (see `normalize.fold_table`).
        table_offsets: `int64`, length `limit + 1`, into `table`.
        limit: first code point not in the table; those above are separators ...
        dropped: ... except this inclusive range, which is dropped (combining marks).
        workers: threads, each folding a contiguous share of the records into its own region.

    Returns:
        `(bytes, offsets)` of the hashing forms: tokens joined by one space, paragraphs by one
        newline, nothing leading or trailing.
    """
    widest = int(np.max(np.diff(table_offsets)))  # the most bytes one code point folds to

    cuts, bases, out, part_offsets, used = _layout(offsets, workers, widest)
    with _threads(workers):
        _fold_parts(data, offsets, cuts, bases, table, table_offsets, limit, dropped[0], dropped[1],
                    out, part_offsets, used)  # fmt: skip
    return _join_parts(out, bases, part_offsets, cuts, used)


@numba.njit(cache=True, inline="always")
def _tidy_class(cp: np.int64) -> int:
    """0 keep, 1 whitespace, 2 invisible (dropped)."""
    if cp < 0x80:
        if cp == 0x20 or 0x09 <= cp <= 0x0D or 0x1C <= cp <= 0x1F:
            return 1
        if cp < 0x20 or cp == 0x7F:
            return 2
        return 0
    if cp == 0x85 or cp == 0x1680 or cp == 0x2028 or cp == 0x2029:
        return 1
    if cp < 0xA0 or cp == 0xAD or cp == 0x200B or cp == 0x2060 or cp == 0xFEFF:
        return 2
    return 0


@numba.njit(cache=True)
def _tidy_records(
    data: npt.NDArray[np.uint8],
    offsets: npt.NDArray[np.int64],
    out: npt.NDArray[np.uint8],
    out_offsets: npt.NDArray[np.int64],
) -> int:
    pos = 0
    for i in range(offsets.shape[0] - 1):
        out_offsets[i] = pos
        wrote = False
        space = False
        skip = 0
        for p in range(offsets[i], offsets[i + 1]):  # `for`, not `while`: see `_fold_records`
            if skip:
                skip -= 1
                continue
            c0 = data[p]
            if c0 == 0x20:
                space = wrote
                continue
            if 0x20 < c0 < 0x7F:  # printable ASCII, the common case
                if space:
                    out[pos] = 32
                    pos += 1
                    space = False
                out[pos] = c0
                pos += 1
                wrote = True
                continue
            cp, width = _decode(data, p)
            skip = width - 1
            kind = _tidy_class(cp)
            if kind == 1:
                space = wrote
                continue
            if kind == 2:
                continue
            if space:
                out[pos] = 32
                pos += 1
                space = False
            for k in range(width):
                out[pos] = data[p + k]
                pos += 1
            wrote = True
    out_offsets[offsets.shape[0] - 1] = pos
    return pos


def tidy_bytes(
    data: npt.NDArray[np.uint8], offsets: npt.NDArray[np.int64], workers: int = 1
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Drop invisible characters, collapse whitespace runs to one space, trim (UTF-8 records).

    Whitespace: ASCII tab to carriage return, space, U+001C to U+001F, U+0085, U+1680, U+2028,
    U+2029 (what NFKC leaves; it maps no-break and typographic spaces to U+0020). Invisible: other
    C0 and C1 controls, soft hyphen, zero-width space, word joiner, byte-order mark.
    """
    cuts, bases, out, part_offsets, used = _layout(offsets, workers, 1)
    with _threads(workers):
        _tidy_parts(data, offsets, cuts, bases, out, part_offsets, used)
    return _join_parts(out, bases, part_offsets, cuts, used)


@numba.njit(cache=True, parallel=True)
def _tidy_parts(
    data: npt.NDArray[np.uint8],
    offsets: npt.NDArray[np.int64],
    cuts: npt.NDArray[np.int64],
    bases: npt.NDArray[np.int64],
    out: npt.NDArray[np.uint8],
    part_offsets: npt.NDArray[np.int64],
    used: npt.NDArray[np.int64],
) -> None:
    for k in prange(cuts.shape[0] - 1):
        lo, hi = cuts[k], cuts[k + 1]
        used[k] = _tidy_records(
            data, offsets[lo : hi + 1], out[bases[k] : bases[k + 1]], part_offsets[lo + k : hi + k + 1]
        )


_BAND_MIX = np.uint64(0xBF58476D1CE4E5B9)
_BAND_MUL = np.uint64(0x9E3779B97F4A7C15)
_S31 = np.uint64(31)


@numba.njit(cache=True)
def band_keys(signatures: npt.NDArray[np.uint32], bands: int, rows: int) -> npt.NDArray[np.uint64]:
    """One 64-bit key per record and band (see `lsh.band`)."""
    n = signatures.shape[0]
    keys = np.empty((n, bands), dtype=np.uint64)
    for i in range(n):
        for j in range(bands):
            h = np.uint64(j + 1) * _BAND_MIX
            for r in range(rows):
                h = (h ^ np.uint64(signatures[i, j * rows + r])) * _BAND_MUL
                h ^= h >> _S31
            keys[i, j] = h
    return keys


@numba.njit(cache=True)
def bucket_pairs(keys: npt.NDArray[np.uint64], max_bucket: int) -> npt.NDArray[np.int64]:
    """Pairs `(j, i)`, `j < i`, of records sharing a key in some band, with repeats across bands.

    Each band's keys go into an open-addressing hash table whose buckets chain their records; a
    record is paired with at most `max_bucket` of the records already in its bucket (the latest).
    """
    n, bands = keys.shape
    size = 16
    while size < 2 * n:
        size *= 2
    mask = size - 1
    slot_key = np.empty(size, dtype=np.uint64)
    head = np.empty(size, dtype=np.int64)
    following = np.empty(max(n, 1), dtype=np.int64)
    out = np.empty((max(16, n), 2), dtype=np.int64)
    m = 0
    for j in range(bands):
        head[:] = -1
        for i in range(n):
            key = keys[i, j]
            slot = np.int64(key & np.uint64(mask))
            while head[slot] != -1 and slot_key[slot] != key:
                slot = (slot + 1) & mask
            if head[slot] == -1:
                slot_key[slot] = key
                following[i] = -1
            else:
                other = head[slot]
                taken = 0
                while other != -1 and taken < max_bucket:
                    if m == out.shape[0]:
                        grown = np.empty((2 * m, 2), dtype=np.int64)
                        grown[:m] = out
                        out = grown
                    out[m, 0] = other
                    out[m, 1] = i
                    m += 1
                    taken += 1
                    other = following[other]
                following[i] = head[slot]
            head[slot] = i
    return out[:m]


@numba.njit(cache=True)
def _sorted_sets(hashes: npt.NDArray[np.uint32], offsets: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Sort each record's shingle hashes in place and drop repeats; return the new set sizes."""
    n = offsets.shape[0] - 1
    sizes = np.empty(n, dtype=np.int64)
    for i in range(n):
        part = hashes[offsets[i] : offsets[i + 1]]
        part.sort()
        k = 0
        for j in range(part.shape[0]):
            if j == 0 or part[j] != part[j - 1]:
                part[k] = part[j]
                k += 1
        sizes[i] = k
    return sizes


@numba.njit(cache=True, parallel=True)
def _intersections(
    hashes: npt.NDArray[np.uint32],
    offsets: npt.NDArray[np.int64],
    sizes: npt.NDArray[np.int64],
    pairs: npt.NDArray[np.int64],
    out: npt.NDArray[np.int64],
) -> None:
    for k in prange(pairs.shape[0]):
        i, j = pairs[k, 0], pairs[k, 1]
        a, b = offsets[i], offsets[j]
        a_end, b_end = a + sizes[i], b + sizes[j]
        common = 0
        while a < a_end and b < b_end:
            x, y = hashes[a], hashes[b]
            if x == y:
                common += 1
                a += 1
                b += 1
            elif x < y:
                a += 1
            else:
                b += 1
        out[k] = common


def shingle_sets(
    hashes: npt.NDArray[np.uint32], offsets: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]]:
    """Per-record sorted, repeat-free shingle sets: `(hashes, sizes)`, laid out at the same offsets."""
    sets = hashes.copy()
    return sets, _sorted_sets(sets, offsets)


def pair_overlaps(
    sets: npt.NDArray[np.uint32],
    offsets: npt.NDArray[np.int64],
    sizes: npt.NDArray[np.int64],
    pairs: npt.NDArray[np.int64],
    workers: int = 1,
) -> npt.NDArray[np.int64]:
    """Exact intersection size of each pair's shingle sets (from `shingle_sets`), by sorted merge."""
    out = np.empty(len(pairs), dtype=np.int64)
    with _threads(workers):
        _intersections(sets, offsets, sizes, np.ascontiguousarray(pairs), out)
    return out


@numba.njit(cache=True)
def settle(
    rank: npt.NDArray[np.int64],
    a: npt.NDArray[np.int64],
    b: npt.NDArray[np.int64],
    directed: npt.NDArray[np.bool_],
    jaccard: npt.NDArray[np.float64],
    share_ab: npt.NDArray[np.float64],
    share_ba: npt.NDArray[np.float64],
) -> npt.NDArray[np.int64]:
    """The keep step over verified pairs `(a[k], b[k])` (see `cluster.settle`).

    Records are taken in keep-rank order (`rank`, a permutation of `0..n-1`), a record inside
    another (`directed[k]`: `a[k]` inside `b[k]` and not the other way round) only after the
    record it is inside. A record is dropped for the best kept record it is inside or that was
    taken before it among its duplicates both ways (highest `jaccard[k]`, then the share of it
    inside that record, `share_ab[k]` or `share_ba[k]`, then that record's rank); it is kept
    when it has none.

    Returns:
        `int64 (n,)`: for each record the pair it was dropped by, or -1 when kept.
    """
    n = rank.shape[0]
    m = a.shape[0]
    start = np.zeros(n + 1, dtype=np.int64)  # every pair, at both of its records
    for k in range(m):
        start[a[k] + 1] += 1
        start[b[k] + 1] += 1
    for i in range(n):
        start[i + 1] += start[i]
    incident = np.empty(2 * m, dtype=np.int64)
    fill = start[:-1].copy()
    pending = np.zeros(n, dtype=np.int64)  # containers not taken yet
    for k in range(m):
        incident[fill[a[k]]] = k
        fill[a[k]] += 1
        incident[fill[b[k]]] = k
        fill[b[k]] += 1
        if directed[k]:
            pending[a[k]] += 1
    by_rank = np.empty(n, dtype=np.int64)
    by_rank[rank] = np.arange(n)
    taken = np.zeros(n, dtype=np.bool_)
    position = np.zeros(n, dtype=np.int64)
    heap = np.empty(n + 1, dtype=np.int64)  # ranks of the records free to be taken
    size = 0
    for r in range(n):  # pushed in rank order: already a heap
        if pending[by_rank[r]] == 0:
            heap[size] = r
            size += 1
    scan = 0
    for step in range(n):
        if size == 0:  # cannot happen (containment goes to strictly larger sets); stay safe
            while taken[by_rank[scan]]:
                scan += 1
            heap[0] = scan
            size = 1
        top = heap[0]
        size -= 1
        heap[0] = heap[size]
        p = 0
        while True:
            c = 2 * p + 1
            if c >= size:
                break
            if c + 1 < size and heap[c + 1] < heap[c]:
                c += 1
            if heap[p] <= heap[c]:
                break
            heap[p], heap[c] = heap[c], heap[p]
            p = c
        x = by_rank[top]
        if taken[x]:
            continue
        taken[x] = True
        position[x] = step
        for q in range(start[x], start[x + 1]):
            k = incident[q]
            if directed[k] and b[k] == x:  # a record inside x is free once x is taken
                z = a[k]
                pending[z] -= 1
                if pending[z] == 0 and not taken[z]:
                    heap[size] = rank[z]
                    size += 1
                    c = size - 1
                    while c > 0:
                        p = (c - 1) // 2
                        if heap[p] <= heap[c]:
                            break
                        heap[p], heap[c] = heap[c], heap[p]
                        c = p
    order = np.empty(n, dtype=np.int64)
    order[position] = np.arange(n)
    via = np.full(n, -1, dtype=np.int64)
    for x in order:
        best = np.int64(-1)
        best_share = 0.0
        best_rank = n
        for q in range(start[x], start[x + 1]):
            k = incident[q]
            first = a[k] == x
            y = b[k] if first else a[k]
            if directed[k] and not first:
                continue  # x holds y: no reason to drop x
            if not directed[k] and position[y] > position[x]:
                continue  # duplicates both ways: the one taken first stays
            if via[y] >= 0:
                continue  # only a kept record can stand for a dropped one
            share = share_ab[k] if first else share_ba[k]
            if (
                best < 0
                or jaccard[k] > jaccard[best]
                or (
                    jaccard[k] == jaccard[best]
                    and (share > best_share or (share == best_share and rank[y] < best_rank))
                )
            ):
                best, best_share, best_rank = k, share, rank[y]
        via[x] = best
    return via
