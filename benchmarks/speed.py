"""Speed: whole runs of dedup, rensa, datasketch and text-dedup, each peer at its defaults and at ours.

    .venv/bin/python benchmarks/speed.py                 # Reuters+BBC and its 5-copies corpus, 3 repeats
    .venv/bin/python benchmarks/speed.py --limit 2000    # a quick look: the first 2,000 records (and copies)
    .venv/bin/python benchmarks/speed.py --render        # rewrite speed.md from speed.json

Corpora (`benchmarks/copies.py`): `news-1x` is every record of Reuters-21578 and BBC News; `news-5x`
is each record and four copies of it with word edits (dense groups of five near-duplicates).

Every row is one whole run, timed from its start to its exit: interpreter start, imports,
reading the JSONL.gz, the dedup work and writing its output. CPU is user + system time of every
process the run started (its worker processes adopted and reaped here, `_become_subreaper`); peak
RSS is the largest single process's maximum resident memory (from `wait4`), and memory the largest
total PSS of all its processes, sampled every 0.1 s from /proc. Rows are
interleaved (each repeat runs every method on both corpora, Reuters+BBC first, before the next repeat starts) and the
median of the repeats is reported. Each peer runs twice, in separate rows: at its own documented
defaults, and at dedup's shingles and threshold (lowercased `\\w+` word 3-grams inside paragraphs,
128 permutations, threshold 0.5). The rows say what each one computes (shingles, threshold,
banding, verification) and how many records it kept, which is where their work differs.

Every method runs from compiled bytecode, as a user's runs do from their second on: the harness
compiles dedup's modules first (`_compile_bytecode`). dedup is installed in place (`pip install
-e`), so its modules have no `.pyc` until a run writes them, and a machine with
`PYTHONDONTWRITEBYTECODE` set (this one's shells) never writes them: each run, and the workers'
fork server, would compile them again (0.05 s of a 0.8 s Reuters+BBC run). The peers are
installed as wheels, whose bytecode pip compiles at install.

text-dedup (0.4.0, which pins old versions of common packages) runs from a virtual environment of
its own, `benchmarks/.venv-text-dedup`, made on first use with pip (its MinHash module's
dependencies only). Writes benchmarks/reports/speed.md, speed.json and speed.png.
"""

from __future__ import annotations

import argparse
import compileall
import ctypes
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import copies  # noqa: E402
from corpus import ROOT  # noqa: E402

REPORTS = HERE / "reports"
TEXT_DEDUP_ENV = HERE / ".venv-text-dedup"
TEXT_DEDUP = "text-dedup==0.4.0"
# What text_dedup.minhash imports (its other modules pull in pyspark, TensorFlow models and more).
TEXT_DEDUP_DEPS = ["datasets>=2.17", "click-option-group<0.6", "regex", "rich", "scipy", "xxhash", "tqdm"]
OURS = "word 3-grams (`\\w+`, lowercased, inside paragraphs), 128 perms, threshold 0.5"


@dataclass(frozen=True)
class Method:
    """One row: what runs, and the settings it runs at."""

    label: str
    settings: str
    kind: str  # "dedup", "peer" or "text-dedup"
    args: tuple[str, ...] = ()
    ours: bool = False  # at dedup's shingles and threshold


METHODS = {
    "dedup": Method(
        "dedup, defaults, workers 1",
        "word 3-grams of the hashing form, 128 perms, Jaccard 0.5; bands x rows from the threshold "
        "(26 x 3); every candidate verified exactly on its shingle sets; containment 0.8; figures "
        "rule; keep: first (no record dropped through a third)",
        "dedup",
        ("workers=1",),
        ours=True,
    ),
    "dedup_2w": Method(
        "dedup, defaults, workers 0 (both cores)",
        "as above; shards read by the run's process and cleaned, signed and banded by two worker "
        "processes (input of at least 4 shards' worth of text), the global steps on both cores' threads",
        "dedup",
        ("workers=0",),
        ours=True,
    ),
    "rensa_defaults": Method(
        "rensa 0.5, its defaults",
        "`RMinHashDeduplicator(threshold=0.8, num_perm=128, use_lsh=True)` on `text.split()` words "
        "(its README); bands chosen by rensa; candidates checked on the signature estimate",
        "peer",
        ("rensa", "--tokens", "words", "--threshold", "0.8"),
    ),
    "rensa_ours": Method(
        "rensa 0.5, at ours",
        f"{OURS}; `RMinHashDeduplicator(use_lsh=True)`, bands chosen by rensa; candidates checked on "
        "the signature estimate",
        "peer",
        ("rensa", "--tokens", "ngrams", "--ngram", "3", "--threshold", "0.5"),
        ours=True,
    ),
    "datasketch_defaults": Method(
        "datasketch 2.0, its defaults",
        "`MinHash.bulk` (sha1, 128 perms) on `text.split()` words, `MinHashLSH(threshold=0.9)` (its "
        "default; bands x rows by datasketch); candidates checked on the signature estimate",
        "peer",
        ("datasketch", "--tokens", "words", "--threshold", "0.9"),
    ),
    "datasketch_ours": Method(
        "datasketch 2.0, at ours",
        f"{OURS}; `MinHash.bulk` (sha1), `MinHashLSH` (bands x rows by datasketch); candidates "
        "checked on the signature estimate",
        "peer",
        ("datasketch", "--tokens", "ngrams", "--ngram", "3", "--threshold", "0.5"),
        ours=True,
    ),
    "text_dedup_defaults": Method(
        "text-dedup 0.4, its defaults",
        "`python -m text_dedup.minhash` defaults: word 5-grams of the whole text (split on non-word "
        "characters), 250 perms, threshold 0.7, bands x rows by its optimal_param, documents under 5 "
        "words left out; LSH buckets taken as duplicates (no verification); all cores",
        "text-dedup",
        (),
    ),
    "text_dedup_ours": Method(
        "text-dedup 0.4, at ours",
        "`--ngram 3 --num_perm 128 --threshold 0.5` (its shingles span paragraphs); LSH buckets taken "
        "as duplicates (no verification); all cores",
        "text-dedup",
        ("--ngram", "3", "--num_perm", "128", "--threshold", "0.5"),
        ours=True,
    ),
}


def _text_dedup_python() -> Path | None:
    """The text-dedup environment's interpreter, made on first use; None when it cannot be made."""
    python = TEXT_DEDUP_ENV / "bin" / "python"
    if python.exists():
        return python
    try:
        subprocess.run([sys.executable, "-m", "venv", str(TEXT_DEDUP_ENV)], check=True)
        pip = [str(python), "-m", "pip", "install", "-q"]
        subprocess.run([*pip, "--no-deps", TEXT_DEDUP], check=True)
        subprocess.run([*pip, *TEXT_DEDUP_DEPS], check=True)
    except (OSError, subprocess.CalledProcessError) as err:
        print(f"text-dedup: no environment ({err}); its rows are left out", flush=True)
        shutil.rmtree(TEXT_DEDUP_ENV, ignore_errors=True)
        return None
    return python


def _command(name: str, source: Path, out: Path) -> tuple[list[str], dict[str, str]]:
    method = METHODS[name]
    env = dict(os.environ)
    if method.kind == "dedup":
        sets = [f"input.paths=[{source}]", f"output.dir={out}", *method.args]
        command = [
            str(Path(sys.executable).with_name("dedup")),
            "run",
            str(ROOT / "configs" / "news.yaml"),
            "-q",
        ]
        return [*command, *(x for s in sets for x in ("--set", s))], env
    if method.kind == "peer":
        return [
            sys.executable,
            str(HERE / "peers.py"),
            method.args[0],
            str(source),
            str(out),
            *method.args[1:],
        ], env
    python = _text_dedup_python()
    assert python is not None
    env.update(HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1", TQDM_DISABLE="1")
    io = [
        "--path",
        "json",
        "--data_files",
        str(source),
        "--split",
        "train",
        "--cache_dir",
        str(out / "cache"),
    ]
    return [
        str(python),
        "-m",
        "text_dedup.minhash",
        *io,
        "--output",
        str(out / "dedup"),
        "--column",
        "text",
        *method.args,
    ], env


def _kept(name: str, out: Path, stdout: str) -> tuple[int | None, dict[str, float]]:
    """Records the method kept (and, for dedup, its stage timings)."""
    kind = METHODS[name].kind
    if kind == "dedup":
        report = json.loads((out / "report.json").read_text(encoding="utf-8"))
        return int(report["kept"]), dict(report["timings"])
    if kind == "peer":
        return int(json.loads(stdout.strip().splitlines()[-1])["kept"]), {}
    import pyarrow as pa

    rows = 0
    for part in sorted((out / "dedup").glob("*.arrow")):
        with pa.memory_map(str(part)) as source:
            rows += pa.ipc.open_stream(source).read_all().num_rows
    return rows, {}


def _compile_bytecode() -> None:
    """Compile dedup's modules to bytecode (`__pycache__`, ignored by git), as a first run would."""
    compileall.compile_dir(ROOT / "dedup", quiet=1)


def _become_subreaper() -> None:
    """Adopt the orphans of measured processes (Linux `PR_SET_CHILD_SUBREAPER`), so they are counted.

    A process started by a fork server (dedup's workers, forked by the server that multiprocessing
    starts) is no child the measured process waits for: its CPU time reaches us only when its
    parent is reaped, and that parent outlives the measured process. Adopted, it is reaped here.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


def _tree(pid: int) -> list[int]:
    """`pid` and its descendants alive now (from /proc/<pid>/task/<tid>/children)."""
    found, stack = [], [pid]
    while stack:
        at = stack.pop()
        found.append(at)
        try:
            for task in os.listdir(f"/proc/{at}/task"):
                with open(f"/proc/{at}/task/{task}/children", encoding="ascii") as handle:
                    stack.extend(int(c) for c in handle.read().split())
        except OSError:
            continue
    return found


def _pss_bytes(pids: list[int]) -> int:
    """The proportional set size of `pids` together (shared pages split between the processes)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as handle:
                for row in handle:
                    if row.startswith("Pss:"):
                        total += int(row.split()[1]) * 1024
                        break
        except OSError:
            continue
    return total


class _MemorySampler(threading.Thread):
    """The largest PSS of all processes under ours (the harness excluded), sampled every 0.1 s."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0
        self.done = threading.Event()

    def run(self) -> None:
        me = os.getpid()
        while not self.done.wait(0.1):
            self.peak = max(self.peak, _pss_bytes([p for p in _tree(me) if p != me]))


def measure(name: str, source: Path, work: Path) -> dict[str, Any] | None:
    """Run one method on one corpus as a process of its own; wall, CPU, memory, records kept.

    CPU is the user + system time of every process the command started, its workers included
    (`_become_subreaper`); `peak_rss_mb` is the largest single process's peak resident memory and
    `peak_pss_mb` the largest total of all its processes' PSS, sampled every 0.1 s.
    """
    out = work / f"{name}-{source.stem}"
    shutil.rmtree(out, ignore_errors=True)
    command, env = _command(name, source, out)
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        sampler = _MemorySampler()
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr, env=env, text=True)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        cpu, rss = usage.ru_utime + usage.ru_stime, usage.ru_maxrss
        while True:  # the orphans (a fork server and what it forked) once they end, adopted
            try:
                _, _, more = os.wait4(-1, 0)
            except ChildProcessError:
                break
            cpu, rss = cpu + more.ru_utime + more.ru_stime, max(rss, more.ru_maxrss)
        sampler.done.set()
        sampler.join()
        stdout.seek(0)
        stderr.seek(0)
        said, errors = stdout.read(), stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        last = errors.strip().splitlines()[-1] if errors.strip() else "no output"
        print(f"  {name} on {source.name}: failed ({last})", flush=True)
        return None
    kept, stages = _kept(name, out, said)
    shutil.rmtree(out, ignore_errors=True)
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "peak_rss_mb": rss / 1024,  # MiB (Linux reports KiB)
        "peak_pss_mb": sampler.peak / 2**20 if sampler.peak else None,  # MiB, as the RSS
        "kept": kept,
        "stages": stages,
    }


def _records(path: Path) -> tuple[int, int]:
    import gzip

    count = size = 0
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            count += 1
            size += len(json.loads(line)["text"].encode("utf-8"))
    return count, size


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--limit", type=int, help="only the first N records of Reuters+BBC (and their copies)"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--methods", default=",".join(METHODS), help="comma-separated, of: " + ", ".join(METHODS)
    )
    parser.add_argument("--corpora", type=Path, default=Path(tempfile.gettempdir()) / "dedup-speed")
    parser.add_argument("--out", type=Path, default=REPORTS)
    parser.add_argument("--render", action="store_true", help="rewrite the report from speed.json")
    args = parser.parse_args()
    if args.render:
        render(json.loads((args.out / "speed.json").read_text(encoding="utf-8")), args.out)
        return
    names = [m for m in args.methods.split(",") if m]
    unknown = [m for m in names if m not in METHODS]
    if unknown:
        parser.error(f"unknown methods: {', '.join(unknown)}")
    if any(METHODS[m].kind == "text-dedup" for m in names) and _text_dedup_python() is None:
        names = [m for m in names if METHODS[m].kind != "text-dedup"]
    _compile_bytecode()
    _become_subreaper()
    one, five = copies.write(args.corpora, limit=args.limit)
    corpora = {"1x": one, "5x": five}
    sizes = {label: _records(path) for label, path in corpora.items()}
    for label, (count, size) in sizes.items():
        print(f"{label}: {count:,} records, {size / 1e6:.1f} MB of text", flush=True)
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {m: {"1x": [], "5x": []} for m in names}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for name in names:
                for label, path in corpora.items():
                    print(f"repeat {repeat + 1}/{args.repeats}: {name} on {label}", flush=True)
                    result = measure(name, path, Path(tmp))
                    if result is not None:
                        runs[name][label].append(result)
    results = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "cores": os.cpu_count(),
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "limit": args.limit,
        "repeats": args.repeats,
        "corpora": {label: {"records": c, "mb": s / 1e6} for label, (c, s) in sizes.items()},
        "methods": {
            name: {"label": METHODS[name].label, "settings": METHODS[name].settings, "runs": runs[name]}
            for name in names
        },
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "speed.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    render(results, args.out)


def _median(runs: list[dict[str, Any]], key: str) -> float | None:
    return statistics.median(r[key] for r in runs) if runs else None


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _summary(results: dict[str, Any]) -> dict[str, dict[str, dict[str, float | None]]]:
    """Medians per method and corpus."""
    out: dict[str, dict[str, dict[str, float | None]]] = {}
    for name, entry in results["methods"].items():
        out[name] = {}
        for label in ("1x", "5x"):
            runs = entry["runs"][label]
            kept = sorted({r["kept"] for r in runs})
            out[name][label] = {
                "wall_s": _median(runs, "wall_s"),
                "cpu_s": _median(runs, "cpu_s"),
                "peak_rss_mb": _median(runs, "peak_rss_mb"),
                "peak_pss_mb": _median([r for r in runs if r.get("peak_pss_mb")], "peak_pss_mb"),
                "kept": float(kept[0]) if len(kept) == 1 else None,
                "repeats": float(len(runs)),
            }
    return out


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _targets(summary: dict[str, dict[str, dict[str, float | None]]]) -> list[str]:
    """Issue 13's targets, each computed from the rows it names."""

    def wall(name: str, label: str) -> float | None:
        return summary.get(name, {}).get(label, {}).get("wall_s")

    rows = [
        (
            "rensa at ours, wall / dedup defaults (workers 0, both cores), wall (Reuters+BBC)",
            ">= 2x",
            _ratio(wall("rensa_ours", "1x"), wall("dedup_2w", "1x")),
            2.0,
        ),
        (
            "rensa at ours, wall / dedup defaults (workers 0, both cores), wall (5 copies)",
            ">= 3x",
            _ratio(wall("rensa_ours", "5x"), wall("dedup_2w", "5x")),
            3.0,
        ),
        (
            "rensa at ours, wall / dedup workers 1, wall (Reuters+BBC)",
            ">= 2x",
            _ratio(wall("rensa_ours", "1x"), wall("dedup", "1x")),
            2.0,
        ),
        (
            "rensa at ours, wall / dedup workers 1, wall (5 copies)",
            ">= 3x",
            _ratio(wall("rensa_ours", "5x"), wall("dedup", "5x")),
            3.0,
        ),
        (
            "dedup workers 1: wall 5 copies / wall Reuters+BBC",
            "<= 5.5x",
            _ratio(wall("dedup", "5x"), wall("dedup", "1x")),
            -5.5,
        ),
        (
            "dedup defaults (workers 0): wall 5 copies / wall Reuters+BBC",
            "<= 5.5x",
            _ratio(wall("dedup_2w", "5x"), wall("dedup_2w", "1x")),
            -5.5,
        ),
        (
            "dedup workers 1, wall / dedup workers 0 (both cores), wall (5 copies)",
            ">= 1.7x",
            _ratio(wall("dedup", "5x"), wall("dedup_2w", "5x")),
            1.7,
        ),
    ]
    lines = ["| target | goal | measured | met |", "|---|---|---:|---|"]
    for text, goal_text, value, goal in rows:
        if value is None:
            lines.append(f"| {text} | {goal_text} | not measured | - |")
            continue
        met = value <= -goal if goal < 0 else value >= goal
        lines.append(f"| {text} | {goal_text} | {value:.2f}x | {'yes' if met else '**no**'} |")
    return lines


def _cores(results: dict[str, Any]) -> int:
    """The measuring machine's cores (older results name them only in `machine`)."""
    if "cores" in results:
        return int(results["cores"])
    return int(results["machine"].split(", ")[1].split()[0])


def _bound(summary: dict[str, dict[str, dict[str, float | None]]], cores: int) -> list[str]:
    """What the workers target can reach on this machine, from the rows' own CPU seconds."""
    one, both = summary.get("dedup", {}).get("5x", {}), summary.get("dedup_2w", {}).get("5x", {})
    wall_one, cpu_one, cpu_both = one.get("wall_s"), one.get("cpu_s"), both.get("cpu_s")
    if wall_one is None or cpu_one is None or cpu_both is None:
        return []
    least = cpu_both / cores
    return [
        f"A run cannot take less wall time than its CPU time spread over every core. On {cores} "
        f"cores the `workers 0` run on 5 copies, at {cpu_both:.2f} s of CPU, takes at least "
        f"{least:.2f} s; `workers 1` / `workers 0` is therefore at most {wall_one / least:.2f}x on "
        f"this machine, with every core busy from start to exit. The `workers 1` run keeps "
        f"{cpu_one / wall_one:.2f} cores busy on its own ({cpu_one:.2f} s of CPU in {wall_one:.2f} s: "
        "Arrow's threads and the Parquet encoder's), and the two workers' run does more work "
        "than it (shards handed over and read back, the fork server's imports).",
    ]


def render(results: dict[str, Any], out: Path) -> None:
    """Write speed.md (and speed.png) from measured results."""
    summary = _summary(results)
    corpora = results["corpora"]
    limit = results.get("limit")
    lines = [
        "# Speed: whole runs, like for like",
        "",
        f"Corpora: **Reuters+BBC** ({corpora['1x']['records']:,} records, {corpora['1x']['mb']:.1f} MB of text) and "
        f"**5 copies** of it with word edits ({corpora['5x']['records']:,} records, {corpora['5x']['mb']:.1f} MB), "
        "from `benchmarks/copies.py`" + (f", limited to the first {limit:,} records" if limit else "") + ".",
        f"Machine: {results['machine']}; measured {results['when']}; median of {results['repeats']} interleaved repeats.",
        "",
        "Regenerate: `.venv/bin/pip install -e '.[dev,bench]' && .venv/bin/python benchmarks/speed.py` "
        "(`--render` rewrites this page from `speed.json`).",
        "",
        "Every row is one whole run (start, imports, read, dedup, write), wall clock; CPU is user + "
        "system time of every process the run started (worker processes included, adopted and "
        "reaped by the harness); peak RSS the largest single process's maximum resident memory, and "
        "memory the largest total PSS of all the run's processes together, sampled every 0.1 s. Peers run "
        "at their own documented defaults and, in separate rows, at dedup's shingles and threshold "
        f"({OURS}); what each row computes is in the settings table, and how many records each kept "
        "shows where the work differs. Every method runs from compiled bytecode, as a user's runs do "
        "from their second on (the harness compiles dedup's modules first; the peers' wheels are "
        "compiled at install). Each repeat runs the methods in the order of the tables, each on "
        "Reuters+BBC and then on 5 copies, so every method's 5-copies run follows its own "
        "Reuters+BBC run.",
        "",
        "## Targets",
        "",
        *_targets(summary),
        "",
        *(line for text in _bound(summary, _cores(results)) for line in (text, "")),
        "## Whole runs",
        "",
        "| method | Reuters+BBC wall s | CPU s | peak RSS MiB | memory MiB | kept | 5 copies wall s | CPU s | peak RSS MiB | memory MiB | kept | growth 1x -> 5x, wall | growth, CPU |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, entry in results["methods"].items():
        one, five = summary[name]["1x"], summary[name]["5x"]
        kept_1, kept_5 = one["kept"], five["kept"]
        lines.append(
            f"| {entry['label']} | {_fmt(one['wall_s'])} | {_fmt(one['cpu_s'])} | {_fmt(one['peak_rss_mb'], 0)} | "
            f"{_fmt(one['peak_pss_mb'], 0)} | {_fmt(kept_1, 0)} | {_fmt(five['wall_s'])} | {_fmt(five['cpu_s'])} | "
            f"{_fmt(five['peak_rss_mb'], 0)} | {_fmt(five['peak_pss_mb'], 0)} | "
            f"{_fmt(kept_5, 0)} | {_fmt(_ratio(five['wall_s'], one['wall_s']))}x | "
            f"{_fmt(_ratio(five['cpu_s'], one['cpu_s']))}x |"
        )
    lines += ["", "## Settings of each row", "", "| method | settings |", "|---|---|"]
    lines += [f"| {e['label']} | {e['settings']} |" for e in results["methods"].values()]
    for name in ("dedup", "dedup_2w"):
        entry = results["methods"].get(name)
        if not entry:
            continue
        for label in ("1x", "5x"):
            runs = entry["runs"][label]
            if runs:
                stages = runs[-1]["stages"]
                lines += [
                    "",
                    f"Stages of the last `{entry['label']}` run on {'Reuters+BBC' if label == '1x' else '5 copies'} "
                    "(seconds, from its report.json): "
                    + ", ".join(f"{k} {v:.3f}" for k, v in stages.items()),
                ]
    lines += ["", "![speed](speed.png)", ""]
    _plot(results, summary, out / "speed.png")
    (out / "speed.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


def _plot(results: dict[str, Any], summary: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results["methods"])
    labels = [results["methods"][n]["label"] for n in names]
    fig, ax = plt.subplots(figsize=(10, 0.6 * len(names) + 1.5))
    for offset, (corpus, color) in enumerate((("1x", "#1b9e77"), ("5x", "#d95f02"))):
        values = [summary[n][corpus]["wall_s"] or 0.0 for n in names]
        bars = ax.barh([i + offset * 0.4 for i in range(len(names))], values, height=0.38, color=color,
                       label="Reuters+BBC" if corpus == "1x" else "5 copies")  # fmt: skip
        ax.bar_label(bars, labels=[f"{v:.1f} s" if v else "-" for v in values], fontsize=8, padding=3)
    ax.set_yticks([i + 0.2 for i in range(len(names))], labels, fontsize=9)
    ax.invert_yaxis()
    ax.set_xlabel("wall seconds, whole process (median)")
    ax.legend(loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
