"""`dedup.dedup_table`: a table in memory in, the run's tables out, no files touched."""

from __future__ import annotations

import os
from pathlib import Path

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
