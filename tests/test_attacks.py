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
