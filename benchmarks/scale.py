"""Scale benchmark: millions of short records through `dedup run` inside a memory budget.

    .venv/bin/python benchmarks/scale.py                        # 5,000,000 records, 2GB budget
    .venv/bin/python benchmarks/scale.py --records 200000       # a quick look
    .venv/bin/python benchmarks/scale.py --render               # rewrite the page from scale.json

The corpus is generated (it is not in ../shared/data at this size): records of 24-36 words drawn
from the vocabulary of AG News descriptions (Zipf-weighted), like news titles with their lede;
10% are exact copies of an earlier record and 10% near copies (two words replaced). It is written
once to a temporary folder as JSONL and reused.

Each run is the real CLI in a child process: peak RSS from wait4, RSS sampled from /proc every
quarter second for the plot, wall time for records per second, stage times from report.json. The
same corpus's first tenth runs beside it as the baseline, so the two rates come from one sitting.
Planted copies give the recall; a non-copy dropped as a duplicate counts against precision.
Writes benchmarks/reports/scale.md, scale.json and scale.png.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = Path(os.environ.get("DEDUP_DATA", ROOT.parent / "shared" / "data"))
REPORTS = HERE / "reports"
AGNEWS = DATA / "news" / "agnews_test.jsonl.gz"
_WORD = re.compile(r"[A-Za-z][a-z']+")


def _vocabulary() -> tuple[list[str], np.ndarray]:
    """Words of AG News descriptions with Zipf weights by frequency rank (a fixed list when absent)."""
    counts: dict[str, int] = {}
    if AGNEWS.exists():
        with gzip.open(AGNEWS, "rt", encoding="utf-8") as handle:
            for line in handle:
                for word in _WORD.findall(json.loads(line)["text"]):
                    counts[word.lower()] = counts.get(word.lower(), 0) + 1
    words = sorted(counts, key=lambda w: (-counts[w], w))[:20_000] or [f"w{i}" for i in range(20_000)]
    weights = 1.0 / np.arange(1, len(words) + 1) ** 1.05
    return words, weights / weights.sum()


def generate(path: Path, records: int, seed: int = 11) -> dict[str, Any]:
    """Write the corpus; return what was planted (kind per record: 0 base, 1 exact, 2 near; source)."""
    rng = np.random.default_rng(seed)
    words, weights = _vocabulary()
    vocab = np.array(words, dtype=object)
    kind = rng.choice(3, size=records, p=[0.8, 0.1, 0.1])
    kind[:1000] = 0
    source = np.full(records, -1, dtype=np.int64)
    copies = np.flatnonzero(kind > 0)
    source[copies] = (rng.random(len(copies)) * copies).astype(np.int64)  # an earlier record
    texts: list[str] = []
    step = 100_000
    with open(path, "w", encoding="utf-8") as out:
        for start in range(0, records, step):
            stop = min(records, start + step)
            lengths = rng.integers(24, 37, size=stop - start)
            picks = rng.choice(len(vocab), size=(stop - start, 36), p=weights)
            lines = []
            for i in range(start, stop):
                k = kind[i]
                if k == 0:
                    text = " ".join(vocab[picks[i - start, : lengths[i - start]]].tolist()).capitalize() + "."
                elif k == 1:
                    text = texts[source[i]]
                else:
                    parts = texts[source[i]].split(" ")
                    for at in rng.integers(1, len(parts) - 1, size=2):
                        parts[at] = vocab[rng.integers(len(vocab))]
                    text = " ".join(parts)
                texts.append(text)
                lines.append(json.dumps({"id": f"s{i}", "text": text}))
            out.write("\n".join(lines) + "\n")
    return {"kind": kind, "source": source}


def _rss_sampler(pid: int, samples: list[tuple[float, int]], stop: threading.Event) -> None:
    start = time.perf_counter()
    while not stop.is_set():
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            kib = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
            samples.append((time.perf_counter() - start, kib * 1024))
        except (OSError, AttributeError):
            pass
        stop.wait(0.25)


def run_cli(corpus: Path, out: Path, budget: str) -> dict[str, Any]:
    """`dedup run` on `corpus` in a child process; wall time, peak RSS (wait4) and RSS samples."""
    config = out.with_suffix(".yaml")
    config.write_text(
        json.dumps(
            {
                "input": {"paths": [str(corpus)]},
                "output": {"dir": str(out), "overwrite": True},
                "memory_budget": budget,
                "workers": 0,
            }
        )
    )
    samples: list[tuple[float, int]] = []
    stop = threading.Event()
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "dedup", "run", str(config), "--quiet"], cwd=ROOT)
    sampler = threading.Thread(target=_rss_sampler, args=(process.pid, samples, stop))
    sampler.start()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    stop.set()
    sampler.join()
    if status != 0:
        raise SystemExit(f"dedup run failed with status {status}")
    report = json.loads((out / "report.json").read_text())
    return {"wall_s": wall, "peak_rss": usage.ru_maxrss * 1024, "samples": samples, "report": report}


def score(out: Path, planted: dict[str, Any], records: int) -> dict[str, Any]:
    """Recall of planted copies and the share of dropped records that were not copies."""
    dups = pq.read_table(out / "duplicates.parquet", columns=["id", "duplicate_of"]).to_pydict()
    kept_of = np.arange(records, dtype=np.int64)
    dropped = np.array([int(x[1:]) for x in dups["id"]], dtype=np.int64)
    kept_of[dropped] = np.array([int(x[1:]) for x in dups["duplicate_of"]], dtype=np.int64)
    kind, source = planted["kind"][:records], planted["source"][:records]
    copies = np.flatnonzero(kind > 0)
    found = kept_of[copies] == kept_of[source[copies]]
    originals = dropped[kind[dropped] == 0]
    named = kept_of[originals]
    while np.any(kind[named] > 0):  # follow each named record back to the original it was copied from
        named = np.where(kind[named] > 0, source[named], named)
    return {
        "planted": len(copies),
        "recall": float(found.mean()) if len(copies) else 1.0,
        "recall_exact": float(found[kind[copies] == 1].mean()),
        "recall_near": float(found[kind[copies] == 2].mean()),
        "dropped": len(dropped),
        "non_copies_dropped": len(originals),
        # of those, dropped for a copy made from them (directly or through other copies)
        "non_copies_dropped_for_own_copy": int(np.sum(named == originals)),
    }


def render(data: dict[str, Any]) -> None:
    """Write scale.md (and scale.png when matplotlib is there) from the measured data."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = data["runs"]
    fig, ax = plt.subplots(figsize=(8, 4))
    for run in runs:
        t = [s[0] for s in run["samples"]]
        rss = [s[1] / 1e9 for s in run["samples"]]
        ax.plot(t, rss, label=f"{run['records']:,} records")
    ax.axhline(
        data["budget_bytes"] / 1e9, color="red", linestyle="--", label=f"memory_budget {data['budget']}"
    )
    ax.set_xlabel("seconds")
    ax.set_ylabel("resident memory (GB)")
    ax.set_title("dedup run: resident memory over the run (sampled every 0.25 s)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(REPORTS / "scale.png", dpi=110)

    lines = [
        "# Scale: millions of short records inside a memory budget",
        "",
        f"Measured {data['date']} on {data['machine']}. Regenerate: `{data['command']}`.",
        "",
        "The corpus is generated (see `benchmarks/scale.py`): short records of 24-36 words from AG News's "
        "vocabulary, 10% exact copies and 10% near copies (two words replaced) of earlier records. "
        f"The larger file is {data['corpus_bytes'] / 1e9:.2f} GB of JSONL. Each run is the CLI in a child "
        "process (`workers: 0`, both cores); peak RSS is the child's, from wait4. GB here are 10^9 bytes, as "
        "in `memory_budget: 2GB`.",
        "",
        "| records | input | budget | peak RSS | wall | records/s | shards | spilled to disk | "
        "kept | duplicates | recall (exact / near) | non-copies dropped (for a copy of their own) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        r, s = run["report"], run["score"]
        own = s.get("non_copies_dropped_for_own_copy")
        own_text = f"{own:,}" if isinstance(own, int) else "not counted"
        lines.append(
            f"| {run['records']:,} | {r['input_bytes'] / 1e6:,.0f} MB | {data['budget']} | "
            f"{run['peak_rss'] / 1e9:.2f} GB | {run['wall_s']:.0f} s | {run['records'] / run['wall_s']:,.0f} | "
            f"{r['shards']['total']} | {r['spilled_bytes'] / 1e9:.2f} GB | {r['kept']:,} | {r['duplicates']:,} | "
            f"{s['recall_exact']:.4f} / {s['recall_near']:.4f} | {s['non_copies_dropped']:,} "
            f"({own_text}) |"
        )
    big, small = runs[-1], runs[0]
    ratio = (big["records"] / big["wall_s"]) / (small["records"] / small["wall_s"])
    within = "within" if big["peak_rss"] <= data["budget_bytes"] else "over"
    lines += [
        "",
        f"The {big['records']:,}-record run peaked at {big['peak_rss'] / 1e9:.2f} GB, {within} the "
        f"{data['budget']} budget, and kept {big['records'] / big['wall_s']:,.0f} records/s; the "
        f"{small['records']:,}-record baseline in the same sitting ran at "
        f"{small['records'] / small['wall_s']:,.0f} records/s (ratio {ratio:.2f}).",
        "",
        "A record that is no planted copy and is dropped for a copy made from it is the keep rule giving "
        "way to containment (`dedup.cluster`, rule 1): a near copy whose replaced word splits into more "
        "tokens holds 80% of its original's shingles and more of its own, so the original is taken after "
        "it and dropped for the best kept record it verifies against, which can be another copy of itself. "
        "Its words are in that kept record (Jaccard at least the threshold), but `keep: first` did not "
        "keep the first record.",
        "",
        "![resident memory over time](scale.png)",
        "",
        "## Where the time went (seconds, from report.json)",
        "",
        "| stage | " + " | ".join(f"{r['records']:,} records" for r in runs) + " |",
        "|---|" + "---:|" * len(runs),
    ]
    stages = list(dict.fromkeys(k for r in runs for k in r["report"]["timings"]))
    for stage in stages:
        row = " | ".join(f"{r['report']['timings'].get(stage, 0):.1f}" for r in runs)
        lines.append(f"| {stage} | {row} |")
    lines += [
        "",
        "## How memory stays bounded",
        "",
        "Records are read and processed one shard at a time (shard size from `memory_budget`); each "
        "shard's cleaned records, exact digests, signatures and band keys are written to the checkpoint "
        "folder and memory-mapped back. The global steps read one band of keys at a time and only the "
        "candidate records' texts, so what stays in memory is about 150 bytes per record (ids, digests, "
        "cluster arrays). The same files are the checkpoints a killed run resumes from; they are removed "
        "when the run succeeds. Whole signatures are kept only for `verify: estimate` (the default "
        "verifies on exact shingle sets, remade from the paragraphs for the records it compares).",
        "",
    ]
    (REPORTS / "scale.md").write_text("\n".join(lines), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=5_000_000)
    parser.add_argument("--budget", default="2GB")
    parser.add_argument("--render", action="store_true", help="rewrite scale.md/png from scale.json")
    args = parser.parse_args()
    if args.render:
        render(json.loads((REPORTS / "scale.json").read_text()))
        return
    from dedup.config import size_bytes

    work = Path(tempfile.gettempdir()) / "dedup-scale"
    work.mkdir(exist_ok=True)
    corpus = work / f"short-{args.records}.jsonl"
    planted_path = work / f"short-{args.records}.npz"
    if not corpus.exists() or not planted_path.exists():
        print(f"generating {args.records:,} records into {corpus}", flush=True)
        planted = generate(corpus, args.records)
        np.savez(planted_path, **planted)
    with np.load(planted_path) as stored:
        planted = {k: stored[k] for k in stored.files}
    small_count = args.records // 10
    small = work / f"short-{args.records}-first{small_count}.jsonl"
    if not small.exists():
        with open(corpus, encoding="utf-8") as src, open(small, "w", encoding="utf-8") as dst:
            for _, line in zip(range(small_count), src, strict=False):
                dst.write(line)
    runs = []
    for count, path in ((small_count, small), (args.records, corpus)):
        print(f"running {count:,} records with memory_budget {args.budget}", flush=True)
        result = run_cli(path, work / f"out-{count}", args.budget)
        result["records"] = count
        result["score"] = score(work / f"out-{count}", planted, count)
        print({k: v for k, v in result.items() if k != "samples" and k != "report"}, flush=True)
        runs.append(result)
    data = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "command": f".venv/bin/python benchmarks/scale.py --records {args.records} --budget {args.budget}",
        "budget": args.budget,
        "budget_bytes": size_bytes(args.budget),
        "corpus_bytes": corpus.stat().st_size,
        "runs": runs,
    }
    REPORTS.mkdir(exist_ok=True)
    (REPORTS / "scale.json").write_text(json.dumps(data, indent=1, default=float), encoding="utf-8")
    render(data)
    print((REPORTS / "scale.md").read_text())


if __name__ == "__main__":
    main()
