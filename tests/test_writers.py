"""The Parquet writer: row groups cut where the rows say, written on the writer's own thread."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dedup.io.writers import TableWriter
from dedup.settings import OutputConfig


def _rows(start: int, count: int) -> pa.Table:
    at = range(start, start + count)
    return pa.table({"id": [f"r{k}" for k in at], "text": ["x" * (k % 7) for k in at]})


def _write(path: Path, batches: list[int], monkeypatch: pytest.MonkeyPatch) -> bytes:
    monkeypatch.setattr(TableWriter, "ROW_GROUP_ROWS", 10)
    at = 0
    with TableWriter(path, _rows(0, 1).schema, OutputConfig()) as writer:
        for count in batches:
            writer.write(_rows(at, count))
            at += count
    return path.read_bytes()


def test_the_same_rows_make_the_same_file_however_they_are_batched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = _write(tmp_path / "one.parquet", [37], monkeypatch)
    many = _write(tmp_path / "many.parquet", [3, 0, 9, 1, 11, 13], monkeypatch)
    assert one == many
    read = pq.ParquetFile(tmp_path / "many.parquet")
    assert [read.metadata.row_group(g).num_rows for g in range(read.num_row_groups)] == [10, 10, 10, 7]
    assert read.read().to_pydict() == _rows(0, 37).to_pydict()
    assert not [t for t in threading.enumerate() if t.name.startswith("dedup-parquet")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["many.parquet", "one.parquet"]


def test_rows_that_end_exactly_at_a_row_group_s_end_are_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch that fills its row group to the last row leaves nothing held (it once failed there)."""
    exact = _write(tmp_path / "exact.parquet", [10, 5, 5, 20, 2], monkeypatch)
    assert exact == _write(tmp_path / "one.parquet", [42], monkeypatch)
    read = pq.ParquetFile(tmp_path / "exact.parquet")
    assert [read.metadata.row_group(g).num_rows for g in range(read.num_row_groups)] == [10, 10, 10, 10, 2]
    assert read.read().to_pydict() == _rows(0, 42).to_pydict()


_FULL_DISK = """
import os, resource, signal, sys, threading
from pathlib import Path
import pyarrow as pa
from dedup.errors import OutputError
from dedup.io.writers import TableWriter
from dedup.settings import OutputConfig

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))  # the disk is full after 8 KiB
TableWriter.ROW_GROUP_ROWS = 10
rows = lambda at: pa.table({"id": [f"r{k}" for k in at], "text": ["x" * (k % 7) for k in at]})
try:
    with TableWriter(Path(sys.argv[1]) / "out.parquet", rows(range(1)).schema, OutputConfig()) as writer:
        for start in range(0, 20000, 100):
            writer.write(rows(range(start, start + 100)))
except (OutputError, OSError) as err:
    print(type(err).__name__, err)
print(sorted(threading.enumerate(), key=str)[-1].name, len(threading.enumerate()))
"""


def test_a_row_group_that_cannot_be_written_fails_the_file_and_leaves_nothing(tmp_path: Path) -> None:
    """A full disk (a file size limit) met while a row group is written on the writer's thread."""
    import subprocess
    import sys

    found = subprocess.run(
        [sys.executable, "-c", _FULL_DISK, str(tmp_path)], capture_output=True, text=True, check=False
    )
    assert found.returncode == 0, found.stderr
    told, threads = found.stdout.splitlines()
    assert "File too large" in told, told
    assert threads == "MainThread 1", "the writer's thread is gone"
    assert list(tmp_path.iterdir()) == [], "the temporary file is gone and nothing was renamed into place"


_CTRL_C_AT_CLOSE = """
import sys, threading
from pathlib import Path
import pyarrow as pa
from dedup.io.writers import TableWriter
from dedup.settings import OutputConfig

TableWriter.ROW_GROUP_ROWS = 10
rows = lambda at: pa.table({"id": [f"r{k}" for k in at], "text": ["x" * (k % 7) for k in at]})

def interrupted(self):
    raise KeyboardInterrupt  # Ctrl-C while the last row group is waited for

TableWriter._wait = interrupted
try:
    with TableWriter(Path(sys.argv[1]) / "out.parquet", rows(range(1)).schema, OutputConfig()) as writer:
        writer.write(rows(range(5)))
except KeyboardInterrupt:
    print("interrupted", len(threading.enumerate()))
"""


def test_ctrl_c_while_a_file_closes_leaves_no_temporary_file(tmp_path: Path) -> None:
    import subprocess
    import sys

    found = subprocess.run(
        [sys.executable, "-c", _CTRL_C_AT_CLOSE, str(tmp_path)], capture_output=True, text=True, check=False
    )
    assert (found.stdout, found.stderr) == ("interrupted 1\n", "")
    assert list(tmp_path.iterdir()) == []


def test_a_local_run_replaces_a_spark_runs_output_folders(tmp_path: Path) -> None:
    """`engine: spark` writes each output as a folder of part files; `overwrite` replaces them too."""
    from dedup import config_from_dict, run
    from tests.conftest import SEED

    out = tmp_path / "out"
    out.mkdir()
    for name in ("unique.parquet", "duplicates.parquet", "rejects.parquet"):
        (out / name).mkdir()
        pq.write_table(pa.table({"id": ["old"]}), out / name / "part-00000.parquet")
    (out / "report.json").write_text("{}")
    config = {"input": {"paths": [str(SEED)]}, "output": {"dir": str(out), "overwrite": True}}
    report = run(config_from_dict(config))
    assert (report.kept, report.duplicates) == (1, 1)
    for name in ("unique.parquet", "duplicates.parquet", "rejects.parquet"):
        assert (out / name).is_file(), name
    assert pq.read_table(out / "unique.parquet").num_rows == 1


def test_an_overwriting_run_removes_the_earlier_runs_html_page(tmp_path: Path) -> None:
    """`dedup report` writes report.html beside a run's outputs: it describes that run only."""
    from dedup import config_from_dict, run
    from dedup.io import html
    from tests.conftest import SEED

    config = config_from_dict(
        {"input": {"paths": [str(SEED)]}, "output": {"dir": str(tmp_path), "overwrite": True}}
    )
    run(config)
    assert html.render(tmp_path).is_file()
    run(config)
    assert not (tmp_path / "report.html").exists()


def test_an_index_job_removes_what_an_earlier_run_left_in_its_folder(tmp_path: Path) -> None:
    from dedup import config_from_dict, run
    from dedup.index import batch
    from tests.conftest import SEED

    out = tmp_path / "out"
    sections = {"input": {"paths": [str(SEED)]}, "output": {"dir": str(out), "overwrite": True}}
    run(config_from_dict({**sections, "granularity": "paragraph"}))
    (out / "report.html").write_text("<p>the earlier run</p>")
    batch.run(config_from_dict({**sections, "index": {"path": str(tmp_path / "i.sqlite")}}), True)
    assert sorted(p.name for p in out.iterdir()) == [
        "duplicates.parquet",
        "rejects.parquet",
        "report.json",
        "unique.parquet",
    ]


def test_publishing_a_file_already_in_place_leaves_no_temporary_link(tmp_path: Path) -> None:
    """A resumed run publishes a staged file that an earlier try linked into place already.

    `rename` between two links of one file does nothing: the temporary link would stay behind.
    """
    from dedup.io import writers

    staged, folder = tmp_path / "stage", tmp_path / "out"
    staged.mkdir()
    folder.mkdir()
    (staged / "unique.parquet").write_bytes(b"PAR1 rows PAR1")
    os.link(staged / "unique.parquet", folder / "unique.parquet")  # the earlier try's publish
    writers.publish(staged / "unique.parquet", folder)
    assert sorted(p.name for p in folder.iterdir()) == ["unique.parquet"]
    assert (folder / "unique.parquet").read_bytes() == b"PAR1 rows PAR1"
