"""The twelve bugs issue 12 planted by hand, planted again: does a test catch each?

    .venv/bin/python benchmarks/planted.py        # about five minutes; writes reports/planted.md

Each bug is one text change to one module, made in a copy of `dedup/` (the compiled kernels
copied along) that the tests import instead of the checkout (`PYTHONPATH`); the test files named
beside it then run (`pytest -x`, in-process tests only). *Caught* means a test failed. Issue 12 found
8 of these 12 uncaught by the whole suite; `benchmarks/mutation.py` covers the same ground with
mutmut's thousands of mutants.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
REPORTS = HERE / "reports"

UNIT = [
    "tests/test_lsh.py",
    "tests/test_cluster.py",
    "tests/test_exact.py",
    "tests/test_report.py",
    "tests/test_work.py",
]
RUNS = ["tests/test_figures.py", "tests/test_keep.py", "tests/test_pipeline.py", "tests/test_table.py"]

#: (what, module, original text, planted text); every original must occur in the module exactly once.
BUGS: list[tuple[str, str, str, str]] = [
    (
        "`jaccard >= threshold` -> `>` in verification",
        "dedup/lsh.py",
        "similar = jaccard >= cfg.threshold",
        "similar = jaccard > cfg.threshold",
    ),
    (
        "`containment >=` -> `>` in verification",
        "dedup/lsh.py",
        "a_in = (share_a >= cfg.containment) & (size_a >= cfg.min_shingles)\n        "
        "b_in = (share_b >= cfg.containment) & (size_b >= cfg.min_shingles)",
        "a_in = (share_a > cfg.containment) & (size_a >= cfg.min_shingles)\n        "
        "b_in = (share_b > cfg.containment) & (size_b >= cfg.min_shingles)",
    ),
    (
        "`max(threshold, short_threshold)` -> `min` (the short-record rule)",
        "dedup/lsh.py",
        "max(cfg.threshold, cfg.short_threshold)",
        "min(cfg.threshold, cfg.short_threshold)",
    ),
    (
        "record positions sorted descending (`cluster.position_rank`)",
        "dedup/cluster.py",
        'sort_keys=[("f", "ascending"), ("l", "ascending"), ("i", "ascending")]',
        'sort_keys=[("f", "descending"), ("l", "descending"), ("i", "descending")]',
    ),
    (
        "accounting check `!=` -> `<` (`Report.check`)",
        "dedup/report.py",
        "if self.read != self.kept + self.duplicates + self.rejected:",
        "if self.read < self.kept + self.duplicates + self.rejected:",
    ),
    (
        "exact digest drops the last byte (`exact.digest`)",
        "dedup/exact.py",
        "hash128(view[bounds[i] : bounds[i + 1]])",
        "hash128(view[bounds[i] : max(bounds[i], bounds[i + 1] - 1)])",
    ),
    (
        "lsh settings left out of the checkpoint key (`engines/local.py::_settings`)",
        "dedup/engines/local.py",
        'for key in ("workers", "progress", "memory_budget", "engine", "spark"):',
        'for key in ("workers", "progress", "memory_budget", "engine", "spark", "lsh"):',
    ),
    (
        "checkpoint piece-size check disabled (`io/work.py::_intact`)",
        "dedup/io/work.py",
        'and path.stat().st_size == about.get("bytes")',
        "and True",
    ),
    (
        "keep-rule tie-breaks reversed (`cluster.rank`)",
        "dedup/cluster.py",
        "order = np.lexsort(tuple(reversed(priorities)))",
        "order = np.lexsort(tuple(priorities))",
    ),
    (
        "positions reversed (the local engine's source order)",
        "dedup/engines/local.py",
        "position = np.arange(len(valid), dtype=np.int64)",
        "position = np.arange(len(valid), dtype=np.int64)[::-1].copy()",
    ),
    (
        "`any` -> `all` in the figures rule (`figures._covered`)",
        "dedup/figures.py",
        "return all(any(x.agrees(y) for y in theirs) for x in mine)",
        "return all(all(x.agrees(y) for y in theirs) for x in mine)",
    ),
    (
        "input contents out of the checkpoint key (`io/work.py::run_key`)",
        "dedup/io/work.py",
        '"inputs": [[f.path, f.bytes, f.xxh3] for f in inputs]',
        '"inputs": [[f.path] for f in inputs]',
    ),
]


def plant(what: str, module: str, old: str, new: str) -> dict[str, object]:
    """Plant one bug in a copy of `dedup/`, run the tests, say whether one failed and which.

    With `old == new` nothing is planted: the control run, which must pass (else a failure on a
    planted bug would say nothing about the bug)."""
    with tempfile.TemporaryDirectory() as tmp:
        # A copy of the checkout's package and tests, run from there: pytest puts the copy first.
        skip = shutil.ignore_patterns("__pycache__", "*.c")
        for folder in ("dedup", "tests", "seeds", "configs"):
            shutil.copytree(ROOT / folder, Path(tmp) / folder, ignore=skip)
        shutil.copy(ROOT / "pyproject.toml", tmp)
        path = Path(tmp) / module
        text = path.read_text(encoding="utf-8")
        assert text.count(old) == 1, f"{module}: the original text of '{what}' is not there exactly once"
        path.write_text(text.replace(old, new), encoding="utf-8")
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "--tb=no", "-rf"]
        command += ["-m", "not processes", "-k", "not redis", *UNIT, *RUNS]
        done = subprocess.run(command, cwd=tmp, env=env, capture_output=True, text=True, check=False)
        probe = [sys.executable, "-c", "import dedup; print(dedup.__file__)"]
        where = subprocess.run(probe, cwd=tmp, env=env, capture_output=True, text=True, check=False).stdout
        assert where.startswith(tmp), f"the tests import {where.strip()}, not the copy"
    failed = [line[7:].split(" - ")[0] for line in done.stdout.splitlines() if line.startswith("FAILED ")]
    caught = done.returncode == 1 and bool(failed)
    return {"bug": what, "module": module, "caught": caught, "by": failed[:1], "exit": done.returncode}


def main() -> None:
    started = time.perf_counter()
    control = plant("nothing planted (control)", BUGS[0][1], BUGS[0][2], BUGS[0][2])
    if control["exit"] != 0:
        raise SystemExit(f"the tests fail with no bug planted: {control['by']}")
    print("control: the tests pass with no bug planted", flush=True)
    results = []
    for bug in BUGS:
        result = plant(*bug)
        print(("caught " if result["caught"] else "MISSED ") + str(result["bug"]), result["by"], flush=True)
        results.append(result)
    caught = sum(bool(r["caught"]) for r in results)
    lines = [
        "# The bugs issue 12 planted, planted again",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} in {time.perf_counter() - started:.0f} s. "
        "Regenerate: `.venv/bin/python benchmarks/planted.py`.",
        "",
        "Each bug is planted alone in a copy of `dedup/`; the unit and whole-run test files "
        f"({', '.join(f'`{t}`' for t in UNIT + RUNS)}) run against it until the first failure. "
        "A control run of the same tests on the same copy with nothing planted passed first.",
        "",
        "| planted bug | module | caught | first failing test |",
        "|---|---|---|---|",
    ]
    for r in results:
        by = ", ".join(f"`{t}`" for t in r["by"]) or "-"  # type: ignore[attr-defined]
        lines.append(f"| {r['bug']} | `{r['module']}` | {'yes' if r['caught'] else '**no**'} | {by} |")
    lines += ["", f"Caught: {caught} of {len(results)}.", ""]
    REPORTS.mkdir(exist_ok=True)
    (REPORTS / "planted.md").write_text("\n".join(lines), encoding="utf-8")
    (REPORTS / "planted.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
