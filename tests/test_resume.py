"""Kill -9 at named points, resume, and byte-identical outputs whatever the order, workers or budget.

Crash tests run the real CLI in a subprocess that kills itself with SIGKILL at a named point
(`DEDUP_CRASH_AT`, see `dedup.engines.local`), then check the output folder holds the previous
complete run or no run (never a mix), and that a rerun resumes from the checkpoints and writes
Parquet byte-identical to an uninterrupted run.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml

from dedup import config_from_dict, run
from tests.conftest import article, write_jsonl
from tests.corpus import ROOT

# Every test here runs the CLI in a subprocess, which a mutation run's mutant does not reach.
pytestmark = pytest.mark.processes

PARQUET = ("unique.parquet", "duplicates.parquet", "rejects.parquet")
BUDGET = "1MB"  # shards of at most 128 records or 32 KB of text: several per file here


def _corpus(folder: Path, seed: int = 5) -> None:
    """Two JSONL files of short articles with exact and near repeats across them, and a few bad lines."""
    rng = random.Random(seed)
    base = [" ".join(article(1000 + i, paragraphs=3, words=30)) for i in range(120)]
    rows: dict[str, list[dict[str, Any]]] = {"a.jsonl": [], "b.jsonl": []}
    for i in range(300):
        name = "a.jsonl" if i % 2 == 0 else "b.jsonl"
        text = base[rng.randrange(len(base))]
        if rng.random() < 0.4:
            words = text.split()
            words[rng.randrange(len(words))] = "changed"
            text = " ".join(words)
        rows[name].append({"id": f"r{i}", "text": text, "day": i % 7})
    for name, items in rows.items():
        write_jsonl(folder / name, items)
    with open(folder / "b.jsonl", "a", encoding="utf-8") as handle:
        handle.write('{"id": "broken", "text": \n{"id": "empty", "text": ""}\n')


def _config(folder: Path, name: str, out: str, paths: list[str], **more: Any) -> str:
    data = {
        "input": {"paths": paths},
        "output": {"dir": out, "overwrite": True},
        "memory_budget": BUDGET,
        **more,
    }
    (folder / name).write_text(yaml.safe_dump(data), encoding="utf-8")
    return name


def _cli(folder: Path, config: str, crash_at: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DEDUP_CRASH_AT"}
    env["PYTHONPATH"] = str(ROOT)
    if crash_at is not None:
        env["DEDUP_CRASH_AT"] = crash_at
    command = [sys.executable, "-m", "dedup", "run", config, "--quiet"]
    # A process left behind holding the pipes (a worker of a killed run) makes this time out.
    return subprocess.run(
        command, cwd=folder, env=env, capture_output=True, text=True, check=False, timeout=600
    )


def _files(out: Path) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in (*PARQUET, "report.json") if (out / name).exists()}


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bytes]]:
    """The corpus, and the outputs of an uninterrupted run on it."""
    folder = tmp_path_factory.mktemp("resume")
    _corpus(folder)
    result = _cli(folder, _config(folder, "ref.yaml", "ref", ["a.jsonl", "b.jsonl"]))
    assert result.returncode == 0, result.stderr
    report = json.loads((folder / "ref" / "report.json").read_text())
    assert report["shards"]["total"] >= 4, "the test needs several shards"
    assert report["rejected"] == 2 and report["duplicates"] > 0
    return folder, _files(folder / "ref")


CRASH_POINTS = [
    "shard:00000-00000",
    "shard:00001-00001",
    "resolve",
    "stage:unique.parquet",
    "stage:rejects.parquet",
    "publish:unique.parquet",
    "publish:duplicates.parquet",
    "report",
]


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_kill_leaves_the_previous_run_or_none_and_a_rerun_resumes(
    point: str, reference: tuple[Path, dict[str, bytes]], tmp_path: Path
) -> None:
    source, expected = reference
    for name in ("a.jsonl", "b.jsonl"):
        shutil.copy(source / name, tmp_path / name)
    # A complete earlier run (of a.jsonl alone) in the output folder.
    assert _cli(tmp_path, _config(tmp_path, "prev.yaml", "out", ["a.jsonl"])).returncode == 0
    previous = _files(tmp_path / "out")

    # One worker: shards are made one after another, so the shards done at a kill are known.
    config = _config(tmp_path, "config.yaml", "out", ["a.jsonl", "b.jsonl"], workers=1)
    killed = _cli(tmp_path, config, crash_at=point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    after_kill = _files(tmp_path / "out")
    if "report.json" in after_kill:
        assert after_kill == previous, "a report.json must mean the previous complete run, untouched"
    for name in PARQUET:  # whatever is there is a whole Parquet file
        if (tmp_path / "out" / name).exists():
            pq.read_table(tmp_path / "out" / name)

    rerun = _cli(tmp_path, config)
    assert rerun.returncode == 0, rerun.stderr
    outputs = _files(tmp_path / "out")
    for name in PARQUET:
        assert outputs[name] == expected[name], f"{name} differs from the uninterrupted run"
    report = json.loads(outputs["report.json"])
    assert report["read"] == report["kept"] + report["duplicates"] + report["rejected"]
    shards = report["shards"]
    if point == "shard:00000-00000":
        assert shards["reused"] == 1
    elif point == "shard:00001-00001":
        assert 1 < shards["reused"] < shards["total"]
    else:
        assert shards["reused"] == shards["total"]
    assert not (tmp_path / "out" / ".dedup-work").exists(), "checkpoints are removed after success"


def test_checkpoints_of_other_input_are_not_reused(
    reference: tuple[Path, dict[str, bytes]], tmp_path: Path
) -> None:
    source, _ = reference
    for name in ("a.jsonl", "b.jsonl"):
        shutil.copy(source / name, tmp_path / name)
    config = _config(tmp_path, "config.yaml", "out", ["a.jsonl", "b.jsonl"])
    assert _cli(tmp_path, config, crash_at="shard:00001-00000").returncode == -signal.SIGKILL
    with open(tmp_path / "b.jsonl", "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"id": "late", "text": " ".join(article(77, paragraphs=3, words=30))}) + "\n")
    rerun = _cli(tmp_path, config)
    assert rerun.returncode == 0, rerun.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["shards"]["reused"] == 0
    assert "late" in pq.read_table(tmp_path / "out" / "unique.parquet")["id"].to_pylist()


def test_outputs_are_byte_identical_whatever_file_order_workers_and_budget(
    reference: tuple[Path, dict[str, bytes]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, expected = reference
    for name in ("a.jsonl", "b.jsonl"):
        shutil.copy(source / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    variants = [
        (["b.jsonl", "a.jsonl"], 1, "1MB"),
        (["a.jsonl", "b.jsonl"], 2, "4GB"),
        (["*.jsonl"], 0, "3MiB"),
    ]
    shard_counts = []
    for k, (paths, workers, budget) in enumerate(variants):
        data = {
            "input": {"paths": paths},
            "output": {"dir": f"out{k}"},
            "workers": workers,
            "memory_budget": budget,
        }
        report = run(config_from_dict(data))
        shard_counts.append(report.shards["total"])
        for name in PARQUET:
            assert (tmp_path / f"out{k}" / name).read_bytes() == expected[name], (
                f"{name} differs for {paths, workers, budget}"
            )
    assert shard_counts[0] > shard_counts[1] == 2, "a small budget spills into more shards"


def test_a_run_larger_than_its_budget_spills_to_disk(reference: tuple[Path, dict[str, bytes]]) -> None:
    report = json.loads(reference[1]["report.json"])
    assert report["memory_budget"] == 1_000_000
    assert report["spilled_bytes"] > report["input_bytes"] > 0
    assert report["shards"]["total"] >= 4


def _processes_naming(folder: Path) -> list[str]:
    """Command lines of live processes that name `folder` (a run's fork server has it on its path)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = next(r for r in (entry / "status").read_text().splitlines() if r.startswith("State:"))
        except (OSError, StopIteration):
            continue
        if str(folder) in line and "Z" not in state.split()[1]:
            found.append(line)
    return found


@pytest.mark.parametrize("point", ["shard:00000-00000", "shard:00001-00001"])
def test_a_run_with_two_workers_killed_mid_shards_resumes_to_the_same_bytes(
    point: str, reference: tuple[Path, dict[str, bytes]], tmp_path: Path
) -> None:
    source, expected = reference
    for name in ("a.jsonl", "b.jsonl"):
        shutil.copy(source / name, tmp_path / name)
    config = _config(tmp_path, "config.yaml", "out", ["a.jsonl", "b.jsonl"], workers=2)
    assert _cli(tmp_path, config, crash_at=point).returncode == -signal.SIGKILL
    # The shard named is done (a worker may have finished a later one too), and each one done is
    # reused, not made again.
    done = [p.name for p in tmp_path.glob("out/.dedup-work/*/shards/*.json")]
    assert f"{point.removeprefix('shard:')}.json" in done
    rerun = _cli(tmp_path, config)
    assert rerun.returncode == 0, rerun.stderr
    for name in PARQUET:
        assert (tmp_path / "out" / name).read_bytes() == expected[name], name
    shards = json.loads((tmp_path / "out" / "report.json").read_text())["shards"]
    assert shards["reused"] == len(done)


def test_a_killed_run_leaves_no_worker_process_behind(tmp_path: Path) -> None:
    _corpus(tmp_path)
    config = _config(tmp_path, "config.yaml", "out", ["a.jsonl", "b.jsonl"], workers=2)
    assert _cli(tmp_path, config, crash_at="shard:00000-00001").returncode == -signal.SIGKILL
    deadline = time.monotonic() + 30
    while _processes_naming(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_naming(tmp_path) == []


def test_a_worker_killed_mid_shard_stops_the_run_with_one_line_and_a_rerun_finishes_it(
    reference: tuple[Path, dict[str, bytes]], tmp_path: Path
) -> None:
    source, expected = reference
    for name in ("a.jsonl", "b.jsonl"):
        shutil.copy(source / name, tmp_path / name)
    config = _config(tmp_path, "config.yaml", "out", ["a.jsonl", "b.jsonl"], workers=2)
    killed = _cli(tmp_path, config, crash_at="worker:00001-00000")
    assert killed.returncode == 1
    assert killed.stderr.startswith(
        "Error: a worker process making a shard stopped (killed, or out of memory)"
    )
    assert "Traceback" not in killed.stderr and killed.stderr.count("\n") == 1, killed.stderr
    assert not (tmp_path / "out" / "report.json").exists()
    made = list((tmp_path / "out" / ".dedup-work").glob("*/shards/*.json"))
    assert made, "the shards made before the worker died are kept"
    rerun = _cli(tmp_path, config)
    assert rerun.returncode == 0, rerun.stderr
    for name in PARQUET:
        assert (tmp_path / "out" / name).read_bytes() == expected[name], name
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["shards"]["reused"] == len(made)


def test_a_worker_killed_on_the_first_shard_stops_the_run_too(tmp_path: Path) -> None:
    _corpus(tmp_path)
    config = _config(tmp_path, "config.yaml", "out", ["a.jsonl", "b.jsonl"], workers=2)
    killed = _cli(tmp_path, config, crash_at="worker:00000-00000")
    assert killed.returncode == 1, killed.stderr
    assert killed.stderr.startswith("Error: a worker process making a shard stopped")
    assert "warning" not in killed.stderr and "Traceback" not in killed.stderr


def _stopped_after_a_shard(tmp_path: Path, config: str) -> subprocess.Popen[str]:
    """`dedup run` in a process group of its own, stopped (SIGSTOP) once its second shard is made."""
    env = {k: v for k, v in os.environ.items() if k != "DEDUP_CRASH_AT"}
    env.update(PYTHONPATH=str(ROOT), DEDUP_STOP_AT="shard:00000-00001")  # the run's process stops there
    run_ = subprocess.Popen(
        [sys.executable, "-m", "dedup", "run", config, "--quiet"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal gives it
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with open(f"/proc/{run_.pid}/stat", encoding="ascii") as handle:
            if handle.read().rsplit(")", 1)[1].split()[0] == "T":
                break
        time.sleep(0.05)
    return run_


def test_ctrl_c_stops_a_run_with_workers_in_one_line_and_leaves_no_process(tmp_path: Path) -> None:
    _corpus(tmp_path)
    config = _config(tmp_path, "config.yaml", "out", ["a.jsonl", "b.jsonl"], workers=2)
    # Ctrl-C's default action in the child even where this test runs with SIGINT ignored (a
    # background job): an ignored signal stays ignored across exec, a handled one does not.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    run_ = _stopped_after_a_shard(tmp_path, config)
    signal.signal(signal.SIGINT, previous)
    os.killpg(run_.pid, signal.SIGINT)  # what Ctrl-C does: the whole group, workers included
    os.kill(run_.pid, signal.SIGCONT)
    _, errors = run_.communicate(timeout=300)
    assert run_.returncode == 1
    assert errors.strip() == "Aborted!", errors  # click's line for Ctrl-C, and no traceback
    deadline = time.monotonic() + 30
    while _processes_naming(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_naming(tmp_path) == []


def test_sigterm_stops_a_run_with_workers_in_one_line_and_a_rerun_resumes(tmp_path: Path) -> None:
    _corpus(tmp_path)
    config = _config(tmp_path, "config.yaml", "out", ["a.jsonl", "b.jsonl"], workers=2)
    run_ = _stopped_after_a_shard(tmp_path, config)
    os.kill(run_.pid, signal.SIGTERM)  # what `timeout` or a scheduler sends: the run's process only
    os.kill(run_.pid, signal.SIGCONT)
    _, errors = run_.communicate(timeout=300)
    assert run_.returncode == 128 + signal.SIGTERM
    # One line, and no traceback nor the resource tracker's warning about leaked semaphores.
    assert errors == "Terminated (SIGTERM); run again to resume from the shards already made\n", errors
    deadline = time.monotonic() + 30
    while _processes_naming(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_naming(tmp_path) == []
    made = list((tmp_path / "out" / ".dedup-work").glob("*/shards/*.json"))
    assert made, "the shards made before SIGTERM are kept"
    rerun = _cli(tmp_path, config)
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads((tmp_path / "out" / "report.json").read_text())["shards"]["reused"] == len(made)
