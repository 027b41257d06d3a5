"""Mutation testing of the modules that decide what is dropped and what is reused.

    .venv/bin/pip install -e '.[dev,mutation]' && .venv/bin/python benchmarks/mutation.py
    .venv/bin/python benchmarks/mutation.py --report     # rewrite the report from the last run

mutmut (configured in `pyproject.toml`, `[tool.mutmut]`) copies `dedup/` into `mutants/`, plants one
small bug at a time in the modules below (a comparison flipped, a constant changed, an argument
dropped, a branch removed...) and runs the tests that reach the mutated function, in-process
(tests that run dedup in a child process are left out: the child would not see the mutant). A
mutant is *killed* when a test fails, crashes or hangs on it. Each survivor is listed in the report
with its diff and why it is left: an equivalent mutant (no input can tell it from the original), or
what a test would have to do to catch it.

The compiled kernels (`dedup/_kernels.pyx`: settle, shingle sets, pair overlaps, band keys, bucket
pairs, fold, sign) are not mutated: mutmut reads Python only. They are held to plain-Python
references by property tests instead (`tests/test_kernels.py`, `tests/test_cluster.py`'s keep step
against `_reference`).

About 3,900 mutants in scope; on two cores mutmut gets through 15 to 60 a minute (the readers' 1,082
in 32 minutes, the figures rule's 482 in 8; `dedup/resolve.py`'s 960, whose tests run whole
pipelines, at about 12 a minute): three to four hours for all. mutmut keeps each mutant's result in
`mutants/` and, on a later run, tests again only the functions whose code changed. `--first` runs,
batch by batch, only the functions that decide a drop or a reuse (`FIRST`: verification, the
accounting check, exact digests, checkpoint keys, the keep step and its ranks...); `--first 2` the
first two batches alone. Writes benchmarks/reports/mutation.md and mutation.json.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
REPORTS = HERE / "reports"
sys.path.insert(0, str(HERE))

from mutation_notes import BY_FUNCTION, NOTES  # noqa: E402

#: Module -> (what it decides, the mutant name patterns in scope).
SCOPE: dict[str, tuple[str, tuple[str, ...]]] = {
    "dedup/lsh.py": (
        "verification: threshold, short records, containment and its direction",
        ("dedup.lsh.*",),
    ),
    "dedup/cluster.py": ("groups and keep rules: ranks, the keep step (`settle`)", ("dedup.cluster.*",)),
    "dedup/resolve.py": (
        "the global steps: candidates, figures on the pairs the keep step drops on, the check of every drop",
        ("dedup.resolve.*",),
    ),
    "dedup/figures.py": ("the figures rule", ("dedup.figures.*",)),
    "dedup/report.py": ("the accounting check", ("dedup.report.*",)),
    "dedup/exact.py": ("exact digests and groups", ("dedup.exact.*",)),
    "dedup/engines/local.py": (
        "checkpoint keys: `_settings` and `_Run.start` only (the rest of the engine is wiring)",
        ("dedup.engines.local.x__settings*", "dedup.engines.local.xǁ_Runǁstart*"),
    ),
    "dedup/io/work.py": ("checkpoint reuse: markers, sizes and digests", ("dedup.io.work.*",)),
    "dedup/io/readers.py": ("readers and their reject paths", ("dedup.io.readers.*",)),
    "dedup/io/fastjson.py": ("the JSONL fast path and when it declines", ("dedup.io.fastjson.*",)),
    "dedup/io/fields.py": ("pass-through fields, what cannot be stored", ("dedup.io.fields.*",)),
}
KILLED = {"killed", "timeout", "segfault"}  # a test failed, hung or crashed: the bug was seen


def _status(code: int | None) -> str:
    from mutmut.stats import status_by_exit_code

    return str(status_by_exit_code[code])


def _in_scope(name: str, patterns: tuple[str, ...]) -> bool:
    import fnmatch

    return any(fnmatch.fnmatch(name, p) for p in patterns)


GROUPS = [
    [
        "dedup/lsh.py",
        "dedup/cluster.py",
        "dedup/report.py",
        "dedup/exact.py",
        "dedup/io/work.py",
        "dedup/engines/local.py",
    ],
    ["dedup/figures.py", "dedup/resolve.py"],
    ["dedup/io/readers.py", "dedup/io/fastjson.py", "dedup/io/fields.py"],
]

#: The functions that decide a drop or a reuse, in the order `--first` runs them (each batch is one
#: `mutmut run`, so a run stopped between batches leaves whole functions tested).
FIRST: list[tuple[str, list[str]]] = [
    (
        "verification, the accounting check, exact digests, checkpoint keys and the piece check",
        [
            "dedup.lsh.x_verify__mutmut_*",
            "dedup.report.*",
            "dedup.exact.*",
            "dedup.io.work.x_run_key__mutmut_*",
            "dedup.io.work.x__intact__mutmut_*",
            "dedup.io.work.x__about__mutmut_*",
            "dedup.engines.local.x__settings__mutmut_*",
        ],
    ),
    (
        "the keep step and its ranks",
        [
            "dedup.cluster.x_settle__mutmut_*",
            "dedup.cluster.x__best_arc__mutmut_*",
            "dedup.cluster.x_rank__mutmut_*",
            "dedup.cluster.x_position_rank__mutmut_*",
            "dedup.cluster.x_connect__mutmut_*",
        ],
    ),
    (
        "candidates and chunked verdicts; checkpoint reuse; the run's start",
        [
            "dedup.lsh.x_candidates__mutmut_*",
            "dedup.lsh.xǁVerdictǁconcat__mutmut_*",
            "dedup.lsh.x_band__mutmut_*",
            "dedup.io.work.xǁWorkDirǁshard_meta__mutmut_*",
            "dedup.io.work.xǁWorkDirǁload_global__mutmut_*",
            "dedup.io.work.x_describe__mutmut_*",
            "dedup.engines.local.xǁ_Runǁstart__mutmut_*",
        ],
    ),
    (
        "the rest of verification and of the ranks (with batches 1 to 3: dedup/lsh.py and dedup/cluster.py in full)",
        [
            "dedup.lsh.x_estimate_pairs__mutmut_*",
            "dedup.lsh.xǁVerdictǁempty__mutmut_*",
            "dedup.lsh.x_resolve_params__mutmut_*",
            "dedup.lsh.x_exact_overlaps__mutmut_*",
            "dedup.lsh.x_candidate_probability__mutmut_*",
            "dedup.cluster.x_time_rank__mutmut_*",
            "dedup.cluster.x_number_rank__mutmut_*",
            "dedup.cluster.x_value_rank__mutmut_*",
            "dedup.cluster.x__scalar__mutmut_*",
            "dedup.cluster.xǁRankErrorǁ__init____mutmut_*",
        ],
    ),
    (
        "the rest of checkpoint reuse (with batches 1 and 3: dedup/io/work.py in full)",
        [
            "dedup.io.work.xǁWorkDirǁsave_shard__mutmut_*",
            "dedup.io.work.x_load_array__mutmut_*",
            "dedup.io.work.xǁWorkDirǁsave_global__mutmut_*",
            "dedup.io.work.xǁWorkDirǁstaged__mutmut_*",
            "dedup.io.work.x_save_array__mutmut_*",
            "dedup.io.work.x_save_json__mutmut_*",
            "dedup.io.work.xǁWorkDirǁopen__mutmut_*",
            "dedup.io.work.x_save_table__mutmut_*",
            "dedup.io.work.xǁWorkDirǁ__init____mutmut_*",
            "dedup.io.work.xǁWorkDirǁfile_shards__mutmut_*",
            "dedup.io.work.x__atomic__mutmut_*",
            "dedup.io.work.x_load_table__mutmut_*",
            "dedup.io.work.x_load_schema__mutmut_*",
            "dedup.io.work.xǁWorkDirǁfinish_stage__mutmut_*",
            "dedup.io.work.xǁWorkDirǁremove__mutmut_*",
            "dedup.io.work.xǁWorkDirǁfinish_file__mutmut_*",
            "dedup.io.work.xǁWorkDirǁsize__mutmut_*",
            "dedup.io.work.xǁWorkDirǁexists__mutmut_*",
            "dedup.io.work.xǁWorkDirǁshard_file__mutmut_*",
        ],
    ),
]


def _mutmut(workers: int, patterns: list[str]) -> None:
    print("mutmut run", " ".join(patterns), flush=True)
    command = [
        str(Path(sys.executable).with_name("mutmut")),
        "run",
        "--max-children",
        str(workers),
        *patterns,
    ]
    subprocess.run(command, cwd=ROOT, check=True)


def run_mutmut(workers: int, modules: list[str]) -> None:
    """One `mutmut run` per group of modules (each collects which tests reach which function)."""
    for group in GROUPS:
        patterns = [p for module in group if module in modules for p in SCOPE[module][1]]
        if patterns:
            _mutmut(workers, patterns)


def _function(name: str) -> str:
    return name.rsplit("__mutmut_", 1)[0]


def collect() -> dict[str, Any]:
    """Every in-scope mutant's status (from `mutants/`), and each survivor's diff."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    modules: dict[str, Any] = {}
    for module, (what, patterns) in SCOPE.items():
        meta = ROOT / "mutants" / f"{module}.meta"
        codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
        scoped = {name: code for name, code in codes.items() if _in_scope(name, patterns)}
        statuses = {name: _status(code) for name, code in scoped.items() if code is not None}
        survivors = []
        for name in sorted(n for n, s in statuses.items() if s not in KILLED):
            diff = get_diff_for_mutant(name, path=Path(module))
            changed = [line for line in diff.splitlines()[2:] if line[:1] in "+-"]
            survivors.append({"name": name, "status": statuses[name], "diff": changed})
        # A function counts when every one of its mutants ran (a run stopped early leaves others
        # partly tested: their results are listed as survivors but left out of the rate).
        functions: dict[str, list[str]] = {}
        for name in scoped:
            functions.setdefault(_function(name), []).append(name)
        complete = sorted(f for f, names in functions.items() if all(n in statuses for n in names))
        partial = sorted(
            f for f, names in functions.items() if f not in complete and any(n in statuses for n in names)
        )
        counted = {n: s for f in complete for n in functions[f] for s in [statuses[n]]}
        counts: dict[str, int] = {}
        for status in counted.values():
            counts[status] = counts.get(status, 0) + 1
        modules[module] = {
            "what": what,
            "patterns": list(patterns),
            "generated": len(scoped),
            "ran": len(statuses),
            "functions": {f: len(functions[f]) for f in sorted(functions)},
            "complete": complete,
            "partial": partial,
            "counts": counts,
            "survivors": survivors,
        }
    return {
        "tool": f"mutmut {importlib.metadata.version('mutmut')}",
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "modules": modules,
    }


def _note(survivor: dict[str, Any]) -> str:
    """Why a survivor is left, from `mutation_notes`: its own note, else its function's note whose
    snippet is in the mutated line (mutant numbers shift when a function changes; the lines do not).
    A note of its own whose snippet no longer matches is flagged."""
    added = [line for line in survivor["diff"] if line.startswith("+")]
    note = NOTES.get(survivor["name"])
    if note is not None and any(note[0] in line for line in added):
        return note[1]
    for snippet, reason in BY_FUNCTION.get(_function(survivor["name"]), []):
        if any(snippet in line for line in added):
            return reason
    if note is not None:
        return f"**note out of date** (expected `{note[0]}`): {note[1]}"
    return "**not explained**"


def _planted() -> list[str]:
    """The bugs issue 12 planted by hand, from `benchmarks/planted.py`'s last run."""
    path = REPORTS / "planted.json"
    if not path.exists():
        return []
    rows = json.loads(path.read_text(encoding="utf-8"))
    lines = [
        "## The bugs issue 12 planted by hand",
        "",
        "Planted again one at a time by `benchmarks/planted.py` (`planted.md`), the tests run against each:",
        "",
        "| planted bug | caught | first failing test |",
        "|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['bug']} | {'yes' if r['caught'] else '**no**'} | {', '.join(f'`{t}`' for t in r['by']) or '-'} |"
        )
    return [*lines, ""]


def _functions_tested(results: dict[str, Any]) -> list[str]:
    """For each module not run in full: which functions the rate covers, and which ran only in part."""
    lines: list[str] = []
    for module, entry in results["modules"].items():
        if len(entry["complete"]) == len(entry["functions"]):
            continue
        left = sum(n for f, n in entry["functions"].items() if f not in entry["complete"])
        named = (
            ", ".join(f"`{f.split('.')[-1]}` ({entry['functions'][f]})" for f in entry["complete"]) or "none"
        )
        lines.append(
            f"- `{module}`: tested in full: {named}; {left:,} mutants of its other functions not counted"
        )
        if entry["partial"]:
            lines[-1] += (
                " (run in part, left out of the rate: "
                + ", ".join(f"`{f.split('.')[-1]}`" for f in entry["partial"])
                + ")"
            )
        lines[-1] += "."
    if lines:
        lines = [
            "## What the rate covers",
            "",
            "Modules not run in full (mutants per function in brackets):",
            "",
            *lines,
            "",
        ]
    return lines


def render(results: dict[str, Any], out: Path) -> tuple[int, int]:
    """Write mutation.md; return (killed, total) over the scope."""
    lines = [
        "# Mutation testing: the modules that decide what is dropped and what is reused",
        "",
        f"Tool: {results['tool']} (`[tool.mutmut]` in `pyproject.toml`); results as recorded in `mutants/` "
        f"at {results['when']}. A mutant that survived and was then killed by a test written for it was run "
        "again by name (`mutmut run <name>`): the table counts each mutant's latest result.",
        "",
        "Run: `.venv/bin/pip install -e '.[dev,mutation]' && .venv/bin/python benchmarks/mutation.py` "
        "(three to four hours on two cores; `--first` tests the functions that decide drops and reuse first, batch by batch; "
        "`--report` rewrites this page from `mutants/`).",
        "",
        *([str(results["note"]), ""] if results.get("note") else []),
        "Each mutant is one small bug planted in a copy of the module; the tests that reach the mutated "
        "function run against it (in-process; tests that run dedup in a child process are left out, see "
        "the `processes` marker). *Killed*: a test failed on it (or hung: *timeout*, or crashed). "
        "*Survived*: every test passed. *No tests*: no selected test reaches the function. The Cython "
        "kernels (`dedup/_kernels.pyx`) are not mutated (mutmut reads Python only); property tests hold "
        "them to plain-Python references (`tests/test_kernels.py`; the keep step in `tests/test_cluster.py`).",
        "",
        "*Tested*: the mutants the kill rate is counted over: those of every function all of whose mutants "
        "ran. Where a module was not run in full, the functions tested are named below the table and the "
        "rate says nothing about the others: it is not a sample of the module, but the functions chosen "
        "first because they decide what is dropped and what is reused.",
        "",
        "*Equivalent*: survivors whose note shows that no input can tell them from the original (a dtype "
        "numpy infers anyway, a default never used); the last column is the mutation score in its usual "
        "sense, killed / (tested - equivalent).",
        "",
        "| module | what it decides | mutants | tested | killed | of which timeout | survived | of which equivalent | no tests | killed % | killed % of non-equivalent |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    total_killed = total = total_equivalent = 0
    below: list[str] = []
    for module, entry in results["modules"].items():
        counts = entry["counts"]
        n = sum(counts.values())
        killed = sum(v for k, v in counts.items() if k in KILLED)
        equivalent = sum(
            1
            for s in entry["survivors"]
            if _function(s["name"]) in entry["complete"] and _note(s).startswith("equivalent")
        )
        total_killed, total, total_equivalent = (
            total_killed + killed,
            total + n,
            total_equivalent + equivalent,
        )
        whole = len(entry["complete"]) == len(entry["functions"])
        tested = (
            "all" if whole else f"{n:,} in {len(entry['complete'])} of {len(entry['functions'])} functions"
        )
        lines.append(
            f"| `{module}` | {entry['what']} | {entry['generated']:,} | {tested} | {killed:,} | "
            f"{counts.get('timeout', 0) + counts.get('segfault', 0)} | {counts.get('survived', 0)} | "
            f"{equivalent} | {counts.get('no tests', 0)} | {f'{100 * killed / n:.1f}' if n else 'not run'} | "
            f"{f'{100 * killed / (n - equivalent):.1f}' if n > equivalent else '-'} |"
        )
        if n and killed < 0.9 * n:
            below.append(f"`{module}` ({100 * killed / n:.1f}%)")
    lines += [
        f"| **all tested** | | | **{total:,}** | **{total_killed:,}** | | | **{total_equivalent:,}** | | "
        f"**{100 * total_killed / max(total, 1):.1f}** | "
        f"**{100 * total_killed / max(total - total_equivalent, 1):.1f}** |",
        "",
        *(
            [
                "Below 90% killed: " + ", ".join(below) + ". Its survivors are listed below, each with why "
                "it is left; a mutant marked *equivalent* cannot be told from the original by any input.",
                "",
            ]
            if below
            else []
        ),
        *_functions_tested(results),
        *_planted(),
        "## Survivors",
        "",
        "Every mutant that was not killed, with the lines it changes and why it is left.",
        "",
    ]
    for module, entry in results["modules"].items():
        if not entry["survivors"]:
            continue
        lines += [f"### `{module}`", "", "| mutant | change | status | why it is left |", "|---|---|---|---|"]
        for s in entry["survivors"]:
            change = "<br>".join(f"`{line.strip()}`".replace("|", "\\|") for line in s["diff"][:4])
            lines.append(f"| {s['name'].split('.')[-1]} | {change} | {s['status']} | {_note(s)} |")
        lines.append("")
    (out / "mutation.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return total_killed, total


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--report", action="store_true", help="only rewrite the report from mutants/")
    parser.add_argument("--workers", type=int, default=2, help="mutants tested at once")
    parser.add_argument("--modules", default=",".join(SCOPE), help="comma-separated, of: " + ", ".join(SCOPE))
    parser.add_argument(
        "--first",
        type=int,
        default=0,
        help=f"run only the first N batches of FIRST (1 to {len(FIRST)}): the functions that decide drops",
    )
    parser.add_argument(
        "--batch",
        type=int,
        action="append",
        help="run this batch of FIRST (repeatable; mutmut reruns what it names)",
    )
    parser.add_argument("--note", default="", help="what code the run measured (a commit, a caveat)")
    parser.add_argument("--out", type=Path, default=REPORTS)
    args = parser.parse_args()
    if not args.report:
        batches = args.batch or list(range(1, args.first + 1))
        if batches:
            for what, patterns in (FIRST[k - 1] for k in batches):
                print(f"== {what}", flush=True)
                _mutmut(args.workers, patterns)
        else:
            run_mutmut(args.workers, args.modules.split(","))
    results = collect()
    if args.note:
        results["note"] = args.note
    elif (REPORTS / "mutation.json").exists():  # a rewrite keeps the note of the run it reports on
        results["note"] = json.loads((REPORTS / "mutation.json").read_text(encoding="utf-8")).get("note", "")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "mutation.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    killed, total = render(results, args.out)
    print(f"killed {killed:,} of {total:,} mutants ({100 * killed / max(total, 1):.1f}%)")


if __name__ == "__main__":
    main()
