"""Audit of every drop on real corpora: does each dropped record resemble the record it names?

    .venv/bin/python benchmarks/drops.py                      # this checkout, five corpora
    .venv/bin/python benchmarks/drops.py --baseline c93a369   # and beside an earlier commit

For each corpus the batch job runs with `configs/news.yaml`; each row of `duplicates.parquet` is
then checked twice against the record its `duplicate_of` names:

- by the run's own evidence columns (`similarity`, `containment`) against the thresholds;
- by an oracle that shares no code with dedup: plain Python sets of lowercased `\\w+` word 3-grams
  taken inside the paragraphs of the cleaned texts the run wrote (a paragraph of one or two words
  is one shingle), Jaccard and the share of the dropped record inside the named one.

With `--baseline REF` the same corpora also run on that commit (a temporary git worktree), and the
report lists how many records each corpus keeps now that it dropped then, and the reverse, with
examples. Writes `benchmarks/reports/drops.md` (ending with `drops_notes.md`, what a person read
by eye) and `drops.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from corpus import DATA

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
REPORTS = HERE / "reports"
CORPORA = {
    "Reuters-21578": DATA / "news" / "reuters21578.jsonl.gz",
    "BBC News": DATA / "news" / "bbc.jsonl.gz",
    "20 Newsgroups (mini)": DATA / "news" / "mini_newsgroups.jsonl.gz",
    "AG News (test)": DATA / "news" / "agnews_test.jsonl.gz",
    "Common Crawl (dolma sample)": DATA
    / "web"
    / "dolma_CC-MAIN-20190717121559-20190717143559-00140.jsonl.gz",
}
RUN = """
import sys
sys.path.insert(0, sys.argv[1])
import dedup
config = dedup.load_config(sys.argv[1] + "/configs/news.yaml",
    [f"input.paths=[{sys.argv[2]}]", f"output.dir={sys.argv[3]}", "output.overwrite=true", "workers=1"])
print(dedup.run(config).summary())
"""


#: The interpreter that runs a `--baseline` commit: this one, or `DEDUP_BASELINE_PYTHON` (a commit
#: from before the Cython kernels needs numba: a virtual environment with that commit installed).
BASELINE_PYTHON = os.environ.get("DEDUP_BASELINE_PYTHON") or sys.executable


def _shingles(text: str) -> set[tuple[str, ...]]:
    out: set[tuple[str, ...]] = set()
    for paragraph in re.split(r"\n\s*\n", text):
        words = re.findall(r"\w+", paragraph.lower())
        if 0 < len(words) < 3:
            out.add(tuple(words))
        out.update(tuple(words[i : i + 3]) for i in range(len(words) - 2))
    return out


def _run(code: Path, corpus: Path, out: Path, python: str = sys.executable) -> str:
    done = subprocess.run(
        [python, "-c", RUN, str(code), str(corpus), str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def _outputs(out: Path) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    unique = {r["id"]: r for r in pq.read_table(out / "unique.parquet").to_pylist()}
    dups = {r["id"]: r for r in pq.read_table(out / "duplicates.parquet").to_pylist()}
    return unique, dups


def audit(out: Path, threshold: float, containment: float) -> dict[str, Any]:
    """Check every drop of one run by its own columns and by the oracle."""
    unique, dups = _outputs(out)
    texts = {**{k: r["text"] for k, r in unique.items()}, **{k: r["text"] for k, r in dups.items()}}
    below_own: list[str] = []
    below_oracle: list[dict[str, Any]] = []
    named_dropped = 0
    gap = 0.0
    by: dict[str, int] = {}
    for rid, row in dups.items():
        named = row["duplicate_of"]
        by[row.get("matched_by") or row["match"]] = by.get(row.get("matched_by") or row["match"], 0) + 1
        named_dropped += named not in unique
        if row["match"] == "exact":
            same = re.findall(r"\w+", texts[rid].lower()) == re.findall(r"\w+", texts[named].lower())
            if not same:
                below_oracle.append({"id": rid, "named": named, "jaccard": None, "inside": None})
            continue
        if row["similarity"] < threshold and (row["containment"] or 0.0) < containment:
            below_own.append(rid)
        a, b = _shingles(texts[rid]), _shingles(texts[named])
        jaccard = len(a & b) / len(a | b)
        inside = len(a & b) / len(a)
        gap = max(gap, abs(jaccard - row["similarity"]))
        if jaccard < threshold and inside < containment:
            below_oracle.append({"id": rid, "named": named, "jaccard": jaccard, "inside": inside})
    return {
        "kept": len(unique),
        "dropped": len(dups),
        "by": by,
        "below_own": len(below_own),
        "below_oracle": below_oracle,
        "named_dropped": named_dropped,
        "max_jaccard_gap": gap,
    }


def _compare(now: Path, then: Path, limit: int = 4) -> dict[str, Any]:
    u_now, d_now = _outputs(now)
    u_then, d_then = _outputs(then)
    rescued = sorted(set(u_now) - set(u_then))
    lost = sorted(set(d_now) - set(d_then))
    swapped = [
        r
        for r in rescued
        if d_then[r]["duplicate_of"] in d_now and d_now[d_then[r]["duplicate_of"]]["duplicate_of"] == r
    ]

    def example(rid: str, then_row: dict[str, Any], texts: dict[str, str]) -> dict[str, Any]:
        named = then_row["duplicate_of"]
        return {
            "id": rid,
            "then_named": named,
            "then_similarity": round(then_row["similarity"], 3),
            "then_containment": round(then_row["containment"] or 0.0, 3),
            "text": textwrap.shorten(texts.get(rid, ""), 220),
            "named_text": textwrap.shorten(texts.get(named, ""), 220),
        }

    texts = {k: r["text"] for k, r in {**u_then, **d_then, **u_now, **d_now}.items()}
    others = [r for r in rescued if r not in swapped]
    return {
        "kept_now_dropped_then": len(rescued),
        "of_which_container_kept_now": len(swapped),
        "dropped_now_kept_then": len(lost),
        "examples_kept_now": [example(r, d_then[r], texts) for r in others[:limit]],
        "examples_dropped_now": [
            {
                "id": r,
                "named": d_now[r]["duplicate_of"],
                "matched_by": d_now[r].get("matched_by"),
                "similarity": round(d_now[r]["similarity"], 3),
                "containment": round(d_now[r]["containment"] or 0.0, 3),
            }
            for r in lost
            if r not in {d_now[s]["duplicate_of"] for s in swapped if s in d_now}
            and r not in {d_then[s]["duplicate_of"] for s in swapped}
        ][:limit],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="a git commit to compare with")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    import dedup

    config = dedup.load_config(str(ROOT / "configs" / "news.yaml"))
    threshold, containment = config.lsh.threshold, config.lsh.containment or 1.0
    results: dict[str, Any] = {"threshold": threshold, "containment": containment, "corpora": {}}
    with tempfile.TemporaryDirectory() as tmp:
        base: Path | None = None
        if args.baseline:
            base = Path(tmp) / "baseline"
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(base), args.baseline],
                check=True,
                capture_output=True,
            )
        try:
            for name, path in CORPORA.items():
                print(name, flush=True)
                now = Path(tmp) / f"now-{path.stem}"
                entry: dict[str, Any] = {"summary": _run(ROOT, path, now)}
                entry["audit"] = audit(now, threshold, containment)
                if base is not None:
                    then = Path(tmp) / f"then-{path.stem}"
                    entry["baseline_summary"] = _run(base, path, then, BASELINE_PYTHON)
                    entry["baseline_audit"] = audit(then, threshold, containment)
                    entry["compare"] = _compare(now, then)
                results["corpora"][name] = entry
        finally:
            if base is not None:
                subprocess.run(
                    ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)],
                    check=False,
                    capture_output=True,
                )
    results["baseline"] = args.baseline
    REPORTS.mkdir(exist_ok=True)
    (REPORTS / "drops.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    (REPORTS / "drops.md").write_text(_markdown(results), encoding="utf-8")
    print((REPORTS / "drops.md").read_text(encoding="utf-8"))


def _markdown(results: dict[str, Any]) -> str:
    t, c = results["threshold"], results["containment"]
    base = results.get("baseline")
    lines = [
        "# Every drop resembles the record it names: an audit on real corpora",
        "",
        "Regenerate: `.venv/bin/python benchmarks/drops.py" + (f" --baseline {base}`" if base else "`"),
        "",
        f"Defaults (`configs/news.yaml`): Jaccard {t} on word 3-grams, containment {c}. A drop is *below "
        "the thresholds* when its Jaccard to the named record is under the threshold and the share of it "
        "inside the named record is under the containment share. *own*: by the run's `similarity` and "
        "`containment` columns; *oracle*: recomputed from the written texts by plain Python sets of `\\w+` "
        "word 3-grams (no dedup code); *names a dropped record*: `duplicate_of` is not a kept record.",
        "",
        "| corpus | summary | drops by evidence | below, own | below, oracle | names a dropped record | largest own-vs-oracle Jaccard gap |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, entry in results["corpora"].items():
        a = entry["audit"]
        by = ", ".join(f"{k} {v}" for k, v in sorted(a["by"].items()))
        lines.append(
            f"| {name} | {entry['summary'].split(' -> ')[0]} | {by} | {a['below_own']} | {len(a['below_oracle'])} "
            f"| {a['named_dropped']} | {a['max_jaccard_gap']:.3f} |"
        )
    if base:
        lines += [
            "",
            f"## Beside {base} (the code before the keep step: connected components, one record kept each)",
            "",
            "| corpus | then | below, own (then) | below, oracle (then) | names a dropped record (then) | kept now, dropped then | of which: the container is kept now, the contained record dropped | dropped now, kept then |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for name, entry in results["corpora"].items():
            b, cmp_ = entry["baseline_audit"], entry["compare"]
            lines.append(
                f"| {name} | {entry['baseline_summary'].split(' -> ')[0]} | {b['below_own']} | {len(b['below_oracle'])} "
                f"| {b['named_dropped']} | {cmp_['kept_now_dropped_then']} | {cmp_['of_which_container_kept_now']} "
                f"| {cmp_['dropped_now_kept_then']} |"
            )
        lines += ["", "Examples of records kept now that were dropped then (other than container swaps):", ""]
        for name, entry in results["corpora"].items():
            for ex in entry["compare"]["examples_kept_now"]:
                lines.append(
                    f"- {name}, `{ex['id']}` (then dropped for `{ex['then_named']}` at Jaccard {ex['then_similarity']}, "
                    f"containment {ex['then_containment']}): {ex['text']} / named: {ex['named_text']}"
                )
        lines += ["", "Examples of records dropped now that were kept then (other than container swaps):", ""]
        for name, entry in results["corpora"].items():
            for ex in entry["compare"]["examples_dropped_now"]:
                lines.append(
                    f"- {name}, `{ex['id']}` -> `{ex['named']}` by {ex['matched_by']}, Jaccard {ex['similarity']}, "
                    f"containment {ex['containment']}"
                )
    notes = REPORTS / "drops_notes.md"  # what was read by eye: written by a person, not measured
    if notes.exists():
        lines += ["", notes.read_text(encoding="utf-8").strip()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
