"""Ground truth by exact set similarity: every pair of records at or above a Jaccard threshold.

An oracle that shares no code with dedup: it reads the cleaned paragraphs a run produced (what
every method is given) and does its own shingling and counting in plain Python. A record's
shingles are the lowercased `\\w+` word n-grams inside each paragraph (a paragraph of fewer than n
words is one shingle of all its words), as strings in a Python set; Jaccard and containment are
set sizes. It differs from dedup's hashing form in small ways on purpose (no accent folding, `_`
is a word character, CJK runs are one word, shingles are not hashed to 32 bits), so a bug in
dedup's tokenizer, shingler, hashing or overlap kernel shows up as a gap against it rather than
agreeing with itself.

The join is an all-pairs similarity join with prefix filtering: shingles are ordered rarest first;
a pair with Jaccard at least `t` must share one of the first `|A| - ceil(t |A|) + 1` shingles of
each record's set in that order, so only records sharing such a prefix shingle are compared, and
every candidate is then checked exactly on the sets. The result is exact (no pair at or above `t`
is missed) without the quadratic loop.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

_WORD = re.compile(r"\w+")


def shingles(paragraphs: list[str], ngram: int) -> set[str]:
    """A record's shingles: lowercased `\\w+` word n-grams inside each paragraph, as strings."""
    out: set[str] = set()
    for paragraph in paragraphs:
        words = _WORD.findall(paragraph.lower())
        if 0 < len(words) < ngram:
            out.add(" ".join(words))
        out.update(" ".join(words[i : i + ngram]) for i in range(len(words) - ngram + 1))
    return out


@dataclass(frozen=True)
class Truth:
    """Exact pairs: `pairs (m, 2)` with `i < j`, their Jaccard and containment (overlap / smaller set)."""

    pairs: npt.NDArray[np.int64]
    jaccard: npt.NDArray[np.float64]
    containment: npt.NDArray[np.float64]

    def at(self, threshold: float) -> set[tuple[int, int]]:
        keep = self.jaccard >= threshold
        return {(int(a), int(b)) for a, b in self.pairs[keep]}


def exact_pairs(records: list[list[str]], ngram: int, threshold: float) -> Truth:
    """Every pair of records (each a list of cleaned paragraphs) whose shingle sets have Jaccard >= `threshold`."""
    sets = [shingles(paragraphs, ngram) for paragraphs in records]
    frequency = Counter(s for one in sets for s in one)
    # Rarest first, ties by the shingle itself, so the order does not depend on the records' order.
    order = {s: k for k, s in enumerate(sorted(frequency, key=lambda s: (frequency[s], s)))}
    by_prefix: dict[int, list[int]] = {}
    for i, one in enumerate(sets):
        if not one:
            continue
        prefix = len(one) - math.ceil(threshold * len(one)) + 1
        for key in sorted(order[s] for s in one)[:prefix]:
            by_prefix.setdefault(key, []).append(i)
    candidates: set[tuple[int, int]] = set()
    for members in by_prefix.values():
        candidates.update((a, b) for k, a in enumerate(members) for b in members[k + 1 :])
    pairs, jaccard, containment = [], [], []
    for a, b in sorted(candidates):
        common = len(sets[a] & sets[b])
        union = len(sets[a]) + len(sets[b]) - common
        if common / union >= threshold:
            pairs.append((a, b))
            jaccard.append(common / union)
            containment.append(common / min(len(sets[a]), len(sets[b])))
    return Truth(
        np.array(pairs, dtype=np.int64).reshape(-1, 2),
        np.array(jaccard, dtype=np.float64),
        np.array(containment, dtype=np.float64),
    )


def components(n: int, pairs: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Connected-component label of each of `n` records joined by `pairs` (union-find, no dedup code)."""
    parent = list(range(n))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs.reshape(-1, 2).tolist():
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return np.array([root(x) for x in range(n)], dtype=np.int64)


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
