"""Compiled kernels: the byte loops of cleaning, hashing forms, signatures, candidate pairs, keep step.

The loops are Cython compiled at install time (`dedup/_kernels.pyx`, OpenMP threads); this module
holds their public signatures, the argument checks and the split of records into threads' shares.
The shingle kernel walks each record's UTF-8 hashing form once: it hashes tokens byte by byte
(FNV-1a, then fmix64), keeps the last `ngram` token hashes of the current paragraph in a ring and
hashes each full window (or a short paragraph) into a 32-bit shingle hash; the record's distinct
hashes, sorted, are its set, and the signature kernel folds a set into `num_perm` minima with the
`affine32` permutations. No Python object is made per token or shingle. Together they compute
exactly what `shingle.shingle_batch` followed by `minhash.sign` compute (the numpy reference path),
which the tests check. The loops run without the GIL; a threaded one spreads its work over
`workers` threads (capped at the cores this process may use), and the result never depends on how
many.
"""

from __future__ import annotations

import os
import threading
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt

from dedup import _kernels

_T = TypeVar("_T", bound=np.generic)


def _c(array: npt.NDArray[Any], dtype: type[_T]) -> npt.NDArray[_T]:
    """`array` as a C-contiguous array of `dtype`, as the compiled loops take it (no copy if it is)."""
    return np.ascontiguousarray(array, dtype=dtype)


def _threads(workers: int) -> int:
    """`workers`, at least 1 and at most the cores this process may run on."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(workers, cores))


#: The most words a shingle may have here (the config allows far fewer); it bounds the kernels' rings.
MAX_NGRAM = 1 << 16


def _check_ngram(ngram: int) -> None:
    if ngram < 1:
        raise ValueError(f"ngram must be at least 1; got {ngram}")
    if ngram > MAX_NGRAM:
        raise ValueError(f"ngram must be at most {MAX_NGRAM}; got {ngram}")


def _check_offsets(offsets: npt.NDArray[np.int64], size: int, name: str) -> None:
    """Refuse offsets that do not rise from 0 or more to at most `size` (what a kernel would read)."""
    if offsets.ndim != 1 or len(offsets) < 1:
        raise ValueError(f"{name} must be a 1-d array of at least one offset; got shape {offsets.shape}")
    if offsets[0] < 0 or offsets[-1] > size or (len(offsets) > 1 and np.any(offsets[1:] < offsets[:-1])):
        raise ValueError(f"{name} must rise from 0 or more to at most {size:,}")


#: `distinct` sorts `int64` arrays of at least this many values by radix (shorter ones by `np.sort`).
RADIX_FROM = 4096


def distinct(values: npt.NDArray[_T]) -> npt.NDArray[_T]:
    """The distinct values of a 1-d integer array, sorted: `np.unique(values)`, by sorting.

    NumPy 2.4's `np.unique` finds the distinct values with a hash table before sorting them,
    which on a few million `int64` pair codes is about 20x slower than one sort and a comparison
    of neighbours (3.64 s against 0.18 s on 3,000,000 random codes, CPU time, this project's
    2-core machine). An `int64` array of `RADIX_FROM` values or more is sorted by a radix sort
    (`_kernels.sort_i64`: 0.05 s against `np.sort`'s 0.17 s on those codes). Returns a new array;
    `values` is left as it is.
    """
    if values.dtype == np.int64 and values.ndim == 1 and len(values) >= RADIX_FROM:
        ordered = cast("npt.NDArray[_T]", _kernels.sort_i64(np.ascontiguousarray(values)))
    else:
        ordered = np.sort(values)
    if len(ordered) < 2:
        return ordered
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def among(values: npt.NDArray[_T], distinct_sorted: npt.NDArray[_T]) -> npt.NDArray[np.bool_]:
    """`bool` of `values`' shape: which values are in `distinct_sorted` (sorted, as `distinct` gives).

    `np.isin(values, distinct_sorted)` by binary search; `np.isin` would find the distinct values
    of both arrays again, with NumPy 2.4's hash table (see `distinct`).
    """
    if not len(distinct_sorted):
        return np.zeros(values.shape, dtype=bool)
    at = np.minimum(np.searchsorted(distinct_sorted, values), len(distinct_sorted) - 1)
    found: npt.NDArray[np.bool_] = distinct_sorted[at] == values
    return found


def _cuts(offsets: npt.NDArray[np.int64], workers: int) -> npt.NDArray[np.int64]:
    """Record indices cutting the records into `workers` shares of about equal bytes."""
    n = len(offsets) - 1
    if workers <= 1 or n < 2 * workers:
        return np.array([0, n], dtype=np.int64)
    targets = offsets[0] + (offsets[-1] - offsets[0]) * np.arange(1, workers) // workers
    return distinct(np.r_[0, np.searchsorted(offsets, targets), n].astype(np.int64))


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


def sign_bytes(
    data: npt.NDArray[np.uint8],
    offsets: npt.NDArray[np.int64],
    ngram: int,
    a: npt.NDArray[np.uint32],
    b: npt.NDArray[np.uint32],
    workers: int = 1,
) -> npt.NDArray[np.uint32]:
    """Signatures of records given as UTF-8 hashing forms.

    The records' shingle sets (`shingle_set_bytes`), each signed (`sign_sets`): the minima over
    a record's distinct shingles are the minima over all of them.

    Args:
        data: `uint8` bytes of all records' hashing forms.
        offsets: `int64`, length `n + 1`; record `i` is `data[offsets[i]:offsets[i + 1]]`.
        ngram: words per shingle.
        a: `uint32` permutation multipliers, shape `(num_perm,)`.
        b: `uint32` permutation offsets, shape `(num_perm,)`.
        workers: threads to spread records over.

    Returns:
        `uint32`, shape `(n, num_perm)`; a record with no tokens gets `0xFFFFFFFF` everywhere.

    Raises:
        ValueError: `ngram` is out of range, `a` and `b` differ in length, or `offsets` do not rise
            within `data`.
    """
    _check_ngram(ngram)
    if len(a) != len(b):
        raise ValueError(f"a and b differ in length: {len(a)} and {len(b)}")
    sets, set_offsets = shingle_set_bytes(data, offsets, ngram, workers)
    return sign_sets(sets, set_offsets, np.arange(len(set_offsets) - 1, dtype=np.int64), a, b, workers)


def shingle_bytes(
    data: npt.NDArray[np.uint8], offsets: npt.NDArray[np.int64], ngram: int
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]]:
    """Shingle hashes of records given as UTF-8 hashing forms (as `shingle.shingle_batch` returns)."""
    _check_ngram(ngram)
    offsets = _c(offsets, np.int64)
    _check_offsets(offsets, len(data), "offsets")
    return _kernels.shingle_records(_c(data, np.uint8), offsets, ngram)


def shingle_set_bytes(
    data: npt.NDArray[np.uint8], offsets: npt.NDArray[np.int64], ngram: int, workers: int = 1
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]]:
    """Each record's distinct shingle hashes, sorted and packed, from UTF-8 hashing forms.

    What `shingle_bytes` then `shingle_sets` give, packed, in one pass: each record is shingled
    into its own region, sorted and rid of repeats there, then the sets are packed in record order.

    Args:
        data: `uint8` bytes of all records' hashing forms.
        offsets: `int64 (n + 1,)`; record `i` is `data[offsets[i]:offsets[i + 1]]`.
        ngram: words per shingle.
        workers: threads to spread records over (the result never depends on it).

    Returns:
        `(sets, set_offsets)`: `uint32 (total,)` and `int64 (n + 1,)`; record `i`'s set is
        `sets[set_offsets[i]:set_offsets[i + 1]]`, ascending, without repeats.

    Raises:
        ValueError: `ngram` is outside 1..`MAX_NGRAM`, or `offsets` do not rise within `data`.
    """
    _check_ngram(ngram)
    offsets = _c(offsets, np.int64)
    _check_offsets(offsets, len(data), "offsets")
    return _kernels.shingle_set_records(_c(data, np.uint8), offsets, ngram, _threads(workers))


def sign_sets(
    sets: npt.NDArray[np.uint32],
    set_offsets: npt.NDArray[np.int64],
    rows: npt.NDArray[np.int64],
    a: npt.NDArray[np.uint32],
    b: npt.NDArray[np.uint32],
    workers: int = 1,
) -> npt.NDArray[np.uint32]:
    """Signatures of the packed shingle sets of `rows`, as `sign_bytes` signs the records they came from.

    A minimum over a record's shingles is the minimum over its distinct shingles, so signing the
    set (`shingle_set_bytes`) gives the very signature `sign_bytes` gives the hashing form, with
    no second pass over the text and each repeated shingle permuted once.

    Args:
        sets: `uint32 (total,)`, packed shingle sets.
        set_offsets: `int64 (n + 1,)`; set `i` is `sets[set_offsets[i]:set_offsets[i + 1]]`.
        rows: `int64 (m,)`, the sets to sign, any order, repeats allowed.
        a: `uint32` permutation multipliers, shape `(num_perm,)`.
        b: `uint32` permutation offsets, shape `(num_perm,)`.
        workers: threads to spread the sets over.

    Returns:
        `uint32 (m, num_perm)`; an empty set gets `0xFFFFFFFF` everywhere.

    Raises:
        ValueError: `a` and `b` differ in length, or `set_offsets` do not rise within `sets`.
        IndexError: a row names no set.
    """
    if len(a) != len(b):
        raise ValueError(f"a and b differ in length: {len(a)} and {len(b)}")
    set_offsets = _c(set_offsets, np.int64)
    _check_offsets(set_offsets, len(sets), "set_offsets")
    out = np.empty((len(rows), len(a)), dtype=np.uint32)
    _kernels.sign_sets(
        _c(sets, np.uint32), set_offsets, _c(rows, np.int64),
        _c(a, np.uint32), _c(b, np.uint32), out, _threads(workers),
    )  # fmt: skip
    return out


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
        table: `uint8` folded bytes of every code point below `limit` (see `normalize.fold_table`);
            every ASCII code point folds to exactly one byte.
        table_offsets: `int64`, length `limit + 1`, into `table`.
        limit: first code point not in the table; those above are separators ...
        dropped: ... except this inclusive range, which is dropped (combining marks).
        workers: threads, each folding a contiguous share of the records into its own region.

    Returns:
        `(bytes, offsets)` of the hashing forms: tokens joined by one space, paragraphs by one
        newline, nothing leading or trailing.
    """
    if limit < 0x80 or len(table_offsets) != limit + 1:  # the kernel reads the table unchecked
        raise ValueError(
            f"table_offsets has {len(table_offsets)} entries for limit {limit}; "
            "expected limit + 1, with limit >= 128"
        )
    offsets, table_offsets = _c(offsets, np.int64), _c(table_offsets, np.int64)
    widest = int(np.max(np.diff(table_offsets)))  # the most bytes one code point folds to
    workers = _threads(workers)
    cuts, bases, out, part_offsets, used = _layout(offsets, workers, widest)
    _kernels.fold_parts(
        _c(data, np.uint8), offsets, cuts, bases, _c(table, np.uint8), table_offsets, limit, *dropped,
        out, part_offsets, used, workers,
    )  # fmt: skip
    return _join_parts(out, bases, part_offsets, cuts, used)


def tidy_bytes(
    data: npt.NDArray[np.uint8], offsets: npt.NDArray[np.int64], workers: int = 1
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Drop invisible characters, collapse whitespace runs to one space, trim (UTF-8 records).

    Whitespace: ASCII tab to carriage return, space, U+001C to U+001F, U+0085, U+1680, U+2028,
    U+2029 (what NFKC leaves; it maps no-break and typographic spaces to U+0020). Invisible: other
    C0 and C1 controls, soft hyphen, zero-width space, word joiner, byte-order mark.
    """
    offsets = _c(offsets, np.int64)
    workers = _threads(workers)
    cuts, bases, out, part_offsets, used = _layout(offsets, workers, 1)
    _kernels.tidy_parts(_c(data, np.uint8), offsets, cuts, bases, out, part_offsets, used, workers)
    return _join_parts(out, bases, part_offsets, cuts, used)


def outside_table(
    data: npt.NDArray[np.uint8], offsets: npt.NDArray[np.int64], table: npt.NDArray[np.uint8]
) -> npt.NDArray[np.bool_]:
    """Which UTF-8 values hold a code point that is neither ASCII nor marked in `table`.

    Args:
        data: `uint8`, the values' UTF-8 bytes.
        offsets: `int64 (n + 1,)`, value `i` is `data[offsets[i]:offsets[i + 1]]`, non-decreasing.
        table: `uint8 (size,)`, nonzero at the code points (below `size`) that count as inside.

    Returns:
        `bool (n,)`: true where a value holds a code point outside (or bytes that are no UTF-8).

    Raises:
        ValueError: `offsets` do not fit `data`.
    """
    data, offsets = _c(data, np.uint8), _c(offsets, np.int64)
    _check_offsets(offsets, len(data), "offsets")
    return _kernels.outside_table(data, offsets, _c(table, np.uint8))


def band_keys(signatures: npt.NDArray[np.uint32], bands: int, rows: int) -> npt.NDArray[np.uint64]:
    """One 64-bit key per record and band (see `lsh.band`): `uint64`, shape `(n, bands)`."""
    if bands < 0 or rows < 0 or bands * rows > signatures.shape[1]:
        raise ValueError(f"bands * rows = {bands * rows} exceeds the signature length {signatures.shape[1]}")
    return _kernels.band_keys(_c(signatures, np.uint32), bands, rows)


def bucket_pairs(keys: npt.NDArray[np.uint64], max_bucket: int) -> npt.NDArray[np.int64]:
    """Pairs `(j, i)`, `j < i`, of records sharing a key in some band, with repeats across bands.

    Each band's keys go into an open-addressing hash table whose buckets chain their records; a
    record is paired with at most `max_bucket` of the records already in its bucket (the latest).

    Returns:
        `int64`, shape `(m, 2)`, in the order found (band by band, record by record).
    """
    return _kernels.bucket_pairs(_c(keys, np.uint64), max_bucket)


def shingle_sets(
    hashes: npt.NDArray[np.uint32], offsets: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]]:
    """Per-record sorted, repeat-free shingle sets: `(hashes, sizes)`, laid out at the same offsets.

    Hashes that are sets already (each record's rise strictly, as `Source.sets` gives them) come
    back as they are, with each record's length as its size; others are copied and sorted.
    """
    hashes, offsets = _c(hashes, np.uint32), _c(offsets, np.int64)
    _check_offsets(offsets, len(hashes), "offsets")
    if _kernels.are_sets(hashes, offsets):
        return hashes, np.diff(offsets)
    sets = np.array(hashes, dtype=np.uint32, order="C")  # a copy, sorted in place
    return sets, _kernels.sorted_sets(sets, offsets)


def pair_overlaps(
    sets: npt.NDArray[np.uint32],
    offsets: npt.NDArray[np.int64],
    sizes: npt.NDArray[np.int64],
    pairs: npt.NDArray[np.int64],
    workers: int = 1,
) -> npt.NDArray[np.int64]:
    """Exact intersection size of each pair's shingle sets (from `shingle_sets`), by sorted merge."""
    out = np.empty(len(pairs), dtype=np.int64)
    pairs = _c(pairs, np.int64).reshape(-1, 2)
    _kernels.intersections(
        _c(sets, np.uint32), _c(offsets, np.int64), _c(sizes, np.int64), pairs, out, _threads(workers)
    )
    return out


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
    return _kernels.settle(
        _c(rank, np.int64), _c(a, np.int64), _c(b, np.int64), _c(directed, np.bool_).view(np.uint8),
        _c(jaccard, np.float64), _c(share_ab, np.float64), _c(share_ba, np.float64),
    )  # fmt: skip


def copy_ranges(
    source: npt.NDArray[np.uint32],
    source_starts: npt.NDArray[np.int64],
    target: npt.NDArray[np.uint32],
    target_starts: npt.NDArray[np.int64],
    lengths: npt.NDArray[np.int64],
) -> None:
    """Copy `lengths[k]` values from `source[source_starts[k]:]` to `target[target_starts[k]:]`, each k.

    What a gather of packed sets (`featurize.gather_sets`, a shard's sets into the rows' places)
    does with NumPy fancy indexing, one `memcpy` per range: about 10x less time on the sets the
    verifier reads.

    Args:
        source: `uint32 (n,)`, C-contiguous (a read-only mapped array will do).
        source_starts: `int64 (m,)`, where each range starts in `source`.
        target: `uint32`, C-contiguous and writable; written in place.
        target_starts: `int64 (m,)`, where each range goes in `target`.
        lengths: `int64 (m,)`, each range's count of values.

    Raises:
        IndexError: a range does not fit in `source` or `target` (nothing is copied).
    """
    if not target.flags.c_contiguous or target.dtype != np.uint32:
        raise TypeError("target must be a C-contiguous uint32 array")
    _kernels.copy_ranges(
        _c(source, np.uint32), _c(source_starts, np.int64), target, _c(target_starts, np.int64),
        _c(lengths, np.int64),
    )  # fmt: skip


def figure_tokens(text: str, words: frozenset[str], every_word: bool) -> list[str]:
    r"""The figures (and words) of `text`, in order, as Python's `re.findall` would find them.

    A *figure* is a run of decimal digits with inner separators, `\d+(?:[.,/-]\d+)*`, not glued to
    a letter on either side (a letter is `[^\W\d_]`: a word character that is no digit and no
    underscore; the match backtracks to the longest such run not followed by a letter, as the
    regex does). With `every_word`, every run of letters is a token too (the pattern
    `(?<![^\W\d_])<figure>(?![^\W\d_])|[^\W\d_]+`); without, only a run of letters that is one of
    `words` and not glued to a letter (`(?<![^\W\d_])(?:<figure>|<words>)(?![^\W\d_])`).
    Character classes are Unicode's, as `re` reads them for `str` patterns, from the running
    Python's Unicode database. `tests/test_figures.py` holds it equal to those patterns.

    Args:
        text: the text, lowercased by the caller when `words` are lowercase.
        words: the words that count as figures (number words, month names) without `every_word`.
        every_word: also return every run of letters.

    Returns:
        The tokens, as slices of `text`.
    """
    return _kernels.figure_tokens(text, words, every_word)


def figure_sequences(
    data: npt.NDArray[np.uint8], offsets: npt.NDArray[np.int64], words: frozenset[str]
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    r"""Each record's figures, lowercased and joined by U+001F, from its UTF-8 bytes.

    What `"\x1f".join(figure_tokens(text.lower(), words, False))` gives, without making the text,
    its lowered copy or its tokens as strings (`figures.digests` reads a record once this way). An
    ASCII record is read from its bytes; another from its code points, each lowercased (its simple
    lowercase mapping) and classed as a letter or not as `re` classes it. A record is left to the
    caller when that reading could differ from `str.lower` and `re`: it holds a decimal digit other
    than 0-9, a character whose lowercase is ASCII (the Kelvin sign, U+0130), or bytes that are no
    UTF-8; or when `words` are more than the kernel's table holds (128 words of up to 32 letters,
    each starting with two letters a-z).

    Args:
        data: `uint8`, the records' UTF-8 bytes.
        offsets: `int64 (n + 1,)`, record `i` is `data[offsets[i]:offsets[i + 1]]`, non-decreasing.
        words: lowercase words that count as figures (number words, month names).

    Returns:
        `(sequences uint8, offsets int64 (n + 1,), other bool (n,))`: record `i`'s joined figures
        are `sequences[offsets[i]:offsets[i + 1]]` (empty where `other[i]`, a record left to the caller).

    Raises:
        ValueError: `offsets` do not fit `data` (`_check_offsets`).
        MemoryError: no room for a record's code points (4 bytes each).
    """
    data, offsets = _c(data, np.uint8), _c(offsets, np.int64)
    _check_offsets(offsets, len(data), "offsets")
    return _kernels.figure_sequences(data, offsets, words)


def figure_context(text: str, words: frozenset[str]) -> tuple[list[str], int]:
    """The tokens `figure_statements` reads of `text`, and how many tokens `text` has in all.

    Of the tokens `figure_tokens(text, _, True)` finds, those that are figures (a token whose first
    character is a digit to `str.isdigit`, `²` included), those in `words`, and those right before
    or after one; the others are counted, never made into strings. With `words` holding every word
    the scan gives a meaning to (number words, months, hedges, range and list words), the scan
    finds the same statements in these tokens as in all of them: it reads a word only when it
    stands next to a figure or to one of those words (`tests/test_figures.py` holds the two equal).

    Args:
        text: the text, lowercased by the caller when `words` are lowercase.
        words: the words that matter besides figures.

    Returns:
        `(tokens, count)`: the tokens in order, as slices of `text`; the number of all tokens.
    """
    return _kernels.figure_context(text, words)


#: Word classes of `figure_packer`'s vocabulary (bits; a word may have several).
WORD_NUMBER = 1
WORD_MONTH = 2
WORD_HEDGE = 4
WORD_RANGE = 8
WORD_LIST = 16
WORD_STAMP = 32
#: Words that make the statement they open a range (`between`, `from`).
WORD_OPENS = 64


def figure_packer(
    vocabulary: dict[str, tuple[int, float]], date: str, volatile_words: int, scale_digits: int
) -> _kernels.FactsPacker:
    """A packer of records' figure facts (`figures.Packer`), compiled.

    The rule and its words are `dedup.figures`' (rules 1 and 4 of its module docstring: tokens,
    statements and their frames, clock times blanked, volatile lines left out unless a record has
    nothing else); this kernel holds the scan. `add_text(lowered) -> bool` reads one record from
    its lowercased text, or adds nothing and gives False when it would not read it as the module
    does (a figure with a digit other than 0-9, a word starting with a digit to `str.isdigit`,
    a value that is no finite number, an abbreviated range end of more than `scale_digits`
    digits); `add_facts(body)` adds one record from `figures.Facts.body`; `finish()` gives the
    arrays of `figures.Packed`, in its order, without `correction`. `tests/test_figures.py` holds
    the two ways of adding equal.

    Args:
        vocabulary: each word the rule gives a meaning to: `(classes, value)`, classes the
            `WORD_*` bits, value a number word's whole number or a month's number (1-12);
            ASCII words of 1 to 16 letters.
        date: the word standing for "a date" in the frame every date gets besides its own.
        volatile_words: a volatile line has at most this many tokens.
        scale_digits: the longest abbreviated range end read compiled.

    Raises:
        ValueError: a vocabulary word is not ASCII of 1 to 16 letters, or a number word's value
            is no whole number.
    """
    return _kernels.FactsPacker(vocabulary, date, volatile_words, scale_digits)


def figure_clashes(packed: Any, pairs: npt.NDArray[np.int64], workers: int = 1) -> npt.NDArray[np.bool_]:
    """The figures rule on each pair of packed records (`figures.conflict`), compiled.

    The rule and its wording are `dedup.figures`' (rules 2 and 3 of its module docstring); this
    kernel holds the loop over the pairs, their frames (a merge of the two records' sorted
    frames) and their statements, with `Statement.agrees` and its mistyping test written again
    here. `tests/test_figures.py` holds it equal to the module's `clashing_frames`.

    Args:
        packed: a `figures.Packed`.
        pairs: `int64 (m, 2)`, indices of records of `packed`.
        workers: OpenMP threads (at least 1).

    Returns:
        `bool (m,)`: whether the two records of each pair conflict.

    Raises:
        IndexError: a pair names no record of `packed`.
    """
    pairs = _c(pairs, np.int64).reshape(-1, 2)
    n = len(packed.records) - 1
    if len(pairs) and (int(pairs.min()) < 0 or int(pairs.max()) >= n):
        raise IndexError(f"a pair names no record: indices must be in [0, {n})")
    return _kernels.figure_clashes(
        packed.records, packed.entries, packed.spans, packed.values_at, packed.written_at,
        packed.numbers, packed.strings_of, packed.written, packed.string_at, packed.chars,
        _c(packed.correction, np.bool_).view(np.uint8), pairs, max(1, int(workers)),
    )  # fmt: skip


def figure_body(found: list[Any]) -> dict[Any, tuple[Any, ...]]:
    """Each frame of `found` with its distinct statements, in the order first stated.

    Args:
        found: per paragraph, a tuple of `(frame, statement)` (`figures.statements`).

    Returns:
        `{frame: (statement, ...)}`, frames in the order first met; a statement equal to one
        already held for its frame is left out.
    """
    return _kernels.figure_body(found)


def figure_statements(
    tokens: list[str],
    number_words: dict[str, float],
    months: dict[str, str],
    hedges: frozenset[str],
    range_words: frozenset[str],
    list_words: frozenset[str],
    value: Any,
    written_of: Any,
    statement: Any,
    date: str,
    made: dict[Any, Any],
    room: int,
    longest: int,
) -> list[Any]:
    """The statements of figures in one paragraph's tokens, with their frames (`figures.statements`).

    The rule and its words are `dedup.figures`' (its module docstring, rule 1); the words are passed
    in so that this kernel holds only the scan. A token is a figure when its first character is a
    digit (`str.isdigit`) or it is one of `number_words`. `tests/test_figures.py` holds it equal to
    a plain-Python statement of the rule written in the test.

    Args:
        tokens: `figures._tokens` of the paragraph, lowercased, clock times out.
        number_words: number words and their values.
        months: month names and their `month k` tags.
        hedges: words skipped when looking for the word before a statement.
        range_words: the words that join figures into a range (`to`).
        list_words: the words that join figures into a list (`and`).
        value: `token -> (values, is a hyphen range)` for a figure token.
        written_of: `(token, values) -> str`, the figure as written.
        statement: `(values: frozenset, span, written: frozenset) -> Statement`.
        date: the word standing for "a date" in the frame every date gets besides its own.
        made: statements already made, by their run of tokens (and the word opening the run when
            it is a month, `between` or `from`: the only ways the word before enters a statement);
            read and added to. A run met again is one lookup: wire copies repeat their figures.
            The caller owns it; it must hold only what calls with the same callables and words
            made.
        room: `made` is added to only while it holds fewer entries than this.
        longest: only runs of at most this many tokens are added to `made`.

    Returns:
        `[((word before, word after), statement)]`, in order; a statement with a month also comes
        again in the frame `(date, word after)`.
    """
    return _kernels.figure_statements(
        tokens, number_words, months, hedges, range_words, list_words,
        value, written_of, statement, date, made, room, longest,
    )  # fmt: skip


def components(n: int, edges: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Connected components of nodes `0..n-1` joined by undirected `edges` (`int64 (m, 2)`).

    Union-find with path halving (Tarjan and van Leeuwen, "Worst-case analysis of set union
    algorithms", JACM 1984), each tree rooted at its lowest node. Components are labelled
    `0, 1, ...` in the order of their lowest node, as `scipy.sparse.csgraph.connected_components`
    labels them (which the tests check it against).

    Returns:
        `int64 (n,)`, the component label of each node.

    Raises:
        IndexError: an edge names a node outside `0..n-1`.
        ValueError: `edges` is not an integer array of shape `(m, 2)`.
    """
    edges = np.asarray(edges)
    if edges.size and (edges.ndim != 2 or edges.shape[1] != 2 or edges.dtype.kind not in "iu"):
        raise ValueError(f"edges must be an integer array of shape (m, 2); got {edges.dtype} {edges.shape}")
    return _kernels.components(int(n), _c(edges, np.int64).reshape(-1, 2))
