from __future__ import annotations

import gzip
import io
import json
import os
import zlib
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.errors import InputError
from dedup.io import fastjson
from dedup.io.readers import InputConfig, ReadBatch, concat, discover, file_format, read
from dedup.records import RAW_LIMIT
from tests.conftest import examples, write_jsonl


def _read(tmp_path: Path, *paths: str, **kw: str) -> tuple[list[dict[str, object]], list[str], int]:
    os.chdir(tmp_path)
    batches: list[ReadBatch] = list(read(InputConfig(paths=paths, **kw)))  # type: ignore[arg-type]
    rows = [r for b in batches for r in b.records.to_pylist()]
    rejects = [f"{r.where}: {r.reason}" for b in batches for r in b.rejects]
    return rows, rejects, sum(b.skipped_blank for b in batches)


def test_lines_give_file_line_ids_and_positions(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("<p>one</p>\n\n<p>two</p>\n", encoding="utf-8")
    rows, rejects, skipped = _read(tmp_path, "a.txt")
    assert [(r["id"], r["source_line"], r["text"]) for r in rows] == [
        ("a.txt:1", 1, "<p>one</p>"),
        ("a.txt:3", 3, "<p>two</p>"),
    ]
    assert rejects == [] and skipped == 1


def test_invalid_utf8_line_is_rejected_and_the_rest_read(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"good\nbad \xff byte\nalso good\n")
    rows, rejects, _ = _read(tmp_path, "a.txt")
    assert [r["text"] for r in rows] == ["good", "also good"]
    assert rejects == ["a.txt:2: invalid UTF-8 at byte 5 of the line"]


def test_jsonl_fields_ids_and_pass_through(tmp_path: Path) -> None:
    write_jsonl(
        tmp_path / "a.jsonl",
        [
            {"id": "x1", "text": "hello", "url": "http://a", "date": "2024-01-01"},
            {"text": "no id here", "paragraphs": 3},
            {"id": 7, "text": "integer id"},
        ],
    )
    rows, rejects, _ = _read(tmp_path, "a.jsonl")
    assert rejects == []
    assert [r["id"] for r in rows] == ["x1", "a.jsonl:2", "7"]
    assert rows[0]["url"] == "http://a" and rows[0]["date"] == "2024-01-01"
    assert rows[1]["input_paragraphs"] == 3  # a reserved name is passed through renamed


def test_jsonl_configurable_fields(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "a.jsonl", [{"doc_id": "d1", "body": "hello", "id": "other"}])
    rows, _, _ = _read(tmp_path, "a.jsonl", id_field="doc_id", text_field="body")
    assert rows[0]["id"] == "d1" and rows[0]["text"] == "hello"
    assert rows[0]["input_id"] == "other"


def test_jsonl_bad_lines_are_rejected_with_file_line_and_reason(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text(
        '{"text": "ok"}\n{"text": "broken\n[1, 2]\n{"body": "x", "url": "u"}\n{"text": 5}\n{"id": [1], "text": "t"}\n'
        '{"text": "fine"}\n',
        encoding="utf-8",
    )
    rows, rejects, _ = _read(tmp_path, "a.jsonl")
    assert [r["text"] for r in rows] == ["ok", "fine"]
    assert rejects == [
        "a.jsonl:2: malformed JSON (Unterminated string starting at, column 10)",
        "a.jsonl:3: expected a JSON object, got a list",
        "a.jsonl:4: no field 'text'; fields present: body, url (set input.text_field)",
        "a.jsonl:5: field 'text' is a number, expected a string",
        "a.jsonl:6: field 'id' is a list, expected a string or an integer",
    ]


def test_pass_through_types_that_differ_between_files_become_json_text(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "a.jsonl", [{"text": "a", "meta": 1}])
    write_jsonl(tmp_path / "b.jsonl", [{"text": "b", "meta": {"k": "v"}}])
    os.chdir(tmp_path)
    table = concat([b.records for b in read(InputConfig(paths=("a.jsonl", "b.jsonl")))])
    assert table["meta"].to_pylist() == ["1", '{"k": "v"}']


def test_csv_with_embedded_newlines_and_a_short_row(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text(
        'id,text,lang\nr1,"first line\nsecond line",en\nr2,plain,de\nr3,x,en,extra\n', encoding="utf-8"
    )
    rows, rejects, _ = _read(tmp_path, "a.csv")
    assert [(r["id"], r["source_line"], r["text"], r["lang"]) for r in rows] == [
        ("r1", 2, "first line\nsecond line", "en"),
        ("r2", 4, "plain", "de"),
    ]
    assert rejects == ["a.csv:5: the row has more cells than the header's 3"]


def test_csv_without_the_text_column_is_rejected_whole(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("id,body\n1,x\n", encoding="utf-8")
    assert _read(tmp_path, "a.csv")[1] == [
        "a.csv:1: no column 'text'; columns present: id, body (set input.text_field)"
    ]


def test_parquet_rows(tmp_path: Path) -> None:
    pq.write_table(
        pa.table({"id": ["p1", "p2"], "text": ["a", "b"], "score": [1.5, 2.5]}), tmp_path / "a.parquet"
    )
    rows, rejects, _ = _read(tmp_path, "a.parquet")
    assert [(r["id"], r["source_line"], r["score"]) for r in rows] == [("p1", 1, 1.5), ("p2", 2, 2.5)]
    assert rejects == []


def test_corrupt_parquet_is_rejected_with_its_path(tmp_path: Path) -> None:
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 this is not parquet")
    rows, rejects, _ = _read(tmp_path, "bad.parquet")
    assert rows == [] and len(rejects) == 1
    assert rejects[0].startswith("bad.parquet: not a readable Parquet file:")


def test_gzip_and_zstd_by_extension(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(b'{"id": "g", "text": "gz"}\n'))
    (tmp_path / "b.txt.zst").write_bytes(zstandard.ZstdCompressor().compress(b"zst line\n"))
    rows, rejects, _ = _read(tmp_path, "a.jsonl.gz", "b.txt.zst")
    assert [(r["id"], r["text"]) for r in rows] == [("g", "gz"), ("b.txt.zst:1", "zst line")]
    assert rejects == []


def test_truncated_gzip_keeps_what_was_read_and_rejects_the_rest(tmp_path: Path) -> None:
    data = gzip.compress(b"".join(b"line %d\n" % i for i in range(200_000)))
    (tmp_path / "t.txt.gz").write_bytes(data[: len(data) // 2])
    rows, rejects, _ = _read(tmp_path, "t.txt.gz")
    decodable = zlib.decompressobj(31).decompress(data[: len(data) // 2]).count(b"\n")
    assert len(rows) == decodable > 0 and len(rejects) == 1  # every whole line before the damage
    assert f"the file is truncated or corrupt after line {len(rows)}" in rejects[0]


def test_folders_globs_and_order(tmp_path: Path) -> None:
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "b.txt").write_text("b\n")
    (tmp_path / "d" / "sub" / "a.txt").write_text("a\n")
    (tmp_path / "d" / ".hidden").write_text("h\n")
    os.chdir(tmp_path)
    assert discover(("d",)) == ["d/b.txt", "d/sub/a.txt"]
    assert discover(("d/**/*.txt",)) == ["d/b.txt", "d/sub/a.txt"]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("missing.txt", "missing.txt: no such file or folder"),
        ("*.nothing", "*.nothing: the glob matched no files"),
    ],
)
def test_missing_inputs_are_errors(tmp_path: Path, entry: str, message: str) -> None:
    os.chdir(tmp_path)
    with pytest.raises(InputError) as err:
        discover((entry,))
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("path", "fmt"),
    [
        ("a.jsonl", "jsonl"),
        ("a.ndjson.gz", "jsonl"),
        ("a.csv.zst", "csv"),
        ("a.parquet", "parquet"),
        ("a.txt", "lines"),
        ("a.html.gz", "lines"),
        ("noext", "lines"),
    ],
)
def test_format_by_extension(path: str, fmt: str) -> None:
    assert file_format(path, "auto") == fmt
    assert file_format(path, "csv") == "csv"


def test_the_fast_jsonl_path_gives_what_the_line_reader_gives(tmp_path: Path) -> None:
    rows = [
        {
            "id": 10 + i,
            # Digits past 64 bits inside a string, and a 19-digit integer that fits: no float is
            # read, so no integer was made inexact, and the block takes the fast path.
            "text": f"text {i} é, 99999999999999999999",
            "n": 1234567890123456789 - i,
            "when": "2024-01-02T10:00:00",
            "meta": {"k": i},
            "tags": ["a", "b"],
        }
        for i in range(50)
    ]
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()
    fast = fastjson.parse_block(data, 1, "f.jsonl", "id", "text")
    assert fast is not None
    (tmp_path / "f.jsonl").write_bytes(data.replace(b"\n", b"\n\n", 1))  # a blank line: the careful path
    slow, rejects, skipped = _read(tmp_path, "f.jsonl")
    assert rejects == [] and skipped == 1
    for row in slow:  # the blank line shifted later lines by one
        row["source_line"] = int(row["source_line"]) - (1 if int(row["source_line"]) > 2 else 0)  # type: ignore[call-overload]
    assert fast.to_pylist() == slow
    assert fast["when"].type == pa.string()  # not guessed as a timestamp


@pytest.mark.parametrize(
    "block",
    [
        b'{"text": "a"}\n\n{"text": "b"}\n',  # blank line: line numbers would shift
        b'{"text": "a"}\n{"text": 5}\n',  # a non-string text
        b'{"text": "a"}\n{"body": "b"}\n',  # a missing text
        b'{"text": "a", "id": "x"}\n{"text": "b", "id": 2}\n',  # id changes type
        b'{"text": "a"}\n{broken\n',
    ],
)
def test_the_fast_path_declines_what_needs_a_careful_read(block: bytes) -> None:
    assert fastjson.parse_block(block, 1, "f.jsonl", "id", "text") is None


def test_blocks_keep_whole_lines_and_count_them() -> None:
    data = b"".join(b"line %d\n" % i for i in range(1000)) + b"tail"
    got = list(fastjson.blocks(io.BytesIO(data), size=1000))
    assert b"".join(block for _, block in got) == data
    assert all(block.endswith(b"\n") for _, block in got[:-1])
    assert [first for first, _ in got] == [
        1 + b"".join(b for _, b in got[:k]).count(b"\n") for k in range(len(got))
    ]


def test_blocks_end_when_the_stream_ends_on_a_block_boundary() -> None:
    # The stream's last read fills a block exactly: the reader must stop, not wait for more.
    assert list(fastjson.blocks(io.BytesIO(b"a\nb\n"), size=2)) == [(1, b"a\nb\n")]
    assert list(fastjson.blocks(io.BytesIO(b"a\nbb"), size=2)) == [(1, b"a\n"), (2, b"bb")]


@pytest.mark.parametrize("name", ["a.jsonl", "a.parquet"])
def test_a_reject_for_the_text_keeps_the_records_readable_id(tmp_path: Path, name: str) -> None:
    rows = [
        {"id": f"r{i}", "text": f"fine text number {i}"} for i in range(40)
    ]  # a block long enough for the JSON fast path
    rows[3] = {"id": "b_num", "text": None}
    rows[7] = {"id": "r7", "text": None}
    if name.endswith(".jsonl"):
        rows[3]["text"] = 12345  # type: ignore[assignment]
        rows[9] = {"id": 42, "body": "no text field"}  # type: ignore[dict-item]
        write_jsonl(tmp_path / name, rows)
    else:
        pq.write_table(pa.Table.from_pylist(rows), tmp_path / name)
    os.chdir(tmp_path)
    batches = list(read(InputConfig(paths=(name,))))
    rejected = {r.source_line: r.id for b in batches for r in b.rejects}
    expected = {4: "b_num", 8: "r7"} | ({10: "42"} if name.endswith(".jsonl") else {})
    assert rejected == expected


def _rejects(tmp_path: Path, *paths: str) -> list[tuple[int | None, str, str | None, str | None]]:
    """Every reject as (line, reason, field, raw)."""
    os.chdir(tmp_path)
    return [
        (r.source_line, r.reason, r.field, r.raw) for b in read(InputConfig(paths=paths)) for r in b.rejects
    ]


def test_a_reject_names_the_kind_of_value_it_found(tmp_path: Path) -> None:
    lines = [
        '{"id": "a", "text": 5}',
        '{"id": "b", "text": 5.5}',
        '{"id": "c", "text": 123456789012345678901234567890}',
        '{"id": "d", "text": true}',
        '{"id": "e", "text": null}',
        '{"id": "f", "text": ["x"]}',
        '{"id": "g", "text": {"x": 1}}',
        '{"id": "h", "text": "kept"}',
        '{"id": true, "text": "x"}',
        '{"id": [1], "text": "x"}',
        "[1, 2]",
        '"just a string"',
        "7",
    ]
    (tmp_path / "a.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    text = "expected a string"
    assert [(line, reason) for line, reason, _, _ in _rejects(tmp_path, "a.jsonl")] == [
        (1, f"field 'text' is a number, {text}"),
        (2, f"field 'text' is a number, {text}"),
        (3, f"field 'text' is a number, {text}"),
        (4, f"field 'text' is a boolean, {text}"),
        (5, f"field 'text' is null, {text}"),
        (6, f"field 'text' is a list, {text}"),
        (7, f"field 'text' is an object, {text}"),
        (9, "field 'id' is a boolean, expected a string or an integer"),
        (10, "field 'id' is a list, expected a string or an integer"),
        (11, "expected a JSON object, got a list"),
        (12, "expected a JSON object, got a string"),
        (13, "expected a JSON object, got a number"),
    ]


def test_a_parquet_value_of_another_type_is_named_by_its_type(tmp_path: Path) -> None:
    pq.write_table(
        pa.table({"id": ["p1", "p2"], "text": pa.array([b"raw bytes", b"more"], pa.binary())}),
        tmp_path / "a.parquet",
    )
    assert _rejects(tmp_path, "a.parquet") == [
        (1, "field 'text' is bytes, expected a string", "text", "raw bytes"),
        (2, "field 'text' is bytes, expected a string", "text", "more"),
    ]


def test_a_parquet_file_without_the_text_column_names_the_column(tmp_path: Path) -> None:
    pq.write_table(pa.table({"id": ["p1"], "body": ["x"]}), tmp_path / "a.parquet")
    assert _rejects(tmp_path, "a.parquet") == [
        (None, "no column 'text'; columns present: id, body (set input.text_field)", "text", None)
    ]


def test_csv_rejects_carry_the_row_as_read_and_the_field_at_fault(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("id,text,lang\nr1,x,en,extra\nr2\nr3,kept,de\n", encoding="utf-8")
    assert _rejects(tmp_path, "a.csv") == [
        (2, "the row has more cells than the header's 3", None, "r1,x,en,extra"),
        (3, "field 'text' is null, expected a string", "text", "r2,,"),
    ]
    (tmp_path / "b.csv").write_text("id,body\n1,x\n", encoding="utf-8")
    assert _rejects(tmp_path, "b.csv") == [
        (1, "no column 'text'; columns present: id, body (set input.text_field)", "text", None)
    ]


def test_a_csv_field_keeps_its_own_line_ends(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_bytes(b'id,text\r\nr1,"one\r\ntwo"\r\nr2,three\r\n')
    rows, rejects, _ = _read(tmp_path, "a.csv")
    assert [(r["id"], r["text"], r["source_line"]) for r in rows] == [
        ("r1", "one\r\ntwo", 2),
        ("r2", "three", 4),
    ]
    assert rejects == []


def test_a_csv_that_breaks_mid_way_keeps_the_rows_before(tmp_path: Path) -> None:
    # Python's csv module refuses a field over its limit (131,072 characters by default).
    (tmp_path / "a.csv").write_text(
        f"id,text\nr1,one\nr2,two\nr3,{'x' * 140_000}\nr4,four\n", encoding="utf-8"
    )
    rows, _, _ = _read(tmp_path, "a.csv")
    assert [r["id"] for r in rows] == ["r1", "r2"]
    assert _rejects(tmp_path, "a.csv") == [
        (4, "cannot read the CSV from here on: field larger than field limit (131072)", None, None)
    ]


def test_depth_counts_the_levels_of_lists_and_objects() -> None:
    from dedup.io.fields import depth

    # Expected: the number of brackets opened on the deepest path, counted by eye.
    assert [depth(v) for v in (5, "s", None, [], {}, [1, [2]], {"a": {"b": [1]}}, [{"a": 1}, 2])] == [
        0,
        0,
        0,
        1,
        1,
        2,
        3,
        2,
    ]


@pytest.mark.parametrize(
    ("digits", "value"),
    [
        # Signed 64-bit bounds: -(2**63) .. 2**63 - 1, worked out by hand.
        ("9223372036854775807", 9223372036854775807),
        ("9223372036854775808", "9223372036854775808"),
        ("-9223372036854775808", -9223372036854775808),
        ("-9223372036854775809", "-9223372036854775809"),
        ("999999999999999999", 999999999999999999),  # 18 digits
        ("1000000000000000000", 1000000000000000000),  # 19 digits
        ("-1000000000000000000", -1000000000000000000),
        ("12345678901234567890", "12345678901234567890"),  # 20 digits, above the bound
        ("123456789012345678901", "123456789012345678901"),
        ("1234567890123456789012", "1234567890123456789012"),
        ("0000000000000000000000005", "0000000000000000000000005"),  # past 21 characters: as read
        ("00000000000000000005", 5),  # 20 characters
        ("000000000000000000005", 5),  # 21: the longest a 64-bit value is read from
        ("0000000000000000000005", "0000000000000000000005"),  # 22
    ],
)
def test_parse_int_keeps_what_64_bits_cannot_hold_as_its_digits(digits: str, value: int | str) -> None:
    from dedup.io.fields import BigInt, parse_int

    parsed = parse_int(digits)
    assert parsed == value
    assert isinstance(parsed, BigInt) is isinstance(value, str)


def test_canonical_json_text_does_not_depend_on_the_column() -> None:
    from dedup.io.fields import canonical, json_text

    assert canonical(5.0) == 5 and type(canonical(5.0)) is int
    assert canonical(5.5) == 5.5
    assert type(canonical(2.0**53)) is float  # past 2**53 a float is not known to be whole
    assert type(canonical(-(2.0**53) + 2)) is int
    assert canonical({"b": [1.0, None, {"c": None, "d": 2.0}], "a": None}) == {"b": [1, None, {"d": 2}]}
    assert canonical((1.0, "x")) == [1, "x"]
    out = json_text([{"b": 1.0, "a": "é"}, None, "x", 7, [True]])
    assert out.type == pa.string()
    assert out.to_pylist() == ['{"a": "é", "b": 1}', None, '"x"', "7", "[true]"]


def test_a_column_of_values_sharing_no_type_is_json_text() -> None:
    from dedup.io.fields import column, is_json

    for values, kind in [
        ([1, 2, None], pa.int64()),
        ([True, None, False], pa.bool_()),
        ([None, None], pa.null()),
        (["a", None], pa.string()),
    ]:
        array, field = column("f", values)
        assert (array.type, field.type, is_json(field), array.to_pylist()) == (kind, kind, False, values)
    for values, text in [
        ([True, 1], ["true", "1"]),  # a boolean beside a number: no shared type
        ([1, "a"], ["1", '"a"']),
        ([None, True, 2.5], [None, "true", "2.5"]),
    ]:
        array, field = column("f", values)
        assert is_json(field) and array.to_pylist() == text


def test_conform_converts_a_batch_to_the_inputs_one_field() -> None:
    from dedup.io.fields import conform, json_field

    target = json_field("f")
    nulls = conform(pa.nulls(3), pa.field("f", pa.null()), target)
    assert (nulls.type, nulls.to_pylist()) == (pa.string(), [None, None, None])
    ints = conform(pa.array([1, None]), pa.field("f", pa.int64()), target)
    assert (ints.type, ints.to_pylist()) == (pa.string(), ["1", None])
    same = pa.array(['"x"'])
    assert conform(same, target, target) is same
    widened = conform(pa.array([1, 2], pa.int32()), pa.field("f", pa.int32()), pa.field("f", pa.int64()))
    assert (widened.type, widened.to_pylist()) == (pa.int64(), [1, 2])
    kept = pa.array([1.5])
    assert conform(kept, pa.field("f", pa.float64()), pa.field("f", pa.float64())) is kept


def test_a_line_keeps_everything_but_its_line_end(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"TAX\r\ntrailing spaces  \n\n \n\t\nlast")
    rows, rejects, skipped = _read(tmp_path, "a.txt")
    assert [(r["source_line"], r["text"]) for r in rows] == [
        (1, "TAX"),
        (2, "trailing spaces  "),
        (6, "last"),
    ]
    assert rejects == [] and skipped == 3  # an empty line, a line of a space, a line of a tab


def test_json_rejects_carry_the_line_as_read(tmp_path: Path) -> None:
    lines = ['{"id": "a", "text": 5}', "{}", '{"id": true, "text": "x"}', '{"id": "b", "text": "kept"}']
    (tmp_path / "a.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert _rejects(tmp_path, "a.jsonl") == [
        (1, "field 'text' is a number, expected a string", "text", lines[0]),
        (2, "no field 'text'; fields present: none (set input.text_field)", "text", "{}"),
        (3, "field 'id' is a boolean, expected a string or an integer", "id", lines[2]),
    ]


def test_an_error_message_is_one_line() -> None:
    from dedup.io.readers import _one_line

    assert _one_line(ValueError("first\n  second\tthird ")) == "first second third"


def test_the_fast_path_hands_deep_or_guessed_time_fields_to_the_line_reader() -> None:
    from dedup.io.fastjson import _line_reader_needed
    from dedup.io.fields import MAX_DEPTH

    def nest(levels: int) -> pa.DataType:  # JSON nested `levels` deep: `levels` lists around a number
        kind: pa.DataType = pa.int64()
        for _ in range(levels):
            kind = pa.list_(kind)
        return kind

    assert not _line_reader_needed(pa.int64())
    assert not _line_reader_needed(pa.timestamp("s"))  # a top-level guess is read back as text
    assert _line_reader_needed(pa.list_(pa.timestamp("s")))
    assert _line_reader_needed(pa.struct([("a", pa.date32())]))
    assert not _line_reader_needed(pa.struct([("a", pa.string())]))
    assert not _line_reader_needed(nest(MAX_DEPTH))  # as deep as a pass-through field may be
    assert _line_reader_needed(nest(MAX_DEPTH + 1))


class _Trickle(io.RawIOBase):
    """A stream handing over one byte per `read1`, as a slow or compressed source might."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def read1(self, size: int = -1) -> bytes:
        piece = self.data[self.pos : self.pos + 1]
        self.pos += len(piece)
        return piece

    read = read1  # type: ignore[assignment]


def _expected_blocks(data: bytes, size: int) -> list[tuple[int, bytes]]:
    """The blocks a byte-at-a-time stream must give, from `blocks`' documented rule: once `size`
    bytes are held, cut after the last newline held (or, with none held, after the next one); the
    end of the stream ends the last block."""
    out, pos, line = [], 0, 1
    while pos < len(data):
        if len(data) - pos < size:
            block = data[pos:]
        else:
            window = data[pos : pos + size]
            cut = window.rfind(b"\n")
            if cut >= 0:
                block = data[pos : pos + cut + 1]
            else:
                after = data.find(b"\n", pos + size - 1)
                block = data[pos:] if after == -1 else data[pos : after + 1]
        out.append((line, block))
        line += block.count(b"\n")
        pos += len(block)
    return out


@settings(max_examples=examples(300))
@given(st.binary(max_size=40).map(lambda b: bytes(b"ab\n"[x % 3] for x in b)), st.integers(1, 8))
def test_blocks_cut_whole_lines_at_the_size(data: bytes, size: int) -> None:
    assert list(fastjson.blocks(_Trickle(data), size)) == _expected_blocks(data, size)


class _Chunks:
    """A stream handing out `data` in pieces of the given sizes, one `read1` at a time."""

    def __init__(self, data: bytes, sizes: list[int]) -> None:
        self.data, self.sizes, self.pos = data, list(sizes), 0

    def read1(self, size: int = -1) -> bytes:
        step = self.sizes.pop(0) if self.sizes else len(self.data)
        piece = self.data[self.pos : self.pos + step]
        self.pos += len(piece)
        return piece

    read = read1


@settings(max_examples=examples(300))
@given(
    st.binary(max_size=60).map(lambda b: bytes(b"ab\n"[x % 3] for x in b)),
    st.lists(st.integers(1, 9), max_size=30),
    st.integers(1, 12),
)
def test_blocks_cut_after_the_last_newline_held_whatever_the_pieces(
    data: bytes, sizes: list[int], size: int
) -> None:
    # The rule, restated over the pieces as they arrive: once `size` bytes are held and a newline
    # is among them, the block ends after the last one held; the end of the stream ends the last.
    expected, held, line, pos = [], b"", 1, 0
    for step in [*sizes, len(data)]:
        piece = data[pos : pos + step]
        pos += len(piece)
        held += piece
        if not piece:
            break
        if len(held) >= size and b"\n" in held:
            cut = held.rfind(b"\n") + 1
            expected.append((line, held[:cut]))
            line += held[:cut].count(b"\n")
            held = held[cut:]
    if held:
        expected.append((line, held))
    assert list(fastjson.blocks(_Chunks(data, sizes), size)) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("before", [0, 1, 2])
def test_the_fast_path_reads_a_line_longer_than_arrows_own_block(before: int) -> None:
    big = "x" * (5 << 19)  # 2.5 MiB: across two boundaries of Arrow's default block of 1 MiB
    short = [
        json.dumps({"id": f"s{k}", "when": "2024-01-02", "text": "y"}).encode() + b"\n" for k in range(before)
    ]
    block = b"".join(short) + json.dumps({"id": "a", "when": "2024-01-01", "text": big}).encode() + b"\n"
    table = fastjson.parse_block(block, 1, "f.jsonl", "id", "text")
    assert table is not None  # one block of Arrow's for the whole of it: no line straddles two
    assert table["text"].to_pylist() == ["y"] * before + [big]
    assert table["when"].to_pylist() == ["2024-01-02"] * before + ["2024-01-01"]


class _Breaking(io.RawIOBase):
    """A stream handing out `pieces` one read at a time, then failing as a corrupt file does."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = list(pieces)

    def read1(self, size: int = -1) -> bytes:
        if not self.pieces:
            raise EOFError("Compressed file ended before the end-of-stream marker was reached")
        return self.pieces.pop(0)


def test_a_failing_stream_gives_the_whole_lines_read_before_it_failed() -> None:
    stream = _Breaking([b'{"a": 1}\n{"b"', b': 2}\n{"c', b'": 3'])
    got = []
    with pytest.raises(EOFError):
        for first, block in fastjson.blocks(stream):  # type: ignore[arg-type]
            got.append((first, block))
    assert got == [(1, b'{"a": 1}\n{"b": 2}\n')]


@pytest.mark.parametrize(
    ("block", "ids"),
    [
        (b'{"id": "a", "text": "x"}\n{"id": "b", "text": "y"}\n', ["a", "b"]),
        (b'{"id": 7, "text": "x"}\n', ["7"]),
        (b'{"text": "x"}\n', ["f.jsonl:3"]),
        (b'{"id": "a", "text": "x"}\n{"text": "y"}\n', None),  # a missing id: the line reader names it
        (b'{"id": "a", "text": "x"}\n\n', None),  # a blank line: the line reader counts it
        (b'{"id": 1.5, "text": "x"}\n', None),
        (b'{"id": "a", "text": 5}\n', None),  # no string: the line reader says what it is
    ],
)
def test_the_fast_path_takes_or_declines_a_block(block: bytes, ids: list[str] | None) -> None:
    table = fastjson.parse_block(block, 3, "f.jsonl", "id", "text")
    assert (None if table is None else table["id"].to_pylist()) == ids


def test_unify_gives_one_field_for_every_batch() -> None:
    from dedup.io.fields import json_field, unify

    def f(kind: pa.DataType) -> pa.Field:
        return pa.field("f", kind)

    assert unify("f", [f(pa.int64()), f(pa.int64())]) == f(pa.int64())
    assert unify("f", [f(pa.int64()), f(pa.float64())]) == f(pa.float64())
    assert unify("f", [f(pa.null()), f(pa.string())]) == f(pa.string())
    assert unify("f", [f(pa.int64()), f(pa.string())]) == json_field("f")
    assert unify("f", [json_field("f"), f(pa.int64())]) == json_field("f")
    merged = unify("f", [f(pa.struct([("a", pa.int64())])), f(pa.struct([("b", pa.string())]))])
    assert merged == f(pa.struct([("a", pa.int64()), ("b", pa.string())]))


def test_concat_fills_a_field_a_batch_lacks_with_nulls() -> None:
    from dedup.io.fields import concat

    one = pa.table({"id": ["a"], "text": ["x"], "lang": ["en"]})
    two = pa.table({"id": ["b"], "text": ["y"], "n": [2]})
    out = concat([one, two], pa.table({"id": pa.array([], pa.string())}))
    assert out.to_pylist() == [
        {"id": "a", "text": "x", "lang": "en", "n": None},
        {"id": "b", "text": "y", "lang": None, "n": 2},
    ]


def test_unstorable_names_the_field_and_why() -> None:
    from dedup.io.fields import MAX_DEPTH, unstorable

    def nested(levels: int, open_: str = "{", close: str = "}") -> str:
        return '{"text": "t", "deep": ' + open_ * levels + close * levels + "}"

    def objects(levels: int) -> str:  # `levels` objects, one inside the other: {"a": {"a": {}}}
        inner = "{}"
        for _ in range(levels - 1):
            inner = '{"a": ' + inner + "}"
        return '{"text": "t", "deep": ' + inner + "}"

    for text, expected in [
        (objects(MAX_DEPTH), None),
        (
            objects(MAX_DEPTH + 1),
            (
                "deep",
                f"field 'deep' nests lists or objects more than {MAX_DEPTH} levels deep "
                "(the most a pass-through field keeps)",
            ),
        ),
        (
            nested(MAX_DEPTH + 1, "[", "]"),
            (
                "deep",
                f"field 'deep' nests lists or objects more than {MAX_DEPTH} "
                "levels deep (the most a pass-through field keeps)",
            ),
        ),
        ('{"text": ' + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "}", None),  # the text's own checks
        (
            '{"\\ud800x": 1, "text": "t"}',
            ("\\ud800x", "field '\\ud800x' holds a lone surrogate (\\ud800), which is not a character"),
        ),
    ]:
        assert unstorable(json.loads(text), text, ("text", "id")) == expected, text


@pytest.mark.parametrize(
    ("name", "content", "fmt"),
    [
        ("a.jsonl", b"PAR1" + b"x" * 10 + b"PAR1", "parquet"),  # opens and ends with the magic number
        ("b.jsonl", b"PAR1PAR1", "parquet"),  # the smallest such file
        ("c.jsonl", b"PAR1 is a line\n", "jsonl"),
        ("d.txt", b"PAR1", "lines"),
        ("e.txt", b"PAR1xxPAR", "lines"),
    ],
)
def test_parquet_is_told_by_its_magic_number_at_both_ends(
    tmp_path: Path, name: str, content: bytes, fmt: str
) -> None:
    from dedup.io.readers import detect_format

    (tmp_path / name).write_bytes(content)
    assert detect_format(str(tmp_path / name), "auto") == fmt


def test_a_folder_whose_name_looks_like_no_glob_is_read_whole(tmp_path: Path) -> None:
    (tmp_path / "DataX").mkdir()
    (tmp_path / "DataX" / "a.txt").write_text("x\n", encoding="utf-8")
    os.chdir(tmp_path)
    assert discover(("DataX",)) == [os.path.join("DataX", "a.txt")]


def _batches(tmp_path: Path, content: bytes) -> list[tuple[int, int, int]]:
    (tmp_path / "a.txt").write_bytes(content)
    os.chdir(tmp_path)
    return [
        (b.records.num_rows, len(b.rejects), b.skipped_blank) for b in read(InputConfig(paths=("a.txt",)))
    ]


def test_a_batch_holds_at_most_batch_size_records_and_rejects(tmp_path: Path) -> None:
    from dedup.io.readers import BATCH_SIZE

    assert _batches(tmp_path, b"x\n" * (BATCH_SIZE + 1)) == [(BATCH_SIZE, 0, 0), (1, 0, 0)]
    # Alternate good and bad lines: the rejects count towards a batch as records do.
    lines = b"".join(b"x\n" if k % 2 else b"\xff\n" for k in range(BATCH_SIZE + 100))
    assert _batches(tmp_path, lines) == [(BATCH_SIZE // 2, BATCH_SIZE // 2, 0), (50, 50, 0)]


def test_blank_lines_are_counted_in_whichever_batch_they_fall(tmp_path: Path) -> None:
    from dedup.io.readers import BATCH_SIZE

    assert sum(s for _, _, s in _batches(tmp_path, b"x\n" * BATCH_SIZE + b"\n\n")) == 2
    assert _batches(tmp_path, b"\n \n\n") == [(0, 0, 3)]  # a file of blank lines only


def test_a_rejected_line_keeps_the_line_as_read(tmp_path: Path) -> None:
    # Each way a JSON line is refused keeps the line itself as the reject's raw text, so that a
    # user can see (and repair) what was read; the reasons are the documented catalogue's.
    deep = "[" * 100_000 + "]" * 100_000
    lines = [
        b'{"id": "a", "text": "caf\xe9"}',  # Latin-1, not UTF-8
        deep.encode(),
        b"[1, 2]",
        b'{"id": "d", "text": "x", "bad": "\\ud800"}',  # an escaped lone surrogate
        b'{"id": "e", "text": "fine"}',
    ]
    (tmp_path / "a.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    got = _rejects(tmp_path, "a.jsonl")
    assert (
        [(line, field, raw) for line, _, field, raw in got]
        == [
            (1, None, '{"id": "a", "text": "caf\ufffd"}'),  # the bytes decoded leniently
            (2, None, deep[:RAW_LIMIT]),
            (3, None, "[1, 2]"),
            (4, "bad", '{"id": "d", "text": "x", "bad": "\\ud800"}'),
        ]
    )
    assert [reason.split(" ")[0] for _, reason, _, _ in got] == ["invalid", "the", "expected", "field"]


def test_a_rejected_line_of_plain_text_keeps_its_bytes_and_names_the_text(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"good\ncaf\xe9 au lait\n")
    assert _rejects(tmp_path, "a.txt") == [
        (2, "invalid UTF-8 at byte 4 of the line", "text", "caf\ufffd au lait")
    ]


def test_a_stream_that_breaks_before_any_line_is_a_reject_at_line_one(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(b'{"id": "a", "text": "x"}\n')[:12] + b"\0" * 64)
    ((line, reason, field, raw),) = _rejects(tmp_path, "a.jsonl.gz")
    assert (line, field, raw) == (1, None, None)
    assert reason.startswith("the file is truncated or corrupt after line 0: ")
    assert reason.removeprefix("the file is truncated or corrupt after line 0: ") not in ("", "None")


def test_a_parquet_file_that_breaks_midway_names_the_first_row_it_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dedup.io import readers

    monkeypatch.setattr(readers, "BATCH_SIZE", 2)
    texts = [f"record number {k} " * 40 for k in range(6)]
    path = tmp_path / "a.parquet"
    pq.write_table(pa.table({"id": [f"r{k}" for k in range(6)], "text": texts}), path, row_group_size=2)
    meta = pq.ParquetFile(path).metadata
    chunk = meta.row_group(2).column(1)  # the last row group's text: its pages' bytes are spoiled
    start = chunk.dictionary_page_offset or chunk.data_page_offset
    data = bytearray(path.read_bytes())
    data[start + 8 : start + chunk.total_compressed_size] = b"\xff" * (chunk.total_compressed_size - 8)
    path.write_bytes(bytes(data))
    os.chdir(tmp_path)
    batches = list(read(InputConfig(paths=("a.parquet",))))
    ids = [r["id"] for b in batches for r in b.records.to_pylist()]
    rejects = [(r.source_line, r.reason.split(":")[0], r.raw) for b in batches for r in b.rejects]
    assert ids == ["r0", "r1", "r2", "r3"]
    assert rejects == [(5, "not a readable Parquet file", None)]
    (reason,) = [r.reason for b in batches for r in b.rejects]
    assert len(reason) > len("not a readable Parquet file: ") and "None" not in reason


def test_an_unreadable_parquet_file_is_one_reject_without_a_row(tmp_path: Path) -> None:
    (tmp_path / "a.parquet").write_bytes(b"PAR1" + b"\0" * 32 + b"PAR1")
    ((line, reason, field, raw),) = _rejects(tmp_path, "a.parquet")
    assert (line, field, raw) == (None, None, None)
    assert reason.startswith("not a readable Parquet file: ") and "None" not in reason


def test_no_tables_concatenate_to_the_empty_records_table() -> None:
    empty = concat([])
    assert empty.num_rows == 0
    assert empty.schema.names == ["id", "text", "source_file", "source_line"]
    assert [f.type for f in empty.schema] == [pa.string(), pa.string(), pa.string(), pa.int64()]


def test_booleans_beside_floats_are_json_text_not_numbers() -> None:
    from dedup.io import fields

    for values in ([2.5, True], [True, 2.5], [None, 0.5, False]):
        array, field = fields.column("x", values)
        assert fields.is_json(field)
        assert array.to_pylist() == [None if v is None else json.dumps(v) for v in values]


def test_json_text_is_a_string_column_even_of_nulls_and_writes_dates_as_text() -> None:
    import datetime

    from dedup.io import fields

    assert fields.json_text([None, None]).type == pa.string()
    assert fields.json_text([datetime.date(2020, 1, 2), None, "é"]).to_pylist() == [
        '"2020-01-02"',
        None,
        '"é"',
    ]


def test_types_arrow_unifies_but_cannot_convert_are_json_text() -> None:
    from dedup.io import fields

    # Arrow's permissive promotion gives half floats for (half float, decimal), and then cannot
    # cast the decimals: the column is JSON text instead.
    seen = [pa.field("x", pa.float16()), pa.field("x", pa.decimal128(5, 2))]
    assert fields.is_json(fields.unify("x", seen))
    assert fields.unify("x", [pa.field("x", pa.int64()), pa.field("x", pa.float64())]).type == pa.float64()


def _drain(stream: io.BufferedIOBase | gzip.GzipFile, sizes: list[int]) -> tuple[bytes, str | None]:
    """Everything a stream hands over with `read1` of the given sizes (as the readers take it), and its error."""
    got = bytearray()
    k = 0
    try:
        while True:
            chunk = stream.read1(sizes[k % len(sizes)])
            k += 1
            if not chunk:
                return bytes(got), None
            got += chunk
    except (EOFError, OSError, zlib.error) as err:
        return bytes(got), type(err).__name__


@settings(max_examples=examples(60), deadline=None)
@given(
    st.integers(1, 3),
    st.integers(0, 4000),
    st.sampled_from(["whole", "cut", "flip"]),
    st.floats(0.0, 1.0),
    st.lists(st.sampled_from([1, 7, 4096, 65536, 1 << 20, -1]), min_size=1, max_size=4),
)
def test_gzip_is_decoded_to_the_bytes_and_error_the_standard_library_gives(
    tmp_path_factory: pytest.TempPathFactory,
    members: int,
    lines: int,
    damage: str,
    at: float,
    sizes: list[int],
) -> None:
    from dedup.io.readers import Gunzip

    rng = np.random.default_rng(lines)
    text = b"".join(b'{"id": "%d", "text": "%s"}\n' % (i, rng.bytes(8).hex().encode()) for i in range(lines))
    data = b"".join(gzip.compress(text[k::members]) for k in range(members))  # one member each
    if damage == "cut":
        data = data[: int(len(data) * at)]
    elif damage == "flip" and data:
        spot = min(len(data) - 1, 10 + int((len(data) - 10) * at))
        data = data[:spot] + bytes([data[spot] ^ 0x5A]) + data[spot + 1 :]
    path = tmp_path_factory.mktemp("gz") / "in.jsonl.gz"
    path.write_bytes(data)
    with gzip.open(path, "rb") as standard:
        expected = _drain(standard, sizes)
    with Gunzip(str(path)) as fast:
        assert _drain(fast, sizes) == expected
    assert _decoded_before_damage(data).startswith(expected[0])  # the oracle's own check
    if damage == "whole":
        assert expected == (b"".join(text[k::members] for k in range(members)), None)
    with Gunzip(str(path)) as fast:  # `read` too, where the data is whole
        whole = fast.read() if expected[1] is None else expected[0]
    assert whole == expected[0]


def _decoded_before_damage(data: bytes) -> bytes:
    """What zlib yields of gzip members fed one byte at a time, up to the first error."""
    out = bytearray()
    rest = data
    while rest:
        decoder = zlib.decompressobj(31)
        fed = 0
        try:
            while fed < len(rest) and not decoder.eof:
                out += decoder.decompress(rest[fed : fed + 1])
                fed += 1
        except zlib.error:
            return bytes(out)
        if not decoder.eof:
            return bytes(out)
        rest = decoder.unused_data + rest[fed:]
    return bytes(out)


def test_a_parquet_files_pass_through_columns_keep_their_types(tmp_path: Path) -> None:
    # Rows are read one by one (each judged alone), but a column's Arrow type is the file's: a
    # nanosecond timestamp keeps its nanoseconds, a 32-bit integer stays one, and so on.
    ns = pa.timestamp("ns", tz="UTC")
    columns = {
        "when": pa.array([1_704_067_200_000_000_001, None], ns),
        "small": pa.array([7, -3], pa.int32()),
        "price": pa.array([Decimal("1.25"), None], pa.decimal128(9, 2)),
        "day": pa.array([19_000, 19_001], pa.date32()),
    }
    pq.write_table(pa.table({"id": ["p1", "p2"], "text": ["a", "b"], **columns}), tmp_path / "a.parquet")
    batches = list(read(InputConfig(paths=(str(tmp_path),))))
    table = concat([b.records for b in batches])
    for name, expected in columns.items():
        assert table.schema.field(name).type == expected.type, name
        assert table[name].to_pylist() == expected.to_pylist(), name


def test_parquet_views_and_dictionaries_are_read_as_their_plain_types(tmp_path: Path) -> None:
    # A view or a dictionary is how a file stores a column, not what it holds: the column is read
    # as a plain one, so files that store one column differently still share its type.
    pq.write_table(
        pa.table(
            {
                "id": ["a"],
                "text": ["one"],
                "sv": pa.array(["x"], pa.string_view()),
                "label": pa.array(["x"]).dictionary_encode(),
            }
        ),
        tmp_path / "a.parquet",
    )
    pq.write_table(
        pa.table({"id": ["b"], "text": ["two"], "sv": ["y"], "label": ["y"]}), tmp_path / "b.parquet"
    )
    table = concat([b.records for b in read(InputConfig(paths=(str(tmp_path),)))])
    assert table.schema.field("sv").type == pa.string() and table["sv"].to_pylist() == ["x", "y"]
    assert table.schema.field("label").type == pa.string() and table["label"].to_pylist() == ["x", "y"]


def test_a_parquet_file_arrow_cannot_read_in_batches_is_read_by_row_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Arrow's batch reader refuses a struct with a dictionary child ("Nested data conversions not
    # implemented for chunked array outputs") where reading a row group works: every row is read.
    from dedup.io import readers

    monkeypatch.setattr(readers, "BATCH_SIZE", 3)
    n = 20
    tags = pa.StructArray.from_arrays(
        [pa.array([f"v{k % 3}" for k in range(n)]).dictionary_encode()], names=["d"]
    )
    ids = [f"r{k}" for k in range(n)]
    pq.write_table(
        pa.table({"id": ids, "text": [f"words of record {k}" for k in range(n)], "tags": tags}),
        tmp_path / "a.parquet",
        row_group_size=7,
    )
    batches = list(read(InputConfig(paths=(str(tmp_path),))))
    table = concat([b.records for b in batches])
    assert [r for b in batches for r in b.rejects] == []
    assert table["id"].to_pylist() == ids and table["source_line"].to_pylist() == list(range(1, n + 1))
    assert table["tags"].to_pylist() == [{"d": f"v{k % 3}"} for k in range(n)]


def test_parquet_times_of_day_keep_their_nanoseconds(tmp_path: Path) -> None:
    day = 45_296_123_456_789  # 12:34:56.123456789 in nanoseconds
    when = pa.array([day, None], pa.time64("ns"))
    pq.write_table(pa.table({"id": ["a", "b"], "text": ["one", "two"], "at": when}), tmp_path / "a.parquet")
    table = concat([b.records for b in read(InputConfig(paths=(str(tmp_path),)))])
    assert table.schema.field("at").type == pa.time64("ns")
    assert table["at"].cast(pa.int64()).to_pylist() == [day, None]


def test_a_parquet_value_past_pythons_range_rejects_its_row_naming_the_field(tmp_path: Path) -> None:
    far = pa.array([10**12, 0, None], pa.timestamp("s"))  # the first is past the year 9999
    pq.write_table(
        pa.table({"id": ["a", "b", "c"], "text": ["x", "y", "z"], "when": far}), tmp_path / "a.parquet"
    )
    batches = list(read(InputConfig(paths=(str(tmp_path),))))
    rejects = [r for b in batches for r in b.rejects]
    assert [(r.source_line, r.field, r.id) for r in rejects] == [(1, "when", "a")]
    assert "cannot be read as a Python value" in rejects[0].reason
    assert concat([b.records for b in batches])["id"].to_pylist() == ["b", "c"]


def test_views_and_dictionaries_nested_in_a_parquet_column_are_read_as_plain_types(tmp_path: Path) -> None:
    nested = {
        "tags": pa.array([["x"], ["y", "z"]], pa.list_(pa.string_view())),
        "pair": pa.array([{"a": "p"}, {"a": "q"}], pa.struct([("a", pa.string_view())])),
        "codes": pa.array([[("k", b"v")], []], pa.map_(pa.string(), pa.binary_view())),
        "labels": pa.array([["p"], ["q"]], pa.list_(pa.dictionary(pa.int32(), pa.string()))),
    }
    pq.write_table(pa.table({"id": ["a", "b"], "text": ["one", "two"], **nested}), tmp_path / "a.parquet")
    table = concat([b.records for b in read(InputConfig(paths=(str(tmp_path),)))])
    assert table.schema.field("tags").type.value_type == pa.string()
    assert table.schema.field("pair").type == pa.struct([("a", pa.string())])
    assert table.schema.field("codes").type.item_type == pa.binary()
    assert table.schema.field("labels").type.value_type == pa.string()
    assert table["tags"].to_pylist() == [["x"], ["y", "z"]] and table["labels"].to_pylist() == [["p"], ["q"]]
    assert table.take([1, 0])["pair"].to_pylist() == [{"a": "q"}, {"a": "p"}]  # Arrow can take its rows
