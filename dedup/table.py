"""`dedup_table`: a table of records in memory in, the run's tables out, no files touched.

For pipelines that already hold their data as a pyarrow Table or a pandas DataFrame. The records
get the same reading rules as a file (an id of the id field, else `<table>:<row>`; a missing,
null or non-string text is a reject; a repeated id is a reject) and then the same steps as
`dedup run` (`featurize`, `resolve`, `dedup.outputs`), in memory.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from dedup.config import Config, from_dict, load, refuse_own_fields, to_dict
from dedup.config import fingerprint as config_fingerprint
from dedup.engines import memory
from dedup.errors import ConfigError, InputError
from dedup.featurize import featurize
from dedup.io import fields
from dedup.records import (
    ID,
    SOURCE_FILE,
    SOURCE_LINE,
    TEXT,
    Reject,
    fail_fast,
    id_problem,
    passthrough_name,
)
from dedup.report import Report
from dedup.resolve import Clock

#: What `source_file` says of a record that came from a table in memory.
TABLE = "<table>"


@dataclass(frozen=True, slots=True)
class Result:
    """What `dedup_table` found, as tables of the same schemas as the Parquet files of a run.

    Attributes:
        unique: the kept records (`unique.parquet`).
        duplicates: one row per dropped record with the record it names and the evidence
            (`duplicates.parquet`).
        rejects: records that could not be read or cleaned, with the reason (`rejects.parquet`);
            under `granularity: paragraph` also the records boilerplate removal emptied.
        report: counts, timings and parameters; the accounting identity holds.
        paragraphs: under `granularity: paragraph`, the boilerplate paragraph groups removed
            from the records (`paragraphs.parquet`); None at document granularity.
    """

    unique: pa.Table
    duplicates: pa.Table
    rejects: pa.Table
    report: Report
    paragraphs: pa.Table | None = None


def dedup_table(
    table: Any, config: Config | str | os.PathLike[str] | Mapping[str, Any] | None = None, **overrides: Any
) -> Result:
    """Deduplicate records held in memory.

    Args:
        table: a `pyarrow.Table` or a pandas `DataFrame` with an id and a text column (named by
            `input.id_field` and `input.text_field`, `id` and `text` by default) and any
            pass-through columns. Without an id column each record is `<table>:<row>` (1-based).
        config: the run's settings: a `dedup.Config`, the path of a YAML config file, or a
            mapping as that file would hold (`dedup.Config()` when None); `input` and `output`
            are not read, as no file is.
        overrides: dotted keys, e.g. `dedup_table(df, lsh__threshold=0.7)` or
            `**{"cluster.keep": "longest"}`: applied over `config`.

    Returns:
        `Result(unique, duplicates, rejects, report)`.

    Raises:
        TypeError: `table` is neither a pyarrow Table nor a pandas DataFrame, or `config` is
            none of the kinds above.
        ConfigError: the config file cannot be read, or it, the mapping or an override names an
            unknown key or a bad value; `engine` is not `local`.
        InputError: the table names a column twice, has no text column, holds a reject under
            `on_error: fail`, or the keep rule's field cannot rank the records. A table whose every
            record is rejected is no error: `Result.rejects` holds them all.
    """
    config = _config(config)
    if overrides:
        sets = [f"{key.replace('__', '.')}={_yaml(value)}" for key, value in overrides.items()]
        config = from_dict(to_dict(config), "dedup_table(config=...)", sets, via="dedup_table")
    refuse_own_fields(config)  # a Config built directly was never checked
    if config.engine != "local":
        raise ConfigError(
            f"dedup_table: engine: {config.engine} is for dedup run and dedup.run; dedup_table runs in "
            "memory on this machine (set engine: local, or write the table to Parquet and run it)"
        )
    records, rejects = _records(*_arrow(table, config), config)
    report = Report(config=to_dict(config), fingerprint=config_fingerprint(config), output_dir="")
    report.read = records.num_rows + len(rejects)
    clock = Clock(report.timings)
    features = featurize(records, config, clock)
    features, paragraph_index = memory.strip_boilerplate(features, config, clock)
    rejects = sorted(rejects + features.rejects, key=lambda r: r.source_line or 0)  # row order
    # Unlike a file run, a batch whose every record is rejected is no error: its rejects are the
    # answer (a misspelled text field, what a file run's refusal is mostly for, is refused above).
    found = memory.find_duplicates(features, config, clock)
    unique, duplicates, rejected = memory.tables(features, found, rejects, report)
    if paragraph_index is None:
        return Result(unique, duplicates, rejected, report)
    report.paragraphs = dict(paragraph_index.stats)
    return Result(unique, duplicates, rejected, report, paragraph_index.groups)


def _yaml(value: Any) -> str:
    """A Python value as the YAML text `--set` reads."""
    import json  # noqa: PLC0415 - JSON is YAML

    return json.dumps(value)


def _config(config: Config | str | os.PathLike[str] | Mapping[str, Any] | None) -> Config:
    """The run's settings from any of the kinds `dedup_table` takes."""
    if config is None:
        return Config()
    if isinstance(config, Config):
        return config
    if isinstance(config, (str, os.PathLike)):
        return load(config)
    if isinstance(config, Mapping):
        return from_dict(config, "dedup_table(config=...)")
    raise TypeError(
        "dedup_table: config must be a dedup.Config, a path to a YAML file or a mapping; "
        f"got {type(config).__name__}"
    )


def _arrow(table: Any, config: Config) -> tuple[pa.Table, dict[str, list[Any]]]:
    """The records as an Arrow table, and the Python values of the id and text columns Arrow could not type.

    A DataFrame's named index levels are columns like the others (the ids, after
    `set_index("id")`); an unnamed index is the rows' places and is left out. A pandas object
    column whose values share no Arrow type (a number beside strings) is read
    as a file's field would be: its values as they are for the id and text columns (each row then
    judged alone), JSON text for a pass-through column (`fields.column`). An id or text column
    Arrow types as binary (strings beside bytes) is judged row by row too, so only its rows that
    hold bytes are rejected.
    """
    if isinstance(table, pa.Table):
        _refuse_repeated(table.column_names)
        return table, {}
    if not (type(table).__module__.startswith("pandas") and hasattr(table, "columns")):
        kind = type(table).__name__
        raise TypeError(f"dedup_table takes a pyarrow Table or a pandas DataFrame; got {kind}")
    table = fields.named_index_as_columns(table, TABLE)
    names = [str(name) for name in table.columns]
    _refuse_repeated(names)
    own = (config.input.id_field, config.input.text_field)
    try:
        whole = pa.Table.from_pandas(table, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        pass  # some column holds values of more than one type: column by column
    else:
        # Arrow types strings beside bytes as binary: such an id or text column is judged row by row.
        binary = [n for n in own if n in whole.column_names and _binary(whole[n].type)]
        lossy = [
            n for n in whole.column_names if n not in own and _lossy(table.iloc[:, names.index(n)], whole[n])
        ]
        if not binary and not lossy:
            return whole, {}
        held = {n: fields.pandas_values(table.iloc[:, names.index(n)]) for n in binary}
        for n in binary:  # the values are held aside; the column keeps its place
            whole = whole.set_column(whole.column_names.index(n), n, pa.nulls(len(table), pa.string()))
        for n in lossy:  # each value as JSON text, as a file's field whose values share no type
            values = fields.json_text(fields.pandas_values(table.iloc[:, names.index(n)]))
            whole = whole.set_column(whole.column_names.index(n), fields.json_field(n), values)
        return whole, held
    arrays: dict[str, pa.Array[Any]] = {}
    kinds: dict[str, pa.Field] = {}
    loose: dict[str, list[Any]] = {}
    for name, position in zip(names, range(len(names)), strict=True):
        series = table.iloc[:, position]
        try:
            arrays[name] = pa.Array.from_pandas(series)
            if name in own and not _binary(arrays[name].type):
                continue
            if name not in own and not _lossy(series, pa.chunked_array([arrays[name]])):
                continue
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            pass
        values = fields.pandas_values(series)
        if name in own:
            loose[name] = values
            arrays[name] = pa.nulls(len(values), pa.string())
        elif name in arrays:  # Arrow read it, but changed values: JSON text of each
            arrays[name], kinds[name] = fields.json_text(values), fields.json_field(name)
        else:
            arrays[name], kinds[name] = fields.column(name, values)
    return fields.table(arrays, kinds), loose


def _lossy(series: Any, converted: pa.ChunkedArray) -> bool:
    """Whether Arrow's reading of a pandas object column changed a value (a pass-through column).

    Arrow infers one type for Python objects and converts every value to it: times of several
    zones get one zone, times with nanoseconds become microseconds, a time beside a date becomes a
    date, a number beside times a time, a string beside bytes bytes; inside lists and mappings
    too. Only a column whose type holds a time or binary type is read back and compared (other
    inferred types hold their values), value by value with zones and nanoseconds (`_same`).
    """
    if str(series.dtype) != "object" or not _holds_lossy_type(converted.type):
        return False
    given = fields.pandas_values(series)
    return not all(_same(a, b) for a, b in zip(given, converted.to_pylist(), strict=True))


def _holds_lossy_type(kind: pa.DataType) -> bool:
    """Whether a type is, or holds, a time or binary type (where Arrow's inference can change a value)."""
    if pa.types.is_temporal(kind) or _binary(kind):
        return True
    return any(_holds_lossy_type(kind.field(i).type) for i in range(kind.num_fields))


def _same(given: Any, read: Any) -> bool:
    """Whether Arrow gave back the value it was given.

    A time: the same instant, offset and nanoseconds. A list or mapping: the same members. Else
    equal and of one kind (a string is not bytes, a number not a time).
    """
    if isinstance(given, datetime.datetime) and isinstance(read, datetime.datetime):
        return (
            given == read
            and (given.tzinfo is None) == (read.tzinfo is None)
            and given.utcoffset() == read.utcoffset()
            and getattr(given, "nanosecond", 0) == getattr(read, "nanosecond", 0)
        )
    if isinstance(given, (list, tuple)) and isinstance(read, (list, tuple)):
        return len(given) == len(read) and all(_same(a, b) for a, b in zip(given, read, strict=True))
    if isinstance(given, dict) and isinstance(read, dict):
        return given.keys() == read.keys() and all(_same(given[k], read[k]) for k in given)
    if isinstance(given, (str, bytes)) or isinstance(read, (str, bytes)):
        return type(given) is type(read) and given == read
    if isinstance(given, datetime.date) != isinstance(read, datetime.date):
        return False  # a number made a time
    return bool(given == read)


def _binary(kind: pa.DataType) -> bool:
    return bool(pa.types.is_binary(kind) or pa.types.is_large_binary(kind))


def _refuse_repeated(names: list[str]) -> None:
    """Raises InputError: a column name appears more than once (which column is meant is unknown)."""
    for name in dict.fromkeys(names):
        if names.count(name) > 1:
            raise InputError(
                f"column '{name}' appears {names.count(name)} times; give each column its own name",
                path=TABLE,
                field=name,
            )


def _records(table: pa.Table, loose: dict[str, list[Any]], config: Config) -> tuple[pa.Table, list[Reject]]:
    """The table as the readers would give it: `id`, `text`, position and pass-through columns.

    `loose` holds the Python values of an id or text column that Arrow could not type (`_arrow`).
    """
    cfg = config.input
    n = table.num_rows
    if cfg.text_field not in table.column_names:
        raise InputError(
            f"no column '{cfg.text_field}'; columns present: {', '.join(table.column_names) or 'none'} "
            "(set input.text_field)",
            path=TABLE,
            field=cfg.text_field,
        )
    lines = pa.array(np.arange(1, n + 1), pa.int64())
    if cfg.id_field in loose:
        raw_ids = loose[cfg.id_field]
    else:
        raw_ids = table[cfg.id_field].to_pylist() if cfg.id_field in table.column_names else [None] * n
    texts = table[cfg.text_field]
    plain = (
        (pa.types.is_string(texts.type) or pa.types.is_large_string(texts.type))
        and not texts.null_count
        and cfg.text_field not in loose
    )
    text_values: list[Any] = [] if plain else loose.get(cfg.text_field) or texts.to_pylist()
    ids: list[str] = []
    bad: dict[int, Reject] = {}
    for i, rid in enumerate(raw_ids):
        if rid is None:
            ids.append(f"{TABLE}:{i + 1}")
        elif (reason := id_problem(rid)) is None:
            ids.append(str(rid))
        else:
            ids.append(f"{TABLE}:{i + 1}")
            bad[i] = Reject(TABLE, i + 1, reason, "read", None, cfg.id_field)
        if not plain and i not in bad and not isinstance(text_values[i], str):
            kind = "null" if text_values[i] is None else type(text_values[i]).__name__
            bad[i] = Reject(
                TABLE, i + 1, f"text must be a string; got {kind}", "read", ids[i], cfg.text_field
            )
    rejects = [bad[i] for i in sorted(bad)]
    fail_fast(rejects, config.on_error)
    text = (
        texts.cast(pa.string()) if plain else pa.array([t if isinstance(t, str) else "" for t in text_values])
    )
    columns: dict[str, Any] = {
        ID: pa.array(ids, pa.string()),
        TEXT: text,
        SOURCE_FILE: pa.array([TABLE] * n, pa.string()),
        SOURCE_LINE: lines,
    }
    kinds: dict[str, pa.Field] = {}  # pass-through fields keep their metadata (JSON text)
    for field in table.schema:
        if field.name in (cfg.id_field, cfg.text_field):
            continue
        name = passthrough_name(field.name)
        kind = fields.plain_type(field.type)
        columns[name] = table[field.name].cast(kind) if kind != field.type else table[field.name]
        kinds[name] = field.with_name(name).with_type(kind)
    records = fields.table(columns, kinds)
    if bad:
        keep = np.ones(n, dtype=bool)
        keep[list(bad)] = False
        records = records.filter(pa.array(keep))
    records, repeats = memory.unique_ids(records, config)
    return records, rejects + repeats
