"""Shingling: hashing forms to the hashed word n-grams that MinHash sees (numpy reference path).

A record's hashing form (see `normalize.hashing_forms`) is tokens separated by single spaces and
paragraphs separated by newlines. Shingles are word n-grams taken inside each paragraph, so a
shingle never spans two paragraphs (dropping or reordering a paragraph touches only its own
shingles); a paragraph shorter than `ngram` words gives one shingle of all its words.

Hashes: each token's UTF-8 bytes go through 64-bit FNV-1a and the MurmurHash3 64-bit finalizer;
an n-gram's hash is an order-sensitive multiply-xor chain over its token hashes, finalized and
folded to 32 bits for the `affine32` MinHash scheme. `token_hash` and `shingle_hash` are the
one-value-at-a-time definitions; `shingle_batch` computes the same for a whole Arrow batch in numpy
with no Python object per token, and the compiled kernel in `dedup.kernels` fuses it with signing.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from dedup.records import arrow_bytes
from dedup.settings import ShingleConfig as ShingleConfig

FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
CHAIN_MUL = 0x9E3779B97F4A7C15
CHAIN_MIX = 0xBF58476D1CE4E5B9
_M64 = (1 << 64) - 1
_SPACE, _NEWLINE = 0x20, 0x0A


def _fmix64(h: int) -> int:
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & _M64
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & _M64
    return h ^ (h >> 33)


def token_hash(word: str) -> int:
    """The 64-bit hash of one token: FNV-1a over its UTF-8 bytes, then the fmix64 finalizer."""
    h = FNV_OFFSET
    for byte in word.encode("utf-8"):
        h = ((h ^ byte) * FNV_PRIME) & _M64
    return _fmix64(h)


def shingle_hash(words: list[str]) -> int:
    """The 32-bit hash of one shingle, computed one value at a time in plain Python.

    This is the definition `shingle_batch` and the compiled kernel must equal; it also lets
    datasketch hash our shingles (`MinHash(hashfunc=lambda s: shingle_hash(s.split()))`).
    """
    h = 0
    for word in words:
        h = ((h ^ token_hash(word)) * CHAIN_MUL) & _M64
    h ^= h >> 29
    h = (h * CHAIN_MIX) & _M64
    h ^= h >> 32
    return h & 0xFFFFFFFF


def shingles(paragraph_tokens: list[list[str]], cfg: ShingleConfig) -> list[list[str]]:
    """The shingles of one record as word lists, in order (the reference for `shingle_batch`)."""
    out: list[list[str]] = []
    for toks in paragraph_tokens:
        if 0 < len(toks) <= cfg.ngram:
            out.append(toks)
        elif toks:
            out.extend(toks[i : i + cfg.ngram] for i in range(len(toks) - cfg.ngram + 1))
    return out


def _fmix64_array(h: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


def _token_hashes(data: npt.NDArray[np.uint8], starts: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64]):  # type: ignore[no-untyped-def]
    """FNV-1a + fmix64 of every token, one byte position at a time across all tokens."""
    h = np.full(len(starts), FNV_OFFSET, dtype=np.uint64)
    order = np.argsort(-lengths, kind="stable")  # longest first: the live tokens are a prefix
    sorted_starts, sorted_lengths = starts[order], lengths[order]
    hs = h[order]
    with np.errstate(over="ignore"):
        for j in range(int(lengths.max()) if len(lengths) else 0):
            live = int(np.count_nonzero(sorted_lengths > j))
            byte = data[sorted_starts[:live] + j].astype(np.uint64)
            hs[:live] = (hs[:live] ^ byte) * np.uint64(FNV_PRIME)
    h[order] = hs
    return _fmix64_array(h)


def shingle_batch(
    forms: pa.Array[Any], cfg: ShingleConfig
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]]:
    """Hash the shingles of a batch of hashing forms (numpy reference path).

    Args:
        forms: Arrow string array of hashing forms, one per record.
        cfg: the shingling section.

    Returns:
        `(hashes, offsets)`: `hashes` is a flat `uint32` array of every record's shingle hashes in
        order (repeats kept); record `i` owns `hashes[offsets[i]:offsets[i + 1]]`. `offsets` is
        `int64` of length `n + 1`. A record with no tokens owns none.
    """
    n = cfg.ngram
    data, doc_offsets = arrow_bytes(forms)
    docs = len(doc_offsets) - 1
    base = int(doc_offsets[0]) if docs >= 0 else 0
    body = data[base : int(doc_offsets[-1])] if docs > 0 else np.empty(0, np.uint8)
    # Every record ends with a virtual newline, so each paragraph is closed by one.
    ends = (doc_offsets[1:] - base).astype(np.int64)
    is_sep = (body == _SPACE) | (body == _NEWLINE)
    sep_pos = np.flatnonzero(is_sep)
    # A separator's next token starts after it; a record end's next token starts right there.
    boundary_pos = np.concatenate([sep_pos, ends])
    boundary_next = np.concatenate([sep_pos + 1, ends])
    boundary_nl = np.concatenate([body[sep_pos] == _NEWLINE, np.ones(docs, dtype=bool)])
    order = np.argsort(boundary_pos, kind="stable")
    boundary_pos, boundary_next, boundary_nl = boundary_pos[order], boundary_next[order], boundary_nl[order]
    token_starts = np.r_[0, boundary_next[:-1]] if len(boundary_pos) else np.empty(0, np.int64)
    token_lengths = boundary_pos - token_starts
    real = token_lengths > 0
    # Paragraph of each token: paragraphs close at newline boundaries.
    para_of_boundary = np.cumsum(np.r_[0, boundary_nl[:-1]]) if len(boundary_nl) else np.empty(0, np.int64)
    doc_of_boundary = np.searchsorted(ends, boundary_pos, side="left")
    tok_hash = _token_hashes(body, token_starts[real].astype(np.int64), token_lengths[real].astype(np.int64))
    tok_para = para_of_boundary[real]
    tok_doc = doc_of_boundary[real]
    # Paragraph runs of tokens.
    change = np.r_[True, tok_para[1:] != tok_para[:-1]] if len(tok_para) else np.empty(0, bool)
    para_start = np.flatnonzero(change)
    lengths = np.diff(np.r_[para_start, len(tok_para)]).astype(np.int64)
    para_doc = tok_doc[para_start]
    per_para = np.maximum(lengths - n + 1, 1)
    first_shingle = np.repeat(np.cumsum(per_para) - per_para, per_para)
    within = np.arange(int(per_para.sum()), dtype=np.int64) - first_shingle
    starts = np.repeat(para_start, per_para) + within
    span = np.repeat(np.minimum(lengths, n), per_para)
    last = max(len(tok_hash) - 1, 0)
    h = np.zeros(len(starts), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            take = tok_hash[np.minimum(starts + k, last)] if len(tok_hash) else h
            h = np.where(k < span, (h ^ take) * np.uint64(CHAIN_MUL), h)
        h ^= h >> np.uint64(29)
        h *= np.uint64(CHAIN_MIX)
        h ^= h >> np.uint64(32)
    hashes = (h & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    counts = np.bincount(np.repeat(para_doc, per_para), minlength=docs) if docs else np.zeros(0, np.int64)
    offsets = np.zeros(docs + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return hashes, offsets
