"""A finished run's output folder, read back: its `report.json`, checked, and its Parquet outputs.

`dedup report` and `dedup explain` work from the output folder alone. `load_report` refuses a
folder that holds no complete run (no `report.json`) or whose report is not one `dedup run`
wrote; `read_table` reads one output, or the rows of it whose column holds given values, and
refuses a table that is not a run's output. Both raise `OutputError` naming the file and what is
wrong with it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dedup.errors import OutputError

_INT = "an integer"
_FIELDS = {
    **{key: _INT for key in ("read", "kept", "duplicates", "exact_duplicates", "near_duplicates")},
    **{key: _INT for key in ("rejected", "clusters", "bands", "rows")},
    "fingerprint": "a string",
    "output_dir": "a string",
    "config": "an object",
}
_SECTIONS = ("shingle", "minhash", "lsh", "cluster")
#: The columns read from each output (when it has rows), and their kinds.
COLUMNS = {
    "unique": {"id": "string", "text": "string", "cluster_size": "integer"},
    "duplicates": {"id": "string", "duplicate_of": "string", "match": "string", "similarity": "floating"},
    "rejects": {"stage": "string", "reason": "string"},
}


def load_report(folder: str | Path) -> dict[str, Any]:
    """`report.json` of the run in `folder`, checked to be one `dedup run` wrote.

    Raises:
        OutputError: the folder holds no complete run, or its report is not a run's.
    """
    folder = Path(folder)
    try:
        report: Any = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        hint = "a folder holds a complete run when it holds report.json; name the output.dir of a run"
        raise OutputError(f"{folder}: no complete run to report on (no report.json; {hint})") from None
    except (OSError, ValueError) as err:
        raise OutputError(f"{folder}: no complete run to report on ({err})") from None
    problem = _report_problem(report)
    if problem is not None:
        raise OutputError(f"{folder / 'report.json'}: not the report of a dedup run: {problem}")
    return dict(report)


def read_table(
    folder: str | Path,
    name: str,
    columns: list[str] | None = None,
    where: tuple[str, list[str]] | None = None,
) -> pa.Table:
    """One output of the run in `folder` (`unique`, `duplicates` or `rejects`), checked.

    Args:
        folder: the run's output folder.
        name: the output, without `.parquet`.
        columns: the columns to read (all when None); those the table must have are checked.
        where: `(column, values)`: only the rows whose column holds one of the values.

    Raises:
        OutputError: the file is missing, unreadable, or not a run's output.
    """
    path = Path(folder) / f"{name}.parquet"
    try:
        table = pq.read_table(path, columns=_present(path, columns))
    except (OSError, ValueError, pa.ArrowException) as err:
        raise OutputError(f"{path}: cannot read the run's output ({' '.join(str(err).split())})") from None
    problem = _table_problem(table, COLUMNS.get(name, {}), columns)
    if problem is not None:
        raise OutputError(f"{path}: not the output of a dedup run: {problem}")
    if where is not None and table.num_rows:
        column, values = where
        table = table.filter(pc.is_in(table[column], pa.array(values, pa.string())))
    return table


def _present(path: Path, columns: list[str] | None) -> list[str] | None:
    """The asked columns that the file has (a missing one is reported by `_table_problem`).

    An `engine: spark` run writes each output as a folder of part files: its schema is the
    folder's (partition columns included).
    """
    if columns is None:
        return None
    names = set((pq.ParquetDataset(path).schema if path.is_dir() else pq.read_schema(path)).names)
    return [c for c in columns if c in names]


def _kind(value: object) -> str:
    kinds = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return kinds.get(type(value), _INT if isinstance(value, int) else "a number")


def _report_problem(report: object) -> str | None:
    """What makes `report` no run's report (`report.json` as `dedup run` writes it), or None."""
    if not isinstance(report, dict):
        return f"expected a JSON object, found {_kind(report)}"
    for key, kind in _FIELDS.items():
        if key not in report:
            return f"no '{key}'"
        value = report[key]
        if _kind(value) != kind:
            return f"'{key}' is {_kind(value)}, expected {kind}"
    config = report["config"]
    for section in _SECTIONS:
        if not isinstance(config.get(section), dict):
            return f"no config section '{section}'"
    threshold = config["lsh"].get("threshold")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
        return "no config value lsh.threshold"
    return None


def _table_problem(table: pa.Table, kinds: dict[str, str], asked: list[str] | None) -> str | None:
    """What makes `table` no run's output table (a column missing or of another type), or None."""
    if table.num_rows == 0:
        return None
    for name, kind in kinds.items():
        if asked is not None and name not in asked:
            continue
        if name not in table.column_names:
            return f"no column '{name}'"
        if not getattr(pa.types, f"is_{kind}")(table.schema.field(name).type):
            return f"column '{name}' is {table.schema.field(name).type}, expected {kind}"
    if asked is not None:
        missing = [c for c in asked if c not in table.column_names]
        if missing:
            return f"no column '{missing[0]}'"
    return None
