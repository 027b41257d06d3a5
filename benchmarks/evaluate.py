"""Scoring a dedup configuration against exact ground truth on a corpus (used by accuracy.py)."""

from __future__ import annotations

import dataclasses
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import truth

import dedup
from dedup import lsh, minhash, normalize
from dedup.config import to_dict
from dedup.engines import memory
from dedup.featurize import Features
from dedup.resolve import Clock, Duplicates


@dataclass
class Prepared:
    """A corpus read and cleaned once, with its exact pairs at a low threshold."""

    name: str
    config: dedup.Config
    features: Features
    truth: truth.Truth
    ids: list[str] = field(default_factory=list)


def prepare(name: str, path: str, overrides: dict[str, Any], low: float) -> Prepared:
    config = dedup.config_from_dict({"input": {"paths": [path]}, "workers": 1, **overrides})
    features = memory.load(config)
    # The oracle reads the cleaned paragraphs (every method's input) and shingles them itself.
    exact = truth.exact_pairs(features.records["paragraphs"].to_pylist(), config.shingle.ngram, low)
    memory.find_duplicates(features, config)  # warm-up: load the compiled kernels before timing
    return Prepared(name, config, features, exact, features.records["id"].to_pylist())


def found_pairs(found: Duplicates) -> set[tuple[int, int]]:
    """Record pairs the pipeline joined directly: exact repeats, and every pair across a verified edge."""
    members: dict[int, list[int]] = {}
    for i, g in enumerate(found.exact_group.tolist()):
        members.setdefault(g, []).append(i)
    pairs: set[tuple[int, int]] = set()
    for group in members.values():
        pairs.update((a, b) for k, a in enumerate(group) for b in group[k + 1 :])
    for g1, g2 in found.edges.tolist():
        for a in members[g1]:
            for b in members[g2]:
                pairs.add((min(a, b), max(a, b)))
    return pairs


def score(found: set[tuple[int, int]], expected: set[tuple[int, int]]) -> dict[str, float]:
    hits = len(found & expected)
    precision = hits / len(found) if found else 1.0
    recall = hits / len(expected) if expected else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "found": len(found),
        "expected": len(expected),
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }


def run(prepared: Prepared, overrides: list[str]) -> dict[str, Any]:
    """Run our dedup stages with `overrides` and score them against exact Jaccard at their threshold."""
    config = dedup.config_from_dict(to_dict(prepared.config), overrides=overrides)
    features = prepared.features
    banding = lsh.resolve_params(config.lsh, config.minhash.num_perm)
    if banding != lsh.resolve_params(prepared.config.lsh, prepared.config.minhash.num_perm):
        # Another threshold bands the same signatures otherwise (untimed, as featurizing is).
        features = dataclasses.replace(features, keys=lsh.band(features.signatures, *banding).T)
    start = time.perf_counter()
    report = dedup.Report()
    found = memory.find_duplicates(features, config, Clock(report.timings))
    seconds = time.perf_counter() - start
    threshold = config.lsh.threshold
    expected = prepared.truth.at(threshold)
    pairs = found_pairs(found)
    result = score(pairs, expected)
    n = len(prepared.features)
    true_labels = truth.components(n, np.array(sorted(expected), dtype=np.int64))
    ours = truth.components(n, np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2))
    result.update(
        threshold=threshold,
        bands=found.bands,
        rows=found.rows,
        ari=truth.adjusted_rand(true_labels, ours),
        seconds=seconds,
        timings=report.timings,
        candidates=found.candidate_pairs,
    )
    return result


def candidate_rate(
    prepared: Prepared, bands: int, rows: int, num_perm: int, seed: int
) -> list[dict[str, float]]:
    """Measured share of exact pairs per Jaccard bin that became LSH candidates, beside the theory."""
    forms = normalize.hashing_forms(
        normalize.join_paragraphs(prepared.features.records["paragraphs"].combine_chunks(), "\n")
    )
    signatures = minhash.sign_forms(
        forms, prepared.config.shingle.ngram, minhash.MinHashConfig(num_perm=num_perm, seed=seed)
    )
    found = {(int(a), int(b)) for a, b in lsh.candidates(lsh.band(signatures, bands, rows))}
    edges = np.arange(0.3, 1.0001, 0.05)
    rows_out = []
    for lo, hi in itertools.pairwise(edges):
        top = hi if hi < 0.999 else 1.0001
        inside = (prepared.truth.jaccard >= lo) & (prepared.truth.jaccard < top)
        pairs = prepared.truth.pairs[inside]
        if len(pairs) == 0:
            continue
        hit = sum((int(a), int(b)) in found for a, b in pairs)
        middle = float((lo + min(hi, 1.0)) / 2)
        rows_out.append(
            {
                "lo": float(lo),
                "hi": float(min(hi, 1.0)),
                "pairs": len(pairs),
                "measured": hit / len(pairs),
                "theory": float(lsh.candidate_probability(middle, bands, rows)),
            }
        )
    return rows_out
