"""Worker processes: shards made in them, the same bytes as one worker makes, and their failures.

`tests/test_resume.py` kills workers and runs with real processes; these tests run in-process
(the workers are real processes all the same) and watch what is handed to them.
"""

from __future__ import annotations

import contextlib
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dedup import config_from_dict, run
from dedup.engines import shards
from dedup.engines import workers as engine_workers
from dedup.errors import InputError
from dedup.report import Report
from tests.conftest import SEED, article, record_table, write_jsonl

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


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (PermissionError(13, "Permission denied"), "PermissionError: [Errno 13] Permission denied"),
        (EOFError(), "EOFError"),  # the fork server could not fork (no process left)
        (AssertionError("daemonic processes are not allowed to have children"), "AssertionError: daemonic"),
    ],
)
def test_workers_that_cannot_start_leave_the_run_to_its_own_process_and_say_so(
    error: BaseException, said: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _corpus(tmp_path)
    one = _run(tmp_path, "one", workers=1)
    assert one.warnings == [] and one.shards["workers"] == 1

    def cannot_start(*_: object) -> None:
        raise error

    monkeypatch.setattr(shards.Featurizers, "submit", cannot_start)
    two = _run(tmp_path, "two", workers=2)
    assert len(two.warnings) == 1
    assert two.warnings[0].startswith(f"worker processes did not start ({said}")
    assert two.warnings[0].endswith("); this process made the shards")
    assert two.shards == one.shards
    for name in OUTPUTS:
        assert (tmp_path / "two" / name).read_bytes() == (tmp_path / "one" / name).read_bytes(), name


def test_input_of_less_than_four_shards_worth_of_text_is_made_without_workers(
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


def test_the_input_estimate_takes_gzip_s_own_size_and_a_ratio_for_zstd(tmp_path: Path) -> None:
    import gzip

    files = {
        "a.jsonl.gz": gzip.compress(b"x" * 1_000_000),  # about 1 KB on disk
        "b.jsonl": b"y" * 1000,
        "c.jsonl.zst": b"z" * 100,  # not read: counted at COMPRESSION_RATIO
        "d.jsonl.GZ": b"tiny",  # too short to be gzip: its size
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    paths = [str(tmp_path / name) for name in files]
    sizes = [len(data) for data in files.values()]
    assert shards.estimated_bytes(paths, sizes) == 1_000_000 + 1000 + 100 * shards.COMPRESSION_RATIO + 4


def test_a_fork_server_that_cannot_start_leaves_the_run_to_its_own_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from multiprocessing import forkserver

    _corpus(tmp_path)
    assert _run(tmp_path, "one", workers=1).warnings == []

    def denied() -> None:
        raise PermissionError(13, "Permission denied", sys.executable)

    monkeypatch.setattr(forkserver, "ensure_running", denied)
    monkeypatch.setattr(engine_workers, "PARALLEL_SHARDS", 0)  # workers wanted for this small corpus
    config = config_from_dict({"input": {"paths": [str(tmp_path / "in.jsonl")]}, "workers": 2})
    assert engine_workers.start_early(config) is False
    two = _run(tmp_path, "two", workers=2)
    assert len(two.warnings) == 1 and "worker processes did not start (PermissionError" in two.warnings[0]
    for name in OUTPUTS:
        assert (tmp_path / "two" / name).read_bytes() == (tmp_path / "one" / name).read_bytes(), name


def test_the_fork_server_starts_early_only_for_a_run_that_will_use_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[bool] = []
    monkeypatch.setattr(engine_workers, "start_fork_server", lambda: started.append(True))
    (tmp_path / "big.jsonl").write_bytes(b"x" * 300_000)  # over 4 shards of 64 KiB
    (tmp_path / "small.jsonl").write_bytes(b"x" * 100_000)

    def early(**settings: object) -> bool:
        config = config_from_dict(
            {"input": {"paths": [str(tmp_path / "big.jsonl")]}, "memory_budget": "2MB", **settings}
        )
        before = len(started)
        answer = engine_workers.start_early(config)
        assert answer == (len(started) > before)
        return answer

    assert early(workers=2)
    assert not early(workers=1)
    assert not early(workers=2, input={"paths": [str(tmp_path / "small.jsonl")]})
    assert not early(workers=2, input={"paths": [str(tmp_path / "missing.jsonl")]})  # the run says it
    assert not early(workers=2, input={"paths": [str(tmp_path / "*.none")]})
    assert not early(workers=2, engine="spark")
    assert early(workers=2, input={"paths": [str(tmp_path)]})  # a folder: both files


@pytest.mark.processes
def test_a_script_without_a_main_guard_runs_once_however_many_workers_start(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.corpus import ROOT

    _corpus(tmp_path)
    script = tmp_path / "job.py"
    script.write_text(
        "import json\n"
        "from dedup import config_from_dict, run\n"
        "print('top-level ran', flush=True)\n"
        f"data = {{'input': {{'paths': [{str(tmp_path / 'in.jsonl')!r}]}}, "
        f"'output': {{'dir': {str(tmp_path / 'out')!r}}}, 'workers': 2, 'memory_budget': '1MB'}}\n"
        "report = run(config_from_dict(data))\n"
        "print(json.dumps({'workers': report.shards['workers'], 'warnings': report.warnings}))\n",
        encoding="utf-8",
    )
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, check=False, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["top-level ran", '{"workers": 2, "warnings": []}'], done.stderr
    assert "Traceback" not in done.stderr


def _figure_corpus(folder: Path) -> None:
    """Notices of one template with other amounts (the figures rule splits them) and edited copies."""
    rng = random.Random(3)
    rows = []
    for i in range(60):
        body = article(900 + i % 20, paragraphs=3, words=30)
        amount = 100 + 7 * i
        text = "\n\n".join([*body, f"The company said sales rose {amount} mln dlrs in {1980 + i % 7}."])
        words = text.split(" ")
        words[rng.randrange(len(words) - 12)] = "edited"
        rows.append({"id": f"r{i}", "text": text})
        rows.append({"id": f"r{i}-copy", "text": " ".join(words)})
    write_jsonl(folder / "in.jsonl", rows)


def test_the_figures_rule_decides_the_same_from_kept_digests_as_from_the_texts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dedup import resolve
    from dedup.engines.shards import ShardSource

    _figure_corpus(tmp_path)
    off = _run(tmp_path, "off", workers=1, lsh={"figures": False})
    real = resolve._figure_digests

    def unused(texts: list[str]) -> list[tuple[int, int]]:
        raise AssertionError("the shards keep the digests: the texts are not read for them")

    monkeypatch.setattr(resolve, "_figure_digests", unused)
    monkeypatch.setattr(engine_workers, "PARALLEL_SHARDS", 0)  # workers even for this small corpus
    kept = _run(tmp_path, "kept", workers=2)
    assert kept.shards["workers"] == 2
    monkeypatch.setattr(resolve, "_figure_digests", real)
    monkeypatch.setattr(ShardSource, "figure_digests", lambda self, rows: None)
    made = _run(tmp_path, "made", workers=1)
    # The rule splits notices that share a template but state other amounts.
    assert kept.kept > off.kept
    assert (kept.kept, kept.duplicates) == (made.kept, made.duplicates)
    for name in OUTPUTS:
        assert (tmp_path / "kept" / name).read_bytes() == (tmp_path / "made" / name).read_bytes(), name


def test_shards_made_here_leave_the_digests_to_the_keep_step_which_reads_only_paired_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dedup import resolve

    rows = [{"id": f"a{i}", "text": "\n\n".join(article(300 + i, paragraphs=3))} for i in range(40)]
    for k in (3, 17):  # two edited copies: the only near-duplicate pairs
        words = rows[k]["text"].split(" ")
        words[5] = "edited"
        rows.append({"id": f"a{k}-copy", "text": " ".join(words)})
    write_jsonl(tmp_path / "in.jsonl", rows)
    read: list[str] = []
    real = resolve._figure_digests

    def counted(texts: list[str]) -> list[tuple[int, int]]:
        read.extend(texts)
        return real(texts)

    monkeypatch.setattr(resolve, "_figure_digests", counted)
    report = _run(tmp_path, "here", workers=1)
    assert (report.kept, report.duplicates) == (40, 2)
    # The digests were made for the four records of the two verified pairs, each once.
    paired = {rows[k]["text"].split(" ")[0] for k in (3, 17)}
    assert len(read) == 4 and {text.split(" ")[0] for text in read} == paired
    monkeypatch.setattr(engine_workers, "PARALLEL_SHARDS", 0)  # no longer a small corpus: digests kept
    read.clear()
    kept_here = _run(tmp_path, "kept-here", workers=1)
    made_apart = _run(tmp_path, "workers", workers=2)
    assert read == [] and (kept_here.shards["workers"], made_apart.shards["workers"]) == (1, 2)
    for name in OUTPUTS:
        for other in ("kept-here", "workers"):
            assert (tmp_path / other / name).read_bytes() == (tmp_path / "here" / name).read_bytes(), name


def test_each_record_keeps_the_digest_of_its_own_figures(tmp_path: Path) -> None:
    import xxhash

    from dedup.featurize import featurize
    from dedup.figures import sequence

    rng = random.Random(8)
    texts = [
        " ".join(article(i, paragraphs=2, words=12))
        + f" Sales were {rng.randrange(10**6):,} dlrs in {1900 + i}."
        for i in range(50)
    ]
    texts[7] = "<p>No figures here.</p><p>Nine of them, on March 3.</p>"
    table = record_table(texts, "t")
    features = featurize(table, config_from_dict({}))
    assert features.figure_digests is not None
    for row, paragraphs in enumerate(features.records["paragraphs"].to_pylist()):
        text = "\n".join(paragraphs)  # what the figures rule reads of the record
        key = "\x1f".join(sequence(text)).encode("utf-8")
        expected = xxhash.xxh3_128_intdigest(key)
        high, low = (int(v) for v in features.figure_digests[row])
        assert (high << 64) | low == expected, row
    assert featurize(table, config_from_dict({"lsh": {"figures": False}})).figure_digests is None


def test_digests_made_from_texts_are_the_kept_ones_exactly(tmp_path: Path) -> None:
    import numpy as np

    from dedup import figures
    from dedup.engines.memory import FeatureSource
    from dedup.featurize import featurize
    from dedup.resolve import _Verifier

    texts = [f"Output rose {k * 37} tonnes in {1950 + k}, against {k} a year ago." for k in range(40)]
    table = record_table(texts, "t")
    config = config_from_dict({})
    features = featurize(table, config)
    kept = features.figure_digests
    assert kept is not None and kept.dtype == np.uint64
    features.figure_digests = None  # a source that keeps none: the rule makes them from the texts
    source = FeatureSource(features)
    rep = np.arange(40, dtype=np.int64)[::-1].copy()  # representatives in another order than rows
    units = np.array([0, 3, 17, 39], dtype=np.int64)
    made = _Verifier(source, rep, config, 1)._digests(units)
    assert made.dtype == np.uint64 and made.shape == (4, 2)
    assert made.tolist() == kept[rep[units]].tolist()
    assert made.tolist() == figures.digests(source.texts(rep[units])).tolist()


def test_a_shard_is_handed_over_with_its_own_bytes_not_its_read_block() -> None:
    import pickle

    piece = _handed_block()
    handed = shards.Handed.of(piece)
    back = pickle.loads(pickle.dumps(handed)).batch()
    assert back.records.schema == piece.records.schema  # ns times and dictionaries cross unchanged
    assert back.records.equals(piece.records)
    assert (back.rejects, back.skipped_blank, back.skipped_records) == (piece.rejects, 3, {"request": 2})
    assert len(pickle.dumps(handed)) < 20_000 < len(pickle.dumps(piece))


def _handed_block() -> Any:
    """A read block of 20,000 records (ns times, a dictionary column) and a 10-row shard cut from it."""
    import numpy as np
    import pyarrow as pa

    from dedup.io import readers
    from dedup.records import Reject

    n = 20_000
    block = pa.table(
        {
            "id": [f"r{i}" for i in range(n)],
            "text": ["word " * 50] * n,
            "when": pa.array(np.arange(n, dtype=np.int64), pa.timestamp("ns", "UTC")),
            "kind": pa.array(["a", "b"] * (n // 2)).dictionary_encode(),
        }
    )
    rejects = [Reject("in", 105, "not JSON", "read", None, None, "{")]
    return readers.ReadBatch(block.slice(100, 10), rejects, 3, {"request": 2})


def test_a_shard_handed_through_a_file_crosses_whole_and_its_worker_removes_the_file(
    tmp_path: Path,
) -> None:
    import pickle

    piece = _handed_block()
    path = tmp_path / "00000-00000.handed.arrow"
    handed = shards.Handed.of(piece, path)
    assert handed.path == str(path) and path.is_file() and handed.stream == b""
    crossed = pickle.loads(pickle.dumps(handed))
    assert len(pickle.dumps(handed)) < 2_000  # the records stay in the file
    back = crossed.batch()
    assert not path.exists()  # taken: the mapping outlives the name
    assert back.records.schema == piece.records.schema
    assert back.records.equals(piece.records)
    assert (back.rejects, back.skipped_blank, back.skipped_records) == (piece.rejects, 3, {"request": 2})


def test_a_handed_file_that_cannot_be_written_leaves_the_records_in_memory(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    piece = _handed_block()
    handed = shards.Handed.of(piece, tmp_path / "file" / "00000-00000.handed.arrow")
    assert handed.path is None and handed.stream
    assert handed.batch().records.equals(piece.records)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_a_run_hands_its_shards_to_the_workers_through_files_it_does_not_leave(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dedup.engines.local import _Run

    _corpus(tmp_path)
    made: dict[str, bool] = {}  # each shard's handed file: written
    left: dict[str, bool] = {}  # ... and still there once the worker made the shard
    of, done = shards.Handed.of, _Run._shard_done

    def recorded(piece: Any, path: Path | None = None) -> shards.Handed:
        handed = of(piece, path)
        made[Path(str(handed.path)).name] = Path(str(handed.path)).is_file()
        return handed

    def checked(state: _Run, name: str, *rest: Any) -> None:
        left[name] = state.work.handed_file(name).exists()
        done(state, name, *rest)

    monkeypatch.setattr(shards.Handed, "of", recorded)
    monkeypatch.setattr(_Run, "_shard_done", checked)
    report = _run(tmp_path, "two", workers=2)
    assert report.shards["workers"] == 2 and len(made) == report.shards["total"] >= 3
    assert made == {f"{name}.handed.arrow": True for name in left}
    assert left == dict.fromkeys(left, False)  # each worker removed the file it took


def test_handed_files_of_an_interrupted_run_go_when_its_folder_opens_again(tmp_path: Path) -> None:
    from dedup.io import work

    store = work.WorkDir.open(tmp_path, "key")
    stale, kept = store.handed_file("00000-00001"), store.shard_file("00000-00001", "arrow")
    for path in (stale, kept):
        path.write_bytes(b"x")
    again = work.WorkDir.open(tmp_path, "key")
    assert again.handed_file("00000-00001") == stale and not stale.exists()
    assert kept.read_bytes() == b"x"  # a shard's pieces stay for the rerun


def _cut_where_a_message_ends(data: bytes) -> bytes:
    """The longest prefix of an IPC stream that Arrow reads without an error, and with fewer rows."""
    import pyarrow as pa

    whole = pa.ipc.open_stream(data).read_all().num_rows
    for end in range(len(data) - 8, 0, -8):
        try:
            if pa.ipc.open_stream(data[:end]).read_all().num_rows < whole:
                return data[:end]
        except (OSError, pa.ArrowException):
            continue
    raise AssertionError("no prefix reads as a shorter stream")


@pytest.mark.parametrize("damage", ["removed", "cut short", "cut where a message ends"])
def test_handed_records_a_worker_cannot_read_are_told_as_such_not_as_a_write_error(
    tmp_path: Path, damage: str
) -> None:
    from dedup.io import work

    store = work.WorkDir.open(tmp_path, "key")
    path = store.handed_file("00000-00000")
    handed = shards.Handed.of(_handed_block(), path)
    if damage == "removed":
        path.unlink()
    elif damage == "cut short":
        path.write_bytes(path.read_bytes()[:100])
    else:  # Arrow reads it as a whole stream with fewer records
        path.write_bytes(_cut_where_a_message_ends(path.read_bytes()))
    with pytest.raises(shards.HandedReadError) as caught:
        shards._process_apart(handed, "in", "00000-00000", config_from_dict({}), store)
    assert str(caught.value).startswith(f"{path}: ")


def test_a_worker_that_cannot_read_its_shard_stops_the_run_keeping_the_shards_made(tmp_path: Path) -> None:
    """What the run says (not a write error on the output folder), and the checkpoints stay."""
    import click

    from dedup.cli import main

    _corpus(tmp_path)
    config = tmp_path / "run.yaml"
    out = tmp_path / "out"
    config.write_text(
        f"input: {{paths: [{tmp_path / 'in.jsonl'}]}}\noutput: {{dir: {out}}}\n"
        "workers: 2\nmemory_budget: 1MB\n",
        encoding="utf-8",
    )
    first = shards.Handed.of

    def damaged(piece: Any, path: Path | None = None) -> shards.Handed:
        handed = first(piece, path)
        if path is not None and path.name.startswith("00000-00002"):
            path.write_bytes(b"")  # the checkpoint folder changed under the run
        return handed

    with pytest.MonkeyPatch.context() as patch, pytest.raises(click.ClickException) as caught:
        patch.setattr(shards.Handed, "of", damaged)
        main(["run", str(config), "-q"], standalone_mode=False)
    said = caught.value.format_message()  # what `dedup run` prints after "Error: "
    assert caught.value.exit_code == 1
    assert said.startswith("a worker process could not read the records handed to it: ")
    assert "00000-00002.handed.arrow" in said and "cannot write" not in said
    made = sorted(p.name for p in (out / ".dedup-work").rglob("00000-0000[01].json"))
    assert made == ["00000-00000.json", "00000-00001.json"]  # kept for the rerun
    rerun = main(["run", str(config), "-q"], standalone_mode=False)
    assert rerun in (0, None) and (out / "report.json").is_file()


@pytest.mark.parametrize(
    ("records", "text_bytes", "least"),
    [(122, 1 << 30, 120), (10**6, 64 << 10, 20)],  # a shard full by its count, or by its bytes
)
def test_rejected_lines_fill_a_shard_by_where_they_stand_not_one_record_a_shard(
    tmp_path: Path, records: int, text_bytes: int, least: int
) -> None:
    """Every other line is broken JSON: a cut takes the rejects before it, not the whole batch's."""
    import json

    from dedup.io import readers
    from dedup.settings import InputConfig

    n = 9_000  # three read batches (`readers.BATCH_SIZE`): shards carry over from one to the next
    lines = []
    for i in range(n):
        line = json.dumps({"id": f"r{i}", "text": f"record {i} " + "word " * 400})
        lines.append(line[:-1] if i % 2 else line)  # an odd line loses its closing brace
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    limits = shards.Limits(records=records, text_bytes=text_bytes)
    made = list(shards.pieces(readers.read(InputConfig(paths=(str(path),))), limits))
    held = [p.records.num_rows + len(p.rejects) for p in made]
    assert sum(held) == n and all(h <= records for h in held)
    assert all(h >= least for h in held[:-1]), held[:10]  # not a shard per record
    longest = max(len(line) for line in lines)
    for piece in made:  # past the bytes: the record that crosses them, and the reject after it
        raw = sum(len(r.raw or "") for r in piece.rejects)
        assert sum(len(t) for t in piece.records["text"].to_pylist()) + raw < text_bytes + 2 * longest
    ids = [i for p in made for i in p.records["id"].to_pylist()]
    assert ids == [f"r{i}" for i in range(0, n, 2)]
    for piece in made:  # a reject stands in the shard of the records around its line
        own = piece.records["source_line"].to_pylist()
        assert all(r.source_line is not None and r.source_line <= own[-1] + 1 for r in piece.rejects)
    assert [r.source_line for p in made for r in p.rejects] == list(range(2, n + 1, 2))


def _failed(error: BaseException) -> Any:
    from concurrent.futures import Future

    future: Future[dict[str, float]] = Future()
    future.set_exception(error)
    return future


def test_a_worker_s_failure_is_told_apart_from_its_death(tmp_path: Path) -> None:
    from concurrent.futures.process import BrokenProcessPool

    from dedup.engines.local import _Steps
    from dedup.errors import EngineError
    from dedup.io import work

    store = work.WorkDir.open(tmp_path, "key")
    config = config_from_dict({})
    for error, raised in [
        (shards.ShardWriteError(28, "No space left on device", "x.npy"), shards.ShardWriteError),
        (BrokenProcessPool("a child process terminated abruptly"), EngineError),
        (MemoryError(), EngineError),
    ]:
        steps = _Steps(shards.Featurizers(2, config, store), 2, config, store, resolve_clock())
        done: list[dict[str, float]] = []
        steps.pending.append((_failed(error), done.append))
        with pytest.raises(raised) as caught:
            steps.finish()
        assert done == []
        if raised is EngineError:
            assert str(caught.value).startswith("a worker process making a shard stopped")
        else:
            assert isinstance(caught.value, OSError) and caught.value.errno == 28


def resolve_clock() -> Any:
    from dedup.resolve import Clock

    return Clock({})


def test_a_shard_that_cannot_be_written_is_a_write_error_in_the_worker(tmp_path: Path) -> None:
    from dedup.io import readers, work

    (tmp_path / "file").write_text("not a folder")
    store = work.WorkDir(tmp_path / "file" / "work")  # nothing can be written under a file
    table = record_table(["Some words here for one record.", "And another record of words."])
    with pytest.raises(shards.ShardWriteError):
        shards._process_apart(
            shards.Handed.of(readers.ReadBatch(table, [], 0)),
            "in",
            "00000-00000",
            config_from_dict({}),
            store,
        )


def test_a_pool_broken_before_a_shard_is_handed_over_stops_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from concurrent.futures.process import BrokenProcessPool

    from dedup.errors import EngineError

    _corpus(tmp_path)

    def broken(*_: object) -> None:
        raise BrokenProcessPool("a child process terminated abruptly")

    monkeypatch.setattr(shards.Featurizers, "submit", broken)
    with pytest.raises(EngineError, match="a worker process making a shard stopped"):
        _run(tmp_path, "out", workers=2)


def _notices(count: int, seed: int) -> list[str]:
    """Dividend notices: a shared story per company, its figures varied (some copies state others)."""
    rng = random.Random(seed)
    stories = [" ".join(article(700 + i, paragraphs=2, words=40)) for i in range(count // 5)]
    texts = []
    for i in range(count):
        company = i % len(stories)
        cents, day = rng.choice([(12, 3), (12, 3), (15, 4), (20, 9)])
        texts.append(
            f"{stories[company]} The board declared a dividend of {cents} cents a share, "
            f"payable on March {day} to holders of record."
        )
    return texts


def _pairs_within_stories(count: int, stories: int) -> Any:
    import numpy as np

    pairs = [(a, b) for a in range(count) for b in range(a + 1, count) if a % stories == b % stories]
    return np.array(pairs, dtype=np.int64)


class _Farm:
    """A `resolve.Farm` in this process: it answers with `answer(texts, pairs)`, or fails as asked."""

    def __init__(self, count: int, answer: Any = None, error: BaseException | None = None) -> None:
        self.count, self.answer, self.error = count, answer, error
        self.handed: list[int] = []
        self.texts: list[int] = []

    def conflicts(self, texts: list[str], pairs: Any) -> Any:
        from concurrent.futures import Future

        import numpy as np

        if self.answer is None and self.error is None:
            return None
        future: Future[Any] = Future()
        self.handed.append(len(pairs))
        self.texts.append(len(texts))
        assert pairs.dtype == np.int64 and int(pairs.max()) < len(texts)
        if self.error is not None:
            future.set_exception(self.error)
        else:
            future.set_result(self.answer(texts, pairs))
        return future


def test_the_figures_rule_reads_the_same_with_a_farm_or_without(monkeypatch: pytest.MonkeyPatch) -> None:
    from concurrent.futures.process import BrokenProcessPool

    import numpy as np

    from dedup import figures, resolve
    from dedup.engines.memory import FeatureSource
    from dedup.featurize import featurize

    monkeypatch.setattr(resolve, "FARM_PAIRS", 1)
    texts = _notices(60, seed=3)
    config = config_from_dict({})
    source = FeatureSource(featurize(record_table(texts, "t"), config))
    rep = np.arange(len(texts), dtype=np.int64)
    pairs = _pairs_within_stories(len(texts), 12)
    alone = resolve._Verifier(source, rep, config, 1).clashes(pairs)
    assert 0 < alone.sum() < len(pairs)  # some copies state other figures, some the same
    # The oracle: each pair read on its own from the cleaned texts.
    cleaned = source.texts(rep)
    expected = [figures.conflict(figures.facts(cleaned[a]), figures.facts(cleaned[b])) for a, b in pairs]
    assert alone.tolist() == expected

    def truly(texts: list[str], local: Any) -> Any:
        return np.array(figures.conflicts(texts, local.tolist()), dtype=bool)

    for farm in [
        _Farm(2, truly),
        _Farm(3, truly),
        _Farm(2),  # no process to take it: read here
        _Farm(2, error=BrokenProcessPool("a child process terminated abruptly")),
        _Farm(2, error=MemoryError()),
    ]:
        got = resolve._Verifier(source, rep, config, 1, farm).clashes(pairs)
        assert got.tolist() == expected
        assert len(farm.handed) == (farm.count - 1 if farm.answer or farm.error else 0)
    # Parts of at most about `VERIFY_CHUNK` records, in waves of one part here and one handed over.
    monkeypatch.setattr(resolve, "VERIFY_CHUNK", 12)
    waves = _Farm(2, truly)
    got = resolve._Verifier(source, rep, config, 1, waves).clashes(pairs)
    assert got.tolist() == expected
    assert len(waves.handed) == 3  # 60 records: 3 waves of 2 parts
    assert max(waves.texts) <= 12 + 5  # a part ends with a whole component (5 records here)
    monkeypatch.setattr(resolve, "VERIFY_CHUNK", 1 << 18)
    # What a farm answers lands on the pairs it was handed (here the opposite of the truth), and
    # they are whole components of the pairs whose figures differ.
    opposite = _Farm(2, lambda texts, local: ~truly(texts, local))
    got = resolve._Verifier(source, rep, config, 1, opposite).clashes(pairs)
    handed = got != alone
    assert opposite.handed == [int(handed.sum())] and handed.sum() > 0
    digests = source.figure_digests(rep)
    assert digests is not None
    differ = (digests[pairs[:, 0]] != digests[pairs[:, 1]]).any(axis=1)
    assert not (handed & ~differ).any()
    assert set(pairs[handed].ravel().tolist()).isdisjoint(pairs[differ & ~handed].ravel().tolist())
    assert (differ & ~handed).any()  # this process read its part too


def _notices_by_one_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Report:
    """400 notices in `in.jsonl`, the figures rule shared from its first pair on; their run at one worker."""
    from dedup import resolve

    monkeypatch.setattr(resolve, "FARM_PAIRS", 1)
    texts = _notices(400, seed=8)
    write_jsonl(tmp_path / "in.jsonl", [{"id": f"n{i}", "text": t} for i, t in enumerate(texts)])
    return _run(tmp_path, "one", workers=1)


def _same_outputs(got: Path, expected: Path) -> None:
    for name in OUTPUTS:
        assert (got / name).read_bytes() == (expected / name).read_bytes(), name


def test_the_keep_step_hands_figures_to_the_workers_and_decides_as_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = _notices_by_one_worker(tmp_path, monkeypatch)
    futures: list[Any] = []
    conflicts = shards.Featurizers.conflicts

    def counted(featurizers: shards.Featurizers, texts: list[str], pairs: Any) -> Any:
        futures.append(conflicts(featurizers, texts, pairs))
        return futures[-1]

    monkeypatch.setattr(shards.Featurizers, "conflicts", counted)
    two = _run(tmp_path, "two", workers=2)
    assert two.shards["workers"] == 2 and futures
    assert all(f is not None and f.exception() is None for f in futures)  # a worker answered
    _same_outputs(tmp_path / "two", tmp_path / "one")
    unsplit = _run(tmp_path, "unsplit", workers=1, lsh={"figures": False})
    assert one.kept > unsplit.kept  # the figures rule split copies that state other figures


@contextlib.contextmanager
def _killing(featurizers: shards.Featurizers) -> Iterator[None]:
    """Inside, a task handed to the workers kills the worker that takes it (as the kernel's
    out-of-memory killer would) instead of running."""
    import signal

    pool = featurizers._pool
    assert pool is not None
    real = pool.submit
    pool.submit = lambda *_: real(signal.raise_signal, signal.SIGKILL)  # type: ignore[method-assign]
    try:
        yield
    finally:
        pool.submit = real  # type: ignore[method-assign]


def test_a_worker_that_dies_in_the_keep_step_leaves_its_part_to_the_run_which_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    one = _notices_by_one_worker(tmp_path, monkeypatch)
    assert one.warnings == []
    conflicts = shards.Featurizers.conflicts

    def dying(featurizers: shards.Featurizers, texts: list[str], pairs: Any) -> Any:
        with _killing(featurizers):
            return conflicts(featurizers, texts, pairs)

    monkeypatch.setattr(shards.Featurizers, "conflicts", dying)
    two = _run(tmp_path, "two", workers=2)
    _same_outputs(tmp_path / "two", tmp_path / "one")
    assert len(two.warnings) == 1
    assert "read by the run's own process: a worker process stopped" in two.warnings[0]


def _shared_corpus(count: int, seed: int) -> list[str]:
    """Notices (figures that split copies), exact repeats of some, truncated copies and blends of others."""
    rng = random.Random(seed)
    texts = _notices(count, seed=seed)
    repeats = [texts[rng.randrange(len(texts))] for _ in range(count // 10)]
    truncated = []
    for _ in range(count // 10):
        paragraphs = texts[rng.randrange(len(texts))].split(". ")
        truncated.append(". ".join(paragraphs[: max(1, len(paragraphs) * 3 // 4)]))
    blends = []  # half of one notice, half of another: candidate pairs that do not verify
    for _ in range(count // 10):
        a, b = (texts[rng.randrange(len(texts))].split(". ") for _ in range(2))
        blends.append(". ".join(a[: len(a) // 2] + b[len(b) // 2 :]))
    every = texts + repeats + truncated + blends
    rng.shuffle(every)
    return every


class _Sharing:
    """A `resolve.Farm` in this process that decides the parts of the keep step it is handed."""

    count = 2

    def __init__(self, refuse: bool = False, error: BaseException | None = None) -> None:
        self.refuse, self.error = refuse, error
        self.parts: list[Any] = []

    def conflicts(self, texts: list[str], pairs: Any) -> None:
        return None  # the figures rule is read by the caller

    def decide(self, part: Any) -> Any:
        from concurrent.futures import Future

        if self.refuse:
            return None
        self.parts.append(part)
        future: Future[Any] = Future()
        if self.error is not None:
            future.set_exception(self.error)
        else:
            future.set_result(part.decide())
        return future


@pytest.mark.parametrize(
    "settings",
    [{}, {"cluster": {"keep": "none"}}, {"cluster": {"keep": "longest"}}, {"lsh": {"containment": None}}],
    ids=["first", "none", "longest", "no-containment"],
)
def test_a_keep_step_shared_with_another_process_decides_as_one_process(
    settings: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from concurrent.futures.process import BrokenProcessPool

    import numpy as np

    from dedup import exact, resolve
    from dedup.engines.memory import FeatureSource, position
    from dedup.featurize import featurize

    texts = _shared_corpus(300, seed=5)
    config = config_from_dict(settings)
    features = featurize(record_table(texts, "s"), config)
    group, rep = exact.groups(features.digests)
    assert len(rep) < len(texts)  # exact repeats: a group of several records stands as one

    def decided(farm: Any) -> Any:
        source = FeatureSource(features)
        return resolve.resolve(source, group, rep, position(features), config, resolve.Clock(), 1, None, farm)

    verified: list[int] = []
    decide = resolve.decide

    def counted(*args: Any) -> Any:
        verified.append(int(args[5].keep.sum()))  # the verdicts of the candidate pairs
        return decide(*args)

    monkeypatch.setattr(resolve, "decide", counted)
    alone = decided(None)
    monkeypatch.setattr(resolve, "decide", decide)
    assert alone.groups > 10 and alone.verified_pairs > 50
    assert (alone.duplicate_of >= 0).any() and (alone.matched_by == resolve.EXACT).any()
    monkeypatch.setattr(resolve, "SHARE_PAIRS", 1)
    for farm in [_Sharing(), _Sharing(refuse=True), _Sharing(error=BrokenProcessPool("killed"))]:
        shared = decided(farm)
        for name in ("duplicate_of", "matched_by", "exact_group", "similarity", "containment", "cluster"):
            assert np.array_equal(getattr(shared, name), getattr(alone, name), equal_nan=True), name
        assert np.array_equal(shared.cluster_size, alone.cluster_size)
        counts = ("candidate_pairs", "verified_pairs", "groups", "bands", "rows")
        assert [getattr(shared, c) for c in counts] == [getattr(alone, c) for c in counts]
        assert len(farm.parts) == (0 if farm.refuse else 1)
    # No share where its memory would pass its part of the budget (the default 4GB here).
    cost = resolve.SHARE_BYTES_PER_RECORD * len(texts) + resolve.SHARE_BYTES_PER_PAIR * alone.candidate_pairs
    for margin, parts in ((0.99, 0), (1.01, 1)):
        monkeypatch.setattr(resolve, "SHARE_BUDGET", cost / 4e9 * margin)
        farm = _Sharing()
        assert np.array_equal(decided(farm).duplicate_of, alone.duplicate_of)
        assert len(farm.parts) == parts, margin
    monkeypatch.undo()
    monkeypatch.setattr(resolve, "SHARE_PAIRS", 1)
    # The part handed over holds whole groups, about `SHARED` of the verified pairs, and decides
    # some records otherwise than alone would (it is no empty or trivial share).
    farm = _Sharing()
    decided(farm)
    (part,) = farm.parts
    share = int(part.verdict.keep.sum()) / verified[0]
    assert 0.3 < share <= resolve.SHARED + 0.05
    # Its candidate pairs are the run's between its groups; some of the run's cross the parts.
    from dedup import lsh

    bands, _ = lsh.resolve_params(config.lsh, config.minhash.num_perm)
    candidates = resolve.candidate_pairs(FeatureSource(features), rep, bands, config.lsh.max_bucket)
    units = group[part.rows[part.rep]]  # the part's exact groups, as the run numbers them
    inside = np.zeros(len(rep), dtype=bool)
    inside[units] = True
    ends = inside[candidates]
    assert (ends[:, 0] != ends[:, 1]).any()
    assert np.array_equal(units[part.pairs], candidates[ends[:, 0] & ends[:, 1]])
    there = part.decide()
    assert (there.duplicate_of >= 0).sum() > 10
    rows = part.rows
    named = there.duplicate_of >= 0
    assert np.array_equal(rows[there.duplicate_of[named]], alone.duplicate_of[rows[named]])


def test_the_keep_step_shares_its_groups_with_a_worker_and_writes_what_one_process_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dedup import resolve

    texts = _shared_corpus(400, seed=9)
    write_jsonl(tmp_path / "in.jsonl", [{"id": f"n{i}", "text": t} for i, t in enumerate(texts)])
    one = _run(tmp_path, "one", workers=1)
    monkeypatch.setattr(resolve, "SHARE_PAIRS", 1)
    futures: list[Any] = []
    decide = shards.Featurizers.decide

    def counted(featurizers: shards.Featurizers, part: Any) -> Any:
        futures.append(decide(featurizers, part))
        return futures[-1]

    monkeypatch.setattr(shards.Featurizers, "decide", counted)
    two = _run(tmp_path, "two", workers=2)
    assert len(futures) == 1 and futures[0] is not None
    assert (
        futures[0].exception() is None and (futures[0].result().duplicate_of >= 0).any()
    )  # a worker decided
    _same_outputs(tmp_path / "two", tmp_path / "one")
    assert (two.groups, two.verified_pairs, two.candidate_pairs) == (
        one.groups,
        one.verified_pairs,
        one.candidate_pairs,
    )
    assert two.warnings == []


def test_a_worker_that_dies_deciding_a_share_of_the_groups_leaves_it_to_the_run_which_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    from dedup import resolve

    texts = _shared_corpus(400, seed=9)
    write_jsonl(tmp_path / "in.jsonl", [{"id": f"n{i}", "text": t} for i, t in enumerate(texts)])
    _run(tmp_path, "one", workers=1)
    monkeypatch.setattr(resolve, "SHARE_PAIRS", 1)
    decide = shards.Featurizers.decide

    def dying(featurizers: shards.Featurizers, part: Any) -> Any:
        with _killing(featurizers):
            return decide(featurizers, part)

    monkeypatch.setattr(shards.Featurizers, "decide", dying)
    two = _run(tmp_path, "two", workers=2)
    _same_outputs(tmp_path / "two", tmp_path / "one")
    assert len(two.warnings) == 1
    assert (
        "a share of its groups) were read by the run's own process: a worker process stopped"
        in two.warnings[0]
    )


def test_the_workers_stop_before_the_keep_step_when_the_figures_rule_is_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dedup.engines import local

    _corpus(tmp_path)
    farms: list[Any] = []
    resolve = local.resolve

    def watched(*args: Any) -> Any:
        farms.append((args[-1], args[-1] is not None and args[-1].running))
        return resolve(*args)

    monkeypatch.setattr(local, "resolve", watched)
    _run(tmp_path, "on", workers=2)
    _run(tmp_path, "off", workers=2, lsh={"figures": False})
    assert isinstance(farms[0][0], shards.Featurizers) and farms[0][1]  # up through the keep step
    assert farms[1] == (None, False)


def test_the_fork_server_s_warm_up_gets_through_and_a_failure_costs_only_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dedup import figures
    from dedup.engines import preload

    assert preload.warm_up() is True
    assert not figures._MADE  # what the figures rule kept is let go before the workers fork

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("a broken featurize step")

    monkeypatch.setattr(preload, "featurize", broken)
    assert preload.warm_up() is False


_FORK_SERVER_CTRL_C = """
import os, signal, time
from multiprocessing import forkserver
from dedup.engines.shards import Featurizers

Featurizers.warm()
server = forkserver._forkserver._forkserver_pid
time.sleep(0.3)
os.kill(server, signal.SIGINT)  # Ctrl-C while the server still imports (it takes about a second)
time.sleep(3)
with open(f"/proc/{server}/status") as status:
    print(dict(line.split(":", 1) for line in status)["State"].split()[0])
print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)
"""


@pytest.mark.processes
def test_ctrl_c_while_the_fork_server_starts_prints_no_traceback_and_leaves_it_running() -> None:
    """Ctrl-C reaches the fork server too: while it imports it must not die with a traceback."""
    import subprocess
    import sys

    found = subprocess.run(
        [sys.executable, "-c", _FORK_SERVER_CTRL_C], capture_output=True, text=True, check=False, timeout=60
    )
    assert found.stderr == "", "no traceback from the fork server"
    assert found.stdout.split() == ["S", "True"], "the server lives on; the run takes Ctrl-C again"


@pytest.mark.processes
def test_abandoned_workers_leave_no_thread_for_the_exit_hook_to_race(tmp_path: Path) -> None:
    """After `abandon` (a failing run, Ctrl-C) the pool's manager thread has ended.

    CPython 3.11's exit hook writes to that thread's wake-up pipe while the thread closes it;
    racing, it printed "Exception ignored ... Bad file descriptor" after a run's "Aborted!".
    """
    import threading
    from concurrent.futures import process

    from dedup.io import readers, work

    store = work.WorkDir.open(tmp_path, "key")
    featurizers = shards.Featurizers(2, config_from_dict({}), store)
    table = record_table([" ".join(article(900 + i, paragraphs=2, words=30)) for i in range(20)])
    featurizers.submit(readers.ReadBatch(table, [], 0), "in", "00000-00000")
    managers = [t for t in threading.enumerate() if isinstance(t, process._ExecutorManagerThread)]
    assert managers, "the pool runs a manager thread"
    featurizers.abandon()
    assert not [t for t in managers if t.is_alive()]


def test_workers_start_from_a_thread_that_may_not_set_signal_handlers() -> None:
    """A pipeline calling `dedup.run` from a thread: Ctrl-C is left alone there, nothing fails."""
    import signal
    import threading

    from dedup.engines.shards import Featurizers

    before = signal.getsignal(signal.SIGINT)
    failed: list[BaseException] = []

    def start() -> None:
        try:
            Featurizers.warm()
        except BaseException as err:  # reported by the assertion below
            failed.append(err)

    thread = threading.Thread(target=start)
    thread.start()
    thread.join(timeout=60)
    assert failed == []
    assert signal.getsignal(signal.SIGINT) is before


def _raised_through(*places: tuple[str, str], error: BaseException) -> BaseException:
    """`error` raised through functions named and filed as `places` (outermost first)."""
    calls = []
    for at, (file, name) in enumerate(places):
        body = "raise error" if at == len(places) - 1 else "return rest[0](error, rest[1:])"
        namespace: dict[str, Any] = {}
        exec(compile(f"def {name}(error, rest):\n    {body}\n", file, "exec"), namespace)
        calls.append(namespace[name])
    try:
        calls[0](error, calls[1:])
    except BaseException as raised:
        return raised
    raise AssertionError("nothing raised")


@pytest.mark.parametrize(
    ("places", "error", "quiet"),
    [
        # the pool's semaphore was gone when a worker forked after its run ended
        (
            [("/py/multiprocessing/spawn.py", "_main")],
            FileNotFoundError(2, "No such file or directory"),
            True,
        ),
        ([("/py/multiprocessing/spawn.py", "_main")], EOFError(), True),  # its pipe closed
        ([("/py/multiprocessing/spawn.py", "_main")], ValueError("a bug"), False),
        # a worker that started and then failed is reported, whatever the error
        (
            [("/py/multiprocessing/spawn.py", "_main"), ("/py/multiprocessing/process.py", "_bootstrap")],
            FileNotFoundError(2, "No such file or directory"),
            False,
        ),
        ([("/x/elsewhere.py", "_main")], FileNotFoundError(2, "gone"), False),
    ],
)
def test_a_worker_that_fails_to_start_for_want_of_its_run_is_quiet(
    places: list[tuple[str, str]], error: BaseException, quiet: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    from dedup.engines import preload

    raised = _raised_through(*places, error=error)
    preload._quiet(type(raised), raised, raised.__traceback__)
    told = capsys.readouterr().err
    assert (told == "") is quiet, told
    if not quiet:
        assert type(error).__name__ in told


@pytest.mark.parametrize(
    ("met", "told"),
    [
        (OSError(28, "No space left on device"), "No space left on device"),
        # Arrow's I/O errors carry no code of their own: their text is what says why
        (
            OSError("Error writing bytes to file. Detail: [errno 28] No space left on device"),
            "No space left on device",
        ),
        (OSError("247520 requested and 198640 written"), "a write stopped short, the disk is probably full"),
    ],
)
def test_a_worker_s_write_error_reaches_the_run_with_its_cause(
    met: OSError, told: str, tmp_path: Path
) -> None:
    import pickle

    from dedup.io.writers import failure

    crossed = pickle.loads(pickle.dumps(shards.ShardWriteError.of(met)))  # from the worker to the run
    assert isinstance(crossed, shards.ShardWriteError)
    message = str(failure(tmp_path / "out", crossed))
    assert message.startswith(f"{tmp_path / 'out'}: cannot write the output folder: ")
    assert told in message and "None" not in message


def test_workers_past_the_cores_are_the_cores_and_the_run_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dedup.config import Config, threads

    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 64)  # the machine's cores, not this process's
    assert [threads(Config(workers=w)) for w in (0, 1, 2, 3, 1000)] == [3, 1, 2, 3, 3]
    config = {"input": {"paths": [str(SEED)]}, "output": {"dir": str(tmp_path / "out")}}
    report = run(config_from_dict({**config, "workers": 1000}))
    assert report.warnings == [
        "workers: 1000 is more than the 3 cores this process may run on; 3 at most are used"
    ]
    again = {**config, "output": {"dir": str(tmp_path / "out"), "overwrite": True}}
    assert run(config_from_dict({**again, "workers": 3})).warnings == []
