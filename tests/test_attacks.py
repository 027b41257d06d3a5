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
        assert outcomes[0] == (
            "record 'r0': field 'day' holds values that do not compare (int, str); keep: newest reads "
            "numbers, or dates and times written as text (cluster.keep: newest:day)"
        )
    else:
        unique = pq.read_table(tmp_path / "out-1MB" / "unique.parquet")
        assert unique.schema.field("day").metadata == {b"dedup": b"json"}
        days = dict(zip(unique["id"].to_pylist(), unique["day"].to_pylist(), strict=True))
        assert days["r7"] == "7" and days["r4207"] == '"day 7"', "each value JSON-encoded once"
        assert unique.schema.field("score").type == pa.float64()


# 4. A damaged checkpoint is never reused ----------------------------------------------------------


@pytest.mark.processes
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


@pytest.mark.parametrize(
    ("paths", "held"), [(["data"], "'data' holds"), (["data/*"], "'data/idx.sqlite' is")]
)
def test_an_index_inside_the_input_is_refused(
    paths: list[str], held: str, cli: Callable[..., Result], tmp_path: Path
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "in.jsonl").write_text(f"{_good(0)}\n{_good(1)}\n", encoding="utf-8")
    index = {"path": "data/idx.sqlite"}
    _write_config(tmp_path, {"input": {"paths": ["data/in.jsonl"]}, "index": index}, "first.yaml")
    assert cli("index", "add", "first.yaml").exit_code == 0
    _write_config(tmp_path, {"input": {"paths": paths}, "index": index, "output": {"dir": "out2"}})
    result = cli("index", "add", "config.yaml")
    assert (result.exit_code, result.stderr) == (
        2,
        f"Error: input.paths: {held} the index (index.path: data/idx.sqlite); a job would read the index "
        "as input. Keep the index outside the input\n",
    )


@pytest.mark.processes
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
    if command == ("index", "check"):  # a check reads an index that exists (it refuses a path without one)
        dedup.Index.open(str(tmp_path / "index.sqlite")).close()
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


@pytest.mark.processes
def test_a_full_disk_is_one_line_and_leaves_nothing_staged(tmp_path: Path) -> None:
    _many_articles(tmp_path)
    _write_config(tmp_path, {"input": {"paths": ["in.jsonl"]}})
    result = _dedup(tmp_path, "run", "config.yaml", limits="-f 100")  # files of at most 100 KiB
    assert (result.returncode, result.stderr) == (
        1,
        "Error: out: cannot write the output folder: File too large\n",
    )
    assert list((tmp_path / "out").iterdir()) == [], "the checkpoints and temporary files are gone"


@pytest.mark.processes
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


# 8. Index locks: extended while held, a lost one never leaves a partial batch, timeouts told -----


def _redis_index(redis_url: str, **index: Any) -> Index:
    import uuid

    return Index.open(
        redis_url, config_from_dict({"index": {"name": f"test-{uuid.uuid4().hex[:8]}", **index}})
    )


def _index_keys(index: Index) -> dict[bytes, Any]:
    """Every key of a Redis index but its lock and number counter, with its contents."""
    client, ns = index.store.client, index.store.ns
    keys = [k for k in client.scan_iter(match=f"{ns}:*") if not k.endswith((b":lock", b":next"))]
    return {k: client.hgetall(k) for k in sorted(keys)}


def test_a_redis_batch_that_outlives_the_lock_timeout_keeps_its_lock(redis_url: str) -> None:
    import redis

    with _redis_index(redis_url, lock_timeout=0.5) as index:
        client = redis.Redis.from_url(redis_url)
        with index.store.locked():
            token = client.get(f"{index.store.ns}:lock")
            client.blpop([f"{index.store.ns}:never"], timeout=2)  # a 2 s stall
            assert client.get(f"{index.store.ns}:lock") == token, "still held, by this writer"
            matches = index.check_and_add([("a", GOOD[0]), ("b", GOOD[1])])
        assert [m.status for m in matches] == ["new", "new"] and index.stats()["records"] == 2


def test_a_redis_writer_that_lost_its_lock_writes_nothing(redis_url: str) -> None:
    import redis

    with _redis_index(redis_url) as index:
        index.add([("a", GOOD[0])])
        before = _index_keys(index)
        with index.store.locked():
            # The lock expired and another writer took it (what a stalled writer finds).
            redis.Redis.from_url(redis_url).set(f"{index.store.ns}:lock", b"another writer")
            with pytest.raises(dedup.EngineError) as err:
                index.check_and_add([("b", GOOD[1]), ("c", GOOD[2])])
            with pytest.raises(dedup.EngineError):
                index.remove(["a"])
        where = redis_url
        assert str(err.value) == (
            f"{where} ({index.store.ns}): the index lock was lost before the batch was written "
            "(held past index.lock_timeout, 60 s, without being extended); nothing of the batch was written: "
            "retry it"
        )
        assert _index_keys(index) == before, "no partial batch"
        assert [m.status for m in index.check([("c", GOOD[2]), ("a2", GOOD[0])])] == ["new", "exact"]


def test_a_sqlite_writer_that_waits_past_the_lock_timeout_is_told(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    import sqlite3

    path = tmp_path / "idx.sqlite"
    Index.open(str(path)).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer, mid-batch
    try:
        with Index.open(str(path), config_from_dict({"index": {"lock_timeout": 0.2}})) as index:
            assert [m.status for m in index.check([("a", GOOD[0])])] == ["new"], "readers never wait"
            with pytest.raises(dedup.EngineError) as err:
                index.add([("a", GOOD[0])])
        assert str(err.value) == (
            f"{path}: another writer held the index's write lock for longer than index.lock_timeout "
            "(0.2 s); retry, or raise index.lock_timeout"
        )
        (tmp_path / "in.jsonl").write_text(f"{_good(0)}\n", encoding="utf-8")
        _write_config(
            tmp_path, {"input": {"paths": ["in.jsonl"]}, "index": {"path": "idx.sqlite", "lock_timeout": 0.2}}
        )
        result = cli("index", "add", "config.yaml")
        assert (result.exit_code, result.stderr) == (
            1,
            f"Error: {str(err.value).replace(str(path), 'idx.sqlite')}\n",
        )
    finally:
        holder.execute("ROLLBACK")


# 9. Never write into a database or namespace that is not an index ----------------------------------


@pytest.mark.parametrize(
    ("schema", "tables"),
    [
        ("CREATE TABLE users (name TEXT)", "users"),
        ("CREATE TABLE records (id INTEGER, body TEXT)", "records"),
        (
            "CREATE TABLE meta (k TEXT); CREATE TABLE records (x); CREATE TABLE band (y)",
            "band, meta, records",
        ),
    ],
)
def test_someone_elses_sqlite_database_is_refused_untouched(schema: str, tables: str, tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "theirs.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(schema)
    db.close()
    before = path.read_bytes()
    with pytest.raises(dedup.IndexMismatchError) as err:
        Index.open(str(path))
    assert str(err.value) == (
        f"{path}: not a dedup index (a database with tables {tables}); dedup never writes into a database "
        "it did not create: choose another index.path"
    )
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["theirs.sqlite"]


@pytest.mark.parametrize("foreign", ["rec", "meta", "x:7"])
def test_a_redis_namespace_holding_other_keys_is_refused_untouched(foreign: str, redis_url: str) -> None:
    import uuid

    import redis

    client, ns = redis.Redis.from_url(redis_url), f"theirs-{uuid.uuid4().hex[:8]}"
    client.set(f"{ns}:{foreign}", b"their value")
    with pytest.raises(dedup.IndexMismatchError) as err:
        Index.open(redis_url, config_from_dict({"index": {"name": ns}}))
    assert str(err.value) == (
        f"{redis_url}: the namespace '{ns}' holds keys that are not a dedup index; dedup never writes into "
        "keys it did not create: choose another index.name"
    )
    assert [k for k in client.scan_iter(match=f"{ns}:*")] == [f"{ns}:{foreign}".encode()]
    assert client.get(f"{ns}:{foreign}") == b"their value"


# 10-13. What is shown: no passwords, no raw control characters, present apart from exact ------------


def test_redis_passwords_are_never_shown_or_stored(
    redis_url: str, cli: Callable[..., Result], tmp_path: Path
) -> None:
    import uuid

    import redis

    user = f"tester{uuid.uuid4().hex[:6]}"
    redis.Redis.from_url(redis_url).acl_setuser(
        user, enabled=True, passwords=["+s3cret-word"], keys=["*"], commands=["+@all"]
    )
    url = redis_url.replace("redis://", f"redis://{user}:s3cret-word@")
    shown = redis_url.replace("redis://", f"redis://{user}:***@")
    (tmp_path / "in.jsonl").write_text(f"{_good(0)}\n{_good(1)}\n", encoding="utf-8")
    index = {"path": url, "name": f"test-{uuid.uuid4().hex[:8]}"}
    _write_config(
        tmp_path,
        {"input": {"paths": ["in.jsonl"]}, "index": index, "output": {"dir": "out", "overwrite": True}},
    )
    added = cli("index", "add", "config.yaml")
    assert added.exit_code == 0, added.output
    assert added.stdout.endswith(f" -> out (index: {shown})\n")
    run = cli("run", "config.yaml")
    assert run.exit_code == 0, run.output
    stored = (tmp_path / "out" / "report.json").read_text()
    assert "s3cret" not in added.output + run.output + stored and shown in stored
    wrong = url.replace("s3cret-word", "wrong-word")
    failed = cli("index", "check", "config.yaml", "--set", f"index.path={wrong}")
    assert failed.exit_code == 1 and failed.stderr.startswith(f"Error: {shown}: cannot reach Redis: ")
    assert "wrong-word" not in failed.output
    with pytest.raises(dedup.EngineError) as err:
        Index.open(wrong)
    assert "wrong-word" not in str(err.value)


def test_an_id_of_70000_characters_is_indexed(target: tuple[str, dict[str, Any]]) -> None:
    where, data = target
    long_id = "x" * 70_000 + "é"
    with Index.open(where, config_from_dict(data)) as index:
        assert [m.status for m in index.check_and_add([(long_id, GOOD[0]), ("short", GOOD[1])])] == [
            "new",
            "new",
        ]
        (match,) = index.check([("probe", GOOD[0])])
        assert (match.status, match.duplicate_of) == ("exact", long_id)
        assert index.remove([long_id]) == 1 and index.stats()["records"] == 1


ESCAPES = "\x1b]0;pwned\x07\x1b[2J\r\u202e"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("spark.hadoop.fs.s3a.secret.key=SECRET XYZ", "spark.hadoop.fs.s3a.secret.key=***"),
        ("spark.hadoop.fs.s3a.access.key = AKIAEXAMPLE", "spark.hadoop.fs.s3a.access.key = ***"),
        (
            "spark.hadoop.fs.azure.account.key.acct.blob.core.windows.net=K",
            "spark.hadoop.fs.azure.account.key.acct.blob.core.windows.net=***",
        ),
        ("spark.hadoop.fs.s3a.session.token=T0K", "spark.hadoop.fs.s3a.session.token=***"),
        ("spark.ssl.keyStorePassword=pw", "spark.ssl.keyStorePassword=***"),
        ("spark.authenticate.secret=s", "spark.authenticate.secret=***"),
        (
            "spark.hadoop.google.cloud.auth.service.account.json=J",
            "spark.hadoop.google.cloud.auth.service.account.json=***",
        ),
        ("spark.kubernetes.credential.x=C", "spark.kubernetes.credential.x=***"),
        (
            "--set spark.conf=[spark.hadoop.fs.s3a.secret.key=S3,spark.executor.memory=8g]: bad",
            "--set spark.conf=[spark.hadoop.fs.s3a.secret.key=***,spark.executor.memory=8g]: bad",
        ),
        ("got ['a.b.password=p w', 'x.y=1']", "got ['a.b.password=***', 'x.y=1']"),
        ("-Dspark.ssl.keyPassword=pw1 -Dx.y=2", "-Dspark.ssl.keyPassword=*** -Dx.y=2"),
        ("spark.executor.memory=8g", "spark.executor.memory=8g"),
        ("spark.io.encryption.keySizeBits=128", "spark.io.encryption.keySizeBits=128"),
        ("author=somebody, token=x", "author=somebody, token=x"),  # not settings: no dotted name
    ],
)
def test_secret_settings_are_masked(text: str, shown: str) -> None:
    from dedup.display import mask_credentials, masked

    assert mask_credentials(text) == shown
    assert masked({"spark": {"conf": [text]}}) == {"spark": {"conf": [shown]}}


def test_control_characters_from_the_input_are_escaped_on_the_terminal(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    rows = [{"id": f"evil{ESCAPES}", "text": GOOD[k]} for k in (0, 1)]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    _write_config(tmp_path, {"input": {"paths": ["in.jsonl"]}})
    result = cli("run", "config.yaml")
    assert result.exit_code == 0, result.output
    escaped = "evil\\x1b]0;pwned\\x07\\x1b[2J\\x0d\\u202e"
    assert f"  in.jsonl:2: field 'id': duplicate id '{escaped}'; first seen at in.jsonl:1\n" in result.stderr
    _write_config(tmp_path, {"input": {"paths": ["in.jsonl"]}, "on_error": "fail", "output": {"dir": "o2"}})
    failed = cli("run", "config.yaml")
    assert (
        failed.stderr
        == f"Error: in.jsonl:2: duplicate id '{escaped}'; first seen at in.jsonl:1 (on_error: fail)\n"
    )
    for output in (result.output, failed.output):
        assert not any(ch in output for ch in "\x1b\x07\r\u202e"), "no raw control character"


def test_index_add_counts_present_apart_from_exact(cli: Callable[..., Result], tmp_path: Path) -> None:
    (tmp_path / "day1.jsonl").write_text(f"{_good(0)}\n{_good(1)}\n", encoding="utf-8")
    again = json.dumps({"id": "copy", "text": GOOD[0]})
    (tmp_path / "day2.jsonl").write_text(f"{_good(0)}\n{_good(1)}\n{again}\n{_good(2)}\n", encoding="utf-8")
    out = {"dir": "out", "overwrite": True}
    _write_config(
        tmp_path,
        {"input": {"paths": ["day1.jsonl"]}, "index": {"path": "idx.sqlite"}, "output": out},
        "c1.yaml",
    )
    _write_config(
        tmp_path,
        {"input": {"paths": ["day2.jsonl"]}, "index": {"path": "idx.sqlite"}, "output": out},
        "c2.yaml",
    )
    assert cli("index", "add", "c1.yaml").exit_code == 0
    result = cli("index", "add", "c2.yaml")
    assert result.stdout == (
        "read 4: new 1, duplicates 3 (1 exact, 0 near, 2 present), rejected 0 -> out (index: idx.sqlite)\n"
    )
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    matches = [r["match"] for r in _rows(tmp_path / "out", "duplicates.parquet")]
    counts = {k: report[k] for k in ("duplicates", "exact_duplicates", "near_duplicates", "present")}
    assert counts == {"duplicates": 3, "exact_duplicates": 1, "near_duplicates": 0, "present": 2}
    assert sorted(matches) == ["exact", "present", "present"]
    assert report["matched_by"] == {"exact": 1, "jaccard": 0, "containment": 0, "contains": 0}
    assert cli("report", "out").exit_code == 0
    page = (tmp_path / "out" / "report.html").read_text()
    assert "<tr><th>present (id already indexed)</th><td class='num'>2</td></tr>" in page


# 14-17. Limits: open files, nested HTML, YAML bombs, settings that do not fit together -------------


@pytest.mark.processes
def test_thousands_of_input_files_under_a_small_open_file_limit(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    for i in range(300):
        text = GOOD[i % 3] if i % 2 else " ".join(article(6000 + i, paragraphs=2, words=20))
        (tmp_path / "in" / f"{i:04d}.jsonl").write_text(json.dumps({"id": f"r{i}", "text": text}) + "\n")
    _write_config(tmp_path, {"input": {"paths": ["in"]}})
    result = _dedup(tmp_path, "run", "config.yaml", "--quiet", limits="-n 128")  # files open at once
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert (report["read"], report["kept"], report["shards"]["total"]) == (300, 153, 300)


class _Counted:
    """A stand-in for selectolax's parser and nodes that counts every node it hands out."""

    def __init__(self, target: Any, handed: list[int]) -> None:
        self._target, self._handed = target, handed

    def _wrap(self, value: Any) -> Any:
        from selectolax.lexbor import LexborNode

        if isinstance(value, LexborNode):
            self._handed[0] += 1
            return _Counted(value, self._handed)
        if isinstance(value, list):
            return [self._wrap(v) for v in value]
        return value

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if callable(value):
            return lambda *args, **kwargs: self._wrap(value(*args, **kwargs))
        return self._wrap(value)


@pytest.mark.parametrize(
    "page",
    [
        lambda n: "<blockquote>" * n + "quoted" + "</blockquote>" * n,
        lambda n: "<ul><li>item " * n,
        lambda n: "<div>" * n + "<p>one</p>" * n + "</div>" * n,
        lambda n: "<div><p>para</p>" * n + "</div>" * n,
    ],
    ids=["nested blockquotes", "nested list items", "many paragraphs deep down", "nested divs"],
)
def test_paragraph_extraction_visits_each_element_a_bounded_number_of_times(
    page: Callable[[int], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from dedup import normalize

    real = normalize.LexborHTMLParser
    handed = [0]
    monkeypatch.setattr(normalize, "LexborHTMLParser", lambda html: _Counted(real(html), handed))
    visits = []
    for n in (300, 1200):
        handed[0] = 0
        paragraphs = normalize.clean(page(n), normalize.NormalizeConfig(content="html"))
        assert paragraphs
        visits.append(handed[0])
    assert visits[1] <= 4 * n + 10, f"at most a few node visits per element: {visits}"
    assert visits[1] < 5 * visits[0], f"linear work: 4 times the elements, {visits}"


def _config_bomb(levels: int = 5) -> str:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"a{k}: &a{k} [{', '.join([f'*a{k - 1}'] * 9)}]" for k in range(1, levels)]
    return "\n".join(lines) + "\n"


CONFIG_MISTAKES = {
    "a YAML alias bomb": (
        _config_bomb(),
        [],
        "Error: config.yaml: line 2, column 10: YAML aliases (*name) are not accepted in a config; "
        "write the value out\n",
    ),
    "an alias in --set": (
        "input: {paths: [in.jsonl]}\n",
        ["--set", "input.paths=[&a in.jsonl, *a]"],
        "Error: --set input.paths=[&a in.jsonl, *a]: YAML aliases (*name) are not accepted in a config; "
        "write the value out\n",
    ),
    "YAML nested 100,000 deep": (
        "input: " + "[" * 100_000 + "]" * 100_000 + "\n",
        [],
        "Error: config.yaml: the YAML nests too deeply for a config\n",
    ),
    "more bands than num_perm": (
        "input: {paths: [in.jsonl]}\nlsh: {bands: 200}\n",
        [],
        "Error: config.yaml: lsh.bands x lsh.rows = 200 x 1 = 200 signature values, but minhash.num_perm "
        "is 128; lower lsh.bands or lsh.rows, or raise minhash.num_perm\n",
    ),
    "bands x rows over num_perm, by --set": (
        "input: {paths: [in.jsonl]}\n",
        ["--set", "lsh.bands=20", "--set", "lsh.rows=8"],
        "Error: --set: lsh.bands x lsh.rows = 20 x 8 = 160 signature values, but minhash.num_perm is 128; "
        "lower lsh.bands or lsh.rows, or raise minhash.num_perm\n",
    ),
    "rows over num_perm": (
        "input: {paths: [in.jsonl]}\nminhash: {num_perm: 64}\nlsh: {rows: 65}\n",
        [],
        "Error: config.yaml: lsh.bands x lsh.rows = 1 x 65 = 65 signature values, but minhash.num_perm is "
        "64; lower lsh.bands or lsh.rows, or raise minhash.num_perm\n",
    ),
}


@pytest.mark.parametrize("kind", list(CONFIG_MISTAKES))
@pytest.mark.parametrize("command", [("run",), ("index", "add")])
def test_config_mistakes_are_refused_at_load(
    kind: str, command: tuple[str, ...], cli: Callable[..., Result], tmp_path: Path
) -> None:
    text, overrides, message = CONFIG_MISTAKES[kind]
    (tmp_path / "in.jsonl").write_text(f"{_good(0)}\n", encoding="utf-8")
    (tmp_path / "config.yaml").write_text(text, encoding="utf-8")
    result = cli(*command, "config.yaml", *overrides)
    assert (result.exit_code, result.stderr) == (2, message)
    assert not (tmp_path / "out").exists()


def test_a_keep_rule_on_a_field_no_record_has_fails(cli: Callable[..., Result], tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_text(f"{_good(0, day=1)}\n{_good(1)}\n", encoding="utf-8")
    _write_config(tmp_path, {"input": {"paths": ["in.jsonl"]}, "cluster": {"keep": "newest:date"}})
    result = cli("run", "config.yaml")
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: field 'date' is missing or null in every record (cluster.keep: newest:date)\n",
    )
    assert list((tmp_path / "out").iterdir()) == [], "nothing written, no checkpoints left"


def test_an_index_url_redis_cannot_read_is_a_config_error(cli: Callable[..., Result], tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_text(f"{_good(0)}\n", encoding="utf-8")
    _write_config(tmp_path, {"input": {"paths": ["in.jsonl"]}, "index": {"path": "redis://:pw@host:port/0"}})
    result = cli("index", "add", "config.yaml")
    assert (result.exit_code, result.stderr) == (
        2,
        "Error: redis://:***@host:port/0: not a Redis URL (Port could not be cast to integer value as 'port'); "
        "index.path takes a SQLite file or a URL such as redis://host:6379/0\n",
    )


def test_a_config_opening_with_a_byte_order_mark(cli: Callable[..., Result], tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_text(f"{_good(0)}\n", encoding="utf-8")
    (tmp_path / "config.yaml").write_bytes(b"\xef\xbb\xbfinput: {paths: [in.jsonl]}\noutput: {dir: out}\n")
    assert cli("run", "config.yaml").exit_code == 0


# 19. Files that are not what a command takes ------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        (
            "data.jsonl.gz",
            __import__("gzip").compress(b'{"id": 1, "text": "x"}\n'),
            "data.jsonl.gz: a gzip-compressed file, not a config",
        ),
        ("data.parquet", b"PAR1\x15\x04rest", "data.parquet: a Parquet file, not a config"),
        (
            "data.jsonl",
            b'{"id": 1, "text": "x"}\n{"id": 2, "text": "y"}\n',
            "data.jsonl: not valid YAML at line 2, column 1: expected '<document start>', but found '{' "
            "(this looks like a JSON lines file)",
        ),
        ("notes.txt", b"caf\xe9\n", "notes.txt: the config file is not UTF-8 (byte 3)"),
        ("big.yaml", b"#" * (1 << 20) + b"\n", "big.yaml: over 1,048,576 bytes, too large for a config"),
    ],
    ids=["gzip", "parquet", "jsonl", "not UTF-8", "too large"],
)
def test_a_data_file_given_as_the_config_is_told_a_config_is_expected(
    name: str, data: bytes, message: str, cli: Callable[..., Result], tmp_path: Path
) -> None:
    (tmp_path / name).write_bytes(data)
    result = cli("run", name)
    hint = "; dedup takes a YAML config that names the input files in input.paths, e.g. dedup run configs/news.yaml"
    assert (result.exit_code, result.stderr) == (2, f"Error: {message}{hint}\n")


@pytest.mark.parametrize(
    ("report", "problem"),
    [
        ([], "expected a JSON object, found a list"),
        ({"read": 1}, "no 'kept'"),
        ("text", "expected a JSON object, found a string"),
    ],
)
def test_report_on_a_folder_whose_report_is_not_a_runs(
    report: Any, problem: str, cli: Callable[..., Result], tmp_path: Path
) -> None:
    (tmp_path / "in.jsonl").write_text(f"{_good(0)}\n{_good(1)}\n", encoding="utf-8")
    _write_config(tmp_path, {"input": {"paths": ["in.jsonl"]}})
    assert cli("run", "config.yaml").exit_code == 0
    (tmp_path / "out" / "report.json").write_text(json.dumps(report))
    result = cli("report", "out")
    assert (result.exit_code, result.stderr) == (
        1,
        f"Error: out/report.json: not the report of a dedup run: {problem}\n",
    )


def test_report_on_a_folder_whose_tables_are_not_a_runs(cli: Callable[..., Result], tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_text(f"{_good(0)}\n{_good(1)}\n", encoding="utf-8")
    _write_config(tmp_path, {"input": {"paths": ["in.jsonl"]}})
    assert cli("run", "config.yaml").exit_code == 0
    pq.write_table(pa.table({"id": ["a"], "text": ["t"]}), tmp_path / "out" / "unique.parquet")
    result = cli("report", "out")
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: out/unique.parquet: not the output of a dedup run: no column 'cluster_size'\n",
    )
