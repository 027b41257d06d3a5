"""Generated news copies: how many does a configuration find (used by accuracy.py)."""

from __future__ import annotations

import gzip
import json
import tempfile
from pathlib import Path
from typing import Any

import evaluate
import numpy as np
import truth

import dedup
from dedup import editgen
from dedup.engines import memory


def distinct_articles(path: Path, limit: int) -> list[list[str]]:
    """Articles of a real corpus that are not near-duplicates of each other (5-gram Jaccard < 0.3)."""
    prepared = evaluate.prepare("sources", str(path), {"input": {"paths": [str(path)]}}, 0.3)
    drop = {int(b) for _, b in prepared.truth.pairs}
    texts = ["\n\n".join(p) for p in prepared.features.records["paragraphs"].to_pylist()]
    keep = [t for i, t in enumerate(texts) if i not in drop]
    return [t.split("\n\n") for t in keep[:limit]]


def generated_pairs(records: list[editgen.Generated]) -> set[tuple[int, int]]:
    by_cluster: dict[int, list[int]] = {}
    for i, r in enumerate(records):
        by_cluster.setdefault(r.cluster, []).append(i)
    return {(a, b) for m in by_cluster.values() for k, a in enumerate(m) for b in m[k + 1 :]}


def score_generated(
    articles: list[list[str]],
    strength: editgen.EditStrength,
    overrides: list[str],
    copies: int = 2,
    seed: int = 0,
) -> dict[str, Any]:
    records = editgen.corpus(articles, copies, strength, seed)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "gen.jsonl.gz"
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            for r in records:
                handle.write(json.dumps({"id": r.id, "text": "\n\n".join(r.paragraphs)}) + "\n")
        config = dedup.config_from_dict(
            {"input": {"paths": [str(path)]}, "workers": 1, "normalize": {"content": "text"}},
            overrides=overrides,
        )
        features = memory.load(config)
    found = memory.find_duplicates(features, config)
    position = {rid: i for i, rid in enumerate(r.id for r in records)}
    index = [position[rid] for rid in features.records["id"].to_pylist()]
    ours = {tuple(sorted((index[a], index[b]))) for a, b in evaluate.found_pairs(found)}
    # Clusters: a pair joined through a chain counts as found, as it does for a user.
    labels = np.asarray(found.cluster)
    joined = (
        {
            tuple(sorted((index[a], index[b])))
            for a in range(len(labels))
            for b in range(a + 1, len(labels))
            if labels[a] == labels[b]
        }
        if len(labels) < 4000
        else ours
    )
    expected = generated_pairs(records)
    result = evaluate.score(set(joined), expected)  # type: ignore[arg-type]
    n = len(records)
    result["ari"] = truth.adjusted_rand(
        truth.components(n, np.array(sorted(expected), dtype=np.int64)),
        truth.components(n, np.array(sorted(joined), dtype=np.int64).reshape(-1, 2)),
    )
    return result
