"""The vectorized JSONL path: whole blocks of lines parsed by Arrow's JSON reader.

Readers cut a file into blocks of whole lines (`blocks`). `parse_block` tries Arrow's multi-threaded
JSON reader on a block and returns a table only when the result is exactly what the line-by-line
reader would give: one row per line (no blank lines), a string text field without nulls, a string
or integer id field without nulls, and no field whose type Arrow would have guessed differently
(ISO strings it turns into timestamps are read again as strings; a block where it guessed one inside
a list or object is not taken), no integer beyond 64 bits (Arrow would read it as an inexact
float), and no nesting deeper than a pass-through field may hold. Anything else returns None and
the caller reads that block line by line, which names every bad line.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.json as pa_json
import zstandard

from dedup.io import fields
from dedup.records import ID, SOURCE_FILE, SOURCE_LINE, TEXT, passthrough_name

BLOCK_BYTES = 32 << 20
_READ_BYTES = 1 << 20
# A JSON number of 19 or more digits (not every match is one: the line-by-line reader decides).
_WIDE_INTEGER = re.compile(rb"[:\[,]\s*-?[0-9]{19}")
STREAM_ERRORS = (EOFError, OSError, zlib.error, zstandard.ZstdError, pa.ArrowException)


def blocks(stream: IO[bytes], size: int = BLOCK_BYTES) -> Iterator[tuple[int, bytes]]:
    """Cut a byte stream into blocks of whole lines.

    Yields:
        `(first_line, block)`: the 1-based number of the block's first line, and the block, which
        ends with a newline unless it is the end of the stream. A line longer than `size` makes a
        block of its own. When the stream fails (a truncated or corrupt file), the whole lines
        read so far are yielded first, then the error is raised.
    """
    pieces: list[bytes] = []
    held = 0
    line = 1
    read = getattr(stream, "read1", stream.read)  # a piece at a time: a failure loses no decoded line
    try:
        while True:
            chunk = read(_READ_BYTES)
            if chunk:
                pieces.append(chunk)
                held += len(chunk)
                if held < size:
                    continue
                at = chunk.rfind(b"\n")
                if at >= 0:  # the last newline held is in this piece: one copy makes the block
                    block = b"".join([*pieces[:-1], chunk[: at + 1]])
                    rest = chunk[at + 1 :]
                    pieces, held = ([rest], len(rest)) if rest else ([], 0)
                    yield line, block
                    line += block.count(b"\n")
                    continue
            data = b"".join(pieces)
            if not data:
                return  # the stream ended right after a block
            cut = data.rfind(b"\n") if chunk else len(data) - 1
            if cut == -1:
                continue  # one line longer than `size`: read on
            block, rest = data[: cut + 1], data[cut + 1 :]
            pieces, held = ([rest], len(rest)) if rest else ([], 0)
            if block:
                yield line, block
                line += block.count(b"\n")
            if not chunk:
                return
    except STREAM_ERRORS:
        data = b"".join(pieces)
        whole = data[: data.rfind(b"\n") + 1]
        if whole:
            yield line, whole
        raise


def _line_reader_needed(kind: pa.DataType) -> bool:
    """Whether a field's type is one the line-by-line reader reads differently.

    That is: it nests deeper than a pass-through field may, or holds a time that Arrow guessed from
    strings inside a list or struct (the line reader keeps those strings).
    """
    stack = [(kind, 0)]
    while stack:
        item, level = stack.pop()
        if level > fields.MAX_DEPTH or (level and (pa.types.is_timestamp(item) or pa.types.is_date(item))):
            return True
        stack.extend((item.field(i).type, level + 1) for i in range(item.num_fields))
    return False


def _holds_float(kind: pa.DataType) -> bool:
    """Whether a type is floating point or nests one (where Arrow puts a JSON integer beyond 64 bits)."""
    stack = [kind]
    while stack:
        item = stack.pop()
        if pa.types.is_floating(item):
            return True
        stack.extend(item.field(i).type for i in range(item.num_fields))
    return False


def _string_schema(table: pa.Table) -> pa.Schema | None:
    """A schema reading Arrow's inferred timestamp fields back as strings, or None if there are none."""
    guessed = [f for f in table.schema if pa.types.is_timestamp(f.type) or pa.types.is_date(f.type)]
    if not guessed:
        return None
    return pa.schema([pa.field(f.name, pa.string()) for f in guessed])


def parse_block(
    block: bytes, first_line: int, display: str, id_field: str, text_field: str
) -> pa.Table | None:
    """Parse a block of JSON lines into a read table, or None if it needs the line-by-line reader."""
    ends = block.endswith(b"\n")
    if len(block) == int(ends):
        return None  # an empty line, or nothing
    options = pa_json.ReadOptions(block_size=max(1 << 20, len(block) + 1))
    try:
        table = pa_json.read_json(pa.BufferReader(block), read_options=options)
        schema = _string_schema(table)
        if schema is not None:
            parse = pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="infer")
            table = pa_json.read_json(pa.BufferReader(block), read_options=options, parse_options=parse)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if any(_holds_float(f.type) for f in table.schema) and _WIDE_INTEGER.search(block) is not None:
        return None  # Arrow reads an integer beyond 64 bits as an inexact float (only floats hide one)
    if table.num_rows != block.count(b"\n") + (not ends) or text_field not in table.column_names:
        return None  # Arrow skips blank lines: the line-by-line reader counts them
    if any(_line_reader_needed(f.type) for f in table.schema):
        return None  # a guessed time inside a list or object, or nesting the line reader rejects
    try:
        table.validate(full=True)  # Arrow's JSON reader passes invalid UTF-8 through into strings
    except pa.ArrowInvalid:
        return None
    text = table[text_field]
    if not (pa.types.is_string(text.type) or pa.types.is_large_string(text.type)) or text.null_count:
        return None
    n = table.num_rows
    lines = np.arange(first_line, first_line + n, dtype=np.int64)
    if id_field in table.column_names:
        ids = table[id_field]
        kind = ids.type
        ok = pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_integer(kind)
        if not ok or ids.null_count:
            return None
        id_column: Any = ids.cast(pa.string())
    else:
        id_column = pa.array([f"{display}:{line}" for line in lines.tolist()], pa.string())
    columns: dict[str, Any] = {
        ID: id_column,
        TEXT: text.cast(pa.string()),
        SOURCE_FILE: pa.array([display] * n, pa.string()),
        SOURCE_LINE: pa.array(lines),
    }
    for name in table.column_names:
        if name not in (id_field, text_field):
            columns[passthrough_name(name)] = table[name]
    return pa.table(columns)
