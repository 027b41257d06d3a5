from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import Result

from tests.corpus import ROOT, SEED


@pytest.fixture
def seeded(tmp_path: Path) -> Path:
    (tmp_path / "seeds").mkdir()
    shutil.copy(SEED, tmp_path / "seeds")
    (tmp_path / "configs").mkdir()
    shutil.copy(ROOT / "configs" / "news.yaml", tmp_path / "configs")
    return tmp_path


def test_run_on_the_seed_exits_0_and_summarizes(cli: Callable[..., Result], seeded: Path) -> None:
    result = cli("run", "configs/news.yaml")
    assert result.exit_code == 0, result.output
    assert result.stdout == "read 2: kept 1, duplicates 1 (1 exact, 0 near), rejected 0 -> out/news\n"
    assert pq.read_table(seeded / "out" / "news" / "unique.parquet").num_rows == 1


def test_a_run_that_fails_early_stops_the_fork_server_it_started(
    cli: Callable[..., Result], seeded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tmp_path = seeded
    # Input of over four shards' worth at this budget: the fork server starts before the run
    # finds that its output folder may not be replaced, and must not outlive it (it held the
    # terminal's output open while it imported).
    from multiprocessing import forkserver

    from dedup.engines import workers

    lines = [json.dumps({"id": str(i), "text": f"record {i} " + "words " * 40}) for i in range(800)]
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "unique.parquet").write_bytes(b"an earlier run's")
    started: list[int] = []
    start = workers.start_fork_server

    def spied() -> object:
        context = start()
        started.append(forkserver._forkserver._forkserver_pid or 0)  # type: ignore[attr-defined]
        return context

    monkeypatch.setattr(workers, "start_fork_server", spied)
    settings = ["--set", "memory_budget=1MB", "--set", "workers=2", "--set", "output.overwrite=false"]
    result = cli("run", "configs/news.yaml", "--set", f"input.paths=[{tmp_path / 'in.jsonl'}]",
                 "--set", f"output.dir={tmp_path / 'out'}", *settings)  # fmt: skip
    assert result.exit_code == 1 and "overwrite" in result.stderr
    assert started and started[0] > 0  # it did start early
    assert forkserver._forkserver._forkserver_pid is None  # type: ignore[attr-defined]
    with pytest.raises(ChildProcessError):
        os.waitpid(started[0], os.WNOHANG)  # reaped: no child of this process by that id


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["run", "missing.yaml"], 2, "Error: missing.yaml: no such config file\n"),
        (
            ["run", "configs/news.yaml", "--set", "minhash.num_perms=64"],
            2,
            "Error: --set: unknown key 'minhash.num_perms'; did you mean 'num_perm'?\n",
        ),
        (
            ["run", "configs/news.yaml", "--set", "lsh.threshold=2"],
            2,
            "Error: --set: lsh.threshold must be a number between 0 and 1 (both excluded); got 2\n",
        ),
        (
            ["run", "configs/news.yaml", "--set", "input.paths=[nowhere]"],
            1,
            "Error: nowhere: no such file or folder\n",
        ),
    ],
)
def test_user_mistakes_exit_with_their_code_and_no_traceback(
    cli: Callable[..., Result], seeded: Path, args: list[str], code: int, message: str
) -> None:
    result = cli(*args)
    assert result.exit_code == code
    assert result.stderr == message
    assert "Traceback" not in result.output


def test_an_earlier_run_exits_1(cli: Callable[..., Result], seeded: Path) -> None:
    assert cli("run", "configs/news.yaml").exit_code == 0
    result = cli("run", "configs/news.yaml", "--set", "output.overwrite=false")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: out/news: the output folder holds an earlier run")


def test_progress_is_quiet_when_not_a_terminal_and_shown_when_forced(
    cli: Callable[..., Result], seeded: Path
) -> None:
    quiet = cli("run", "configs/news.yaml")
    assert quiet.stderr == ""
    shown = cli("run", "configs/news.yaml", "--set", "progress=always")
    assert shown.exit_code == 0
    for stage in ("fingerprint", "shards", "verify", "write"):  # one summary line each
        assert f"✓ {stage} " in shown.stderr
    assert "2 records in 1 shard at" in shown.stderr and "rec/s" in shown.stderr


def test_a_run_without_the_display_loads_no_rich(seeded: Path) -> None:
    code = (
        "import sys; from dedup.cli import main\n"
        "try:\n    main(['run', 'configs/news.yaml', *sys.argv[1:]])\n"
        "except SystemExit as done:\n    print('rich' in sys.modules, done.code, file=sys.stderr)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for extra, loaded in (([], "False"), (["--set", "progress=always"], "True")):
        done = subprocess.run(
            [sys.executable, "-c", code, *extra],
            cwd=seeded,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.stderr.splitlines()[-1] == f"{loaded} 0", done.stderr


def test_quiet_flag_prints_nothing(cli: Callable[..., Result], seeded: Path) -> None:
    result = cli("run", "configs/news.yaml", "-q")
    assert result.exit_code == 0 and result.output == ""


def test_python_dash_m_and_console_script(seeded: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "dedup", "run", "configs/news.yaml"],
        cwd=seeded,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("read 2: kept 1, duplicates 1")
    bad = subprocess.run(
        [sys.executable, "-m", "dedup", "run", "configs/news.yaml", "--set", "zzz=1"],
        cwd=seeded,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2 and bad.stderr.startswith("Error: --set: unknown key 'zzz'")
    assert "Traceback" not in bad.stderr
    script = Path(sys.executable).with_name("dedup")  # the console script the install puts beside python
    help_text = subprocess.run(
        [str(script), "run", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "--set KEY=VALUE" in help_text


def _arrow_thread_error() -> BaseException:
    import pyarrow as pa

    return pa.ArrowException(
        "Unknown error: Failed to launch worker thread: Resource temporarily unavailable"
    )


@pytest.mark.parametrize(
    "error",
    [
        MemoryError,
        lambda: OSError("Memory mapping file failed: Cannot allocate memory"),  # Arrow's, without errno
        lambda: OSError(12, "Cannot allocate memory"),
        _arrow_thread_error,
    ],
)
def test_running_out_of_memory_is_one_line_and_a_rerun_resumes(
    cli: Callable[..., Result],
    seeded: Path,
    monkeypatch: pytest.MonkeyPatch,
    error: Callable[[], BaseException],
) -> None:
    from dedup.engines import local

    resolve = local.resolve

    def exhausted(*args: object, **kwargs: object) -> object:
        raise error()

    monkeypatch.setattr(local, "resolve", exhausted)  # after the shards are made
    result = cli("run", "configs/news.yaml")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: out of memory") and result.stderr.count("\n") == 1
    assert "memory_budget" in result.stderr and "Traceback" not in result.output
    assert not (seeded / "out" / "news" / "report.json").exists()
    monkeypatch.setattr(local, "resolve", resolve)
    again = cli("run", "configs/news.yaml")
    assert again.exit_code == 0, again.output
    report = json.loads((seeded / "out" / "news" / "report.json").read_text())
    assert (report["kept"], report["exact_duplicates"], report["shards"]["reused"]) == (1, 1, 1)


def test_an_index_job_out_of_memory_is_one_line(
    cli: Callable[..., Result], seeded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dedup.index import batch

    def exhausted(*args: object, **kwargs: object) -> object:
        raise MemoryError

    monkeypatch.setattr(batch, "pieces", exhausted)
    result = cli("index", "add", "configs/news.yaml")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: out of memory") and result.stderr.count("\n") == 1


def test_a_full_disk_is_still_an_output_error_and_not_out_of_memory() -> None:
    from dedup.engines.local import out_of_memory

    assert not out_of_memory(OSError(28, "No space left on device"))
    assert not out_of_memory(OSError("Memory mapping file failed: Permission denied"))
    assert not out_of_memory(ValueError("Cannot allocate memory"))  # not an error of the system
    assert out_of_memory(MemoryError())


_PANDAS_ASIDE = """
import sys, threading

seen = []

class Watch:
    def find_spec(self, name, path=None, target=None):
        if name == "pandas":
            seen.append(threading.current_thread().name)
        return None

sys.meta_path.insert(0, Watch())
from dedup import cli

cli._import_pandas_aside()
for thread in threading.enumerate():
    if thread.name == "dedup-pandas-import":
        thread.join(60)
print(seen, "pandas" in sys.modules)
cli._import_pandas_aside()  # imported already: no second thread
print(sum(t.name == "dedup-pandas-import" for t in threading.enumerate()))
"""


@pytest.mark.processes
def test_a_command_line_run_imports_pandas_aside_on_a_thread_of_its_own() -> None:
    """pyarrow imports pandas on its first list conversion; the run has it imported aside meanwhile."""
    import subprocess
    import sys

    pytest.importorskip("pandas")
    found = subprocess.run([sys.executable, "-c", _PANDAS_ASIDE], capture_output=True, text=True, check=False)
    assert found.stderr == ""
    # Looked up once here (is it installed?), imported on the thread.
    assert found.stdout.splitlines() == ["['MainThread', 'dedup-pandas-import'] True", "0"]


_THREAD_POOLS = """
import os, sys
from dedup.cli import main
loaded = [m for m in ("numpy", "dedup._kernels") if m in sys.modules]
try:
    main(["run", "configs/news.yaml", "-q"])
except SystemExit as done:
    print(loaded, done.code, os.environ.get("OPENBLAS_NUM_THREADS"), os.environ.get("OMP_WAIT_POLICY"))
"""


@pytest.mark.parametrize(
    ("given", "seen"),
    [({}, "[] 0 1 PASSIVE"), ({"OPENBLAS_NUM_THREADS": "3", "OMP_WAIT_POLICY": "active"}, "[] 0 3 active")],
)
def test_the_command_quiets_idle_thread_pools_unless_the_caller_set_them(
    seeded: Path, given: dict[str, str], seen: str
) -> None:
    """OpenBLAS gets one thread and OpenMP threads sleep when idle; a caller's own settings stay.

    They are read once, when NumPy and the kernels load, which the command's module does not do.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_WAIT_POLICY")}
    env.update(given, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", _THREAD_POOLS],
        cwd=seeded,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.stdout.splitlines() == [seen], done.stderr


_FROZEN_AT_EXIT = """
import atexit, gc, sys
atexit.register(lambda: print("frozen at exit:", gc.get_freeze_count() > 0))  # runs after dedup's
from dedup import cli
print("frozen before:", gc.get_freeze_count() > 0)
sys.argv = ["dedup", "run", "configs/news.yaml", "-q"]
cli.entry()
"""


def test_the_command_leaves_the_last_garbage_collection_out_and_still_writes_everything(seeded: Path) -> None:
    """`dedup` (the console script and `python -m dedup`) freezes the heap at exit, not before."""
    from importlib.metadata import entry_points

    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "dedup"]
    assert script.value == "dedup.cli:entry"
    assert (ROOT / "dedup" / "__main__.py").read_text(encoding="utf-8").rstrip().endswith("entry()")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", _FROZEN_AT_EXIT],
        cwd=seeded,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["frozen before: False", "frozen at exit: True"]
    report = json.loads((seeded / "out" / "news" / "report.json").read_text(encoding="utf-8"))
    assert (report["read"], report["kept"], report["exact_duplicates"]) == (2, 1, 1)
    unique = pq.read_table(seeded / "out" / "news" / "unique.parquet")
    assert [len(p) for p in unique["paragraphs"].to_pylist()] == [28]
