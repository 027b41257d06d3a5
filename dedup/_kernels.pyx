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
from libc.string cimport memcpy, memmove, memset

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
    hashes = np.empty(max(offsets[n] - base + n, 1), dtype=np.uint32)
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
        # Record i shingles into its own region (at most one hash per byte, plus the closing one),
        # then sorts it and drops repeats in place; regions never overlap, so threads share nothing.
        for i in prange(n, nogil=True, num_threads=workers, schedule="guided"):
            at = offsets[i] - base + i
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
                    memmove(out_ + total, out_ + offsets[i] - base + i, count * sizeof(uint32_t))
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

from cpython.unicode cimport Py_UNICODE_ISDIGIT, Py_UNICODE_TOLOWER


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


cdef bint _mistyped(str x, str y):
    # `figures._mistyped`: two figures as written are one mistyped (two neighbours swapped, a
    # decimal point left out, a character doubled or undoubled).
    cdef Py_ssize_t lx = len(x), ly = len(y), i, first = -1, second = -1, diffs = 0
    cdef str short, long_
    cdef Py_UCS4 c
    if lx == ly:
        for i in range(lx):
            if x[i] != y[i]:
                diffs += 1
                if diffs == 1:
                    first = i
                elif diffs == 2:
                    second = i
                else:
                    return False
        if diffs != 2 or second != first + 1:
            return False
        return x[first] == y[second] and x[second] == y[first]
    if lx - ly != 1 and ly - lx != 1:
        return False
    short, long_ = (x, y) if lx < ly else (y, x)
    cdef Py_ssize_t n = len(long_), same = 0
    while same < n - 1 and long_[same] == short[same]:
        same += 1  # `long_[:i] == short[:i]` holds for every i <= same
    for i in range(same + 1):
        if long_[i + 1 :] == short[i:]:  # `long_` without its character i is `short`
            c = long_[i]
            if c == u'.':
                return True
            if (i > 0 and long_[i - 1] == c) or (i + 1 < n and long_[i + 1] == c):
                return True
    return False


cdef bint _within(object mine, object theirs):
    # `figures._within`: every figure written in `mine` is written in `theirs`, or mistyped from one.
    cdef bint found
    if not mine:
        return False
    for v in mine:
        if v in theirs:
            continue
        found = False
        for w in theirs:
            if _mistyped(v, w):
                found = True
                break
        if not found:
            return False
    return True


cdef bint _agrees(object x, object y):
    # `figures.Statement.agrees`: two statements in one frame can both be true (the module's rule 2).
    cdef object xs = x.span, ys = y.span
    cdef object xv = x.values, yv = y.values
    cdef double low, high
    if xs is not None and ys is not None:
        return not xv.isdisjoint(yv) or xs == ys
    if xs is not None or ys is not None:
        ranged, plain = (x, y) if xs is not None else (y, x)
        low, high = ranged.span
        for v in plain.values:
            if not (isinstance(v, float) and low <= v <= high):
                return not xv.isdisjoint(yv)
        return True
    if xv <= yv or yv <= xv:
        return True
    return _within(x.written, y.written) or _within(y.written, x.written)


cdef bint _covered(object mine, object theirs):
    # Every statement of `mine` agrees with some statement of `theirs`.
    cdef bint found
    for x in mine:
        found = False
        for y in theirs:
            if x is y or _agrees(x, y):
                found = True
                break
        if not found:
            return False
    return True


cdef bint _conflict(object a, object b):
    # `figures.conflict`: some frame of both records where neither's statements cover the other's.
    if a.correction or b.correction:
        return False
    small, large = a.body, b.body
    if len(small) > len(large):
        small, large = large, small
    for frame, mine in small.items():
        theirs = large.get(frame)
        if theirs is None or theirs == mine:  # the same statements cover each other
            continue
        if not _covered(mine, theirs) and not _covered(theirs, mine):
            return True
    return False


def figure_conflicts(list facts, const int64_t[:, ::1] pairs):
    cdef Py_ssize_t m = pairs.shape[0], k
    out = np.zeros(m, dtype=np.bool_)
    cdef uint8_t[::1] out_ = out.view(np.uint8)
    for k in range(m):
        out_[k] = _conflict(facts[pairs[k, 0]], facts[pairs[k, 1]])
    return out


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
