"""Labeled checks on real data: 20 Newsgroups cross-posts, Clough & Stevenson, MSRP, Reuters by hand."""

from __future__ import annotations

import csv
import gzip
import json
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from corpus import DATA

import dedup
from dedup import lsh, normalize, shingle
from dedup.engines import memory

LABELS = Path(__file__).resolve().parent / "labels" / "reuters_pairs.tsv"


def _clusters(rows: list[dict[str, str]], overrides: list[str], content: str = "auto") -> dict[str, int]:
    """Run the pipeline on rows (id, text) and return each id's kept-record index."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rows.jsonl.gz"
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row) + "\n")
        config = dedup.config_from_dict(
            {"input": {"paths": [str(path)]}, "workers": 1, "normalize": {"content": content}},
            overrides=overrides,
        )
        features = memory.load(config)
    found = memory.find_duplicates(features, config)
    ids = features.records["id"].to_pylist()
    return {rid: int(found.cluster[i]) for i, rid in enumerate(ids)}


def newsgroups(overrides: list[str]) -> dict[str, Any]:
    """Cross-posts (one message_id in several groups) that the pipeline merges."""
    rows = []
    with gzip.open(DATA / "news" / "mini_newsgroups.jsonl.gz", "rt", encoding="utf-8") as handle:
        for line in handle:
            r = json.loads(line)
            rows.append({"id": r["id"], "text": r["text"], "message_id": r["message_id"]})
    groups: dict[str, list[str]] = {}
    for r in rows:
        groups.setdefault(r["message_id"], []).append(r["id"])
    cross = [(m[0], other) for m in groups.values() if len(m) > 1 for other in m[1:]]
    kept = _clusters([{"id": r["id"], "text": r["text"]} for r in rows], overrides, "text")
    found = sum(kept.get(a) is not None and kept.get(a) == kept.get(b) for a, b in cross)
    merged_total = sum(c - 1 for c in Counter(kept.values()).values())
    return {
        "cross_posts": len(cross),
        "found": found,
        "recall": found / max(1, len(cross)),
        "merged": merged_total,
    }


def clough_stevenson(overrides: list[str]) -> dict[str, Any]:
    """Share of answers merged with their Wikipedia source, by how they were written."""
    folder = DATA / "pairs" / "clough_stevenson"
    rows = [
        {"id": p.name, "text": p.read_text(encoding="utf-8", errors="replace")}
        for p in sorted(folder.glob("*.txt"))
    ]
    kept = _clusters(rows, overrides, "text")
    config = dedup.config_from_dict({"normalize": {"content": "text"}}, overrides=overrides)
    texts = {r["id"]: r["text"] for r in rows}
    by_category: dict[str, list[tuple[bool, bool]]] = {}
    with open(folder / "file_information.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            source = f"orig_task{row['Task']}.txt"
            same = kept.get(row["File"]) is not None and kept.get(row["File"]) == kept.get(source)
            inside = _containment(texts[row["File"]], texts[source], config) >= (
                config.lsh.containment or 1.0
            )
            by_category.setdefault(row["Category"], []).append((same, inside))
    return {
        cat: {"answers": len(v), "merged": sum(m for m, _ in v), "contained": sum(c for _, c in v)}
        for cat, v in sorted(by_category.items())
    }


def _containment(answer: str, source: str, config: dedup.Config) -> float:
    """Exact share of the answer's shingles found in the source (what containment can see at best)."""
    import numpy as np
    import pyarrow as pa

    paragraphs = normalize.clean_batch(pa.array([answer, source], pa.large_string()), config.normalize)
    forms = normalize.hashing_forms(normalize.join_paragraphs(paragraphs, "\n"))
    hashes, offsets = shingle.shingle_batch(forms, config.shingle)
    common, size_a, size_b = lsh.exact_overlaps(hashes, offsets, np.array([[0, 1]], dtype=np.int64))
    return float(common[0] / max(1, min(size_a[0], size_b[0])))


def msrp(overrides: list[str]) -> dict[str, Any]:
    """How often sentence pairs (paraphrases or not) are flagged as duplicates."""
    pairs = []
    rows: dict[str, str] = {}
    for name in ("msr-para-train.tsv", "msr-para-test.tsv", "msr-para-val.tsv"):
        with open(DATA / "pairs" / "msrp" / name, encoding="utf-8-sig") as handle:
            reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
            next(reader)
            for parts in reader:
                if len(parts) < 5:
                    continue
                label, a, b, s1, s2 = parts[:5]
                rows[f"s{a}"], rows[f"s{b}"] = s1, s2
                pairs.append((label, f"s{a}", f"s{b}"))
    kept = _clusters([{"id": k, "text": v} for k, v in rows.items()], overrides, "text")
    out: dict[str, Any] = {}
    for label, name in (("1", "paraphrase"), ("0", "not paraphrase")):
        chosen = [(a, b) for lab, a, b in pairs if lab == label]
        flagged = sum(kept.get(a) is not None and kept.get(a) == kept.get(b) for a, b in chosen)
        out[name] = {
            "pairs": len(chosen),
            "flagged": flagged,
            "false_alarm_rate": flagged / max(1, len(chosen)),
        }
    return out


def reuters_by_hand(overrides: list[str]) -> dict[str, Any]:
    """Merged-pair precision and recall on the hand-labeled Reuters pairs."""
    labels = [
        line.rstrip("\n").split("\t")
        for line in LABELS.read_text(encoding="utf-8").splitlines(keepends=True)
        if line.startswith("reuters-")
    ]
    rows = []
    with gzip.open(DATA / "news" / "reuters21578.jsonl.gz", "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    kept = _clusters([{"id": r["id"], "text": r["text"]} for r in rows], overrides, "auto")
    tp = fp = fn = tn = 0
    for a, b, label in labels:
        merged = kept[a] == kept[b]
        if label == "1":
            tp, fn = tp + merged, fn + (not merged)
        else:
            fp, tn = fp + merged, tn + (not merged)
    precision = tp / max(1, tp + fp)
    recall = tp / max(1, tp + fn)
    return {
        "pairs": len(labels),
        "duplicates": tp + fn,
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / max(1e-9, precision + recall),
    }
