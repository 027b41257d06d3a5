"""`dedup.dedup_table`: a table in memory in, the run's tables out, no files touched."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import dedup
from tests.conftest import write_jsonl
from tests.corpus import news_rows


def _table(kind: str, rows: list[dict[str, object]]) -> object:
    return pa.Table.from_pylist(rows) if kind == "arrow" else pd.DataFrame(rows)


@pytest.mark.parametrize("kind", ["arrow", "pandas"])
def test_a_table_in_gives_the_tables_a_run_writes(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    rows = news_rows()
    result = dedup.dedup_table(_table(kind, rows))
    assert os.listdir(tmp_path) == []  # no files touched
    # The same records through `dedup run` (from a file) give the same kept and dropped records.
    write_jsonl(tmp_path / "news.jsonl", rows)
    dedup.run(dedup.config_from_dict({"input": {"paths": ["news.jsonl"]}, "output": {"dir": "out"}}))
    unique = pq.read_table(tmp_path / "out" / "unique.parquet")
    duplicates = pq.read_table(tmp_path / "out" / "duplicates.parquet")
    assert result.unique.column("id").to_pylist() == unique.column("id").to_pylist()
    assert result.duplicates.column("id").to_pylist() == duplicates.column("id").to_pylist()
    for name in ("duplicate_of", "matched_by", "similarity", "containment", "text"):
        assert result.duplicates.column(name).to_pylist() == duplicates.column(name).to_pylist(), name
    assert result.unique.column("text").to_pylist() == unique.column("text").to_pylist()
    assert result.unique.column("date").to_pylist() == unique.column("date").to_pylist()  # passed through
    assert set(result.unique.column("source_file").to_pylist()) == {"<table>"}
    report = result.report
    assert (report.read, report.kept, report.duplicates, report.rejected) == (7, 3, 4, 0)
    assert result.rejects.num_rows == 0 and result.rejects.schema.names[:2] == ["source_file", "source_line"]


def test_overrides_and_column_names(tmp_path: Path) -> None:
    rows = [{"doc": r["id"], "body": r["text"]} for r in news_rows()]
    config = dedup.config_from_dict({"input": {"id_field": "doc", "text_field": "body"}})
    loose = dedup.dedup_table(pa.Table.from_pylist(rows), config)
    strict = dedup.dedup_table(pa.Table.from_pylist(rows), config, lsh__threshold=0.99, lsh__containment=None)
    assert loose.report.near_duplicates == 3 and strict.report.near_duplicates < 3
    assert strict.report.config["lsh"]["threshold"] == 0.99
    with pytest.raises(dedup.ConfigError, match=r"unknown key 'lsh\.thresh'"):
        dedup.dedup_table(pa.Table.from_pylist(rows), config, lsh__thresh=0.9)


def test_bad_records_are_rejects_and_the_rest_goes_on() -> None:
    rows = news_rows()
    good = [rows[0], rows[5]]  # the original and an unrelated article
    table = pa.table(
        {
            "id": ["a", "b", "c", "a", None],
            "text": [good[0]["text"], None, good[1]["text"], good[1]["text"], good[0]["text"]],
        }
    )
    result = dedup.dedup_table(table)
    rejects = [(r["source_line"], r["field"], r["reason"]) for r in result.rejects.to_pylist()]
    assert rejects == [
        (2, "text", "text must be a string; got null"),
        (4, "id", "duplicate id 'a'; first seen at <table>:1"),
    ]
    assert result.unique.column("id").to_pylist() == ["a", "c"]
    assert result.duplicates.column("id").to_pylist() == ["<table>:5"]  # no id: its position
    assert result.report.read == 5 == result.report.kept + result.report.duplicates + result.report.rejected


def test_a_table_without_the_text_column_is_one_clear_error() -> None:
    with pytest.raises(dedup.InputError, match=r"^<table>: no column 'text'; columns present: id, body"):
        dedup.dedup_table(pa.table({"id": ["a"], "body": ["x"]}))
    with pytest.raises(TypeError, match="takes a pyarrow Table or a pandas DataFrame; got list"):
        dedup.dedup_table([{"id": "a", "text": "x"}])


def test_a_dataframes_named_index_is_a_column_and_an_unnamed_one_is_not() -> None:
    words = "the port reopened after the storm and ships came back to the quay at dawn"
    frame = pd.DataFrame(
        {"id": ["a", "b", "c"], "text": [words, words + " today", "a different story entirely, of markets"]}
    )
    frame["source"] = ["x", "y", "z"]
    by_id = dedup.dedup_table(frame.set_index("id"))  # the ids were the index: they stay the ids
    assert by_id.unique["id"].to_pylist() == ["a", "c"] and by_id.duplicates["id"].to_pylist() == ["b"]
    two = dedup.dedup_table(frame.set_index(["id", "source"]))  # each named level, a column
    assert two.unique["source"].to_pylist() == ["x", "z"]
    filtered = frame.iloc[[0, 2]]  # an unnamed index (here 0 and 2) is the rows' places, not data
    assert dedup.dedup_table(filtered).unique.column_names == dedup.dedup_table(frame).unique.column_names
    clash = frame.set_index("source")
    clash["source"] = ["p", "q", "r"]
    with pytest.raises(
        dedup.InputError, match=r"column 'source' appears 2 times \(as an index level and as a column"
    ):
        dedup.dedup_table(clash)


def test_keyword_overrides_are_named_as_such_and_spark_is_refused() -> None:
    table = pa.table({"id": ["a"], "text": ["one two three four"]})
    with pytest.raises(dedup.ConfigError) as err:
        dedup.dedup_table(table, granularity="paragraph", paragraphs__min_records=1)
    assert str(err.value).startswith("dedup_table: paragraphs.min_records must be")
    with pytest.raises(dedup.ConfigError, match="dedup_table runs in memory"):
        dedup.dedup_table(table, engine="spark")
    with pytest.raises(dedup.ConfigError, match="dedup_table runs in memory"):
        dedup.dedup_table(table, dedup.config_from_dict({"engine": "spark"}))


@pytest.mark.parametrize("keep", ["first", "none"])
def test_an_empty_table_gives_empty_tables_of_the_same_schemas(keep: str) -> None:
    config = dedup.config_from_dict({"cluster": {"keep": keep}})
    rows = [{"id": r["id"], "text": r["text"]} for r in news_rows()]
    full = dedup.dedup_table(pa.Table.from_pylist(rows), config)
    empty = dedup.dedup_table(
        pa.table({"id": pa.array([], pa.string()), "text": pa.array([], pa.string())}), config
    )
    for name in ("unique", "duplicates", "rejects"):
        got, expected = getattr(empty, name), getattr(full, name)
        assert got.num_rows == 0, name
        assert got.schema.remove_metadata() == expected.schema.remove_metadata(), name
    report = empty.report
    assert (report.read, report.kept, report.duplicates, report.rejected) == (0, 0, 0, 0)


def test_a_dataframe_whose_columns_mix_types_is_read_as_a_file_would_be() -> None:
    # pandas object columns holding strings beside numbers have no Arrow type: a text or id that
    # is no string (or integer id) is a reject of its row, a pass-through column is JSON text.
    rows = news_rows()
    frame = pd.DataFrame(
        {
            "id": ["a", 7, "c", 2.5],
            "text": [rows[0]["text"], 5, rows[5]["text"], rows[1]["text"]],
            "x": [1, "one", None, [1, 2]],
        }
    )
    result = dedup.dedup_table(frame)
    rejects = [(r["source_line"], r["field"], r["reason"]) for r in result.rejects.to_pylist()]
    assert rejects == [
        (2, "text", "text must be a string; got int"),
        (4, "id", "id must be a string or an integer; got float"),
    ]
    assert result.unique.column("id").to_pylist() == ["a", "c"]
    assert result.unique.column("x").to_pylist() == ["1", None]  # JSON text: the column holds "one" too
    assert result.unique.schema.field("x").metadata == {b"dedup": b"json"}
    assert result.report.read == 4 == result.report.kept + result.report.duplicates + result.report.rejected


@pytest.mark.parametrize("kind", ["arrow", "pandas"])
def test_repeated_column_names_are_one_clear_error(kind: str) -> None:
    columns = [["a", "b"], ["one two three four", "five six seven eight"], [1, 2]]
    table: object
    if kind == "arrow":
        table = pa.Table.from_arrays([pa.array(c) for c in columns], names=["id", "text", "id"])
    else:
        table = pd.DataFrame(dict(enumerate(columns)))
        table.columns = ["id", "text", "id"]  # type: ignore[attr-defined]
    with pytest.raises(dedup.InputError, match=r"^<table>: column 'id' appears 2 times"):
        dedup.dedup_table(table)


def test_a_config_may_be_a_file_or_a_mapping(tmp_path: Path) -> None:
    rows = [{"id": r["id"], "text": r["text"]} for r in news_rows()]
    (tmp_path / "strict.yaml").write_text("lsh: {threshold: 0.99, containment: null}\n")
    table = pa.Table.from_pylist(rows)
    by_object = dedup.dedup_table(
        table, dedup.config_from_dict({"lsh": {"threshold": 0.99, "containment": None}})
    )
    by_file = dedup.dedup_table(table, str(tmp_path / "strict.yaml"))
    by_path = dedup.dedup_table(table, tmp_path / "strict.yaml", cluster__keep="longest")
    by_mapping = dedup.dedup_table(table, {"lsh": {"threshold": 0.99, "containment": None}})
    for result in (by_file, by_path, by_mapping):
        assert result.report.config["lsh"]["threshold"] == 0.99
        assert result.report.near_duplicates == by_object.report.near_duplicates
    assert by_path.report.config["cluster"]["keep"] == "longest"
    with pytest.raises(
        TypeError, match=r"config must be a dedup\.Config, a path to a YAML file or a mapping; got int"
    ):
        dedup.dedup_table(table, 5)  # type: ignore[arg-type]


@pytest.mark.parametrize("block", [True, False])
def test_a_field_named_like_a_renamed_one_keeps_its_values(
    block: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `cluster_id` is the pipeline's own column, so the input's goes out as `input_cluster_id`; an
    # input field already named `input_cluster_id` must not be overwritten by it (nor it by that).
    monkeypatch.chdir(tmp_path)
    texts = [news_rows()[0]["text"], news_rows()[5]["text"]]  # unrelated articles: both kept
    rows = [
        {"id": "a", "text": texts[0], "cluster_id": "Q1", "input_cluster_id": "S1", "input_x": 1},
        {"id": "b", "text": texts[1], "cluster_id": "Q2", "input_cluster_id": "S2", "input_x": 2},
    ]
    expected = {
        "input_cluster_id": ["Q1", "Q2"],
        "input_input_cluster_id": ["S1", "S2"],
        "input_input_x": [1, 2],
    }
    from_table = dedup.dedup_table(pa.Table.from_pylist(rows)).unique
    # The line-by-line reader takes a file the block reader declines (here: a blank line in it).
    write_jsonl(tmp_path / "in.jsonl", rows)
    if not block:
        (tmp_path / "in.jsonl").write_text((tmp_path / "in.jsonl").read_text() + "\n")
    dedup.run(dedup.config_from_dict({"input": {"paths": ["in.jsonl"]}, "output": {"dir": "out"}}))
    from_file = pq.read_table(tmp_path / "out" / "unique.parquet")
    for unique in (from_table, from_file):
        assert {name: unique.column(name).to_pylist() for name in expected} == expected
        assert unique.column("cluster_id").to_pylist() == ["a", "b"]


def test_a_table_whose_every_record_is_rejected_gives_its_rejects() -> None:
    # A pipeline's batch of bad records gets them back as rejects (a file run stops instead: there
    # it is most often a misspelled text field, which a table refuses up front).
    table = pa.table({"id": ["a", "b", "c"], "text": ["   ", "<p></p>", None], "n": [1, 2, 3]})
    result = dedup.dedup_table(table)
    assert [(r["id"], r["source_line"], r["field"]) for r in result.rejects.to_pylist()] == [
        ("a", 1, "text"),
        ("b", 2, "text"),
        ("c", 3, "text"),
    ]
    assert result.unique.num_rows == 0 and result.duplicates.num_rows == 0
    full = dedup.dedup_table(pa.table({"id": ["d"], "text": ["one two three four five"], "n": [4]}))
    assert result.unique.schema.remove_metadata() == full.unique.schema.remove_metadata()
    report = result.report
    assert (report.read, report.kept, report.duplicates, report.rejected) == (3, 0, 0, 3)


@pytest.mark.parametrize("column", ["text", "id"])
def test_one_bytes_value_rejects_its_own_row_only(column: str) -> None:
    # Arrow types a column of strings and bytes as binary; each string is still a string.
    rows = news_rows()
    values: dict[str, list[Any]] = {
        "id": ["a", "b", "c"],
        "text": [rows[0]["text"], rows[5]["text"], rows[6]["text"]],
    }
    values[column][1] = values[column][1].encode("utf-8")
    result = dedup.dedup_table(pd.DataFrame(values))
    rejects = [(r["source_line"], r["field"], r["reason"]) for r in result.rejects.to_pylist()]
    kind = "id must be a string or an integer" if column == "id" else "text must be a string"
    assert rejects == [(2, column, f"{kind}; got bytes")]
    assert result.unique.column("id").to_pylist() == ["a", "c"]


def test_numpy_integer_ids_are_integers() -> None:
    rows = news_rows()
    frame = pd.DataFrame({"id": pd.Series([np.int64(7), "b", np.int32(9)], dtype=object)})
    frame["text"] = [rows[0]["text"], rows[5]["text"], rows[6]["text"]]
    result = dedup.dedup_table(frame)
    assert result.rejects.num_rows == 0
    assert result.unique.column("id").to_pylist() == ["7", "b", "9"]


def test_a_view_or_dictionary_column_passes_through_as_its_plain_type() -> None:
    rows = news_rows()
    table = pa.table(
        {
            "id": ["a", "b", "c"],
            "text": [rows[0]["text"], rows[5]["text"], rows[6]["text"]],
            "sv": pa.array(["x", "y", None], pa.string_view()),
            "label": pa.array(["p", "q", "p"]).dictionary_encode(),
        }
    )
    unique = dedup.dedup_table(table).unique
    assert unique.schema.field("sv").type == pa.string() and unique["sv"].to_pylist() == ["x", "y", None]
    assert unique.schema.field("label").type == pa.string() and unique["label"].to_pylist() == ["p", "q", "p"]


def test_an_object_column_of_times_in_several_zones_or_nested_keeps_each_value() -> None:
    # Arrow's inference gives one zone to every time (and cuts nested times to microseconds):
    # such a column is each value's JSON text, its own zone and every digit kept.
    rows = news_rows()
    base = {"id": ["a", "b", "c"], "text": [rows[0]["text"], rows[5]["text"], rows[6]["text"]]}
    paris = pd.Timestamp("2024-01-01 10:00", tz="Europe/Paris")
    zones = [
        paris,
        pd.Timestamp("2024-01-01 09:30", tz="UTC"),
        pd.Timestamp("2024-01-01 05:00", tz="America/New_York"),
    ]
    fine = pd.Timestamp("2024-01-01") + pd.Timedelta(nanoseconds=2)
    columns = {
        "zones": pd.Series(zones, dtype=object),
        "nested": pd.Series([[fine], [fine], None], dtype=object),
        "inside": pd.Series([{"at": paris}, {"at": zones[2]}, None], dtype=object),
    }
    unique = dedup.dedup_table(pd.DataFrame({**base, **columns})).unique
    for name in columns:
        assert unique.schema.field(name).metadata == {b"dedup": b"json"}, name
    values = dict(zip(unique["id"].to_pylist(), unique["zones"].to_pylist(), strict=True))
    assert "-05:00" in values["c"] and "+01:00" in values["a"]
    assert "00:00:00.000000002" in unique["nested"].to_pylist()[0]
    assert "-05:00" in unique["inside"].to_pylist()[1]
