"""Speed benchmark: MinHash signatures and whole dedup runs, ours beside the tools people use today.

    .venv/bin/python benchmarks/speed.py                 # Reuters-21578 from ../shared/data
    .venv/bin/python benchmarks/speed.py --limit 2000    # a quick look
    .venv/bin/python benchmarks/speed.py --corpus some.jsonl.gz
    .venv/bin/python benchmarks/speed.py --baseline c93a369   # adds a whole-run row of that commit

Every method runs in a child process of its own (so peak RSS is its own), pinned to one core for
the per-core figures; the 2-worker rows use both cores. All signature methods see the same cleaned
text (our cleaning, untimed) and make 128-permutation signatures of word 5-grams; each builds
shingles its usual way and that cost is in its time. Times are medians over repeats; ratios are
taken between rows measured in this one run. Writes benchmarks/reports/speed.md and speed.png.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from corpus import ROOT, Corpus, load  # noqa: E402

REPORTS = HERE / "reports"
NUM_PERM, NGRAM, THRESHOLD = 128, 5, 0.8
_WORD = re.compile(r"\w+")

SIGNATURE_METHODS = {
    "datasketch_update": "datasketch `MinHash.update` per shingle (sha1)",
    "datasketch_bulk": "datasketch `MinHash.bulk`, xxhash32 hashfunc",
    "rensa_update": "rensa `RMinHash.update` per document",
    "rensa_matrix": "rensa `digest_matrix_from_token_sets` (batch)",
    "datatrove": "datatrove `MinhashDedupSignature` (spaCy tokenizer, sha1-64)",
    "ours_numpy": "dedup numpy reference path (hashing form + numpy shingles + signatures)",
    "ours_sign_only": "dedup signature kernel alone, from the hashing form",
    "ours": "dedup: hashing form + signature kernel",
    "ours_2w": "dedup: hashing form + signature kernel, 2 workers",
}
SLOW = {"datasketch_update", "datatrove"}
RUN_METHODS = {
    "run_ours": "`dedup.run`, 1 core",
    "run_ours_2w": "`dedup.run`, 2 workers",
    "run_ours_lean": "`dedup.run`, 1 core, Jaccard only (`verify: estimate`, no containment, no figures rule)",
    "run_datasketch": "datasketch script: MinHash.bulk + MinHashLSH + union-find + Parquet",
    "run_rensa": "rensa script: RMinHash matrix + RMinHashLSH + union-find + Parquet",
}
LSH_METHODS = {
    "lsh_datasketch": "datasketch `MinHashLSH` insert + query (same signatures)",
    "lsh_ours": "dedup `band` + `candidates` + verify (same signatures)",
}


# ----------------------------------------------------------------------------- children


def _pin(cores: int) -> None:
    import pyarrow as pa

    if cores == 1 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    pa.set_cpu_count(cores)
    pa.set_io_thread_count(cores)


def _cleaned(corpus: Corpus) -> tuple[Any, list[str]]:
    import pyarrow as pa

    from dedup import normalize

    paragraphs = normalize.clean_batch(pa.array(corpus.texts, pa.large_string()), normalize.NormalizeConfig())
    joined = normalize.join_paragraphs(paragraphs, "\n")
    return joined, joined.to_pylist()


def _shingles(text: str) -> list[str]:
    words = _WORD.findall(text.lower())
    if len(words) < NGRAM:
        return [" ".join(words)] if words else []
    return [" ".join(words[i : i + NGRAM]) for i in range(len(words) - NGRAM + 1)]


def _signature_fn(method: str, joined: Any, texts: list[str]) -> Callable[[], object]:
    if method == "datasketch_update":
        from datasketch import MinHash

        def update() -> object:
            out = []
            for text in texts:
                m = MinHash(num_perm=NUM_PERM, seed=1)
                for shingle in _shingles(text):
                    m.update(shingle.encode("utf-8"))
                out.append(m)
            return out

        return update
    if method == "datasketch_bulk":
        import xxhash
        from datasketch import MinHash

        def bulk() -> object:
            data = [[s.encode("utf-8") for s in _shingles(t)] for t in texts]
            return MinHash.bulk(data, num_perm=NUM_PERM, seed=1, hashfunc=xxhash.xxh32_intdigest)

        return bulk
    if method == "rensa_update":
        from rensa import RMinHash

        def rensa_update() -> object:
            out = []
            for text in texts:
                m = RMinHash(num_perm=NUM_PERM, seed=1)
                m.update(_shingles(text))
                out.append(m.digest())
            return out

        return rensa_update
    if method == "rensa_matrix":
        from rensa import RMinHash

        def rensa_matrix() -> object:
            return RMinHash.digest_matrix_from_token_sets([_shingles(t) for t in texts], NUM_PERM, 1)

        return rensa_matrix
    if method == "datatrove":
        from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature
        from datatrove.utils.hashing import HashConfig

        # datatrove's default xxhash path needs xxhash<4, which conflicts with ours; sha1 is its
        # other built-in choice.
        config = MinhashConfig(
            n_grams=NGRAM,
            num_buckets=16,
            hashes_per_bucket=8,
            hash_config=HashConfig(hash_fc="sha1", precision=64),
        )
        step = MinhashDedupSignature(output_folder=tempfile.mkdtemp(), config=config)

        def datatrove() -> object:
            return [step.get_signature(step.get_shingles(t)) for t in texts]

        return datatrove
    from dedup import minhash, normalize, shingle

    if method == "ours_numpy":
        cfg = minhash.MinHashConfig(num_perm=NUM_PERM)

        def numpy_path() -> object:
            forms = normalize.hashing_forms(joined)
            return minhash.sign(*shingle.shingle_batch(forms, shingle.ShingleConfig(ngram=NGRAM)), cfg)

        return numpy_path
    workers = 2 if method == "ours_2w" else 1
    if method == "ours_sign_only":
        forms = normalize.hashing_forms(joined)

        def sign_only() -> object:
            return minhash.sign_forms(forms, NGRAM, minhash.MinHashConfig(num_perm=NUM_PERM), workers=1)

        return sign_only

    def ours() -> object:
        forms = normalize.hashing_forms(joined, workers=workers)
        return minhash.sign_forms(forms, NGRAM, minhash.MinHashConfig(num_perm=NUM_PERM), workers=workers)

    return ours


def _write_jsonl(corpus: Corpus, folder: Path) -> Path:
    path = folder / "corpus.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        for rid, text in zip(corpus.ids, corpus.texts, strict=True):
            handle.write(json.dumps({"id": rid, "text": text}) + "\n")
    return path


def _union_find(n: int, pairs: list[tuple[int, int]]) -> list[int]:
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return [find(i) for i in range(n)]


def _script_run(method: str, source: Path, out: Path) -> dict[str, Any]:
    """A hand-rolled dedup script of the kind users write today, end to end."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    with gzip.open(source, "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    texts = [r["text"] for r in rows]
    shingles = [_shingles(t) for t in texts]
    pairs: list[tuple[int, int]] = []
    if method == "run_datasketch":
        import xxhash
        from datasketch import MinHash, MinHashLSH

        hashes = MinHash.bulk(
            [[s.encode() for s in d] for d in shingles],
            num_perm=NUM_PERM,
            seed=1,
            hashfunc=xxhash.xxh32_intdigest,
        )
        lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
        for i, m in enumerate(hashes):
            for j in lsh.query(m):
                if hashes[j].jaccard(m) >= THRESHOLD:
                    pairs.append((j, i))
            lsh.insert(i, m)
    else:
        from rensa import RMinHash, RMinHashLSH

        objects = RMinHash.from_token_sets(shingles, NUM_PERM, 1)
        lsh = RMinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM, num_bands=16)
        for i, m in enumerate(objects):
            for j in lsh.query(m):
                if objects[j].jaccard(m) >= THRESHOLD:
                    pairs.append((j, i))
            lsh.insert(i, m)
    roots = _union_find(len(texts), pairs)
    kept = [i for i in range(len(texts)) if roots[i] == i]
    table = pa.table({"id": [str(rows[i]["id"]) for i in kept], "text": [texts[i] for i in kept]})
    pq.write_table(table, out / "unique.parquet")
    return {"kept": len(kept), "pairs": len(pairs)}


def _lsh_fn(method: str, joined: Any) -> Callable[[], object]:
    import numpy as np

    from dedup import cluster, lsh, minhash, normalize

    signatures = minhash.sign_forms(
        normalize.hashing_forms(joined), NGRAM, minhash.MinHashConfig(num_perm=NUM_PERM)
    )
    if method == "lsh_datasketch":
        from datasketch import LeanMinHash, MinHashLSH

        sketches = [LeanMinHash(seed=1, hashvalues=row, scheme="affine32") for row in signatures]

        def datasketch_lsh() -> object:
            lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
            found = 0
            for i, m in enumerate(sketches):
                found += len(lsh.query(m))
                lsh.insert(i, m)
            return found

        return datasketch_lsh
    bands, rows = lsh.optimal_params(THRESHOLD, NUM_PERM)

    def ours_lsh() -> object:
        pairs = lsh.candidates(lsh.band(signatures, bands, rows))
        sims = np.mean(signatures[pairs[:, 0]] == signatures[pairs[:, 1]], axis=1)
        return cluster.connect(len(signatures), pairs[sims >= THRESHOLD])

    return ours_lsh


def child(method: str, corpus_path: str | None, limit: int | None, repeats: int) -> dict[str, Any]:
    """Run one method and return its timings (seconds, one per repeat)."""
    cores = 2 if method.endswith("_2w") else 1
    _pin(cores)
    corpus = load(corpus_path, limit)
    result: dict[str, Any] = {
        "method": method,
        "docs": len(corpus.texts),
        "bytes": corpus.bytes,
        "cores": cores,
    }
    if method in RUN_METHODS or method == "run_baseline":
        if method == "run_baseline":  # an earlier commit's code, checked out by the parent
            sys.path.insert(0, os.environ["DEDUP_BASELINE_TREE"])
        import dedup

        with tempfile.TemporaryDirectory() as tmp:
            source = (
                corpus.path if corpus.path is not None and limit is None else _write_jsonl(corpus, Path(tmp))
            )
            times = []
            for k in range(repeats + 1):  # the first run warms the fold table and the page cache
                out = Path(tmp) / f"out{k}"
                out.mkdir()
                start = time.perf_counter()
                if method.startswith("run_ours") or method == "run_baseline":
                    lean = ["lsh.verify=estimate", "lsh.containment=null", "lsh.figures=false"]
                    config = dedup.config_from_dict(
                        {"input": {"paths": [str(source)]}, "output": {"dir": str(out)}, "workers": cores},
                        overrides=lean if method == "run_ours_lean" else [],
                    )
                    report = dedup.run(config)
                    result["stages"] = report.timings
                    result["kept"] = report.kept
                else:
                    result.update(_script_run(method, source, out))
                times.append(time.perf_counter() - start)
            result["times"] = times[1:]
        return result
    joined, texts = _cleaned(corpus)
    fn = _lsh_fn(method, joined) if method in LSH_METHODS else _signature_fn(method, joined, texts)
    fn()  # warm-up: imports, compilation caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    result["times"] = times
    if method in ("ours", "ours_2w"):
        result["parts"] = _parts(joined, cores, repeats)
    return result


def _parts(joined: Any, workers: int, repeats: int) -> dict[str, float]:
    """Median seconds of the two halves of our signature path, for the profile."""
    from dedup import minhash, normalize

    cfg = minhash.MinHashConfig(num_perm=NUM_PERM)
    fold, sign = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        forms = normalize.hashing_forms(joined, workers=workers)
        middle = time.perf_counter()
        minhash.sign_forms(forms, NGRAM, cfg, workers=workers)
        fold.append(middle - start)
        sign.append(time.perf_counter() - middle)
    return {
        "hashing form (fold kernel)": statistics.median(fold),
        "signature kernel": statistics.median(sign),
    }


# ----------------------------------------------------------------------------- parent


def _run_child_rss(method: str, args: argparse.Namespace, repeats: int) -> dict[str, Any] | None:
    """Run one method in a child process; return its result with the child's peak RSS (from wait4)."""
    command = [sys.executable, __file__, "--child", method, "--repeats", str(repeats)]
    if args.corpus:
        command += ["--corpus", args.corpus]
    if args.limit:
        command += ["--limit", str(args.limit)]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if os.waitstatus_to_exitcode(status) != 0 or not stdout.strip():
        last = stderr.strip().splitlines()[-1] if stderr.strip() else "no output"
        print(f"  {method}: failed ({last})", flush=True)
        return None
    result: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    result["peak_rss_mb"] = usage.ru_maxrss / 1024  # Linux reports KiB
    return result


def _cold_cli(args: argparse.Namespace, corpus: Corpus, repeats: int) -> dict[str, Any]:
    """Wall time of `dedup run` as a fresh process (imports, reading, writing)."""
    dedup_bin = Path(sys.executable).with_name("dedup")
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        source = (
            corpus.path if corpus.path is not None and not args.limit else _write_jsonl(corpus, Path(tmp))
        )
        for k in range(repeats + 1):
            command = [str(dedup_bin), "run", str(ROOT / "configs" / "news.yaml"), "-q",
                       "--set", f"input.paths=[{source}]", "--set", f"output.dir={tmp}/cli{k}", "--set", "workers=1"]  # fmt: skip
            if hasattr(os, "sched_setaffinity"):
                command = ["taskset", "-c", str(min(os.sched_getaffinity(0))), *command]
            start = time.perf_counter()
            subprocess.run(command, check=True)
            times.append(time.perf_counter() - start)
    return {
        "method": "cli_cold",
        "docs": len(corpus.texts),
        "bytes": corpus.bytes,
        "cores": 1,
        "times": times[1:],
    }


def _row(result: dict[str, Any]) -> dict[str, Any]:
    median = statistics.median(result["times"])
    mb = result["bytes"] / 1e6
    return {
        **result,
        "median_s": median,
        "mb_s_core": mb / median / result["cores"],
        "mb_s": mb / median,
        "docs_s": result["docs"] / median,
    }


def _table(rows: list[dict[str, Any]], labels: dict[str, str], ours: str) -> list[str]:
    lines = [
        "| method | docs | repeats | median s | MB/s | MB/s per core | docs/s | peak RSS MB | ours is x faster |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    base = next((r for r in rows if r["method"] == ours), None)
    for r in rows:
        # Peers measured on a subset are compared by rate (docs/s), the same work per document;
        # our own rows get no ratio.
        mine = r["method"].startswith(("ours", "run_ours", "lsh_ours", "cli"))
        ratio = f"{base['docs_s'] / r['docs_s']:,.2f}x" if base and not mine else "-"
        rss = f"{r['peak_rss_mb']:,.0f}" if "peak_rss_mb" in r else "-"
        lines.append(
            f"| {r.get('label') or labels.get(r['method'], r['method'])} | {r['docs']:,} | {len(r['times'])} | {r['median_s']:.3f} | "
            f"{r['mb_s']:,.1f} | {r['mb_s_core']:,.1f} | {r['docs_s']:,.0f} | {rss} | "
            f"{ratio} |"
        )
    return lines


def _plot(signature_rows: list[dict[str, Any]], run_rows: list[dict[str, Any]], path: Path) -> None:
    """Two panels, one row per method: wall-clock throughput (the bar) and, beside it, per core.

    Labels are wrapped, never cut; each bar is annotated with its wall MB/s, the cores it used
    and MB/s per core, so a 2-worker row shows both its (higher or lower) wall rate and what each
    core did.
    """
    import textwrap

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    panels = (
        (signature_rows, "MinHash signatures (128 perms, word 5-grams)", SIGNATURE_METHODS),
        (
            run_rows,
            "Whole dedup run (read, clean, sign, LSH, verify, write)",
            {**RUN_METHODS, "cli_cold": "`dedup run` CLI, cold process, 1 core"},
        ),
    )
    heights = [max(3.0, 0.62 * len(rows) + 1.4) for rows, _, _ in panels]
    fig, axes = plt.subplots(2, 1, figsize=(12, sum(heights)), gridspec_kw={"height_ratios": heights})
    for ax, (rows, title, labels) in zip(axes, panels, strict=True):
        names = [
            "\n".join(
                textwrap.wrap((r.get("label") or labels.get(r["method"], r["method"])).replace("`", ""), 46)
            )
            for r in rows
        ]
        wall = [r["mb_s"] for r in rows]
        colors = [
            "#d95f02"
            if r["method"].startswith(("ours", "run_ours", "cli"))
            else "#bbbbbb"
            if r["method"] == "run_baseline"
            else "#7570b3"
            for r in rows
        ]
        bars = ax.barh(range(len(rows)), wall, color=colors, height=0.6)
        ax.set_yticks(range(len(rows)), names, fontsize=9)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_xlabel("MB of text per second, wall clock (log scale)", fontsize=10)
        ax.set_title(title, fontsize=11, loc="left")
        ax.grid(axis="x", alpha=0.3, which="major")
        for bar, r in zip(bars, rows, strict=True):
            cores = int(r["cores"])
            note = f"{r['mb_s']:,.1f} MB/s" + (
                f" on {cores} cores = {r['mb_s_core']:,.1f} per core" if cores > 1 else " (1 core)"
            )
            ax.text(bar.get_width() * 1.08, bar.get_y() + bar.get_height() / 2, note, va="center", fontsize=9)
        ax.set_xlim(min(wall) / 2, max(wall) * 40)
        ax.legend(
            handles=[
                Patch(color="#d95f02", label="dedup"),
                Patch(color="#bbbbbb", label="dedup, an earlier commit"),
                Patch(color="#7570b3", label="other tools"),
            ],
            loc="upper right",
            fontsize=9,
        )
    fig.text(
        0.01,
        0.005,
        "Bars are wall-clock throughput; a row on 2 cores also gives MB/s per core. "
        "The machine (2 cores) is shared: the same row moves 10-20% from run to run.",
        fontsize=8,
        color="#444",
    )
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--corpus", help="JSONL(.gz) with id and text; default Reuters-21578 from ../shared/data"
    )
    parser.add_argument("--limit", type=int, help="use only the first N records")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--slow-limit", type=int, default=0, help="records for the slowest peers (0: all)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", default=str(REPORTS))
    parser.add_argument("--render", action="store_true", help="rewrite the report from speed.json")
    parser.add_argument("--baseline", help="a git commit whose `dedup.run` to time beside ours")
    args = parser.parse_args()
    if args.render:
        render(json.loads((Path(args.out) / "speed.json").read_text(encoding="utf-8")), Path(args.out))
        return
    if args.child:
        print(json.dumps(child(args.child, args.corpus, args.limit, args.repeats)))
        return

    corpus = load(args.corpus, args.limit)
    print(f"corpus: {corpus.name}, {len(corpus.texts):,} records, {corpus.bytes / 1e6:.1f} MB", flush=True)
    signature_rows, run_rows, lsh_rows = [], [], []
    for method in SIGNATURE_METHODS:
        sub = argparse.Namespace(**vars(args))
        repeats = args.repeats
        if method in SLOW:
            if args.slow_limit:
                sub.limit = min(args.limit or args.slow_limit, args.slow_limit)
            repeats = 1
        print(f"signatures: {method}", flush=True)
        result = _run_child_rss(method, sub, repeats)
        if result:
            signature_rows.append(_row(result))
    for method in LSH_METHODS:
        print(f"lsh: {method}", flush=True)
        result = _run_child_rss(method, args, 3 if method == "lsh_ours" else 1)
        if result:
            lsh_rows.append(_row(result))
    for method in RUN_METHODS:
        print(f"run: {method}", flush=True)
        result = _run_child_rss(method, args, 3 if method.startswith("run_ours") else 1)
        if result:
            run_rows.append(_row(result))
    if args.baseline:
        print(f"run: baseline {args.baseline}", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            tree = Path(tmp) / "baseline"
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), args.baseline],
                check=True,
                capture_output=True,
            )
            os.environ["DEDUP_BASELINE_TREE"] = str(tree)
            try:
                result = _run_child_rss("run_baseline", args, 3)
            finally:
                subprocess.run(
                    ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                    check=False,
                    capture_output=True,
                )
        if result:
            run_rows.append(
                {**_row(result), "label": f"`dedup.run` at {args.baseline}, 1 core (before the keep step)"}
            )
    print("run: cli_cold", flush=True)
    run_rows.append(_row(_cold_cli(args, corpus, 3)))
    results = {
        "corpus": {"name": corpus.name, "records": len(corpus.texts), "mb": corpus.bytes / 1e6},
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "slow_limit": args.slow_limit,
        "signatures": signature_rows,
        "lsh": lsh_rows,
        "runs": run_rows,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "speed.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    render(results, out)


def _targets(results: dict[str, Any]) -> list[str]:
    """The issue's targets beside what this run measured."""
    sig = {r["method"]: r for r in results["signatures"]}
    runs = {r["method"]: r for r in results["runs"]}
    rows: list[tuple[str, str, float | None, float]] = []

    def rate(table: dict[str, Any], method: str, key: str = "mb_s_core") -> float | None:
        return float(table[method][key]) if method in table else None

    ours = rate(sig, "ours")
    rows.append(("signatures, MB/s per core (hashing form + kernel)", ">= 100", ours, 100))
    for peer, label, goal in (
        ("rensa_update", "rensa", 5.0),
        ("datasketch_update", "datasketch `update`", 200.0),
    ):
        ratio = ours / rate(sig, peer) if ours and rate(sig, peer) else None  # type: ignore[operator]
        rows.append((f"signatures vs {label}", f">= {goal:.0f}x", ratio, goal))
    last = runs.get("run_ours", {}).get("stages")
    share = None
    if last:
        share = 100 * (last.get("candidates", 0) + last.get("cluster", 0)) / last["sign"]
    rows.append(("banding + candidates + clustering, % of signature time", "< 10", share, -10))
    rows.append(("whole `dedup run`, MB/s per core (defaults)", ">= 25", rate(runs, "run_ours"), 25))
    rows.append(("whole `dedup run`, MB/s per core (Jaccard only)", ">= 25", rate(runs, "run_ours_lean"), 25))
    two = rate(sig, "ours_2w", "mb_s")
    one = rate(sig, "ours", "mb_s")
    rows.append(("signatures, 2 workers / 1", ">= 1.8x", two / one if two and one else None, 1.8))
    two_run, one_run = rate(runs, "run_ours_2w", "mb_s"), rate(runs, "run_ours", "mb_s")
    rows.append(
        ("whole run, 2 workers / 1", ">= 1.8x", two_run / one_run if two_run and one_run else None, 1.8)
    )
    lines = ["| target | goal | measured | met |", "|---|---|---:|---|"]
    for name, goal_text, value, goal in rows:
        if value is None:
            lines.append(f"| {name} | {goal_text} | not measured | - |")
            continue
        met = value < -goal if goal < 0 else value >= goal
        lines.append(f"| {name} | {goal_text} | {value:,.2f} | {'yes' if met else '**no**'} |")
    return lines


def render(results: dict[str, Any], out: Path) -> None:
    """Write speed.md and speed.png from measured results."""
    signature_rows, lsh_rows, run_rows = results["signatures"], results["lsh"], results["runs"]
    _plot(signature_rows, run_rows, out / "speed.png")
    ours_run = next((r for r in run_rows if r["method"] == "run_ours"), None)
    corpus = results["corpus"]
    slow_limit = results["slow_limit"]
    lines = [
        "# Speed: MinHash signatures and whole dedup runs",
        "",
        f"Corpus: **{corpus['name']}**, {corpus['records']:,} records, {corpus['mb']:.1f} MB of text. "
        f"{NUM_PERM} permutations, word {NGRAM}-grams, threshold {THRESHOLD}.",
        f"Machine: {results['machine']}; measured {results['when']}.",
        "",
        "Regenerate: `.venv/bin/pip install -e '.[dev,bench]' && .venv/bin/python benchmarks/speed.py` "
        "(about 4 minutes; `--render` rewrites this page from `speed.json` without measuring).",
        "",
        "Each row is a child process of its own; 1-core rows are pinned to one core (pyarrow too), "
        "2-worker rows use both. Times are medians of the repeats shown; MB are bytes of raw record text. "
        f"The slowest peers ({', '.join(sorted(SLOW))}) ran once"
        + (f", on the first {slow_limit:,} records (compared by rate, docs/s)" if slow_limit else "")
        + ". Peak RSS is the whole child process (Python, libraries, corpus and cleaned text included). "
        "The machine is shared: the same command gives figures that move by 10-20% from run to run.",
        "",
        "## Targets",
        "",
        *_targets(results),
        "",
        "## Signatures",
        "",
        "Input: the cleaned text of every record (cleaning untimed, the same for all). Peers build word "
        "5-gram shingles in Python (`\\w+` tokens, lowercased) inside their timing; ours folds the text "
        "to its hashing form and signs it inside its timing.",
        "",
        *_table(signature_rows, SIGNATURE_METHODS, "ours"),
        "",
        "## Candidate pairs (LSH) on the same signatures",
        "",
        *_table(lsh_rows, LSH_METHODS, "lsh_ours"),
        "",
        "## Whole run",
        "",
        "Read the JSONL.gz, clean, dedup, write Parquet; `dedup.run` rows are warm (after one run in the "
        "process), the CLI row is a fresh process each time (imports included).",
        "",
        *_table(run_rows, {**RUN_METHODS, "cli_cold": "`dedup run` CLI, cold process, 1 core"}, "run_ours"),
        "",
    ]
    sig = {r["method"]: r for r in signature_rows}
    if "ours" in sig and "ours_2w" in sig and "parts" in sig["ours"] and "parts" in sig["ours_2w"]:
        one, two = sig["ours"]["parts"], sig["ours_2w"]["parts"]
        lines += [
            "## Profile of our signature path",
            "",
            "| part | 1 worker, s | 2 workers, s | speed-up |",
            "|---|---:|---:|---:|",
            *(f"| {k} | {one[k]:.4f} | {two[k]:.4f} | {one[k] / two[k]:.2f}x |" for k in one),
            "",
        ]
    if ours_run and "stages" in ours_run:
        lines += [
            "Where the time of the last 1-core `dedup.run` went (seconds): "
            + ", ".join(f"{k} {v:.3f}" for k, v in ours_run["stages"].items()),
            "",
        ]
    lines += ["![speed](speed.png)", ""]
    (out / "speed.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
