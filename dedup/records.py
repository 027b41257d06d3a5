"""The shapes records travel in: column names shared by every stage, and a rejected record.

Records move between stages as Arrow tables with the columns named here plus any pass-through
fields of the input. A record that cannot be read or cleaned becomes a `Reject`, which keeps its
position, its reason and (a bounded prefix of) its raw content, so nothing is dropped silently.
"""

from __future__ import annotations

import math
import numbers
import typing
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from dedup.errors import InputError

ID = "id"
TEXT = "text"
PARAGRAPHS = "paragraphs"
SOURCE_FILE = "source_file"
SOURCE_LINE = "source_line"
CLUSTER_ID = "cluster_id"
CLUSTER_SIZE = "cluster_size"

#: Columns the pipeline writes itself; an input field with one of these names is passed through
#: as ``input_<name>`` instead (`passthrough_name`).
RESERVED = frozenset({ID, TEXT, PARAGRAPHS, SOURCE_FILE, SOURCE_LINE, CLUSTER_ID, CLUSTER_SIZE})
_RENAMED = "input_"


def passthrough_name(name: str) -> str:
    """The output column of an input field named `name`.

    ``input_<name>`` for a reserved name and for a name that starts with ``input_`` (so
    `input_cluster_id` beside `cluster_id` keeps its values, as `input_input_cluster_id`); the
    name itself otherwise. No two input names give one column, whatever fields a record holds,
    so every batch of a run names a field alike.
    """
    return _RENAMED + name if name in RESERVED or name.startswith(_RENAMED) else name


#: The most raw content a reject keeps, in characters; its position points at the rest.
RAW_LIMIT = 65_536

Stage = Literal["read", "clean", "boilerplate"]


@dataclass(frozen=True, slots=True)
class Reject:
    """A record that could not be read or cleaned.

    Attributes:
        source_file: the file it came from, as the config names it.
        source_line: its 1-based line (row for tabular formats), or None for a whole-file problem.
        reason: what was wrong, with a hint.
        stage: where it was rejected: `read`, `clean`, or `boilerplate` (under `granularity:
            paragraph`, a record left with no words once its boilerplate paragraphs are removed;
            `raw` then holds its cleaned text).
        id: its id, when one was read.
        field: the field at fault, when one is.
        raw: a prefix of at most `RAW_LIMIT` characters of what was read.
    """

    source_file: str
    source_line: int | None
    reason: str
    stage: Stage = "read"
    id: str | None = None
    field: str | None = None
    raw: str | None = None

    @property
    def where(self) -> str:
        """`file:line` (or just `file`) for messages."""
        if self.source_line is None:
            return self.source_file
        return f"{self.source_file}:{self.source_line}"


def clip_raw(raw: str | bytes | None) -> str | None:
    """Keep at most `RAW_LIMIT` characters of raw content, decoding bytes leniently."""
    if raw is None:
        return None
    if isinstance(raw, bytes):
        raw = raw[: RAW_LIMIT * 4].decode("utf-8", errors="replace")
    return raw[:RAW_LIMIT]


def missing(value: object) -> bool:
    """Whether `value` stands for no value: None, a float NaN (numpy's too), pandas' `NA` or `NaT`."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return type(value).__name__ in ("NAType", "NaTType")


def id_problem(value: object) -> str | None:
    """Why `value` cannot be a record's id (None when it can): an id is a string or an integer.

    An integer is any `numbers.Integral` but a boolean (Python's or numpy's), so a numpy `int64`
    from a DataFrame is one; a float (`2.5`, and `3.0` too), bytes or a list are not. The rule of
    the file readers (`field 'id' is a number, expected a string or an integer`), for the table
    API and the index alike.
    """
    integer = isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
    if isinstance(value, str) or integer:
        return None
    return f"id must be a string or an integer; got {type(value).__name__}"


def strings(table: pa.Table, column: str) -> list[str]:
    """A non-null string column as a Python list."""
    return typing.cast(list[str], table[column].to_pylist())


def ints(table: pa.Table, column: str) -> list[int]:
    """A non-null integer column as a Python list."""
    return typing.cast(list[int], table[column].to_pylist())


def arrow_bytes(forms: pa.Array[Any]) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """The UTF-8 bytes and `int64` offsets (length `n + 1`) of a string array, without copying text."""
    forms = forms.cast(pa.large_string())
    if forms.null_count:
        forms = forms.fill_null("")
    _, offsets_buf, data_buf = forms.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[forms.offset : forms.offset + len(forms) + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.empty(0, np.uint8)
    return data, offsets


def fail_fast(rejects: list[Reject], on_error: str) -> None:
    """Raise `InputError` for the first reject when `on_error` is `fail`."""
    if rejects and on_error == "fail":
        first = rejects[0]
        message = first.reason + " (on_error: fail)"
        raise InputError(message, path=first.source_file, line=first.source_line, field=first.field)


def describe_reject(reject: Reject) -> str:
    """A reject as one line for the terminal: `file:line: field 'x': reason`."""
    field_part = f" field '{reject.field}':" if reject.field else ""
    return f"{reject.where}:{field_part} {reject.reason}"


def every_record_rejected(read: int, first: str) -> InputError:
    """The error for a run whose every record was rejected (a misnamed field, the wrong format).

    Args:
        read: records read.
        first: the first reject as `file:line: field 'x': reason`.
    """
    return InputError(f"every record read was rejected ({read:,}), nothing written; the first: {first}")


def repeated_ids(
    ids: list[str], files: list[str], lines: list[int], order: list[int], id_field: str
) -> tuple[list[int], list[Reject]]:
    """Records whose id repeats one seen earlier in `order` (source position), and a reject for each."""
    first_at: dict[str, int] = {}
    drop: list[int] = []
    rejects: list[Reject] = []
    for i in order:
        if ids[i] in first_at:
            j = first_at[ids[i]]
            reason = f"duplicate id '{ids[i]}'; first seen at {files[j]}:{lines[j]}"
            rejects.append(Reject(files[i], lines[i], reason, "read", ids[i], id_field))
            drop.append(i)
        else:
            first_at[ids[i]] = i
    return drop, rejects
