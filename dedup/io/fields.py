"""Pass-through fields: one Arrow type per field, whatever way the records were batched.

Records are read and stored in batches (blocks of lines, shards sized from `memory_budget`), and a
field may hold integers in one batch and text in the next. The type of a whole field is decided
from every batch's type by one rule (`unify`), and each batch is converted to it (`conform`), so
the outputs are the same bytes wherever the batches were cut.

A field whose values share no Arrow type (an integer in one row, text in another) holds every
value as canonical JSON text, and its Arrow field carries the metadata `dedup: json`: `5`,
`"abc"`, `{"a": 1}`. The canonical form does not depend on the values read beside it: object keys
sorted, null members left out, a float holding a whole number written as an integer. A JSON
integer outside the signed 64-bit range (Arrow's widest integer) is kept exactly, as its digits in
a string. What no Arrow column can hold at all (a lone surrogate, nesting deeper than `MAX_DEPTH`)
makes its record a reject (`unstorable`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

import pyarrow as pa

from dedup.errors import InputError
from dedup.records import ID, PARAGRAPHS, SOURCE_FILE, SOURCE_LINE, TEXT

#: The field metadata marking a column of JSON text.
JSON_META = {b"dedup": b"json"}
#: The deepest nesting of lists and objects a pass-through value may have (Arrow's IPC format,
#: which the checkpoints use, stops at 64 levels).
MAX_DEPTH = 32
_FIXED = frozenset({ID, TEXT, PARAGRAPHS, SOURCE_FILE, SOURCE_LINE})
_INT64 = (-(2**63), 2**63 - 1)
_WHOLE = 2.0**53  # floats below this hold whole numbers exactly


class BigInt(str):
    """A JSON integer outside the signed 64-bit range, kept as its exact digits."""

    __slots__ = ()


def parse_int(digits: str) -> int | str:
    """`json.loads`'s `parse_int`: an `int` within 64 bits, else the exact digits (`BigInt`).

    Python refuses to convert more than 4,300 digits; those are never converted.
    """
    if len(digits) < 19:
        return int(digits)
    if len(digits) <= 21:
        value = int(digits)
        if _INT64[0] <= value <= _INT64[1]:
            return value
    return BigInt(digits)


def depth(value: object) -> int:
    """How deeply lists and objects nest in a JSON value (a scalar is 0), without recursion."""
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            level += 1
            deepest = max(deepest, level)
            if level <= MAX_DEPTH:
                stack.extend((child, level) for child in item)
    return deepest


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def unstorable(obj: dict[str, Any], text: str, own: tuple[str, ...]) -> tuple[str, str] | None:
    r"""`(field, reason)` for the first field of a JSON object that cannot be stored, else None.

    A lone surrogate (an escaped `\ud800` that no second half follows) is no character: it has
    no UTF-8 form. Lists and objects nested beyond `MAX_DEPTH` levels do not fit the
    checkpoints' Arrow format (`own` names the fields that are no pass-through: text and id). Both
    are looked for only when the line's text could hold them.
    """
    surrogates = _SURROGATE_ESCAPE.search(text) is not None
    deep = text.count("[") + text.count("{") > MAX_DEPTH
    if not (surrogates or deep):
        return None
    for key, value in obj.items():
        name = key.encode("utf-8", "backslashreplace").decode("utf-8")
        if surrogates:
            bad = _lone_surrogate([key, value])
            if bad is not None:
                return name, f"field '{name}' holds a lone surrogate (\\u{bad:04x}), which is not a character"
        if deep and key not in own and depth(value) > MAX_DEPTH:
            return name, (
                f"field '{name}' nests lists or objects more than {MAX_DEPTH} levels deep "
                "(the most a pass-through field keeps)"
            )
    return None


def _lone_surrogate(values: list[Any]) -> int | None:
    """The code point of the first lone surrogate in strings anywhere in `values`, or None."""
    stack = list(values)
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as err:
                return ord(item[err.start])
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def canonical(value: Any) -> Any:
    """A JSON value in the form that does not depend on the column it was read in."""
    if isinstance(value, float) and value.is_integer() and abs(value) < _WHOLE:
        return int(value)
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    return value


def json_text(values: Iterable[Any]) -> pa.Array[Any]:
    """Values as canonical JSON text, one string each (nulls stay null)."""
    return pa.array(
        [
            None if v is None else json.dumps(canonical(v), ensure_ascii=False, sort_keys=True, default=str)
            for v in values
        ],
        pa.string(),
    )


def is_json(field: pa.Field) -> bool:
    """Whether a column holds JSON text because its values share no type."""
    return bool(field.metadata) and field.metadata.get(b"dedup") == b"json"


def values(array: pa.Array[Any] | pa.ChunkedArray, field: pa.Field) -> list[Any]:
    """A column's values as Python objects; a column of JSON text gives each value decoded."""
    if is_json(field):
        return [None if v is None else json.loads(v) for v in array.to_pylist()]
    return list(array.to_pylist())


def json_field(name: str) -> pa.Field:
    """The field of a column of JSON text."""
    return pa.field(name, pa.string(), metadata=JSON_META)


def column(name: str, values: list[Any]) -> tuple[pa.Array[Any], pa.Field]:
    """A pass-through column from Python values: their Arrow type, or JSON text when they share none.

    Booleans beside numbers share no type (Arrow would turn them into 1.0 and 0.0).
    """
    kinds = {type(v) for v in values if v is not None}
    if bool not in kinds or len(kinds) == 1:
        try:
            array = pa.array(values)
            return array, pa.field(name, array.type)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            pass
    return json_text(values), json_field(name)


def named_index_as_columns(frame: Any, path: str) -> Any:
    """A pandas DataFrame with its named index levels as columns, before its own.

    A named level is data (the ids, after `set_index("id")`); an unnamed index is the rows'
    places (0, 2, 5 after a filter) and is left as it is, out of what is read.

    Raises:
        InputError: a level's name is also a column's, or another level's (`path` names the table).
    """
    levels = [level for level in frame.index.names if level is not None]
    if not levels:
        return frame
    named = [str(level) for level in levels]
    every = [*named, *(str(name) for name in frame.columns)]
    for name in named:
        if every.count(name) > 1:
            raise InputError(
                f"column '{name}' appears {every.count(name)} times (as an index level and as a column, "
                "or as two levels); give each its own name",
                path=path,
                field=name,
            )
    return frame.reset_index(level=levels)


def pandas_values(series: Any) -> list[Any]:
    """A pandas column's values as Python objects, a missing value (NaN, NaT, `pd.NA`) as None."""
    return list(series.astype(object).where(series.notna(), None).tolist())


def plain_type(kind: pa.DataType) -> pa.DataType:
    """A pass-through column's type as dedup writes it: the input's own, less storage encodings.

    A dictionary is its values' type and a string, binary or list view a plain string, binary or
    list, inside lists, structs and maps too: how an input stores a column is not what it holds.
    Two files that store one column differently then still share its type, and Arrow can take
    rows of it (it has no `take` for views).
    """
    if pa.types.is_dictionary(kind):
        return plain_type(kind.value_type)
    if pa.types.is_string_view(kind):
        return pa.string()
    if pa.types.is_binary_view(kind):
        return pa.binary()
    if pa.types.is_list_view(kind) or pa.types.is_large_list_view(kind):
        return plain_type(pa.large_list(kind.value_field))
    if pa.types.is_map(kind):
        key, item = kind.key_field, kind.item_field
        return pa.map_(key.with_type(plain_type(key.type)), item.with_type(plain_type(item.type)))
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        inner = kind.value_field.with_type(plain_type(kind.value_type))
        if pa.types.is_fixed_size_list(kind):
            return pa.list_(inner, kind.list_size)
        return pa.large_list(inner) if pa.types.is_large_list(kind) else pa.list_(inner)
    if pa.types.is_struct(kind):
        return pa.struct([f.with_type(plain_type(f.type)) for f in kind])
    return kind


def table(columns: dict[str, pa.Array[Any]], fields: dict[str, pa.Field]) -> pa.Table:
    """A table of these columns, with the given fields (their metadata) where named."""
    schema = pa.schema([fields.get(name, pa.field(name, array.type)) for name, array in columns.items()])
    return pa.Table.from_arrays(list(columns.values()), schema=schema)


def unify(name: str, seen: list[pa.Field]) -> pa.Field:
    """The one field a pass-through field has in the output, from its field in each batch.

    Arrow's permissive promotion (null to anything, integers to floats, structs by member) when
    every batch converts to the result; else JSON text.
    """
    if any(is_json(f) for f in seen):
        return json_field(name)
    kinds = list(dict.fromkeys(f.type for f in seen))
    if len(kinds) == 1:
        return pa.field(name, kinds[0])
    try:
        unified = pa.unify_schemas(
            [pa.schema([pa.field(name, kind)]) for kind in kinds], promote_options="permissive"
        ).field(name)
        for kind in kinds:
            pa.array([], kind).cast(unified.type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return json_field(name)
    return pa.field(name, unified.type)


def conform(array: pa.Array[Any] | pa.ChunkedArray, source: pa.Field, target: pa.Field) -> Any:
    """One batch's column converted to the field the whole input gives it (`unify`)."""
    if is_json(target):
        if is_json(source):
            return array
        if pa.types.is_null(array.type):
            return pa.nulls(len(array), pa.string())
        return json_text(array.to_pylist())
    return array if array.type == target.type else array.cast(target.type)


def schema(tables: Iterable[pa.Schema]) -> list[pa.Field]:
    """The output fields of the pass-through columns of several batches, in order of first appearance."""
    seen: dict[str, list[pa.Field]] = {}
    for one in tables:
        for f in one:
            if f.name not in _FIXED:
                seen.setdefault(f.name, []).append(f)
    return [unify(name, fields) for name, fields in seen.items()]


def concat(tables: list[pa.Table], empty: pa.Table) -> pa.Table:
    """Concatenate read tables, each pass-through field converted to its one type (`unify`)."""
    if not tables:
        return empty
    targets = {f.name: f for f in schema(t.schema for t in tables)}
    converted = []
    for one in tables:
        columns: dict[str, Any] = {}
        for f in one.schema:
            target = targets.get(f.name)
            columns[f.name] = one[f.name] if target is None else conform(one[f.name], f, target)
        converted.append(table(columns, targets))
    return pa.concat_tables(converted, promote_options="permissive")
