"""Worker processes: shards made in them, the same bytes as one worker makes, and their failures.

`tests/test_resume.py` kills workers and runs with real processes; these tests run in-process
(the workers are real processes all the same) and watch what is handed to them.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from dedup import config_from_dict, run
from dedup.engines import shards
from dedup.errors import InputError
from dedup.report import Report
from tests.conftest import SEED, article, write_jsonl

OUTPUTS = ("unique.parquet", "duplicates.parquet", "rejects.parquet")


def _corpus(folder: Path, bad_line: int | None = None) -> Path:
    """300 short articles, a third of them edited repeats, and a malformed line at `bad_line`."""
    rng = random.Random(11)
    base = [" ".join(article(500 + i, paragraphs=3, words=30)) for i in range(120)]
    lines = []
    for i in range(300):
        text = base[rng.randrange(len(base))]
        if rng.random() < 0.3:
            words = text.split()
            words[rng.randrange(len(words))] = "edited"
            text = " ".join(words)
        lines.append({"id": f"r{i}", "text": text})
    path = write_jsonl(folder / "in.jsonl", lines)
    if bad_line is not None:
        rows = path.read_text(encoding="utf-8").splitlines(keepends=True)
        rows[bad_line - 1] = '{"id": "broken", "text": \n'
        path.write_text("".join(rows), encoding="utf-8")
    return path


def _run(folder: Path, out: str, workers: int, **more: Any) -> Report:
    data = {
        "input": {"paths": [str(folder / "in.jsonl")]},
        "output": {"dir": str(folder / out)},
        "workers": workers,
        "memory_budget": "1MB",  # shards of at most 128 records: three here
        **more,
    }
    return run(config_from_dict(data))


def _count_submits(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the shards handed to the workers (`Featurizers.submit`), as they are handed."""
    names: list[str] = []
    submit = shards.Featurizers.submit

    def counted(featurizers: shards.Featurizers, piece: Any, file: str, name: str) -> Any:
        names.append(name)
        return submit(featurizers, piece, file, name)

    monkeypatch.setattr(shards.Featurizers, "submit", counted)
    return names


def test_shards_made_by_two_workers_are_the_bytes_one_worker_makes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _corpus(tmp_path)
    one = _run(tmp_path, "one", workers=1)
    handed = _count_submits(monkeypatch)
    two = _run(tmp_path, "two", workers=2)
    assert two.shards["total"] == one.shards["total"] >= 3
    assert (one.shards["workers"], two.shards["workers"]) == (1, 2)
    # Every shard goes to the workers once the next is read; the last too, once they are started.
    assert handed == [f"00000-{k:05d}" for k in range(two.shards["total"])]
    for name in OUTPUTS:
        assert (tmp_path / "two" / name).read_bytes() == (tmp_path / "one" / name).read_bytes(), name
    # The workers' stage seconds reach the report.
    assert all(two.timings.get(stage, 0.0) > 0 for stage in ("clean", "sign", "shingle"))


def test_one_worker_never_starts_worker_processes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _corpus(tmp_path)
    handed = _count_submits(monkeypatch)
    report = _run(tmp_path, "one", workers=1)
    assert report.shards["total"] >= 3 and handed == []


def test_a_corpus_of_one_shard_is_made_in_the_run_s_own_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    handed = _count_submits(monkeypatch)
    config = {"input": {"paths": [str(SEED)]}, "output": {"dir": str(tmp_path / "out")}}
    report = run(config_from_dict({**config, "workers": 2}))
    assert (report.shards["total"], report.kept, report.duplicates) == (1, 1, 1)
    assert handed == []


def test_a_bad_record_in_a_worker_s_shard_fails_as_it_does_in_one_process(tmp_path: Path) -> None:
    _corpus(tmp_path, bad_line=250)  # in the third shard
    messages = []
    for workers in (1, 2):
        with pytest.raises(InputError) as caught:
            _run(tmp_path, f"out{workers}", workers=workers, on_error="fail")
        messages.append(str(caught.value))
        assert not (tmp_path / f"out{workers}" / "report.json").exists()
    assert messages[0] == messages[1]
    assert messages[0].startswith(f"{tmp_path / 'in.jsonl'}:250: ")


def test_workers_that_cannot_start_leave_the_run_to_its_own_process_and_say_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _corpus(tmp_path)
    one = _run(tmp_path, "one", workers=1)
    assert one.warnings == [] and one.shards["workers"] == 1

    def cannot_start(*_: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(shards.Featurizers, "submit", cannot_start)
    two = _run(tmp_path, "two", workers=2)
    assert two.warnings == [
        "worker processes did not start (PermissionError: [Errno 13] Permission denied); "
        "this process made the shards"
    ]
    assert two.shards == one.shards
    for name in OUTPUTS:
        assert (tmp_path / "two" / name).read_bytes() == (tmp_path / "one" / name).read_bytes(), name


def test_files_holding_less_than_a_shard_s_text_in_all_are_made_without_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "in").mkdir()
    for k in range(3):
        rows = [{"id": f"{k}-{i}", "text": " ".join(article(i))} for i in range(5)]
        write_jsonl(tmp_path / "in" / f"part{k}.jsonl", rows)
    handed = _count_submits(monkeypatch)
    data = {
        "input": {"paths": [str(tmp_path / "in")]},
        "output": {"dir": str(tmp_path / "out")},
        "workers": 2,
    }
    report = run(config_from_dict(data))  # the default budget: shards of up to 8 MiB of text
    assert report.shards["total"] == 3 and report.read == 15
    assert handed == [] and report.shards["workers"] == 1
