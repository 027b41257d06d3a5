"""Shingling: a record's paragraphs to the set of hashed word n-grams that MinHash sees.

Shingles are word n-grams taken inside each paragraph, so a shingle never spans two paragraphs
(dropping or reordering a paragraph then touches only its own shingles). A paragraph shorter than
`ngram` words gives one shingle of all its words, so short records still have a set. Each token is
hashed once with xxh3-64; an n-gram's hash is an order-sensitive multiply-xor chain over its token
hashes, computed for a whole batch at once in numpy, and folded to 32 bits for the `affine32`
MinHash scheme.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import xxhash

_MUL = np.uint64(0x9E3779B97F4A7C15)
_MIX = np.uint64(0xBF58476D1CE4E5B9)


def _check_ngram(value: object) -> str | None:
    if not isinstance(value, int) or not 1 <= value <= 32:
        return "must be an integer from 1 to 32"
    return None


@dataclass(frozen=True, slots=True)
class ShingleConfig:
    """How records become shingle sets.

    Attributes:
        ngram: words per shingle.
    """

    ngram: int = field(default=5, metadata={"check": _check_ngram})


def _token_hashes(words: list[str]) -> npt.NDArray[np.uint64]:
    return np.fromiter(
        (xxhash.xxh3_64_intdigest(w.encode("utf-8")) for w in words), dtype=np.uint64, count=len(words)
    )


def shingle_batch(
    docs: list[list[list[str]]], cfg: ShingleConfig
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]]:
    """Hash the shingles of a batch of records.

    Args:
        docs: per record, per paragraph, its hashing-form tokens.
        cfg: the shingling section.

    Returns:
        `(hashes, offsets)`: `hashes` is a flat `uint32` array of every record's shingle hashes
        (duplicates within a record kept); record `i` owns `hashes[offsets[i]:offsets[i + 1]]`.
        `offsets` is `int64` of length `len(docs) + 1`. A record with no tokens owns none.
    """
    n = cfg.ngram
    para_lengths: list[int] = []
    para_doc: list[int] = []
    words: list[str] = []
    for d, paragraphs in enumerate(docs):
        for toks in paragraphs:
            if toks:
                para_lengths.append(len(toks))
                para_doc.append(d)
                words.extend(toks)
    token_hash = _token_hashes(words)
    lengths = np.asarray(para_lengths, dtype=np.int64)
    para_start = np.zeros(len(lengths), dtype=np.int64)
    if len(lengths):
        np.cumsum(lengths[:-1], out=para_start[1:])
    # Shingles per paragraph: one per window of n words, or a single short one.
    per_para = np.maximum(lengths - n + 1, 1)
    first_shingle = np.repeat(np.cumsum(per_para) - per_para, per_para)
    within = np.arange(int(per_para.sum()), dtype=np.int64) - first_shingle
    starts = np.repeat(para_start, per_para) + within
    span = np.repeat(np.minimum(lengths, n), per_para)
    last = max(len(token_hash) - 1, 0)
    h = np.zeros(len(starts), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            take = token_hash[np.minimum(starts + k, last)] if len(token_hash) else h
            h = np.where(k < span, (h ^ take) * _MUL, h)
        h ^= h >> np.uint64(29)
        h *= _MIX
        h ^= h >> np.uint64(32)
    hashes = (h & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    counts = np.bincount(np.repeat(np.asarray(para_doc, dtype=np.int64), per_para), minlength=len(docs))
    offsets = np.zeros(len(docs) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return hashes, offsets


def shingle_hash(words: list[str]) -> int:
    """The 32-bit hash of one shingle, computed one value at a time in plain Python.

    This is the reference `shingle_batch` must equal; it also lets datasketch hash our shingles
    (`MinHash(hashfunc=lambda s: shingle_hash(s.split()))`) for cross-checks.
    """
    mask = (1 << 64) - 1
    h = 0
    for word in words:
        h = ((h ^ xxhash.xxh3_64_intdigest(word.encode("utf-8"))) * int(_MUL)) & mask
    h ^= h >> 29
    h = (h * int(_MIX)) & mask
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
