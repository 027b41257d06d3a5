# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, nonecheck=False, embedsignature=False
"""Compiled kernels behind `dedup.kernels` (Cython, OpenMP threads), built at install time.

Each function here is the loop of one `dedup.kernels` function; `dedup.kernels` holds the public
signatures, argument checks and the parts layout, and says what each computes. Arrays arrive
C-contiguous with the dtypes named in `_kernels.pyi`. Loops run without the GIL; the threaded
ones take `workers` (at least 1) OpenMP threads.
"""

from cython.parallel cimport prange, threadid
from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport calloc, free, malloc, realloc
from libc.string cimport memchr, memcmp, memcpy, memmove, memset

import numpy as np

cdef extern from *:
    """
    #include <stdint.h>
    #define DEDUP_FNV_OFFSET 0xCBF29CE484222325ULL
    #define DEDUP_FNV_PRIME 0x100000001B3ULL
    #define DEDUP_CHAIN_MUL 0x9E3779B97F4A7C15ULL
    #define DEDUP_CHAIN_MIX 0xBF58476D1CE4E5B9ULL
    #define DEDUP_F1 0xFF51AFD7ED558CCDULL
    #define DEDUP_F2 0xC4CEB9FE1A85EC53ULL
    #define DEDUP_M32A 0x85EBCA6BU
    #define DEDUP_M32B 0xC2B2AE35U
    #define DEDUP_BAND_MIX 0xBF58476D1CE4E5B9ULL
    #define DEDUP_BAND_MUL 0x9E3779B97F4A7C15ULL

    /* The affine32 minima: out[k] = min over s of (a[k] * mixed[s] + b[k]) mod 2**32. The inner
       loop is a 32-bit multiply-add-min that only vectorizes well with SSE4.1 or wider, which the
       x86-64 baseline lacks, so GCC builds one copy per instruction set and the loader picks the
       widest the CPU has (no -march=native: the build stays portable). */
    #if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) \
        && defined(__GLIBC__)
    #define DEDUP_CLONES __attribute__((target_clones("avx512f", "avx2", "sse4.1", "default")))
    #else
    #define DEDUP_CLONES
    #endif

    DEDUP_CLONES
    static void dedup_minima(const uint32_t *mixed, int64_t count, const uint32_t *a,
                             const uint32_t *b, int64_t num_perm, uint32_t *out) {
        for (int64_t k = 0; k < num_perm; k++) {
            uint32_t ak = a[k], bk = b[k], low = 0xFFFFFFFFu;
            for (int64_t s = 0; s < count; s++) {
                uint32_t v = ak * mixed[s] + bk;
                low = v < low ? v : low;
            }
            out[k] = low;
        }
    }
    """
    const uint64_t FNV_OFFSET "DEDUP_FNV_OFFSET"
    const uint64_t FNV_PRIME "DEDUP_FNV_PRIME"
    const uint64_t CHAIN_MUL "DEDUP_CHAIN_MUL"
    const uint64_t CHAIN_MIX "DEDUP_CHAIN_MIX"
    const uint64_t F1 "DEDUP_F1"
    const uint64_t F2 "DEDUP_F2"
    const uint32_t M32A "DEDUP_M32A"
    const uint32_t M32B "DEDUP_M32B"
    const uint64_t BAND_MIX "DEDUP_BAND_MIX"
    const uint64_t BAND_MUL "DEDUP_BAND_MUL"
    void minima "dedup_minima"(
        const uint32_t* mixed, int64_t count, const uint32_t* a, const uint32_t* b, int64_t num_perm,
        uint32_t* out
    ) noexcept nogil

#: The hashing constants compiled in, for a test against `dedup.shingle`.
HASH_CONSTANTS = (FNV_OFFSET, FNV_PRIME, CHAIN_MUL, CHAIN_MIX)


# ----------------------------------------------------------------------------- shingles, signatures


cdef inline uint64_t fmix64(uint64_t h) noexcept nogil:
    h ^= h >> 33
    h *= F1
    h ^= h >> 33
    h *= F2
    return h ^ (h >> 33)


cdef inline uint32_t chain(const uint64_t* ring, int64_t first, int64_t length, int64_t ngram) noexcept nogil:
    cdef uint64_t h = 0
    cdef int64_t idx = first
    cdef int64_t step
    for step in range(length):  # walk the ring without a division per step
        h = (h ^ ring[idx]) * CHAIN_MUL
        idx += 1
        if idx == ngram:
            idx = 0
    h ^= h >> 29
    h *= CHAIN_MIX
    h ^= h >> 32
    return <uint32_t>h


cdef int64_t record_shingles(
    const uint8_t* data, int64_t start, int64_t end, int64_t ngram, uint64_t* ring, uint32_t* out
) noexcept nogil:
    """Write record `data[start:end]`'s shingle hashes into `out`; return how many."""
    cdef int64_t count = 0
    cdef int64_t in_para = 0  # tokens seen in the current paragraph
    cdef int64_t slot = 0  # ring slot the next token hash goes to (== in_para % ngram)
    cdef uint64_t h = FNV_OFFSET
    cdef bint in_token = False
    cdef int64_t p
    cdef uint8_t c
    for p in range(start, end + 1):
        c = data[p] if p < end else 10  # a virtual newline closes the record
        if c == 32 or c == 10:
            if in_token:
                ring[slot] = fmix64(h)
                in_para += 1
                slot += 1
                if slot == ngram:
                    slot = 0
                if in_para >= ngram:
                    out[count] = chain(ring, slot, ngram, ngram)  # the oldest token sits at `slot`
                    count += 1
                h = FNV_OFFSET
                in_token = False
            if c == 10:
                if 0 < in_para < ngram:
                    out[count] = chain(ring, 0, in_para, ngram)
                    count += 1
                in_para = 0
                slot = 0
        else:
            h = (h ^ c) * FNV_PRIME
            in_token = True
    return count


cdef inline uint32_t fmix32(uint32_t h) noexcept nogil:
    h ^= h >> 16
    h *= M32A
    h ^= h >> 13
    h *= M32B
    return h ^ (h >> 16)


cdef int grow(uint32_t** buffer, int64_t* capacity, int64_t need) noexcept nogil:
    """Make `buffer[0]` hold at least `need` values (a thread's scratch); -1 when out of memory."""
    cdef int64_t size
    cdef uint32_t* grown
    if need <= capacity[0]:
        return 0
    size = max(need, 2 * capacity[0], 4096)
    grown = <uint32_t*>realloc(buffer[0], size * sizeof(uint32_t))
    if grown == NULL:
        return -1
    buffer[0] = grown
    capacity[0] = size
    return 0


def shingle_records(const uint8_t[::1] data, const int64_t[::1] offsets, int64_t ngram):
    cdef int64_t n = offsets.shape[0] - 1
    hashes = np.empty(offsets[n] - offsets[0] + n, dtype=np.uint32)
    counts = np.zeros(n + 1, dtype=np.int64)
    cdef uint32_t[::1] hashes_ = hashes
    cdef int64_t[::1] counts_ = counts
    cdef const uint8_t* bytes_ = &data[0] if data.shape[0] else NULL
    cdef uint64_t* ring = <uint64_t*>malloc(ngram * sizeof(uint64_t))
    cdef int64_t used = 0
    cdef int64_t i
    if ring == NULL:
        raise MemoryError()
    with nogil:
        for i in range(n):
            used += record_shingles(bytes_, offsets[i], offsets[i + 1], ngram, ring, &hashes_[used])
            counts_[i + 1] = used
    free(ring)
    return hashes[:used].copy(), counts  # the copy lets the oversized buffer go


# ----------------------------------------------------------------------------- fold and tidy


cdef inline int64_t decode(const uint8_t* data, int64_t p, int* width) noexcept nogil:
    """The code point starting at `data[p]`; its length in bytes into `width` (input is valid UTF-8)."""
    cdef int64_t c0 = data[p]
    if c0 < 0x80:
        width[0] = 1
        return c0
    if c0 < 0xE0:
        width[0] = 2
        return ((c0 & 0x1F) << 6) | (data[p + 1] & 0x3F)
    if c0 < 0xF0:
        width[0] = 3
        return ((c0 & 0x0F) << 12) | ((data[p + 1] & 0x3F) << 6) | (data[p + 2] & 0x3F)
    width[0] = 4
    return (
        ((c0 & 0x07) << 18) | ((data[p + 1] & 0x3F) << 12) | ((data[p + 2] & 0x3F) << 6)
        | (data[p + 3] & 0x3F)
    )


cdef inline int64_t checked_decode(const uint8_t* data, int64_t p, int64_t end, int* width) noexcept nogil:
    """The code point of the UTF-8 sequence starting at `data[p]` (a byte >= 0x80) and ending by `end`,
    its length into `width`; -1 when the bytes there are no UTF-8 (a stray or bad lead byte, a
    continuation byte missing or a sequence cut by `end`, an overlong form, a surrogate, a code
    point past U+10FFFF). Nothing at or past `end` is read."""
    cdef uint8_t c0 = data[p]
    cdef int w, k
    cdef int64_t cp
    if c0 < 0xC2 or c0 > 0xF4:
        return -1
    w = 2 if c0 < 0xE0 else (3 if c0 < 0xF0 else 4)
    if p + w > end:
        return -1
    for k in range(1, w):
        if (data[p + k] & 0xC0) != 0x80:
            return -1
    cp = decode(data, p, width)
    if (w == 3 and (cp < 0x800 or (cp >= 0xD800 and cp <= 0xDFFF))) or (w == 4 and (cp < 0x10000 or cp > 0x10FFFF)):
        return -1
    return cp


cdef inline int64_t emit(uint8_t* out, int64_t pos, int* pending, bint* wrote, uint8_t byte) noexcept nogil:
    """Feed one folded byte to a hashing form; return the new `pos`.

    Newline and space become owed separators (`pending`: 0 none, 1 space, 2 newline), written (one
    at most, a newline winning) only before the next token byte.
    """
    if byte == 10:
        if wrote[0]:
            pending[0] = 2
        return pos
    if byte == 32:
        if wrote[0] and pending[0] == 0:
            pending[0] = 1
        return pos
    if pending[0]:
        out[pos] = 10 if pending[0] == 2 else 32
        pos += 1
    out[pos] = byte
    pending[0] = 0
    wrote[0] = True
    return pos + 1


cdef int64_t fold_records(
    const uint8_t* data,
    const int64_t* offsets,
    int64_t n,
    const uint8_t* table,
    const int64_t* table_offsets,
    int64_t limit,
    int64_t dropped_lo,
    int64_t dropped_hi,
    uint8_t* out,
    int64_t* out_offsets,
) noexcept nogil:
    cdef int64_t pos = 0
    cdef int64_t i, p, end, cp, t
    cdef int pending, width
    cdef bint wrote
    cdef uint8_t c0
    for i in range(n):
        out_offsets[i] = pos
        wrote = False  # the record has output a token byte
        pending = 0
        p = offsets[i]
        end = offsets[i + 1]
        while p < end:
            c0 = data[p]
            if c0 < 0x80:  # ASCII: one byte in, one byte out at most
                pos = emit(out, pos, &pending, &wrote, table[table_offsets[c0]])
                p += 1
                continue
            cp = decode(data, p, &width)
            p += width
            if cp >= limit:
                if not dropped_lo <= cp <= dropped_hi:
                    pos = emit(out, pos, &pending, &wrote, 32)
                continue
            for t in range(table_offsets[cp], table_offsets[cp + 1]):
                pos = emit(out, pos, &pending, &wrote, table[t])
    out_offsets[n] = pos
    return pos


def fold_parts(
    const uint8_t[::1] data,
    const int64_t[::1] offsets,
    const int64_t[::1] cuts,
    const int64_t[::1] bases,
    const uint8_t[::1] table,
    const int64_t[::1] table_offsets,
    int64_t limit,
    int64_t dropped_lo,
    int64_t dropped_hi,
    uint8_t[::1] out,
    int64_t[::1] part_offsets,
    int64_t[::1] used,
    int workers,
):
    cdef const uint8_t* bytes_ = &data[0] if data.shape[0] else NULL
    cdef int64_t k, lo, hi
    for k in prange(cuts.shape[0] - 1, nogil=True, num_threads=workers, schedule="static", chunksize=1):
        lo = cuts[k]
        hi = cuts[k + 1]
        used[k] = fold_records(
            bytes_, &offsets[lo], hi - lo, &table[0], &table_offsets[0], limit, dropped_lo, dropped_hi,
            &out[bases[k]], &part_offsets[lo + k],
        )


cdef inline int tidy_class(int64_t cp) noexcept nogil:
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


cdef int64_t tidy_records(
    const uint8_t* data, const int64_t* offsets, int64_t n, uint8_t* out, int64_t* out_offsets
) noexcept nogil:
    cdef int64_t pos = 0
    cdef int64_t i, p, end, cp, k
    cdef int width, kind
    cdef bint wrote, space
    cdef uint8_t c0
    for i in range(n):
        out_offsets[i] = pos
        wrote = False
        space = False
        p = offsets[i]
        end = offsets[i + 1]
        while p < end:
            c0 = data[p]
            if c0 == 0x20:
                space = wrote
                p += 1
                continue
            if 0x20 < c0 < 0x7F:  # printable ASCII, the common case
                if space:
                    out[pos] = 32
                    pos += 1
                    space = False
                out[pos] = c0
                pos += 1
                wrote = True
                p += 1
                continue
            cp = decode(data, p, &width)
            kind = tidy_class(cp)
            if kind == 1:
                space = wrote
            elif kind == 0:
                if space:
                    out[pos] = 32
                    pos += 1
                    space = False
                for k in range(width):
                    out[pos] = data[p + k]
                    pos += 1
                wrote = True
            p += width
    out_offsets[n] = pos
    return pos


def tidy_parts(
    const uint8_t[::1] data,
    const int64_t[::1] offsets,
    const int64_t[::1] cuts,
    const int64_t[::1] bases,
    uint8_t[::1] out,
    int64_t[::1] part_offsets,
    int64_t[::1] used,
    int workers,
):
    cdef const uint8_t* bytes_ = &data[0] if data.shape[0] else NULL
    cdef int64_t k, lo, hi
    for k in prange(cuts.shape[0] - 1, nogil=True, num_threads=workers, schedule="static", chunksize=1):
        lo = cuts[k]
        hi = cuts[k + 1]
        used[k] = tidy_records(bytes_, &offsets[lo], hi - lo, &out[bases[k]], &part_offsets[lo + k])


def outside_table(const uint8_t[::1] data, const int64_t[::1] offsets, const uint8_t[::1] table):
    # Per value: whether it holds a code point that is neither ASCII nor marked in `table`
    # (`table[cp] != 0`, for `cp < len(table)`), or bytes that are no UTF-8.
    cdef Py_ssize_t n = offsets.shape[0] - 1
    cdef Py_ssize_t size = table.shape[0]
    cdef Py_ssize_t i
    cdef int64_t j, end, cp
    cdef int width = 1
    cdef uint8_t c
    found_array = np.zeros(n, dtype=np.uint8)
    cdef uint8_t[::1] found = found_array
    with nogil:
        for i in range(n):
            j, end = offsets[i], offsets[i + 1]
            while j < end:
                c = data[j]
                if c < 128:
                    j += 1
                    continue
                cp = checked_decode(&data[0], j, end, &width)
                if cp < 0 or cp >= size or not table[cp]:
                    found[i] = 1
                    break
                j += width
    return found_array.view(np.bool_)


# ----------------------------------------------------------------------------- bands and pairs


def band_keys(const uint32_t[:, ::1] signatures, int64_t bands, int64_t rows):
    cdef int64_t n = signatures.shape[0]
    keys = np.empty((n, bands), dtype=np.uint64)
    cdef uint64_t[:, ::1] keys_ = keys
    cdef int64_t i, j, r
    cdef uint64_t h
    with nogil:
        for i in range(n):
            for j in range(bands):
                h = <uint64_t>(j + 1) * BAND_MIX
                for r in range(rows):
                    h = (h ^ signatures[i, j * rows + r]) * BAND_MUL
                    h ^= h >> 31
                keys_[i, j] = h
    return keys


def bucket_pairs(const uint64_t[:, ::1] keys, int64_t max_bucket):
    cdef int64_t n = keys.shape[0]
    cdef int64_t bands = keys.shape[1]
    cdef int64_t size = 16
    while size < 2 * n:
        size *= 2
    cdef int64_t mask = size - 1
    cdef uint64_t* slot_key = <uint64_t*>malloc(size * sizeof(uint64_t))
    cdef int64_t* head = <int64_t*>malloc(size * sizeof(int64_t))
    cdef int64_t* following = <int64_t*>malloc(max(n, 1) * sizeof(int64_t))
    cdef int64_t capacity = max(16, n)
    cdef int64_t* pairs = <int64_t*>malloc(2 * capacity * sizeof(int64_t))
    cdef int64_t* grown
    cdef int64_t m = 0
    cdef int64_t i, j, slot, other, taken
    cdef uint64_t key
    cdef bint failed = False
    cdef int64_t[:, ::1] out_
    try:
        if slot_key == NULL or head == NULL or following == NULL or pairs == NULL:
            raise MemoryError()
        with nogil:
            for j in range(bands):
                for slot in range(size):
                    head[slot] = -1
                for i in range(n):
                    key = keys[i, j]
                    slot = <int64_t>(key & <uint64_t>mask)
                    while head[slot] != -1 and slot_key[slot] != key:
                        slot = (slot + 1) & mask
                    if head[slot] == -1:
                        slot_key[slot] = key
                        following[i] = -1
                    else:
                        other = head[slot]
                        taken = 0
                        while other != -1 and taken < max_bucket:
                            if m == capacity:
                                grown = <int64_t*>realloc(pairs, 4 * capacity * sizeof(int64_t))
                                if grown == NULL:
                                    failed = True
                                    break
                                pairs = grown
                                capacity *= 2
                            pairs[2 * m] = other
                            pairs[2 * m + 1] = i
                            m += 1
                            taken += 1
                            other = following[other]
                        if failed:
                            break
                        following[i] = head[slot]
                    head[slot] = i
                if failed:
                    break
        if failed:
            raise MemoryError()
        out = np.empty((m, 2), dtype=np.int64)
        out_ = out
        if m:
            memcpy(&out_[0, 0], pairs, 2 * m * sizeof(int64_t))
        return out
    finally:
        free(slot_key)
        free(head)
        free(following)
        free(pairs)


# ----------------------------------------------------------------------------- exact overlaps


cdef inline void insertion_sort(uint32_t* v, int64_t n) noexcept nogil:
    cdef int64_t i, j
    cdef uint32_t x
    for i in range(1, n):
        x = v[i]
        j = i
        while j > 0 and v[j - 1] > x:
            v[j] = v[j - 1]
            j -= 1
        v[j] = x


cdef void sift_down(uint32_t* v, int64_t root, int64_t n) noexcept nogil:
    cdef int64_t child
    cdef uint32_t x = v[root]
    while True:
        child = 2 * root + 1
        if child >= n:
            break
        if child + 1 < n and v[child + 1] > v[child]:
            child += 1
        if v[child] <= x:
            break
        v[root] = v[child]
        root = child
    v[root] = x


cdef void heap_sort(uint32_t* v, int64_t n) noexcept nogil:
    cdef int64_t i
    cdef uint32_t x
    for i in range(n // 2 - 1, -1, -1):
        sift_down(v, i, n)
    for i in range(n - 1, 0, -1):
        x = v[0]
        v[0] = v[i]
        v[i] = x
        sift_down(v, 0, i)


cdef inline uint32_t median3(uint32_t x, uint32_t y, uint32_t z) noexcept nogil:
    if x < y:
        return y if y < z else (z if x < z else x)
    return x if x < z else (z if y < z else y)


cdef void sort_u32(uint32_t* v, int64_t n) noexcept nogil:
    """Introsort: quicksort (median of three, Hoare partition), heapsort past a depth limit."""
    cdef int depth = 0
    cdef int64_t m = n
    cdef int64_t i, j
    cdef uint32_t pivot, x
    while m > 1:
        depth += 2
        m >>= 1
    while n > 16:
        if depth == 0:
            heap_sort(v, n)
            return
        depth -= 1
        pivot = median3(v[0], v[n >> 1], v[n - 1])
        i = -1
        j = n
        while True:
            i += 1
            while v[i] < pivot:
                i += 1
            j -= 1
            while v[j] > pivot:
                j -= 1
            if i >= j:
                break
            x = v[i]
            v[i] = v[j]
            v[j] = x
        # v[:j + 1] <= pivot <= v[j + 1:]; sort the smaller side here, go on with the larger
        if j + 1 < n - j - 1:
            sort_u32(v, j + 1)
            v += j + 1
            n -= j + 1
        else:
            sort_u32(v + j + 1, n - j - 1)
            n = j + 1
    insertion_sort(v, n)


# Shorter arrays sort faster by comparisons. On 30,000 records of the news corpus (4.4M shingles),
# the whole set step took 0.154 s with comparisons only, 0.095 s with radix from 64 values, 0.101 s
# from 128, 0.128 s from 384 (best of 5, one thread).
DEF RADIX_FROM = 64


cdef void radix_sort_u32(uint32_t* v, int64_t n, uint32_t* scratch) noexcept nogil:
    """LSD radix sort, four passes of 8 bits (the four counts made in one read); `scratch` holds n.

    No comparison, so no mispredicted branch on random hashes: the sorts of news shingle sets took
    about half the time of `sort_u32`'s. An even number of passes leaves the result in `v`.
    """
    cdef int64_t counts[4][256]
    cdef int64_t i, total, c
    cdef int shift, p
    cdef uint32_t x
    cdef uint32_t* source = v
    cdef uint32_t* target = scratch
    cdef uint32_t* swap
    memset(counts, 0, sizeof(counts))
    for i in range(n):
        x = v[i]
        counts[0][x & 0xFF] += 1
        counts[1][(x >> 8) & 0xFF] += 1
        counts[2][(x >> 16) & 0xFF] += 1
        counts[3][x >> 24] += 1
    for p in range(4):
        total = 0
        for c in range(256):
            i = counts[p][c]
            counts[p][c] = total
            total += i
        shift = 8 * p
        for i in range(n):
            x = source[i]
            c = (x >> shift) & 0xFF
            target[counts[p][c]] = x
            counts[p][c] += 1
        swap = source
        source = target
        target = swap


cdef void sort_set_u32(uint32_t* v, int64_t n) noexcept nogil:
    """Sort `v[:n]`: radix from `RADIX_FROM` values (scratch allocated here), else `sort_u32`."""
    cdef uint32_t* scratch
    if n >= RADIX_FROM:
        scratch = <uint32_t*>malloc(n * sizeof(uint32_t))
        if scratch != NULL:
            radix_sort_u32(v, n, scratch)
            free(scratch)
            return
    sort_u32(v, n)


DEF DIGIT_BITS = 11
DEF DIGITS = 6  # 6 x 11 bits cover 64


def sort_i64(const int64_t[::1] values):
    # `values` sorted, in a new array: an LSD radix sort over 11-bit digits of the keys with the
    # sign bit flipped (so signed order is unsigned order), the counts of all six digits made in
    # one read, and a pass skipped where every key has the same digit (pair codes of 100,000
    # records fill 34 bits: four passes).
    cdef int64_t n = values.shape[0]
    out_array = np.empty(n, dtype=np.int64)
    if n == 0:
        return out_array
    scratch_array = np.empty(n, dtype=np.uint64)
    cdef uint64_t[::1] out = out_array.view(np.uint64)
    cdef uint64_t[::1] scratch = scratch_array
    cdef int64_t (*counts)[1 << DIGIT_BITS]
    cdef int64_t i, total, c
    cdef int d, shift
    cdef uint64_t x, flip = (<uint64_t>1) << 63, mask = (1 << DIGIT_BITS) - 1
    cdef uint64_t* source = &out[0]
    cdef uint64_t* target = &scratch[0]
    cdef uint64_t* swap
    counts = <int64_t (*)[1 << DIGIT_BITS]>calloc(DIGITS * (1 << DIGIT_BITS), sizeof(int64_t))
    if counts == NULL:
        raise MemoryError()
    try:
        with nogil:
            for i in range(n):
                x = (<uint64_t>values[i]) ^ flip
                source[i] = x
                for d in range(DIGITS):
                    counts[d][(x >> (d * DIGIT_BITS)) & mask] += 1
            for d in range(DIGITS):
                shift = d * DIGIT_BITS
                if counts[d][(source[0] >> shift) & mask] == n:
                    continue  # every key has this digit: the pass would change nothing
                total = 0
                for c in range(1 << DIGIT_BITS):
                    i = counts[d][c]
                    counts[d][c] = total
                    total += i
                for i in range(n):
                    x = source[i]
                    c = (x >> shift) & mask
                    target[counts[d][c]] = x
                    counts[d][c] += 1
                swap = source
                source = target
                target = swap
            for i in range(n):
                out[i] = source[i] ^ flip
    finally:
        free(counts)
    return out_array


def are_sets(const uint32_t[::1] hashes, const int64_t[::1] offsets):
    # Whether every record's hashes rise strictly (sorted, no repeats): already what `sorted_sets` makes.
    cdef int64_t n = offsets.shape[0] - 1
    cdef int64_t i, j
    cdef bint rising = True
    with nogil:
        for i in range(n):
            for j in range(offsets[i] + 1, offsets[i + 1]):
                if hashes[j] <= hashes[j - 1]:
                    rising = False
                    break
            if not rising:
                break
    return rising


def sorted_sets(uint32_t[::1] hashes, const int64_t[::1] offsets):
    cdef int64_t n = offsets.shape[0] - 1
    sizes = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] sizes_ = sizes
    cdef int64_t i, j, k, length
    cdef uint32_t* part
    with nogil:
        for i in range(n):
            length = offsets[i + 1] - offsets[i]
            k = 0
            if length:
                part = &hashes[offsets[i]]
                sort_set_u32(part, length)
                k = 1
                for j in range(1, length):
                    if part[j] != part[j - 1]:
                        part[k] = part[j]
                        k += 1
            sizes_[i] = k
    return sizes


def shingle_set_records(const uint8_t[::1] data, const int64_t[::1] offsets, int64_t ngram, int workers):
    cdef int64_t n = offsets.shape[0] - 1
    cdef int64_t base = offsets[0] if n >= 0 else 0
    # A record of b bytes has at most (b + 1) // 2 tokens (one byte each, a separator between) and
    # no more shingles than tokens: its region holds that many, plus one.
    regions = np.zeros(n + 1, dtype=np.int64)
    if n > 0:
        np.cumsum((np.diff(np.asarray(offsets)) + 1) // 2 + 1, out=regions[1:])
    cdef int64_t[::1] regions_ = regions
    hashes = np.empty(max(int(regions[n]), 1), dtype=np.uint32)
    packed = np.zeros(n + 1, dtype=np.int64)
    cdef uint32_t[::1] hashes_ = hashes
    cdef int64_t[::1] packed_ = packed
    cdef uint32_t* out_ = &hashes_[0]
    cdef const uint8_t* bytes_ = &data[0] if data.shape[0] else NULL
    cdef int64_t stride = ngram + 8  # threads' rings at least a cache line apart
    cdef uint64_t* rings = <uint64_t*>malloc(workers * stride * sizeof(uint64_t))
    cdef int64_t i, j, k, count, at, total = 0
    cdef uint32_t* part
    if rings == NULL:
        raise MemoryError()
    try:
        if workers == 1:
            # One thread: each set is made where the one before it ended, so only the memory the
            # sets fill is touched (a fresh page costs its zeroing, 2 MiB at a time in a huge page).
            with nogil:
                for i in range(n):
                    part = out_ + total
                    count = record_shingles(bytes_, offsets[i], offsets[i + 1], ngram, rings, part)
                    k = 0
                    if count:
                        sort_set_u32(part, count)
                        k = 1
                        for j in range(1, count):
                            if part[j] != part[j - 1]:
                                part[k] = part[j]
                                k = k + 1
                    total += k
                    packed_[i + 1] = total
            return hashes[:total].copy(), packed  # the copy lets the oversized buffer go
        # Record i shingles into its own region, sorts it and drops repeats in place; regions
        # never overlap, so threads share nothing.
        for i in prange(n, nogil=True, num_threads=workers, schedule="guided"):
            at = regions_[i]
            part = out_ + at
            count = record_shingles(bytes_, offsets[i], offsets[i + 1], ngram, rings + threadid() * stride, part)
            k = 0
            if count:
                sort_set_u32(part, count)
                k = 1
                for j in range(1, count):
                    if part[j] != part[j - 1]:
                        part[k] = part[j]
                        k = k + 1
            packed_[i + 1] = k
        with nogil:  # pack the sets to the left, in record order (each moves left or stays)
            for i in range(n):
                count = packed_[i + 1]
                if count:
                    memmove(out_ + total, out_ + regions_[i], count * sizeof(uint32_t))
                packed_[i] = total
                total += count
            packed_[n] = total
    finally:
        free(rings)
    return hashes[:total].copy(), packed  # the copy lets the oversized buffer go


def sign_sets(
    const uint32_t[::1] sets,
    const int64_t[::1] set_offsets,
    const int64_t[::1] rows,
    const uint32_t[::1] a,
    const uint32_t[::1] b,
    uint32_t[:, ::1] out,
    int workers,
):
    cdef int64_t m = rows.shape[0], n = set_offsets.shape[0] - 1
    cdef int64_t num_perm = a.shape[0]
    cdef int64_t k, r, s, start, count
    for k in range(m):
        if rows[k] < 0 or rows[k] >= n:
            raise IndexError(f"row {k} ({rows[k]}) names no set of the {n}")
    cdef const uint32_t* sets_ = &sets[0] if sets.shape[0] else NULL
    cdef const uint32_t* a_ = &a[0] if num_perm else NULL
    cdef const uint32_t* b_ = &b[0] if num_perm else NULL
    cdef uint32_t* out_ = &out[0, 0] if m and num_perm else NULL
    cdef uint32_t** buffers = <uint32_t**>calloc(workers, sizeof(uint32_t*))
    cdef int64_t* capacities = <int64_t*>calloc(workers, sizeof(int64_t))
    cdef int failed = 0
    cdef int* failed_ = &failed
    cdef int t
    cdef uint32_t* mixed
    if buffers == NULL or capacities == NULL:
        free(buffers)
        free(capacities)
        raise MemoryError()
    try:
        for k in prange(m, nogil=True, num_threads=workers, schedule="guided"):
            t = threadid()
            r = rows[k]
            start = set_offsets[r]
            count = set_offsets[r + 1] - start
            if grow(&buffers[t], &capacities[t], count + 1) != 0:
                failed_[0] = 1
                continue
            mixed = buffers[t]
            for s in range(count):
                mixed[s] = fmix32(sets_[start + s])
            minima(mixed, count, a_, b_, num_perm, out_ + k * num_perm)
    finally:
        for t in range(workers):
            free(buffers[t])
        free(buffers)
        free(capacities)
    if failed:
        raise MemoryError()


def intersections(
    const uint32_t[::1] hashes,
    const int64_t[::1] offsets,
    const int64_t[::1] sizes,
    const int64_t[:, ::1] pairs,
    int64_t[::1] out,
    int workers,
):
    cdef int64_t k, a, b, a_end, b_end, common
    cdef uint32_t x, y
    for k in prange(pairs.shape[0], nogil=True, num_threads=workers, schedule="guided"):
        a = offsets[pairs[k, 0]]
        b = offsets[pairs[k, 1]]
        a_end = a + sizes[pairs[k, 0]]
        b_end = b + sizes[pairs[k, 1]]
        common = 0
        while a < a_end and b < b_end:
            x = hashes[a]
            y = hashes[b]
            if x == y:
                common = common + 1
                a = a + 1
                b = b + 1
            elif x < y:
                a = a + 1
            else:
                b = b + 1
        out[k] = common


# ----------------------------------------------------------------------------- keep step


def settle(
    const int64_t[::1] rank,
    const int64_t[::1] a,
    const int64_t[::1] b,
    const uint8_t[::1] directed,
    const double[::1] jaccard,
    const double[::1] share_ab,
    const double[::1] share_ba,
):
    cdef int64_t n = rank.shape[0]
    cdef int64_t m = a.shape[0]
    start_ = np.zeros(n + 1, dtype=np.int64)  # every pair, at both of its records
    incident_ = np.empty(2 * m, dtype=np.int64)
    fill_ = np.empty(n, dtype=np.int64)
    pending_ = np.zeros(n, dtype=np.int64)  # containers not taken yet
    by_rank_ = np.empty(n, dtype=np.int64)
    taken_ = np.zeros(n, dtype=np.uint8)
    position_ = np.zeros(n, dtype=np.int64)
    heap_ = np.empty(n + 1, dtype=np.int64)  # ranks of the records free to be taken
    order_ = np.zeros(n, dtype=np.int64)
    via = np.full(n, -1, dtype=np.int64)
    cdef int64_t[::1] start = start_
    cdef int64_t[::1] incident = incident_
    cdef int64_t[::1] fill = fill_
    cdef int64_t[::1] pending = pending_
    cdef int64_t[::1] by_rank = by_rank_
    cdef uint8_t[::1] taken = taken_
    cdef int64_t[::1] position = position_
    cdef int64_t[::1] heap = heap_
    cdef int64_t[::1] order = order_
    cdef int64_t[::1] via_ = via
    cdef int64_t i, k, r, q, x, y, z, p, c, top, step, best, best_rank, swap
    cdef int64_t size = 0
    cdef int64_t scan = 0
    cdef double share, best_share
    cdef bint first
    with nogil:
        for k in range(m):
            start[a[k] + 1] += 1
            start[b[k] + 1] += 1
        for i in range(n):
            start[i + 1] += start[i]
        for i in range(n):
            fill[i] = start[i]
        for k in range(m):
            incident[fill[a[k]]] = k
            fill[a[k]] += 1
            incident[fill[b[k]]] = k
            fill[b[k]] += 1
            if directed[k]:
                pending[a[k]] += 1
        for i in range(n):
            by_rank[rank[i]] = i
        for r in range(n):  # pushed in rank order: already a heap
            if pending[by_rank[r]] == 0:
                heap[size] = r
                size += 1
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
                swap = heap[p]
                heap[p] = heap[c]
                heap[c] = swap
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
                            swap = heap[p]
                            heap[p] = heap[c]
                            heap[c] = swap
                            c = p
        for i in range(n):
            order[position[i]] = i
        for i in range(n):
            x = order[i]
            best = -1
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
                if via_[y] >= 0:
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
                    best = k
                    best_share = share
                    best_rank = rank[y]
            via_[x] = best
    return via


# ----------------------------------------------------------------------------- figures

from cpython.unicode cimport Py_UNICODE_ISALNUM, Py_UNICODE_ISDECIMAL

from cpython.unicode cimport Py_UNICODE_ISDIGIT, Py_UNICODE_ISSPACE, Py_UNICODE_TOLOWER


cdef extern from "Python.h":
    int PyUnicode_KIND(object text)
    void* PyUnicode_DATA(object text)
    Py_UCS4 PyUnicode_READ(int kind, const void* data, Py_ssize_t index) nogil


cdef inline bint is_letter(Py_UCS4 c) noexcept:
    # Python's `re` class [^\W\d_] on str: a word character (alphanumeric or `_`) that is no
    # decimal digit and no underscore. ASCII without a lookup in the Unicode database.
    if c < 128:
        return (c >= 97 and c <= 122) or (c >= 65 and c <= 90)
    return Py_UNICODE_ISALNUM(c) and not Py_UNICODE_ISDECIMAL(c)


cdef inline bint is_decimal(Py_UCS4 c) noexcept:
    # `re`'s \d on str: a Unicode decimal digit (category Nd).
    if c < 128:
        return c >= 48 and c <= 57
    return Py_UNICODE_ISDECIMAL(c)


cdef inline bint is_separator(Py_UCS4 c) noexcept:
    return c == u'.' or c == u',' or c == u'/' or c == u'-'


cdef Py_ssize_t number_end(int kind, const void* data, Py_ssize_t pos, Py_ssize_t n) noexcept:
    # `\d+(?:[.,/-]\d+)*(?![^\W\d_])` at `pos`: the regex's greedy match, then backtracking one
    # character at a time (ends inside a run of digits only) to the first end not followed by a
    # letter; -1 when none is.
    cdef Py_ssize_t end = pos
    while end < n and is_decimal(PyUnicode_READ(kind, data, end)):
        end += 1
    while (
        end + 1 < n
        and is_separator(PyUnicode_READ(kind, data, end))
        and is_decimal(PyUnicode_READ(kind, data, end + 1))
    ):
        end += 2
        while end < n and is_decimal(PyUnicode_READ(kind, data, end)):
            end += 1
    while end > pos:
        if is_decimal(PyUnicode_READ(kind, data, end - 1)) and (
            end == n or not is_letter(PyUnicode_READ(kind, data, end))
        ):
            return end
        end -= 1
    return -1


# The word list `figure_tokens` was last called with, learnt once: its shortest and longest word,
# whether every word starts with two ASCII letters a-z (`_filtered`, then `_prefixes` holds each
# word's first two letters), and, when they all fit, the words themselves bucketed by those two
# letters (`_exact`), so that a run of letters is compared with them in place, no string made.
# `figure_tokens` holds the GIL throughout, so one call at a time reads or writes these.
DEF _TABLE_WORDS = 128
DEF _TABLE_CHARS = 32
cdef object _learnt = None
cdef Py_ssize_t _shortest = 0, _longest = -1
cdef bint _filtered = True, _exact = False
cdef unsigned char _prefixes[26][26]
cdef int _bucket_start[26][26]
cdef int _bucket_count[26][26]
cdef Py_UCS4 _chars[_TABLE_WORDS][_TABLE_CHARS]
cdef Py_ssize_t _lengths[_TABLE_WORDS]


cdef void _learn(frozenset words):
    global _learnt, _shortest, _longest, _filtered, _exact
    cdef Py_UCS4 c0, c1
    cdef int k, j
    _shortest, _longest, _filtered = 0, -1, True
    memset(_prefixes, 0, sizeof(_prefixes))
    memset(_bucket_start, 0, sizeof(_bucket_start))
    memset(_bucket_count, 0, sizeof(_bucket_count))
    for word in words:
        if _longest < 0 or len(word) < _shortest:
            _shortest = len(word)
        if len(word) > _longest:
            _longest = len(word)
        if len(word) < 2:
            _filtered = False
            continue
        c0 = <Py_UCS4>(<str>word)[0]
        c1 = <Py_UCS4>(<str>word)[1]
        if c0 < 97 or c0 > 122 or c1 < 97 or c1 > 122:
            _filtered = False
            continue
        _prefixes[<int>c0 - 97][<int>c1 - 97] = 1
    _exact = _filtered and len(words) <= _TABLE_WORDS and _longest <= _TABLE_CHARS
    if _exact:
        ordered = sorted(words)  # words of one prefix side by side
        for k in range(len(ordered)):
            word = ordered[k]
            c0 = <Py_UCS4>(<str>word)[0]
            c1 = <Py_UCS4>(<str>word)[1]
            if _bucket_count[<int>c0 - 97][<int>c1 - 97] == 0:
                _bucket_start[<int>c0 - 97][<int>c1 - 97] = k
            _bucket_count[<int>c0 - 97][<int>c1 - 97] += 1
            _lengths[k] = len(word)
            for j in range(len(word)):
                _chars[k][j] = <Py_UCS4>(<str>word)[j]
    _learnt = words


cdef inline bint _in_bucket(
    int kind, const void* data, Py_ssize_t pos, Py_ssize_t length, Py_UCS4 c0, Py_UCS4 c1, bint fold
) noexcept:
    # Whether the run `data[pos:pos + length]` (first two letters `c0`, `c1`, lowercase a-z) is one
    # of the learnt words of its prefix (`_exact`); with `fold`, an ASCII run compared lowercased.
    cdef int k = _bucket_start[<int>c0 - 97][<int>c1 - 97]
    cdef int last = k + _bucket_count[<int>c0 - 97][<int>c1 - 97]
    cdef Py_ssize_t j
    cdef uint32_t c  # a code point as a number (a Py_UCS4 would be a character to Cython's `|`)
    cdef bint same
    while k < last:
        if _lengths[k] == length:
            same = True
            for j in range(2, length):
                c = <uint32_t>PyUnicode_READ(kind, data, pos + j)
                if fold:
                    c = c | 0x20  # an ASCII letter, lowercased
                if c != <uint32_t>_chars[k][j]:
                    same = False
                    break
            if same:
                return True
        k += 1
    return False


cdef inline bint _listed(int kind, const void* data, Py_ssize_t pos, Py_ssize_t run, str text, frozenset words):
    # Whether the run of letters `text[pos:run]` is one of the learnt `words`; in place when it can.
    cdef Py_ssize_t length = run - pos
    cdef Py_UCS4 c0, c1
    if not (_shortest <= length <= _longest):
        return False
    c0 = PyUnicode_READ(kind, data, pos)
    c1 = PyUnicode_READ(kind, data, pos + 1) if length > 1 else 0
    if _filtered and (
        c0 < 97 or c0 > 122 or c1 < 97 or c1 > 122 or not _prefixes[<int>c0 - 97][<int>c1 - 97]
    ):
        return False  # no word of the list starts so: no string is made
    if _exact:  # compared in place with the words of this prefix
        return _in_bucket(kind, data, pos, length, c0, c1, False)
    return text[pos:run] in words


cdef inline Py_ssize_t _next_token(
    int kind, const void* data, Py_ssize_t pos, Py_ssize_t n, Py_ssize_t* start, bint* figure
) noexcept:
    # The next token at or after `pos`: its end (-1 when there is none), its start in `start`, and
    # in `figure` whether it is a figure (else a run of letters). A run of letters is read whole,
    # so the next one never starts glued to a letter.
    cdef Py_UCS4 c
    cdef Py_ssize_t end
    while pos < n:
        c = PyUnicode_READ(kind, data, pos)
        if is_decimal(c) and (pos == 0 or not is_letter(PyUnicode_READ(kind, data, pos - 1))):
            end = number_end(kind, data, pos, n)
            if end > 0:
                start[0], figure[0] = pos, True
                return end
        if is_letter(c):
            end = pos + 1
            while end < n and is_letter(PyUnicode_READ(kind, data, end)):
                end += 1
            start[0], figure[0] = pos, False
            return end
        pos += 1
    return -1


def figure_tokens(str text, frozenset words, bint every_word):
    cdef Py_ssize_t n = len(text)
    cdef Py_ssize_t pos = 0, start = 0
    cdef int kind = PyUnicode_KIND(text)
    cdef const void* data = PyUnicode_DATA(text)
    cdef bint figure = False
    if words is not _learnt:
        _learn(words)
    out = []
    while True:
        pos = _next_token(kind, data, pos, n, &start, &figure)
        if pos < 0:
            return out
        if figure or every_word or _listed(kind, data, start, pos, text, words):
            out.append(text[start:pos])


cdef inline bint _listed_folded(const uint8_t* p, Py_ssize_t length, frozenset words):
    # Whether the ASCII run of letters `p[:length]`, lowercased, is one of the learnt `words`.
    cdef Py_UCS4 c0, c1
    if not (_shortest <= length <= _longest):
        return False
    if not _exact:
        return bytes(p[:length]).lower().decode("ascii") in words
    c0 = p[0] | 0x20  # an ASCII letter, lowercased
    c1 = (p[1] | 0x20) if length > 1 else 0
    if c0 < 97 or c0 > 122 or c1 < 97 or c1 > 122 or not _prefixes[<int>c0 - 97][<int>c1 - 97]:
        return False
    return _in_bucket(1, p, 0, length, c0, c1, True)


cdef inline bint _listed_wide(const Py_UCS4* p, Py_ssize_t length):
    # Whether the lowercased run of letters `p[:length]` is one of the learnt words (`_exact` only).
    cdef Py_UCS4 c0, c1
    if not (_shortest <= length <= _longest):
        return False
    c0 = p[0]
    c1 = p[1] if length > 1 else 0
    if c0 < 97 or c0 > 122 or c1 < 97 or c1 > 122 or not _prefixes[<int>c0 - 97][<int>c1 - 97]:
        return False
    return _in_bucket(4, p, 0, length, c0, c1, False)


cdef Py_ssize_t _lowered(const uint8_t* p, Py_ssize_t length, Py_UCS4* out) noexcept:
    # The code points of the UTF-8 bytes `p[:length]`, each lowercased, into `out` (room for
    # `length`); how many, or -1 when the text holds what is not read here as `str.lower` and `re`
    # read it: a decimal digit other than 0-9 (a figure would hold it), a character whose simple
    # lowercase is ASCII (the Kelvin sign's `k`: a word of the list could hold it; and U+0130, the
    # one character `str.lower` makes two of, `i` and a dot, which `tests/test_figures.py` checks in
    # Python's tables), or bytes that are no UTF-8. Every other character lowers to one code point
    # that is no ASCII, so no token of the output (ASCII figures and words of the list) ever holds
    # one: only its class, letter or not, counts.
    cdef Py_ssize_t i = 0, k = 0
    cdef int width = 1
    cdef int64_t cp
    cdef uint8_t c
    cdef Py_UCS4 low
    while i < length:
        c = p[i]
        if c < 128:
            out[k] = (c | 0x20) if (c >= 65 and c <= 90) else c
            i += 1
        else:
            cp = checked_decode(p, i, length, &width)
            if cp < 0 or Py_UNICODE_ISDECIMAL(<Py_UCS4>cp):
                return -1
            low = Py_UNICODE_TOLOWER(<Py_UCS4>cp)
            if low < 128:
                return -1
            out[k] = low
            i += width
        k += 1
    return k


def figure_sequences(const uint8_t[::1] data, const int64_t[::1] offsets, frozenset words):
    # Per record: `figure_tokens(text.lower(), words, False)` joined by 0x1F, packed. An ASCII record
    # is read from its bytes; any other, when the words fit the table (`_exact`), from its code
    # points lowercased (`_lowered`); a record neither can read gets nothing here and is flagged.
    cdef Py_ssize_t n = offsets.shape[0] - 1
    cdef Py_ssize_t i, j, length, pos, start = 0, at = 0, room = 0, wide_length = 0
    cdef const uint8_t* p
    cdef Py_UCS4* wide = NULL
    cdef bint figure = False, first, ascii, listed
    cdef uint8_t c
    if words is not _learnt:
        _learn(words)
    total = offsets[n] - offsets[0] if n > 0 else 0
    out_array = np.empty(max(total, 1), dtype=np.uint8)
    out_offsets = np.zeros(n + 1, dtype=np.int64)
    other_array = np.zeros(n, dtype=np.uint8)
    cdef uint8_t[::1] out = out_array
    cdef int64_t[::1] bounds = out_offsets
    cdef uint8_t[::1] other = other_array
    try:
        for i in range(n):
            p = &data[offsets[i]] if offsets[i + 1] > offsets[i] else NULL
            length = offsets[i + 1] - offsets[i]
            ascii = True
            for j in range(length):
                if p[j] >= 128:
                    ascii = False
                    break
            if not ascii:
                if _exact:
                    if length > room:
                        free(wide)
                        room = max(length, 2 * room)
                        wide = <Py_UCS4*>malloc(room * sizeof(Py_UCS4))
                        if wide == NULL:
                            raise MemoryError()
                    wide_length = _lowered(p, length, wide)
                if not _exact or wide_length < 0:
                    other[i] = 1
                    bounds[i + 1] = at
                    continue
            if length == 0:
                bounds[i + 1] = at
                continue
            pos = 0
            first = True
            while True:
                if ascii:
                    pos = _next_token(1, p, pos, length, &start, &figure)
                else:
                    pos = _next_token(4, wide, pos, wide_length, &start, &figure)
                if pos < 0:
                    break
                if not figure:
                    listed = (
                        _listed_folded(&p[start], pos - start, words) if ascii
                        else _listed_wide(&wide[start], pos - start)
                    )
                    if not listed:
                        continue
                if not first:  # tokens stand at least one character apart: the output never outgrows the text
                    out[at] = 0x1F
                    at += 1
                first = False
                for j in range(start, pos):
                    if ascii:
                        c = p[j]
                        out[at] = (c | 0x20) if (c >= 65 and c <= 90) else c
                    else:
                        out[at] = <uint8_t>wide[j]  # ASCII: a figure's digits and separators, a listed word
                    at += 1
            bounds[i + 1] = at
    finally:
        free(wide)
    return out_array, out_offsets, other_array.view(np.bool_)


def figure_context(str text, frozenset words):
    # The tokens of `figure_tokens(text, _, True)` that are figures or `words`, or stand next to
    # one; and how many tokens there are in all. Other words are counted, not made.
    cdef Py_ssize_t n = len(text)
    cdef Py_ssize_t pos = 0, start = 0
    cdef Py_ssize_t held_start = -1, held_end = -1  # the last token, when not in `out`
    cdef Py_ssize_t count = 0
    cdef int kind = PyUnicode_KIND(text)
    cdef const void* data = PyUnicode_DATA(text)
    cdef bint figure = False, special, after_special = False
    if words is not _learnt:
        _learn(words)
    out = []
    while True:
        pos = _next_token(kind, data, pos, n, &start, &figure)
        if pos < 0:
            return out, count
        count += 1
        # A letter that is a digit to `str.isdigit` (`²`) starts a figure for `figure_statements`.
        special = (
            figure
            or _listed(kind, data, start, pos, text, words)
            or Py_UNICODE_ISDIGIT(PyUnicode_READ(kind, data, start))
        )
        if special:
            if held_start >= 0:
                out.append(text[held_start:held_end])  # the word before it
            out.append(text[start:pos])
            held_start = -1
            after_special = True
        elif after_special:
            out.append(text[start:pos])  # the word after one
            held_start = -1
            after_special = False
        else:
            held_start, held_end = start, pos


cdef inline bint starts_digit(str token) noexcept:
    # `token[0].isdigit()` (Unicode's Digit property: `²` counts, as in `str.isdigit`).
    cdef Py_UCS4 c = token[0]
    if c < 128:
        return c >= 48 and c <= 57
    return Py_UNICODE_ISDIGIT(c)


def figure_statements(
    list tokens,
    dict number_words,
    dict months,
    frozenset hedges,
    frozenset range_words,
    frozenset list_words,
    object value,
    object written_of,
    object statement,
    str date,
    dict made,
    Py_ssize_t room,
    Py_ssize_t longest,
):
    # `figures.statements` over one paragraph's tokens; the rule is documented there. A statement
    # is a function of its run of tokens and of the word opening it when that word is a month or
    # `between`/`from` (the only ways the word before enters a statement), so `made` keeps each
    # run's statement and whether it holds a month: a run seen before costs one lookup. Only runs
    # of at most `longest` tokens are kept, while `made` holds fewer than `room`.
    cdef Py_ssize_t n = len(tokens)
    cdef Py_ssize_t i, b, j, read = 0
    cdef str token, word, opened, after, follower, tag, before = ""
    cdef list out = []
    cdef tuple key, found
    for i in range(n):
        if i < read:
            continue  # the tokens before `read` belong to statements already made
        token = tokens[i]
        if not (starts_digit(token) or token in number_words):
            continue  # words are visited only to find the one before a statement
        for b in range(i - 1, read - 1, -1):
            word = tokens[b]
            if word not in hedges and not (word in months and starts_digit(tokens[b + 1])):
                before = word
                break
        opened = tokens[i - 1] if i else ""
        # The run's end, by the scan `_make_statement` repeats with the values.
        j = i + 1
        while j < n:
            word = tokens[j]
            if starts_digit(word) or word in number_words:  # listed one after another
                j += 1
                continue
            if word in months and j + 1 < n and starts_digit(tokens[j + 1]):  # "19 March 1987"
                j += 1
                continue
            if (word in range_words or word in list_words) and j + 1 < n:
                follower = tokens[j + 1]
                if starts_digit(follower) or follower in number_words:
                    j += 2
                    continue
            break
        if j < n and tokens[j] in months:  # "19 March" closing the statement
            j += 1
        if j - i <= longest:
            tag = opened if (opened in months or opened == "between" or opened == "from") else ""
            key = (tag, *tokens[i:j])
            found = made.get(key)
            if found is None:
                found = _make_statement(
                    tokens, i, j, opened, number_words, months, range_words, value, written_of, statement
                )
                if len(made) < room:
                    made[key] = found
        else:  # a long run (a row of a table) is made afresh: rarely met again, and a long key
            found = _make_statement(
                tokens, i, j, opened, number_words, months, range_words, value, written_of, statement
            )
        after = tokens[j] if j < n else ""
        out.append(((before, after), found[0]))
        if found[1]:
            out.append(((date, after), found[0]))  # a date is also compared in a frame of its own
        read = j
    return out


cdef tuple _make_statement(
    list tokens,
    Py_ssize_t i,
    Py_ssize_t end,
    str opened,
    dict number_words,
    dict months,
    frozenset range_words,
    object value,
    object written_of,
    object statement,
):
    # The statement of the run `tokens[i:end]` (found by `figure_statements`), and whether it holds a month.
    cdef str token = tokens[i]
    cdef str word, month
    cdef Py_ssize_t j
    cdef bint ranged
    cdef list values, written, numbers
    first = value(token)
    values = list(first[0])
    written = [written_of(token, first[0])]
    if opened in months:
        month = months[opened]
        values.append(month)
        written.append(month)
    ranged = first[1]
    j = i + 1
    while j < end:
        word = tokens[j]
        if starts_digit(word) or word in number_words:
            found = value(word)
            values += found[0]
            written.append(written_of(word, found[0]))
            ranged = ranged or found[1]
            j += 1
        elif word in months:  # inside the run, "19 March 1987"; at its end, "19 March"
            month = months[word]
            values.append(month)
            written.append(month)
            j += 1
        else:  # a range or list word, and the figure after it
            found = value(tokens[j + 1])
            values += found[0]
            written.append(written_of(tokens[j + 1], found[0]))
            ranged = ranged or word in range_words or found[1] or opened == "between" or opened == "from"
            j += 2
    numbers = [v for v in values if type(v) is float]
    span = (min(numbers), max(numbers)) if ranged and numbers else None
    cdef bint dated = False
    for v in values:
        if type(v) is str and v.startswith("month"):
            dated = True
            break
    return statement(frozenset(values), span, frozenset(written)), dated


DEF _FEW_STATEMENTS = 8


def figure_body(list found):
    # `figures.facts`' table: each frame with its distinct statements, in the order first stated.
    # A frame's first few statements are a tuple, compared one by one (most frames hold one); past
    # `_FEW_STATEMENTS` they go into a dict, so a frame of a long table is linear, not quadratic.
    cdef dict table = {}, many = {}
    cdef tuple statements
    for statements in found:
        for frame, statement in statements:
            held = table.get(frame)
            if held is None:
                table[frame] = (statement,)
            elif type(held) is dict:
                (<dict>held).setdefault(statement, None)
            elif statement not in <tuple>held:
                if len(<tuple>held) < _FEW_STATEMENTS:
                    table[frame] = <tuple>held + (statement,)
                else:
                    grown = dict.fromkeys(<tuple>held)
                    grown[statement] = None
                    table[frame] = grown
                    many[frame] = None
    for frame in many:
        table[frame] = tuple(table[frame])
    return table


# ----------------------------------------------------------------------------- figures, packed

# `figures.Packer`: the figures rule's facts of many records as flat arrays, made from the
# lowercased texts without a Python object per token or statement, and compared many pairs at a
# time without the GIL. The rule and its words are `dedup.figures`'; the word classes arrive as a
# vocabulary (word -> (class bits, value)) so that this section holds only the scan.

DEF W_NUMBER = 1
DEF W_MONTH = 2
DEF W_HEDGE = 4
DEF W_RANGE = 8
DEF W_LIST = 16
DEF W_STAMP = 32
DEF W_OPENS = 64  # `between`, `from`: a statement they open is a range
DEF T_FIGURE = 128  # a token class bit: a figure (digits), not a word
DEF _VOCAB_SLOTS = 512
DEF _VOCAB_CHARS = 16
DEF _FRAME_GAP = 0x110000  # no code point: between the two words of a frame
DEF _SORT_FEW = 16


ctypedef struct Entry:
    uint64_t key0  # the frame `(word before, word after)`, hashed (two 64-bit lanes)
    uint64_t key1
    int64_t statement
    int64_t volatile  # 1 when stated in a volatile line


ctypedef struct Buffer:
    char* data
    Py_ssize_t size  # items held
    Py_ssize_t cap  # items there is room for
    Py_ssize_t width  # bytes per item


cdef int _reserve(Buffer* b, Py_ssize_t extra) except -1:
    cdef Py_ssize_t need = b.size + extra
    cdef Py_ssize_t cap = 2 * b.cap
    cdef char* grown
    if need <= b.cap:
        return 0
    if cap < need:
        cap = need
    if cap < 64:
        cap = 64
    grown = <char*>realloc(b.data, cap * b.width)
    if grown == NULL:
        raise MemoryError("no room for the figures rule's facts")
    b.data, b.cap = grown, cap
    return 0


cdef inline uint64_t _lane(uint64_t h, uint32_t c, uint64_t multiplier) noexcept nogil:
    return (h ^ c) * multiplier


cdef void _frame_key(
    const uint32_t* before, Py_ssize_t nb, const uint32_t* after, Py_ssize_t na, uint64_t* out
) noexcept nogil:
    # Two 64-bit lanes over the code points of `before`, a gap that is no code point, and `after`.
    cdef uint64_t h0 = 0xCBF29CE484222325ULL, h1 = 0x84222325CBF29CE4ULL
    cdef Py_ssize_t k
    for k in range(nb):
        h0 = _lane(h0, before[k], 0x100000001B3ULL)
        h1 = _lane(h1, before[k], 0x9FB21C651E98DF25ULL)
    h0 = _lane(h0, _FRAME_GAP, 0x100000001B3ULL)
    h1 = _lane(h1, _FRAME_GAP, 0x9FB21C651E98DF25ULL)
    for k in range(na):
        h0 = _lane(h0, after[k], 0x100000001B3ULL)
        h1 = _lane(h1, after[k], 0x9FB21C651E98DF25ULL)
    out[0] = fmix64(h0 ^ (<uint64_t>nb << 32) ^ <uint64_t>na)
    out[1] = fmix64(h1 + (<uint64_t>na << 32) + <uint64_t>nb)


cdef int _entry_order(const void* x, const void* y) noexcept nogil:
    cdef const Entry* a = <const Entry*>x
    cdef const Entry* b = <const Entry*>y
    if a.key0 != b.key0:
        return -1 if a.key0 < b.key0 else 1
    if a.key1 != b.key1:
        return -1 if a.key1 < b.key1 else 1
    return -1 if a.statement < b.statement else (1 if a.statement > b.statement else 0)


cdef extern from "stdlib.h":
    void qsort(void* base, size_t count, size_t size, int (*compare)(const void*, const void*) noexcept nogil) nogil
    double strtod(const char* text, char** end) nogil

cdef extern from "math.h":
    double fmod(double x, double y) nogil
    double pow(double x, double y) nogil
    bint isfinite(double x) nogil
    const double NAN


cdef inline bint _is_decimal32(uint32_t c) noexcept:
    if c < 128:
        return c >= 48 and c <= 57
    return Py_UNICODE_ISDECIMAL(<Py_UCS4>c)


cdef inline bint _is_letter32(uint32_t c) noexcept:
    if c < 128:
        return (c >= 97 and c <= 122) or (c >= 65 and c <= 90)
    return Py_UNICODE_ISALNUM(<Py_UCS4>c) and not Py_UNICODE_ISDECIMAL(<Py_UCS4>c)


cdef inline bint _is_separator32(uint32_t c) noexcept:
    return c == 46 or c == 44 or c == 47 or c == 45  # . , / -


cdef Py_ssize_t _number_end32(const uint32_t* t, Py_ssize_t pos, Py_ssize_t n) noexcept:
    # `number_end` on code points.
    cdef Py_ssize_t end = pos
    while end < n and _is_decimal32(t[end]):
        end += 1
    while end + 1 < n and _is_separator32(t[end]) and _is_decimal32(t[end + 1]):
        end += 2
        while end < n and _is_decimal32(t[end]):
            end += 1
    while end > pos:
        if _is_decimal32(t[end - 1]) and (end == n or not _is_letter32(t[end])):
            return end
        end -= 1
    return -1


cdef Py_ssize_t _next_token32(
    const uint32_t* t, Py_ssize_t pos, Py_ssize_t n, Py_ssize_t* start, bint* figure
) noexcept:
    # `_next_token` on code points; `t[pos - 1]` is read for the first token, so a paragraph
    # starts after a newline (no letter) or at 0.
    cdef uint32_t c
    cdef Py_ssize_t end
    while pos < n:
        c = t[pos]
        if _is_decimal32(c) and (pos == 0 or not _is_letter32(t[pos - 1])):
            end = _number_end32(t, pos, n)
            if end > 0:
                start[0], figure[0] = pos, True
                return end
        if _is_letter32(c):
            end = pos + 1
            while end < n and _is_letter32(t[end]):
                end += 1
            start[0], figure[0] = pos, False
            return end
        pos += 1
    return -1


cdef Py_ssize_t _clock_at(const uint32_t* t, Py_ssize_t x, Py_ssize_t q) noexcept:
    # Where `figures._CLOCK` (`(?<!\d)\d{1,2}:\d{2}(?::\d{2})?(?!\d)`) matching at `x` ends in
    # `t[:q]`, or -1 when it does not match there. `t[x - 1]` is read, as the look-behind does.
    cdef Py_ssize_t d, r
    if not _is_decimal32(t[x]) or (x > 0 and _is_decimal32(t[x - 1])):
        return -1
    d = x + 2 if x + 1 < q and _is_decimal32(t[x + 1]) else x + 1  # greedy; one digit less cannot
    if not (d + 2 < q and t[d] == 58 and _is_decimal32(t[d + 1]) and _is_decimal32(t[d + 2])):
        return -1  # reach a colon after two digits
    r = d + 3
    if (
        r + 2 < q and t[r] == 58 and _is_decimal32(t[r + 1]) and _is_decimal32(t[r + 2])
        and (r + 3 >= q or not _is_decimal32(t[r + 3]))
    ):
        return r + 3
    if r >= q or not _is_decimal32(t[r]):
        return r
    return -1


cdef class FactsPacker:
    """Packs records' figure facts into flat arrays; see `dedup.figures.Packer`."""

    cdef Buffer records  # int64 (n + 1,): record i owns entries[records[i]:records[i + 1]]
    cdef Buffer entries  # Entry
    cdef Buffer spans  # float64 (2 per statement); NaN, NaN for no range
    cdef Buffer values_at  # int64 (statements + 1,)
    cdef Buffer written_at  # int64 (statements + 1,)
    cdef Buffer numbers  # float64 per value
    cdef Buffer strings_of  # int64 per value: -1 for a number, else a string
    cdef Buffer written  # int64 per written figure: a string
    cdef Buffer string_at  # int64 (strings + 1,)
    cdef Buffer chars  # uint32 code points of the strings
    cdef Buffer text  # uint32 scratch: one record's code points
    cdef Buffer tokens  # int64 scratch: start, end per token
    cdef Buffer classes  # uint8 scratch per token: word class bits, or T_FIGURE
    cdef Buffer word_values  # float64 scratch per token: a number word's value, a month's number
    cdef Buffer scratch  # char scratch: a figure as ASCII, commas out, NUL-ended
    cdef uint32_t vchars[_VOCAB_SLOTS][_VOCAB_CHARS]
    cdef int vlength[_VOCAB_SLOTS]
    cdef int vclass[_VOCAB_SLOTS]
    cdef double vvalue[_VOCAB_SLOTS]
    cdef uint32_t starts[26][26]  # by first two letters (a-z): bit k set for a word of k letters
    cdef Py_ssize_t shortest, longest
    cdef uint32_t date[_VOCAB_CHARS]
    cdef Py_ssize_t date_length
    cdef Py_ssize_t volatile_words
    cdef Py_ssize_t scale_digits
    cdef bint colons, copyrights  # the record holds a `:`, a `©`

    def __cinit__(self):
        self.records.width = 8
        self.entries.width = sizeof(Entry)
        self.spans.width = 8
        self.values_at.width = 8
        self.written_at.width = 8
        self.numbers.width = 8
        self.strings_of.width = 8
        self.written.width = 8
        self.string_at.width = 8
        self.chars.width = 4
        self.text.width = 4
        self.tokens.width = 8
        self.classes.width = 1
        self.word_values.width = 8
        self.scratch.width = 1

    def __init__(self, dict vocabulary, str date, Py_ssize_t volatile_words, Py_ssize_t scale_digits):
        cdef Py_ssize_t slot, k
        cdef str word
        memset(self.vlength, 0, sizeof(self.vlength))
        memset(self.starts, 0, sizeof(self.starts))
        self.shortest, self.longest = _VOCAB_CHARS + 1, 0
        for word, (kind, value) in vocabulary.items():
            if not (1 <= len(word) <= _VOCAB_CHARS) or not word.isascii():
                raise ValueError(f"vocabulary words are ASCII of 1 to {_VOCAB_CHARS} letters: {word!r}")
            if kind & W_NUMBER and (value != <double>(<int64_t>value) or value < 0):
                raise ValueError(f"a number word's value must be a whole number: {word!r}")
            slot = self._slot_of(word)
            if self.vlength[slot]:
                raise ValueError(f"a word given twice: {word!r}")
            self.vlength[slot] = len(word)
            self.vclass[slot] = kind
            self.vvalue[slot] = value
            for k in range(len(word)):
                self.vchars[slot][k] = ord(word[k])
            self.shortest, self.longest = min(self.shortest, len(word)), max(self.longest, len(word))
            if len(word) >= 2 and "a" <= word[0] <= "z" and "a" <= word[1] <= "z":
                self.starts[ord(word[0]) - 97][ord(word[1]) - 97] |= 1u << len(word)
            elif len(word) >= 2:
                raise ValueError(f"vocabulary words of two letters or more start with two of a-z: {word!r}")
        if not (1 <= len(date) <= _VOCAB_CHARS):
            raise ValueError("the date word has 1 to 16 characters")
        self.date_length = len(date)
        for k in range(len(date)):
            self.date[k] = ord(date[k])
        self.volatile_words, self.scale_digits = volatile_words, scale_digits
        _reserve(&self.records, 1)
        (<int64_t*>self.records.data)[0] = 0
        self.records.size = 1
        self._begin_statements()

    def __dealloc__(self):
        free(self.records.data)
        free(self.entries.data)
        free(self.spans.data)
        free(self.values_at.data)
        free(self.written_at.data)
        free(self.numbers.data)
        free(self.strings_of.data)
        free(self.written.data)
        free(self.string_at.data)
        free(self.chars.data)
        free(self.text.data)
        free(self.tokens.data)
        free(self.classes.data)
        free(self.word_values.data)
        free(self.scratch.data)

    cdef void _begin_statements(self):
        if self.values_at.size == 0:
            _reserve(&self.values_at, 1)
            _reserve(&self.written_at, 1)
            _reserve(&self.string_at, 1)
            (<int64_t*>self.values_at.data)[0] = 0
            (<int64_t*>self.written_at.data)[0] = 0
            (<int64_t*>self.string_at.data)[0] = 0
            self.values_at.size = self.written_at.size = self.string_at.size = 1

    cdef Py_ssize_t _slot_of(self, str word):
        # The slot a vocabulary word goes to (linear probing from its hash).
        cdef uint64_t h = 0xCBF29CE484222325ULL
        cdef Py_ssize_t slot, k
        for k in range(len(word)):
            h = (h ^ <uint32_t>ord(word[k])) * 0x100000001B3ULL
        slot = <Py_ssize_t>(fmix64(h) % _VOCAB_SLOTS)
        while self.vlength[slot] and not self._is_word(slot, word):
            slot = (slot + 1) % _VOCAB_SLOTS
        return slot

    cdef bint _is_word(self, Py_ssize_t slot, str word):
        cdef Py_ssize_t k
        if self.vlength[slot] != len(word):
            return False
        for k in range(len(word)):
            if self.vchars[slot][k] != <uint32_t>ord(word[k]):
                return False
        return True

    cdef int _word_class(self, const uint32_t* p, Py_ssize_t n, double* value) noexcept:
        # The vocabulary class bits of the word `p[:n]` (0 when it is no vocabulary word).
        cdef uint64_t h = 0xCBF29CE484222325ULL
        cdef Py_ssize_t slot, k
        cdef bint same
        if n < self.shortest or n > self.longest:
            return 0
        if n >= 2 and not (
            97 <= p[0] <= 122 and 97 <= p[1] <= 122 and (self.starts[p[0] - 97][p[1] - 97] >> n) & 1
        ):
            return 0  # no word of the vocabulary starts so and is this long
        for k in range(n):
            if p[k] >= 128:
                return 0
            h = (h ^ p[k]) * 0x100000001B3ULL
        slot = <Py_ssize_t>(fmix64(h) % _VOCAB_SLOTS)
        while self.vlength[slot]:
            if self.vlength[slot] == n:
                same = True
                for k in range(n):
                    if self.vchars[slot][k] != p[k]:
                        same = False
                        break
                if same:
                    value[0] = self.vvalue[slot]
                    return self.vclass[slot]
            slot = (slot + 1) % _VOCAB_SLOTS
        return 0

    # --- strings, values, statements ---------------------------------------------------------

    cdef int64_t _add_string(self, const uint32_t* p, Py_ssize_t n) except -1:
        _reserve(&self.chars, n)
        _reserve(&self.string_at, 1)
        memcpy(<uint32_t*>self.chars.data + self.chars.size, p, n * 4)
        self.chars.size += n
        (<int64_t*>self.string_at.data)[self.string_at.size] = self.chars.size
        self.string_at.size += 1
        return self.string_at.size - 2

    cdef int64_t _add_ascii(self, const char* p, Py_ssize_t n) except -1:
        cdef Py_ssize_t k
        _reserve(&self.chars, n)
        for k in range(n):
            (<uint32_t*>self.chars.data)[self.chars.size + k] = <uint8_t>p[k]
        self.chars.size += n
        _reserve(&self.string_at, 1)
        (<int64_t*>self.string_at.data)[self.string_at.size] = self.chars.size
        self.string_at.size += 1
        return self.string_at.size - 2

    cdef int _add_value(self, double number, int64_t string) except -1:
        _reserve(&self.numbers, 1)
        _reserve(&self.strings_of, 1)
        (<double*>self.numbers.data)[self.numbers.size] = number
        (<int64_t*>self.strings_of.data)[self.strings_of.size] = string
        self.numbers.size += 1
        self.strings_of.size += 1
        return 0

    cdef int _add_written(self, int64_t string) except -1:
        _reserve(&self.written, 1)
        (<int64_t*>self.written.data)[self.written.size] = string
        self.written.size += 1
        return 0

    cdef int64_t _month(self, double k) except -1:
        # The string `month k` (`figures._MONTHS`' tag), added as a value and as written.
        cdef char tag[16]
        cdef int length = 6, m = <int>k
        memcpy(tag, b"month ", 6)
        if m >= 10:
            tag[length] = 48 + m // 10
            length += 1
        tag[length] = 48 + m % 10
        length += 1
        cdef int64_t s = self._add_ascii(tag, length)
        self._add_value(0.0, s)
        self._add_written(s)
        return s

    cdef int _end_statement(self, bint ranged, Py_ssize_t first_value) except -1:
        # Close the statement whose values start at `first_value`: its span, its offsets.
        cdef double low = 0.0, high = 0.0, v
        cdef bint any_number = False
        cdef Py_ssize_t k
        for k in range(first_value, self.numbers.size):
            if (<int64_t*>self.strings_of.data)[k] < 0:
                v = (<double*>self.numbers.data)[k]
                if not any_number or v < low:
                    low = v
                if not any_number or v > high:
                    high = v
                any_number = True
        _reserve(&self.spans, 2)
        if ranged and any_number:
            (<double*>self.spans.data)[self.spans.size] = low
            (<double*>self.spans.data)[self.spans.size + 1] = high
        else:
            (<double*>self.spans.data)[self.spans.size] = NAN
            (<double*>self.spans.data)[self.spans.size + 1] = NAN
        self.spans.size += 2
        _reserve(&self.values_at, 1)
        _reserve(&self.written_at, 1)
        (<int64_t*>self.values_at.data)[self.values_at.size] = self.numbers.size
        (<int64_t*>self.written_at.data)[self.written_at.size] = self.written.size
        self.values_at.size += 1
        self.written_at.size += 1
        return 0

    cdef int _figure(self, Py_ssize_t token, bint* hyphen) except -1:
        # `figures._value` and `_written` of a figure token, added; 1 when the record is left to
        # the caller (a digit other than 0-9, a value that is no finite number).
        cdef const uint32_t* t = <const uint32_t*>self.text.data
        cdef Py_ssize_t s = (<int64_t*>self.tokens.data)[2 * token]
        cdef Py_ssize_t e = (<int64_t*>self.tokens.data)[2 * token + 1]
        cdef Py_ssize_t n = 0, k, hyphens = 0, cut = -1, slash = -1
        cdef char* a
        cdef double low, high, scale, mod
        cdef int64_t string
        _reserve(&self.scratch, e - s + 1)
        a = self.scratch.data
        for k in range(s, e):
            if t[k] >= 128:
                return 1
            if t[k] != 44:  # commas out
                a[n] = <char>t[k]
                if t[k] == 45:
                    hyphens += 1
                    cut = n
                n += 1
        a[n] = 0
        string = self._add_ascii(a, n)  # the figure as written; a value when it is no number
        self._add_written(string)
        hyphen[0] = False
        if hyphens == 0:
            return self._number_value(a, n, string)
        if hyphens == 1:
            for k in range(cut + 1, n):
                if a[k] == 47:
                    slash = k
                    break
            if slash >= 0 and _as_number(a, cut, &low):  # "6-3/8": a whole number and a fraction
                if _as_number(a + cut + 1, n - cut - 1, &high):
                    return self._checked(low + high, -1)
                return self._checked(0.0, string)
            for k in range(cut):
                if a[k] == 47:
                    slash = k
            if slash < 0 and _as_number(a, cut, &low) and _as_number(a + cut + 1, n - cut - 1, &high):
                if high < low and n - cut - 1 < cut:  # "1985-86": the second abbreviates the first
                    if n - cut - 1 > self.scale_digits:
                        return 1
                    scale = pow(10.0, <double>(n - cut - 1))
                    mod = fmod(low, scale)
                    high = low - mod + high
                hyphen[0] = True
                return self._checked(low, -1) or self._checked(high, -1)
        return self._checked(0.0, string)

    cdef int _number_value(self, const char* a, Py_ssize_t n, int64_t string) except -1:
        # `figures._number` of a figure without hyphens, added.
        cdef double value
        if _as_number(a, n, &value):
            return self._checked(value, -1)
        return self._checked(0.0, string)

    cdef int _checked(self, double value, int64_t string) except -1:
        if string < 0 and not isfinite(value):
            return 1  # Python's arithmetic on an infinity is the caller's to repeat
        self._add_value(value, string)
        return 0

    cdef int _add_entry(self, Py_ssize_t before, Py_ssize_t after, bint dated_frame, bint volatile) except -1:
        # A `(frame, statement)` for the statement just closed; `before`/`after` are token
        # indices (-1: no word), `dated_frame` puts `figures.DATE` before.
        cdef const uint32_t* t = <const uint32_t*>self.text.data
        cdef const int64_t* tok = <const int64_t*>self.tokens.data
        cdef const uint32_t* bp = self.date
        cdef Py_ssize_t nb = self.date_length, na = 0
        cdef const uint32_t* ap = t
        cdef uint64_t key[2]
        cdef Entry* entry
        if not dated_frame:
            nb = 0
            if before >= 0:
                bp, nb = t + tok[2 * before], tok[2 * before + 1] - tok[2 * before]
        if after >= 0:
            ap, na = t + tok[2 * after], tok[2 * after + 1] - tok[2 * after]
        _frame_key(bp, nb, ap, na, key)
        _reserve(&self.entries, 1)
        entry = <Entry*>self.entries.data + self.entries.size
        entry.key0, entry.key1 = key[0], key[1]
        entry.statement = self.values_at.size - 2
        entry.volatile = volatile
        self.entries.size += 1
        return 0

    # --- one record ----------------------------------------------------------------------------

    def add_text(self, str lowered):
        """Add one record from its lowercased text; False (nothing added) when left to `add_facts`."""
        cdef Py_ssize_t n = len(lowered), k, p, q
        cdef int kind = PyUnicode_KIND(lowered)
        cdef const void* data = PyUnicode_DATA(lowered)
        cdef uint32_t* t
        cdef Py_ssize_t marks[8]
        cdef Py_ssize_t first_entry = self.entries.size
        cdef bint plain = False
        cdef int volatile
        marks[0], marks[1], marks[2] = self.spans.size, self.values_at.size, self.written_at.size
        marks[3], marks[4], marks[5] = self.numbers.size, self.strings_of.size, self.written.size
        marks[6], marks[7] = self.string_at.size, self.chars.size
        _reserve(&self.text, n + 1)
        t = <uint32_t*>self.text.data
        if kind == 1:
            for k in range(n):
                t[k] = (<const uint8_t*>data)[k]
            self.colons = memchr(data, 58, n) != NULL
            self.copyrights = memchr(data, 0xA9, n) != NULL
        else:
            self.colons = self.copyrights = False
            for k in range(n):
                t[k] = PyUnicode_READ(kind, data, k)
                if t[k] == 58:
                    self.colons = True
                elif t[k] == 0xA9:
                    self.copyrights = True
        t[n] = 10
        p = 0
        while p <= n:
            q = p
            while q < n and t[q] != 10:
                q += 1
            for k in range(p, q):
                if not Py_UNICODE_ISSPACE(<Py_UCS4>t[k]):
                    volatile = self._paragraph(p, q)
                    if volatile < 0:
                        self.entries.size = first_entry
                        self.spans.size, self.values_at.size, self.written_at.size = marks[0], marks[1], marks[2]
                        self.numbers.size, self.strings_of.size, self.written.size = marks[3], marks[4], marks[5]
                        self.string_at.size, self.chars.size = marks[6], marks[7]
                        return False
                    plain = plain or not volatile
                    break
            p = q + 1
        self._end_record(first_entry, plain)
        return True

    cdef void _end_record(self, Py_ssize_t first_entry, bint plain) noexcept:
        # The body (statements of non-volatile lines, or of all when every line is volatile),
        # its entries sorted by frame; the record's end offset.
        cdef Entry* e = <Entry*>self.entries.data
        cdef Py_ssize_t k, kept = first_entry, count, i, j
        cdef Entry swap
        if plain:
            for k in range(first_entry, self.entries.size):
                if not e[k].volatile:
                    e[kept] = e[k]
                    kept += 1
            self.entries.size = kept
        count = self.entries.size - first_entry
        if count > _SORT_FEW:
            qsort(e + first_entry, count, sizeof(Entry), _entry_order)
        else:
            for i in range(first_entry + 1, self.entries.size):
                swap = e[i]
                j = i
                while j > first_entry and _entry_order(&e[j - 1], &swap) > 0:
                    e[j] = e[j - 1]
                    j -= 1
                e[j] = swap
        _reserve(&self.records, 1)
        (<int64_t*>self.records.data)[self.records.size] = self.entries.size
        self.records.size += 1

    cdef int _paragraph(self, Py_ssize_t p, Py_ssize_t q) except -2:
        # One paragraph `text[p:q]`: its statements added; 1 when volatile, 0 when not, -1 when
        # the record is left to the caller.
        cdef uint32_t* t = <uint32_t*>self.text.data
        cdef Py_ssize_t x, end, count, first_token, last_token
        cdef bint clock = False, stamped = False
        self.tokens.size = self.classes.size = self.word_values.size = 0
        if self.colons:
            for x in range(p, q):
                if t[x] == 58:
                    clock = True
                    break
        if clock:  # a clock time is a stamp: its characters are read as spaces (`_CLOCK.sub`)
            clock = False
            count = self._tokenize(p, q, &stamped)
            x = p
            while x < q:
                end = _clock_at(t, x, q)
                if end < 0:
                    x += 1
                    continue
                clock = True
                while x < end:
                    t[x] = 32
                    x += 1
        first_token = self.tokens.size // 2
        last_token = self._tokenize_classes(p, q, &stamped)
        if last_token < 0:
            return -1
        if not clock:
            count = last_token - first_token
        if self.copyrights and not stamped:
            for x in range(p, q):
                if t[x] == 0xA9:  # ©
                    stamped = True
                    break
        cdef bint volatile = count <= self.volatile_words and (clock or stamped)
        if self._statements(first_token, last_token, volatile) < 0:
            return -1
        return volatile

    cdef Py_ssize_t _tokenize(self, Py_ssize_t p, Py_ssize_t q, bint* stamped) except -1:
        # How many tokens `text[p:q]` has (`figures._tokens`), and whether one is a stamp word.
        cdef const uint32_t* t = <const uint32_t*>self.text.data
        cdef Py_ssize_t pos = p, start = 0, count = 0
        cdef bint figure = False
        cdef double value
        while True:
            pos = _next_token32(t, pos, q, &start, &figure)
            if pos < 0:
                return count
            count += 1
            if not figure and self._word_class(t + start, pos - start, &value) & W_STAMP:
                stamped[0] = True

    cdef Py_ssize_t _tokenize_classes(self, Py_ssize_t p, Py_ssize_t q, bint* stamped) except -2:
        # The tokens of `text[p:q]` into the token scratch with their classes; the index after
        # the last; -1 when the record is left to the caller (a figure with a digit other than
        # 0-9, a word starting with a digit to `str.isdigit`, such as `²`).
        cdef const uint32_t* t = <const uint32_t*>self.text.data
        cdef Py_ssize_t pos = p, start = 0, k
        cdef bint figure = False
        cdef double value = 0.0
        cdef int kind
        cdef int64_t* tokens
        _reserve(&self.tokens, 2 * (q - p + 1))  # a token has a character at least
        _reserve(&self.classes, q - p + 1)
        _reserve(&self.word_values, q - p + 1)
        while True:
            pos = _next_token32(t, pos, q, &start, &figure)
            if pos < 0:
                return self.tokens.size // 2
            if figure:
                kind = T_FIGURE
                for k in range(start, pos):
                    if t[k] >= 128:
                        return -1
            else:
                if t[start] >= 128 and Py_UNICODE_ISDIGIT(<Py_UCS4>t[start]):
                    return -1
                value = 0.0
                kind = self._word_class(t + start, pos - start, &value)
                if kind & W_STAMP:
                    stamped[0] = True
            tokens = <int64_t*>self.tokens.data
            tokens[self.tokens.size] = start
            tokens[self.tokens.size + 1] = pos
            (<uint8_t*>self.classes.data)[self.classes.size] = <uint8_t>kind
            (<double*>self.word_values.data)[self.word_values.size] = value
            self.tokens.size += 2
            self.classes.size += 1
            self.word_values.size += 1

    cdef int _statements(self, Py_ssize_t first, Py_ssize_t last, bint volatile) except -2:
        # `kernels.figure_statements` over the tokens `first..last-1` (one paragraph).
        cdef const uint8_t* c = <const uint8_t*>self.classes.data
        cdef Py_ssize_t i, b, j, read = first, before = -1, opened, after, first_value
        cdef bint ranged, hyphen, dated
        for i in range(first, last):
            if i < read:
                continue
            if not (c[i] & (T_FIGURE | W_NUMBER)):
                continue
            for b in range(i - 1, read - 1, -1):
                if not (c[b] & W_HEDGE) and not (c[b] & W_MONTH and c[b + 1] & T_FIGURE):
                    before = b
                    break
            opened = i - 1 if i > first else -1
            j = i + 1
            while j < last:
                if c[j] & (T_FIGURE | W_NUMBER):
                    j += 1
                    continue
                if c[j] & W_MONTH and j + 1 < last and c[j + 1] & T_FIGURE:
                    j += 1
                    continue
                if c[j] & (W_RANGE | W_LIST) and j + 1 < last and c[j + 1] & (T_FIGURE | W_NUMBER):
                    j += 2
                    continue
                break
            if j < last and c[j] & W_MONTH:
                j += 1
            # `_make_statement` of the run `i..j-1`.
            first_value = self.numbers.size
            dated = False
            if self._run_value(i, &hyphen):
                return -1
            ranged = hyphen
            if opened >= 0 and c[opened] & W_MONTH:
                self._month((<double*>self.word_values.data)[opened])
                dated = True
            b = i + 1
            while b < j:
                if c[b] & (T_FIGURE | W_NUMBER):
                    if self._run_value(b, &hyphen):
                        return -1
                    ranged = ranged or hyphen
                    b += 1
                elif c[b] & W_MONTH:
                    self._month((<double*>self.word_values.data)[b])
                    dated = True
                    b += 1
                else:  # a range or list word, and the figure after it
                    if self._run_value(b + 1, &hyphen):
                        return -1
                    ranged = ranged or (c[b] & W_RANGE) or hyphen or (opened >= 0 and c[opened] & W_OPENS)
                    b += 2
            self._end_statement(ranged, first_value)
            after = j if j < last else -1
            self._add_entry(before, after, False, volatile)
            if dated:
                self._add_entry(-1, after, True, volatile)
            read = j
        return 0

    cdef int _run_value(self, Py_ssize_t token, bint* hyphen) except -1:
        # A figure's or a number word's values and written form, added; 1: left to the caller.
        cdef double value
        cdef char digits[24]
        cdef int n = 0, k
        cdef int64_t whole
        if (<const uint8_t*>self.classes.data)[token] & T_FIGURE:
            return self._figure(token, hyphen)
        hyphen[0] = False
        value = (<double*>self.word_values.data)[token]
        whole = <int64_t>value
        while True:  # f"{value:.0f}" of a whole number
            digits[n] = 48 + whole % 10
            n += 1
            whole //= 10
            if whole == 0:
                break
        for k in range(n // 2):
            digits[k], digits[n - 1 - k] = digits[n - 1 - k], digits[k]
        self._add_value(value, -1)
        self._add_written(self._add_ascii(digits, n))
        return 0

    # --- a record the caller read ----------------------------------------------------------------

    def add_facts(self, dict body):
        """Add one record from `figures.Facts.body` (`{(before, after): (Statement, ...)}`)."""
        cdef Py_ssize_t first_entry = self.entries.size, nb
        cdef uint64_t key[2]
        cdef Entry* entry
        cdef Py_ssize_t first_value
        cdef str before, after
        for (before, after), statements in body.items():
            nb = self._points(before, 0)
            _frame_key(
                <const uint32_t*>self.text.data, nb,
                <const uint32_t*>self.text.data + nb, self._points(after, nb), key,
            )
            for s in statements:
                first_value = self.numbers.size
                for v in s.values:
                    if isinstance(v, float):  # a NumPy float too
                        self._add_value(v, -1)
                    else:
                        self._add_value(0.0, self._add_string(<const uint32_t*>self.text.data, self._points(v, 0)))
                for w in s.written:
                    self._add_written(self._add_string(<const uint32_t*>self.text.data, self._points(w, 0)))
                self._end_statement(s.span is not None, first_value)
                if s.span is not None:  # as made
                    (<double*>self.spans.data)[self.spans.size - 2] = s.span[0]
                    (<double*>self.spans.data)[self.spans.size - 1] = s.span[1]
                _reserve(&self.entries, 1)
                entry = <Entry*>self.entries.data + self.entries.size
                entry.key0, entry.key1 = key[0], key[1]
                entry.statement = self.values_at.size - 2
                entry.volatile = 0
                self.entries.size += 1
        self._end_record(first_entry, False)

    cdef Py_ssize_t _points(self, str text, Py_ssize_t at) except -1:
        # The code points of `text` into the text scratch from `at`; how many.
        cdef Py_ssize_t k, n = len(text)
        _reserve(&self.text, at + n + 1)  # the scratch buffers hold no items: `size` stays 0
        for k in range(n):
            (<uint32_t*>self.text.data)[at + k] = ord(text[k])
        return n

    def finish(self):
        """The arrays (see `figures.Packer.finish`)."""
        cdef Py_ssize_t k
        cdef Entry* e = <Entry*>self.entries.data
        entries = np.empty((self.entries.size, 3), dtype=np.uint64)
        cdef uint64_t[:, ::1] out = entries
        for k in range(self.entries.size):
            out[k, 0], out[k, 1], out[k, 2] = e[k].key0, e[k].key1, <uint64_t>e[k].statement
        return (
            _as_array(&self.records, np.int64),
            entries,
            _as_array(&self.spans, np.float64).reshape(-1, 2),
            _as_array(&self.values_at, np.int64),
            _as_array(&self.written_at, np.int64),
            _as_array(&self.numbers, np.float64),
            _as_array(&self.strings_of, np.int64),
            _as_array(&self.written, np.int64),
            _as_array(&self.string_at, np.int64),
            _as_array(&self.chars, np.uint32),
        )


cdef object _as_array(Buffer* b, object dtype):
    out = np.empty(b.size, dtype=dtype)
    cdef uint8_t[::1] bytes_ = out.view(np.uint8)
    if b.size:
        memcpy(&bytes_[0], b.data, b.size * b.width)
    return out


cdef bint _as_number(const char* a, Py_ssize_t n, double* value) noexcept:
    # `figures._number` when it gives a number: `a[:n]` is digits with `.` and `/` (no commas,
    # no hyphens). A float when there is at most one `.` and no `/`; a fraction of two such when
    # there is one `/` and the bottom is not zero.
    cdef Py_ssize_t k, slash = -1, dots = 0, top_dots = 0
    cdef double top, bottom
    if n <= 0:
        return False
    for k in range(n):
        if a[k] == 47:
            if slash >= 0:
                return False
            slash = k
            top_dots = dots
            dots = 0
        elif a[k] == 46:
            dots += 1
    if slash < 0:
        if dots > 1:
            return False
        value[0] = _parse(a, n)
        return True
    if top_dots > 1 or dots > 1 or slash == 0 or slash == n - 1:
        return False
    top = _parse(a, slash)
    bottom = _parse(a + slash + 1, n - slash - 1)
    if bottom == 0.0:
        return False
    value[0] = top / bottom
    return True


cdef double _parse(const char* a, Py_ssize_t n) noexcept:
    # `float(a[:n])` for digits with at most one inner `.` (C's `strtod`, correctly rounded as Python's).
    cdef char buffer[64]
    cdef char* copy = buffer
    cdef double value
    if n >= 64:
        copy = <char*>malloc(n + 1)
        if copy == NULL:
            return NAN
    memcpy(copy, a, n)
    copy[n] = 0
    value = strtod(copy, NULL)
    if copy != buffer:
        free(copy)
    return value


# The packed facts, read without the GIL.
ctypedef struct Packed:
    const int64_t* records
    const uint64_t* entries  # (E, 3): key0, key1, statement
    const double* spans  # (S, 2)
    const int64_t* values_at
    const int64_t* written_at
    const double* numbers
    const int64_t* strings_of
    const int64_t* written
    const int64_t* string_at
    const uint32_t* chars
    const uint8_t* correction


cdef inline bint _same_string(const Packed* P, int64_t x, int64_t y) noexcept nogil:
    cdef int64_t n = P.string_at[x + 1] - P.string_at[x]
    if P.string_at[y + 1] - P.string_at[y] != n:
        return False
    return memcmp(P.chars + P.string_at[x], P.chars + P.string_at[y], n * 4) == 0


cdef inline bint _same_value(const Packed* P, int64_t x, int64_t y) noexcept nogil:
    cdef int64_t sx = P.strings_of[x], sy = P.strings_of[y]
    if sx < 0 and sy < 0:
        return P.numbers[x] == P.numbers[y]
    if sx >= 0 and sy >= 0:
        return _same_string(P, sx, sy)
    return False


cdef bint _value_among(const Packed* P, int64_t v, int64_t s) noexcept nogil:
    cdef int64_t k
    for k in range(P.values_at[s], P.values_at[s + 1]):
        if _same_value(P, v, k):
            return True
    return False


cdef bint _values_found(const Packed* P, int64_t x, int64_t y, bint every) noexcept nogil:
    # With `every`, whether every value of statement x is a value of statement y (x's values within
    # y's); else whether any is (the two meet).
    cdef int64_t k
    for k in range(P.values_at[x], P.values_at[x + 1]):
        if _value_among(P, k, y) != every:
            return not every
    return every


cdef bint _mistyped_at(const Packed* P, int64_t x, int64_t y) noexcept nogil:
    # `figures._mistyped` of two strings: two neighbours swapped, a decimal point left out, a
    # character doubled or undoubled.
    cdef const uint32_t* a = P.chars + P.string_at[x]
    cdef const uint32_t* b = P.chars + P.string_at[y]
    cdef int64_t la = P.string_at[x + 1] - P.string_at[x], lb = P.string_at[y + 1] - P.string_at[y]
    cdef int64_t i, first = -1, second = -1, diffs = 0, n, same
    cdef const uint32_t* short_
    cdef const uint32_t* long_
    cdef uint32_t c
    if la == lb:
        for i in range(la):
            if a[i] != b[i]:
                diffs += 1
                if diffs == 1:
                    first = i
                elif diffs == 2:
                    second = i
                else:
                    return False
        if diffs != 2 or second != first + 1:
            return False
        return a[first] == b[second] and a[second] == b[first]
    if la - lb != 1 and lb - la != 1:
        return False
    if la < lb:
        short_, long_, n = a, b, lb
    else:
        short_, long_, n = b, a, la
    same = 0
    while same < n - 1 and long_[same] == short_[same]:
        same += 1
    for i in range(same + 1):
        if memcmp(long_ + i + 1, short_ + i, (n - 1 - i) * 4) == 0:  # `long_` without its character i
            c = long_[i]
            if c == 46:
                return True
            if (i > 0 and long_[i - 1] == c) or (i + 1 < n and long_[i + 1] == c):
                return True
    return False


cdef bint _written_within(const Packed* P, int64_t x, int64_t y) noexcept nogil:
    # `figures._within`: every figure written in x is written in y, or mistyped from one of them.
    cdef int64_t k, m
    cdef bint found
    if P.written_at[x + 1] == P.written_at[x]:
        return False
    for k in range(P.written_at[x], P.written_at[x + 1]):
        found = False
        for m in range(P.written_at[y], P.written_at[y + 1]):
            if _same_string(P, P.written[k], P.written[m]) or _mistyped_at(P, P.written[k], P.written[m]):
                found = True
                break
        if not found:
            return False
    return True


cdef bint _packed_agrees(const Packed* P, int64_t x, int64_t y) noexcept nogil:
    # `figures.Statement.agrees`.
    cdef bint xs = P.spans[2 * x] == P.spans[2 * x], ys = P.spans[2 * y] == P.spans[2 * y]  # not NaN
    cdef int64_t ranged, plain, k
    cdef double low, high, v
    if xs and ys:
        return _values_found(P, x, y, False) or (
            P.spans[2 * x] == P.spans[2 * y] and P.spans[2 * x + 1] == P.spans[2 * y + 1]
        )
    if xs or ys:
        ranged, plain = (x, y) if xs else (y, x)
        low, high = P.spans[2 * ranged], P.spans[2 * ranged + 1]
        for k in range(P.values_at[plain], P.values_at[plain + 1]):
            v = P.numbers[k]
            if P.strings_of[k] >= 0 or not (low <= v <= high):
                return _values_found(P, x, y, False)
        return True
    if _values_found(P, x, y, True) or _values_found(P, y, x, True):
        return True
    return _written_within(P, x, y) or _written_within(P, y, x)


cdef bint _packed_covered(const Packed* P, int64_t a0, int64_t a1, int64_t b0, int64_t b1) noexcept nogil:
    # Every statement of the entries `a0..a1-1` agrees with one of `b0..b1-1`.
    cdef int64_t i, j
    cdef bint found
    for i in range(a0, a1):
        found = False
        for j in range(b0, b1):
            if _packed_agrees(P, <int64_t>P.entries[3 * i + 2], <int64_t>P.entries[3 * j + 2]):
                found = True
                break
        if not found:
            return False
    return True


cdef inline int _frame_order(const Packed* P, int64_t i, int64_t j) noexcept nogil:
    if P.entries[3 * i] != P.entries[3 * j]:
        return -1 if P.entries[3 * i] < P.entries[3 * j] else 1
    if P.entries[3 * i + 1] != P.entries[3 * j + 1]:
        return -1 if P.entries[3 * i + 1] < P.entries[3 * j + 1] else 1
    return 0


cdef bint _packed_conflict(const Packed* P, int64_t a, int64_t b) noexcept nogil:
    # `figures.conflict`: a frame of both records where neither's statements cover the other's.
    cdef int64_t i = P.records[a], i_end = P.records[a + 1], j = P.records[b], j_end = P.records[b + 1]
    cdef int64_t i_next, j_next
    cdef int order
    if P.correction[a] or P.correction[b]:
        return False
    while i < i_end and j < j_end:
        order = _frame_order(P, i, j)
        if order < 0:
            i += 1
        elif order > 0:
            j += 1
        else:
            i_next = i + 1
            while i_next < i_end and _frame_order(P, i_next, i) == 0:
                i_next += 1
            j_next = j + 1
            while j_next < j_end and _frame_order(P, j_next, j) == 0:
                j_next += 1
            if not _packed_covered(P, i, i_next, j, j_next) and not _packed_covered(P, j, j_next, i, i_next):
                return True
            i, j = i_next, j_next
    return False


def figure_clashes(
    const int64_t[::1] records,
    const uint64_t[:, ::1] entries,
    const double[:, ::1] spans,
    const int64_t[::1] values_at,
    const int64_t[::1] written_at,
    const double[::1] numbers,
    const int64_t[::1] strings_of,
    const int64_t[::1] written,
    const int64_t[::1] string_at,
    const uint32_t[::1] chars,
    const uint8_t[::1] correction,
    const int64_t[:, ::1] pairs,
    int workers,
):
    cdef Py_ssize_t m = pairs.shape[0], k
    out = np.zeros(m, dtype=np.uint8)
    cdef uint8_t[::1] out_ = out
    cdef Packed P
    cdef const Packed* PP = &P
    cdef uint64_t no_entry[3]
    cdef double no_span[2]
    cdef int64_t no_index[1]
    cdef double no_number[1]
    cdef uint32_t no_char[1]
    if m == 0:
        return out.view(np.bool_)
    P.records = &records[0]
    P.entries = &entries[0, 0] if entries.shape[0] else no_entry
    P.spans = &spans[0, 0] if spans.shape[0] else no_span
    P.values_at = &values_at[0]
    P.written_at = &written_at[0]
    P.numbers = &numbers[0] if numbers.shape[0] else no_number
    P.strings_of = &strings_of[0] if strings_of.shape[0] else no_index
    P.written = &written[0] if written.shape[0] else no_index
    P.string_at = &string_at[0]
    P.chars = &chars[0] if chars.shape[0] else no_char
    P.correction = &correction[0]
    with nogil:
        for k in prange(m, num_threads=workers, schedule="dynamic", chunksize=64):
            out_[k] = _packed_conflict(PP, pairs[k, 0], pairs[k, 1])
    return out.view(np.bool_)


def copy_ranges(
    const uint32_t[::1] source,
    const int64_t[::1] source_starts,
    uint32_t[::1] target,
    const int64_t[::1] target_starts,
    const int64_t[::1] lengths,
):
    cdef Py_ssize_t m = lengths.shape[0], k
    cdef int64_t n_source = source.shape[0], n_target = target.shape[0]
    for k in range(m):
        if (
            lengths[k] < 0
            or source_starts[k] < 0
            or target_starts[k] < 0
            or source_starts[k] + lengths[k] > n_source
            or target_starts[k] + lengths[k] > n_target
        ):
            raise IndexError(f"range {k} does not fit: {source_starts[k]} + {lengths[k]} of {n_source}, "
                             f"{target_starts[k]} of {n_target}")
    with nogil:
        for k in range(m):
            if lengths[k]:
                memcpy(&target[target_starts[k]], &source[source_starts[k]], lengths[k] * sizeof(uint32_t))


# ----------------------------------------------------------------------------- connected components

cdef inline int64_t find_root(int64_t* parent, int64_t x) noexcept nogil:
    """The root of `x`'s tree, halving the path on the way (each node visited points to its grandparent)."""
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def components(int64_t n, const int64_t[:, ::1] edges):
    labels = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] labels_ = labels
    cdef int64_t m = edges.shape[0], k, x, y, i, next_label = 0
    for k in range(m):
        if edges[k, 0] < 0 or edges[k, 0] >= n or edges[k, 1] < 0 or edges[k, 1] >= n:
            raise IndexError(f"edge {k} ({edges[k, 0]}, {edges[k, 1]}) names a node outside 0..{n - 1}")
    cdef int64_t* parent = <int64_t*>malloc(max(n, 1) * sizeof(int64_t))
    if parent == NULL:
        raise MemoryError()
    with nogil:
        for i in range(n):
            parent[i] = i
        for k in range(m):
            x = find_root(parent, edges[k, 0])
            y = find_root(parent, edges[k, 1])
            if x < y:  # the smaller node is the root: a tree's root is its lowest node
                parent[y] = x
            elif y < x:
                parent[x] = y
        for i in range(n):  # a root comes before every node of its tree: labels in order of first node
            x = find_root(parent, i)
            if x == i:
                labels_[i] = next_label
                next_label += 1
            else:
                labels_[i] = labels_[x]
    free(parent)
    return labels
