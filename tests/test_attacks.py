"""Attacks outside the bad-input catalogue: each fault found by trying to break `dedup`, as a test.

Each test is one example of a kind of fault (issue 11), run against real files, real SQLite, a
real `redis-server` and real subprocesses where the fault is about processes or locks:
- input that Arrow cannot hold (lone surrogates, integers beyond 64 bits, deep nesting), a
  byte-order mark, and a field whose type changes between rows, whatever the memory budget;
- damaged checkpoints, two runs into one folder, an input inside the output, every record rejected;
- index integrity under lost locks, foreign databases, secrets and terminal escapes in what is shown;
- limits: open files, nested HTML, YAML alias bombs, a full disk or read-only folder.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import Result

import dedup
from dedup import Index, config_from_dict
from dedup.io import fastjson, readers
from tests.conftest import article

GOOD = [" ".join(article(seed, paragraphs=3, words=30)) for seed in (301, 302, 303)]


def _good(i: int, **more: Any) -> str:
    return json.dumps({"id": f"good{i}", "text": GOOD[i], **more})


def _write_config(folder: Path, data: dict[str, Any], name: str = "config.yaml") -> str:
    data = {"output": {"dir": "out"}, **data}
    (folder / name).write_text(yaml.safe_dump(data), encoding="utf-8")
    return name


def _rows(folder: Path, name: str) -> list[dict[str, Any]]:
    return pq.read_table(folder / name).to_pylist()


def _read(folder: Path, name: str) -> tuple[pa.Table, list[str]]:
    batches = list(readers.read_file(str(folder / name), readers.InputConfig(paths=(str(folder / name),))))
    rejects = [f"{r.source_line}: {r.field}: {r.reason}" for b in batches for r in b.rejects]
    return readers.concat([b.records for b in batches]), rejects


# 1. Input Arrow cannot hold: a bad line is a reject, a bad record in an index batch is `rejected` ----


@pytest.mark.parametrize(
    ("line", "field", "reason"),
    [
        ('{"id": "s", "text": "abc \\ud800 def"}', "text", "field 'text' holds a lone surrogate (\\ud800)"),
        ('{"id": "s\\udfff", "text": "abc def"}', "id", "field 'id' holds a lone surrogate (\\udfff)"),
        (
            '{"id": "s", "text": "abc def", "meta": {"k": ["x\\udbff"]}}',
            "meta",
            "field 'meta' holds a lone surrogate (\\udbff)",
        ),
        (
            '{"id": "s", "text": "abc def", "m": ' + "[" * 40 + "]" * 40 + "}",
            "m",
            "field 'm' nests lists or objects more than 32 levels deep (the most a pass-through field keeps)",
        ),
        (
            '{"id": "s", "text": "abc def", "m": ' + "[" * 5000 + "]" * 5000 + "}",
            None,
            "the JSON nests lists or objects too deeply to read",
        ),
    ],
    ids=["surrogate in the text", "surrogate in the id", "surrogate inside a field", "deep", "deeper"],
)
def test_a_line_arrow_cannot_hold_is_a_reject_and_the_run_goes_on(
    line: str, field: str | None, reason: str, cli: Callable[..., Result], tmp_path: Path
) -> None:
    (tmp_path / "in.jsonl").write_text(f"{_good(0)}\n{line}\n{_good(1)}\n", encoding="utf-8")
    _write_config(tmp_path, {"input": {"paths": ["in.jsonl"]}})
    result = cli("run", "config.yaml")
    assert result.exit_code == 0, result.output
    (reject,) = _rows(tmp_path / "out", "rejects.parquet")
    assert (reject["source_line"], reject["field"]) == (2, field)
    assert reject["reason"].startswith(reason)
    assert [r["id"] for r in _rows(tmp_path / "out", "unique.parquet")] == ["good0", "good1"]


def test_a_surrogate_in_an_index_batch_is_a_rejected_match(target: tuple[str, dict[str, Any]]) -> None:
    where, data = target
    with Index.open(where, config_from_dict(data)) as index:
        batch = [("a", GOOD[0]), ("b", "abc \ud800 def " + GOOD[1]), ("c\udc00", GOOD[2]), ("d", GOOD[1])]
        checked = index.check(batch)
        assert [(m.id, m.status, m.reason) for m in checked] == [
            ("a", "new", None),
            ("b", "rejected", "the text holds a lone surrogate (\\ud800), which is not a character"),
            ("c\udc00", "rejected", "the id holds a lone surrogate (\\udc00), which is not a character"),
            ("d", "new", None),
        ]
        assert [m.status for m in index.check_and_add(batch)] == ["new", "rejected", "rejected", "new"]
        assert index.stats()["records"] == 2


# 2. A byte-order mark: the fast path and the line-by-line path read the same ------------------------


def test_a_byte_order_mark_is_no_part_of_the_first_record(tmp_path: Path) -> None:
    clean = f"{_good(0)}\n{_good(1)}\n".encode()
    (tmp_path / "fast.jsonl").write_bytes(b"\xef\xbb\xbf" + clean)
    (tmp_path / "slow.jsonl").write_bytes(b"\xef\xbb\xbf" + clean + b"{bad\n")
    fast, fast_rejects = _read(tmp_path, "fast.jsonl")
    slow, slow_rejects = _read(tmp_path, "slow.jsonl")
    assert fast_rejects == []
    assert slow_rejects == [
        "3: None: malformed JSON (Expecting property name enclosed in double quotes, column 2)"
    ]
    assert slow["id"].to_pylist() == fast["id"].to_pylist() == ["good0", "good1"]
    assert slow["text"].to_pylist() == fast["text"].to_pylist() == GOOD[:2]


def test_a_byte_order_mark_before_a_csv_header(tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_bytes(b"\xef\xbb\xbfid,text\nc1,hello there\n")
    table, rejects = _read(tmp_path, "in.csv")
    assert rejects == [] and table["id"].to_pylist() == ["c1"]


# 3. Numbers Arrow cannot hold, and outputs that must not depend on the memory budget -------------


@pytest.mark.parametrize("bad_line", [False, True], ids=["fast path", "line by line"])
@pytest.mark.parametrize("value", ["9" * 5000, str(2**64 - 1), str(-(2**63) - 1)])
def test_an_integer_beyond_64_bits_is_kept_exactly_as_its_digits(
    value: str, bad_line: bool, tmp_path: Path
) -> None:
    lines = [_good(0), f'{{"id": "big", "text": "a big number", "views": {value}}}', _good(1)]
    lines += ["{bad"] if bad_line else []
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    table, _ = _read(tmp_path, "in.jsonl")
    assert table["views"].to_pylist() == [None, value, None]


def test_the_fast_path_leaves_wide_integers_and_nested_times_to_the_line_reader() -> None:
    wide = b'{"text": "t", "n": 18446744073709551615}\n'
    nested_time = b'{"text": "t", "m": {"d": "2024-01-01"}}\n'
    fine = b'{"text": "t", "n": 922337203685477580, "m": {"d": "x"}, "d": "2024-01-01"}\n'
    assert fastjson.parse_block(wide, 1, "f", "id", "text") is None
    assert fastjson.parse_block(nested_time, 1, "f", "id", "text") is None
    table = fastjson.parse_block(fine, 1, "f", "id", "text")
    assert table is not None and table.to_pylist()[0]["n"] == 922337203685477580


def _typed_rows() -> list[str]:
    """4,200 rows whose `day` is an integer, then 300 whose `day` is text.

    The line reader's first batch (4,096 rows) holds integers only, its second both; at 1MB a shard
    holds either or both, at 4GB one shard holds everything.
    """
    lines = []
    for i in range(4500):
        day: Any = i % 30 if i < 4200 else f"day {i % 30}"
        text = GOOD[i % 3] if i % 7 else " ".join(article(2000 + i, paragraphs=2, words=25))
        lines.append(json.dumps({"id": f"r{i}", "text": text, "day": day, "score": i / 2 if i % 2 else i}))
    return lines


@pytest.mark.parametrize("keep", ["first", "newest:day", "priority:score"])
def test_outputs_do_not_depend_on_the_memory_budget(keep: str, tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_text("\n".join(_typed_rows()) + "\n", encoding="utf-8")
    outcomes = []
    for budget in ("1MB", "4GB"):
        out = tmp_path / f"out-{budget}"
        config = config_from_dict(
            {
                "input": {"paths": [str(tmp_path / "in.jsonl")]},
                "output": {"dir": str(out)},
                "memory_budget": budget,
                "cluster": {"keep": keep},
            }
        )
        try:
            report = dedup.run(config)
        except dedup.DedupError as err:
            outcomes.append(str(err))
            continue
        assert (report.shards["total"] > 2) == (budget == "1MB")
        outcomes.append({n: (out / n).read_bytes() for n in ("unique.parquet", "duplicates.parquet")})
    assert outcomes[0] == outcomes[1]
    if keep == "newest:day":
        assert (
            outcomes[0]
            == "field 'day' holds values that do not compare (int, str) (cluster.keep: newest:day)"
        )
    else:
        unique = pq.read_table(tmp_path / "out-1MB" / "unique.parquet")
        assert unique.schema.field("day").metadata == {b"dedup": b"json"}
        days = dict(zip(unique["id"].to_pylist(), unique["day"].to_pylist(), strict=True))
        assert days["r7"] == "7" and days["r4207"] == '"day 7"', "each value JSON-encoded once"
        assert unique.schema.field("score").type == pa.float64()


# 4. A damaged checkpoint is never reused ----------------------------------------------------------


def test_a_checkpoint_piece_zeroed_in_place_is_not_reused(tmp_path: Path) -> None:
    from tests.test_resume import _cli, _config, _corpus

    _corpus(tmp_path)
    whole = _config(tmp_path, "whole.yaml", "whole", ["a.jsonl", "b.jsonl"])
    assert _cli(tmp_path, whole).returncode == 0
    config = _config(tmp_path, "config.yaml", "out", ["a.jsonl", "b.jsonl"])
    assert _cli(tmp_path, config, crash_at="shard:00001-00000").returncode == -9
    done = len(list((tmp_path / "out" / ".dedup-work").glob("*/shards/*.json")))
    (piece,) = (tmp_path / "out" / ".dedup-work").glob("*/shards/00000-00000.digests.npy")
    data = piece.read_bytes()
    piece.write_bytes(data[:128] + bytes(len(data) - 128))  # what a power cut can leave: same size
    rerun = _cli(tmp_path, config)
    assert rerun.returncode == 0, rerun.stderr
    for name in ("unique.parquet", "duplicates.parquet", "rejects.parquet"):
        assert (tmp_path / "out" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["shards"]["reused"] == done - 1, "only the damaged shard is done again"


# 5-7. One run per folder, never reading its own outputs, never an empty success -------------------


def _dedup(
    folder: Path, *args: str, limits: str = "", wrap: str = "", env: dict[str, str] | None = None
) -> Any:
    """Run `python -m dedup ARGS` in `folder`, after the shell's `ulimit LIMITS` and through `wrap`."""
    import os
    import subprocess
    import sys

    from tests.corpus import ROOT

    command = " ".join([wrap, sys.executable, "-m", "dedup", *args]).strip()
    script = f"ulimit {limits} && exec {command}" if limits else f"exec {command}"
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(
        ["bash", "-c", script], cwd=folder, env=environment, capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize(
    ("paths", "output", "message"),
    [
        (["out"], "out", "input.paths: 'out' is the output folder (output.dir: out)"),
        (
            ["out/*.parquet"],
            "out",
            "input.paths: 'out/duplicates.parquet' is inside the output folder (output.dir: out)",
        ),
        (["."], "out", "input.paths: '.' holds the output folder (output.dir: out)"),
        (["data"], "data/out", "input.paths: 'data' holds the output folder (output.dir: data/out)"),
    ],
)
def test_input_inside_the_output_folder_is_refused(
    paths: list[str], output: str, message: str, cli: Callable[..., Result], tmp_path: Path
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "in.jsonl").write_text(f"{_good(0)}\n{_good(1)}\n", encoding="utf-8")
    _write_config(tmp_path, {"input": {"paths": ["data/in.jsonl"]}, "output": {"dir": output}}, "first.yaml")
    assert cli("run", "first.yaml").exit_code == 0
    before = (tmp_path / output / "report.json").read_bytes()
    _write_config(tmp_path, {"input": {"paths": paths}, "output": {"dir": output, "overwrite": True}})
    result = cli("run", "config.yaml")
    assert (result.exit_code, result.stderr) == (
        2,
        f"Error: {message}; a run would read its own outputs. Choose an output.dir outside the input\n",
    )
    assert (tmp_path / output / "report.json").read_bytes() == before, "the earlier run is untouched"
    assert cli("index", "add", "config.yaml").exit_code == 2


def test_a_second_run_into_a_folder_being_written_is_refused(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    from tests.corpus import ROOT
    from tests.test_resume import _config, _corpus

    _corpus(tmp_path)
    config = _config(tmp_path, "config.yaml", "out", ["a.jsonl", "b.jsonl"])
    assert _dedup(tmp_path, "run", config, "--quiet").returncode == 0
    reference = {n: (tmp_path / "out" / n).read_bytes() for n in ("unique.parquet", "duplicates.parquet")}
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DEDUP_STOP_AT": "shard:00000-00001"}
    first = subprocess.Popen(
        [sys.executable, "-m", "dedup", "run", config, "--quiet"],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
    )
    try:
        _, status = os.waitpid(first.pid, os.WUNTRACED)  # until the first run stops itself mid-run
        assert os.WIFSTOPPED(status), "the first run stopped at its stop point"
        second = _dedup(tmp_path, "run", config)
        assert (second.returncode, second.stderr) == (
            1,
            "Error: out: another dedup run is writing to this output folder; "
            "wait for it to finish or choose another output.dir\n",
        )
    finally:
        os.kill(first.pid, signal.SIGCONT)
    _, errors = first.communicate()
    assert first.returncode == 0, errors
    assert {n: (tmp_path / "out" / n).read_bytes() for n in reference} == reference


@pytest.mark.parametrize("command", [("run",), ("index", "add"), ("index", "check")])
def test_a_run_where_every_record_is_rejected_fails(
    command: tuple[str, ...], cli: Callable[..., Result], tmp_path: Path
) -> None:
    (tmp_path / "in.jsonl").write_text(f"{_good(0)}\n{_good(1)}\n", encoding="utf-8")
    _write_config(tmp_path, {"input": {"paths": ["in.jsonl"], "text_field": "body"}})
    result = cli(*command, "config.yaml")
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: every record read was rejected (2), nothing written; the first: in.jsonl:1: field 'body': "
        "no field 'body'; fields present: id, text (set input.text_field)\n",
    )
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [], "no outputs, no checkpoints"


# 18. A full disk or a read-only folder: one line, nothing staged left behind ----------------------


def _many_articles(folder: Path, n: int = 300) -> None:
    rows = [json.dumps({"id": f"r{i}", "text": " ".join(article(4000 + i))}) for i in range(n)]
    (folder / "in.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")


def test_a_full_disk_is_one_line_and_leaves_nothing_staged(tmp_path: Path) -> None:
    _many_articles(tmp_path)
    _write_config(tmp_path, {"input": {"paths": ["in.jsonl"]}})
    result = _dedup(tmp_path, "run", "config.yaml", limits="-f 100")  # files of at most 100 KiB
    assert (result.returncode, result.stderr) == (
        1,
        "Error: out: cannot write the output folder: File too large\n",
    )
    assert list((tmp_path / "out").iterdir()) == [], "the checkpoints and temporary files are gone"


def test_a_read_only_output_folder_is_one_line(tmp_path: Path) -> None:
    """Without write permission (or, as root, a read-only bind mount of the folder)."""
    import os
    import subprocess

    _many_articles(tmp_path, 10)
    (tmp_path / "out").mkdir()
    _write_config(tmp_path, {"input": {"paths": ["in.jsonl"]}})
    if os.geteuid() != 0:
        (tmp_path / "out").chmod(0o555)
        result, cause = _dedup(tmp_path, "run", "config.yaml"), "Permission denied"
    else:
        probe = ["unshare", "-m", "true"]
        if subprocess.run(probe, capture_output=True, check=False).returncode != 0:
            pytest.skip("root writes whatever a folder's mode, and cannot make a read-only mount here")
        mount = (
            'unshare -m bash -c \'mount --bind out out && mount -o remount,bind,ro out && exec "$0" "$@"\''
        )
        result = _dedup(tmp_path, "run", "config.yaml", wrap=mount)
        cause = "Read-only file system"
    assert (result.returncode, result.stderr) == (1, f"Error: out: cannot write the output folder: {cause}\n")
