"""Readers: files, folders and globs of lines, JSONL, CSV or Parquet into Arrow record tables.

Every record gets a stable id (its own id field, else `<file>:<line>`), its text, and its source
position (`source_file` as the config names it, `source_line` 1-based: the line for line formats,
the row for CSV and Parquet, the record's byte offset for WARC). Other input fields pass through. A
record that cannot be read becomes a `Reject` naming file, line and field; the rest of the file goes
on. gzip and zstd are opened by extension (`.gz`, `.zst`, `.zstd`). WARC and WET files
(`dedup.io.warc`) are told by their content, whatever their name, so one glob may mix them with
JSONL; records of a WARC file that hold no document are skipped and counted by kind.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import typing
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq
from isal import igzip, isal_zlib

from dedup.io import fastjson, fields, warc
from dedup.io.inputs import discover as discover
from dedup.records import ID, SOURCE_FILE, SOURCE_LINE, TEXT, Reject, clip_raw, passthrough_name
from dedup.settings import Format as Format
from dedup.settings import InputConfig as InputConfig

BATCH_SIZE = 4096
_COMPRESSED = {".gz": "gzip", ".zst": "zstd", ".zstd": "zstd"}
_FORMATS: dict[str, Format] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}


@dataclass(slots=True)
class ReadBatch:
    """What one read step yields.

    Attributes:
        records: Arrow table with `id`, `text`, `source_file`, `source_line` and pass-through fields.
        rejects: records of this stretch of input that could not be read.
        skipped_blank: blank lines passed over (line formats only; they hold no record).
        skipped_records: WARC records that hold no document, by kind (`request`, `metadata`,
            `response: image/jpeg`, `response: HTTP 3xx`...); they are not records read.
    """

    records: pa.Table
    rejects: list[Reject]
    skipped_blank: int = 0
    skipped_records: dict[str, int] = field(default_factory=dict)


def file_format(path: str, configured: Format) -> Format:
    """The format of `path`: `configured` unless it is `auto`, else by its name (see `detect_format`)."""
    if configured != "auto":
        return configured
    if warc.named_like_warc(path):
        return "warc"
    stem, ext = os.path.splitext(path.lower())
    if ext in _COMPRESSED:
        ext = os.path.splitext(stem)[1]
    return _FORMATS.get(ext, "lines")


def detect_format(path: str, configured: Format) -> Format:
    """The format of the file at `path`, by its content first.

    `configured` unless it is `auto`; else WARC when its content is (`dedup.io.warc.sniff`),
    Parquet when the file opens and ends with Parquet's magic number (a JSON-lines file whose
    first line is `PAR1` stays lines), else by name (`file_format`).

    Raises:
        OSError: the file cannot be read.
    """
    if configured != "auto":
        return configured
    with open(path, "rb") as handle:
        head = handle.read(1 << 16)
        if warc.sniff(head):
            return "warc"
        size = os.fstat(handle.fileno()).st_size
        if head.startswith(b"PAR1") and size >= 8:  # Parquet opens and ends with its magic number
            handle.seek(size - 4)
            if handle.read(4) == b"PAR1":
                return "parquet"
    return file_format(path, configured)


#: A WARC read batch is flushed past this much text (a crawl's pages run to megabytes).
_WARC_BATCH_BYTES = 32 << 20


def _read_warc(b: _Builder, path: str) -> Iterator[ReadBatch]:
    """Documents of a WARC or WET file as records; `source_line` is each record's byte offset."""
    size = 0
    for item in warc.records(path):
        if isinstance(item, warc.Document):
            b.add(item.offset, item.text, item.record_id, item.fields)
            size += len(item.text)
        elif isinstance(item, warc.Skipped):
            b.skipped_records[item.kind] = b.skipped_records.get(item.kind, 0) + 1
        else:
            b.reject(item.offset, item.reason, None)
        if b.full() or size >= _WARC_BATCH_BYTES:
            yield b.flush()
            size = 0


def open_binary(path: str) -> IO[bytes]:
    """Open `path` for reading bytes, decompressing gzip or zstd by extension.

    gzip is decoded by ISA-L (`Gunzip`), handing over to the standard library's decoder at the
    first damage, whose `read1` gives each decoded piece as it comes: a truncated file gives up
    every whole line before the damage. zstd and plain files go through Arrow's C++ streams.

    Raises:
        OSError: the file cannot be opened (its `strerror` says why).
    """
    ext = os.path.splitext(path.lower())[1]
    if ext == ".gz":
        return typing.cast(IO[bytes], Gunzip(path))
    with open(path, "rb"):  # the OS's own error (no such file, permission denied) before Arrow's
        pass
    return typing.cast(IO[bytes], pa.input_stream(path, compression=_COMPRESSED.get(ext)))


# ISA-L's decoding error (its stubs declare it an instance, not a class).
_ISAL_ERROR = typing.cast(type[Exception], isal_zlib.error)


class Gunzip(io.BufferedIOBase):
    """A gzip file's decoded bytes: ISA-L's decoder (`isal.igzip`), the standard library's after damage.

    ISA-L decodes gzip about 2.5x as fast as zlib (22.8 MB of news JSONL: 0.035 s against 0.092 s
    on this project's machine), but on a damaged stream it raises with up to a read's worth of
    decodable bytes still held back. So at the first error the file is opened again with `gzip`,
    the bytes already handed over are decoded again and skipped, and reading goes on there: the
    bytes and the error are exactly those `gzip.open` gives (the same DEFLATE stream decodes to
    the same bytes).

    Raises:
        OSError: the file cannot be opened, or is no gzip file (`gzip.BadGzipFile`).
        EOFError, zlib.error: the stream is truncated or corrupt (from the standard library).
    """

    def __init__(self, path: str) -> None:
        super().__init__()
        self._path = path
        self._fast: gzip.GzipFile | None = igzip.IGzipFile(path, "rb")  # type: ignore[no-untyped-call]
        self._slow: gzip.GzipFile | None = None
        self._given = 0  # bytes handed over so far

    def readable(self) -> bool:
        """True: a stream to read."""
        return True

    def read1(self, size: int = -1) -> bytes:
        """Up to `size` decoded bytes (at least one unless at the end), with at most one read of the file."""
        return self._read(size, one=True)

    def read(self, size: int | None = -1) -> bytes:
        """`size` decoded bytes, or fewer at the end; all that is left for `-1` or None."""
        return self._read(-1 if size is None else size, one=False)

    def _read(self, size: int, one: bool) -> bytes:
        if self._fast is not None:
            try:
                data = self._fast.read1(size) if one else self._fast.read(size)
            except (EOFError, OSError, zlib.error, _ISAL_ERROR):
                self._take_over()
            else:
                self._given += len(data)
                return data
        assert self._slow is not None
        data = self._slow.read1(size) if one else self._slow.read(size)
        self._given += len(data)
        return data

    def _take_over(self) -> None:
        """Go on with the standard library's decoder from the same decoded byte."""
        assert self._fast is not None
        self._fast.close()
        self._fast = None
        self._slow = gzip.GzipFile(self._path, "rb")
        skip = self._given
        while skip > 0:  # ISA-L decoded these bytes, so the standard library does too
            chunk = self._slow.read(min(skip, 1 << 20))
            if not chunk:
                break
            skip -= len(chunk)

    def close(self) -> None:
        """Close the file (both decoders)."""
        for stream in (self._fast, self._slow):
            if stream is not None:
                stream.close()
        super().close()


class _Builder:
    """Collects records and rejects of one file into `ReadBatch`es of at most `BATCH_SIZE`."""

    def __init__(self, display: str) -> None:
        self.display = display
        #: A pass-through column's Arrow type where the file states one (Parquet), by output name.
        self.kinds: dict[str, pa.DataType] = {}
        self.rows: list[dict[str, Any]] = []
        self.rejects: list[Reject] = []
        self.skipped = 0
        self.skipped_records: dict[str, int] = {}

    def add(self, line: int, text: str, rid: str | None, extra: dict[str, Any]) -> None:
        row: dict[str, Any] = {
            ID: rid if rid is not None else f"{self.display}:{line}",
            TEXT: text,
            SOURCE_FILE: self.display,
            SOURCE_LINE: line,
        }
        row.update({passthrough_name(k): v for k, v in extra.items()})
        self.rows.append(row)

    def reject(
        self, line: int | None, reason: str, field: str | None = None, raw: Any = None, rid: str | None = None
    ) -> None:
        self.rejects.append(Reject(self.display, line, reason, "read", rid, field, clip_raw(raw)))

    def full(self) -> bool:
        return len(self.rows) + len(self.rejects) >= BATCH_SIZE

    def flush(self) -> ReadBatch:
        batch = ReadBatch(_table(self.rows, self.kinds), self.rejects, self.skipped, self.skipped_records)
        self.rows, self.rejects, self.skipped, self.skipped_records = [], [], 0, {}
        return batch

    def pending(self) -> bool:
        return bool(self.rows or self.rejects or self.skipped or self.skipped_records)


def _table(rows: list[dict[str, Any]], kinds: dict[str, pa.DataType]) -> pa.Table:
    """The rows as a table; a pass-through column of a type in `kinds` keeps it (else inferred)."""
    if not rows:
        return _empty()
    keys = list(dict.fromkeys(key for row in rows for key in row))  # every row's fields, in order
    columns: dict[str, Any] = {}
    marked: dict[str, pa.Field] = {}
    for key in keys:
        values = [row.get(key) for row in rows]
        if key == SOURCE_LINE:
            columns[key] = pa.array(values, pa.int64())
        elif key in (ID, TEXT, SOURCE_FILE):
            columns[key] = pa.array(values, pa.string())
        else:
            try:  # the file's own type, where it states one: nothing lost
                columns[key] = pa.array(values, kinds[key]) if key in kinds else None
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
                columns[key] = None
            if columns[key] is None:
                columns[key], marked[key] = fields.column(key, values)
    return fields.table(columns, marked)


def _empty() -> pa.Table:
    return pa.table(
        {
            ID: pa.array([], pa.string()),
            TEXT: pa.array([], pa.string()),
            SOURCE_FILE: pa.array([], pa.string()),
            SOURCE_LINE: pa.array([], pa.int64()),
        }
    )


def concat(tables: list[pa.Table]) -> pa.Table:
    """Concatenate read tables; each pass-through field gets one type (`dedup.io.fields.unify`)."""
    return fields.concat(tables, _empty())


def _record_id(obj: dict[str, Any], cfg: InputConfig) -> tuple[str | None, str | None]:
    """(id, problem): the record's own id when it has one, else None."""
    if cfg.id_field not in obj or obj[cfg.id_field] is None:
        return None, None
    value = obj[cfg.id_field]
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None, f"field '{cfg.id_field}' is {_kind(value)}, expected a string or an integer"
    return str(value), None


def _kind(value: object) -> str:
    names = {
        dict: "an object",
        list: "a list",
        float: "a number",
        int: "a number",
        fields.BigInt: "a number",
        bool: "a boolean",
        type(None): "null",
        str: "a string",
    }
    return names.get(type(value), type(value).__name__)


def _take_mapping(b: _Builder, line: int, obj: dict[str, Any], cfg: InputConfig, raw: Any) -> None:
    """Validate one mapping (a JSON object, CSV row or Parquet row) and add or reject it."""
    rid, problem = _record_id(obj, cfg)  # a reject for another field still carries a readable id
    if cfg.text_field not in obj:
        present = ", ".join(sorted(str(k) for k in obj)) or "none"
        b.reject(
            line,
            f"no field '{cfg.text_field}'; fields present: {present} (set input.text_field)",
            cfg.text_field,
            raw,
            rid,
        )
        return
    text = obj[cfg.text_field]
    if not isinstance(text, str) or isinstance(text, fields.BigInt):
        reason = f"field '{cfg.text_field}' is {_kind(text)}, expected a string"
        b.reject(line, reason, cfg.text_field, raw, rid)
        return
    if problem is not None:
        b.reject(line, problem, cfg.id_field, raw)
        return
    extra = {k: v for k, v in obj.items() if k not in (cfg.text_field, cfg.id_field)}
    b.add(line, text, rid, extra)


def _read_line(b: _Builder, line: int, raw: bytes, jsonl: bool, cfg: InputConfig) -> None:
    """Read one line the careful way: every problem becomes a reject naming the line."""
    stripped = raw.rstrip(b"\r\n")
    if not stripped.strip():
        b.skipped += 1
        return
    try:
        text = stripped.decode("utf-8")
    except UnicodeDecodeError as err:
        b.reject(line, f"invalid UTF-8 at byte {err.start + 1} of the line", None if jsonl else "text", raw)
        return
    if not jsonl:
        b.add(line, text, None, {})
        return
    try:
        obj = json.loads(text, parse_int=fields.parse_int)
    except json.JSONDecodeError as err:
        b.reject(line, f"malformed JSON ({err.msg}, column {err.colno})", None, text)
        return
    except RecursionError:
        b.reject(line, "the JSON nests lists or objects too deeply to read", None, text)
        return
    if not isinstance(obj, dict):
        b.reject(line, f"expected a JSON object, got {_kind(obj)}", None, text)
        return
    problem = fields.unstorable(obj, text, (cfg.text_field, cfg.id_field))
    if problem is not None:
        b.reject(line, problem[1], problem[0], text)
        return
    _take_mapping(b, line, obj, cfg, text)


_BOM = b"\xef\xbb\xbf"  # a UTF-8 byte-order mark: at the start of a file it is no part of the text


def _read_lines(b: _Builder, stream: IO[bytes], jsonl: bool, cfg: InputConfig) -> Iterator[ReadBatch]:
    line = 0
    try:
        for first, whole in fastjson.blocks(stream):
            block = whole[len(_BOM) :] if first == 1 and whole.startswith(_BOM) else whole
            fast = None
            if jsonl:
                fast = fastjson.parse_block(block, first, b.display, cfg.id_field, cfg.text_field)
            if fast is not None:
                if b.pending():
                    yield b.flush()
                yield ReadBatch(fast, [])
                line = first + fast.num_rows - 1
                continue
            parts = block.split(b"\n")
            if block.endswith(b"\n"):
                parts.pop()
            for line, raw in enumerate(parts, first):
                _read_line(b, line, raw, jsonl, cfg)
                if b.full():
                    yield b.flush()
    except fastjson.STREAM_ERRORS as err:
        b.reject(line + 1, f"the file is truncated or corrupt after line {line}: {_one_line(err)}", None)


def _one_line(err: BaseException) -> str:
    """A library's error message on one line (Arrow's run over several)."""
    return " ".join(str(err).split())


def _read_csv(b: _Builder, stream: IO[bytes], cfg: InputConfig) -> Iterator[ReadBatch]:
    text_stream = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    reader = csv.DictReader(text_stream)
    start = 2
    try:
        header = reader.fieldnames
        if header is not None and cfg.text_field not in header:
            b.reject(
                1,
                f"no column '{cfg.text_field}'; columns present: {', '.join(header)} (set input.text_field)",
                cfg.text_field,
            )
            return
        for row in reader:
            # The row's cells as read: extra cells (under the key None) in place, missing ones empty.
            cells = [c for v in row.values() for c in (v if isinstance(v, list) else [v])]
            raw = ",".join("" if c is None else c for c in cells)
            if None in row:  # more cells than the header names
                named = len(header or [])
                b.reject(start, f"the row has more cells than the header's {named}", None, raw)
            else:
                _take_mapping(b, start, dict(row), cfg, raw)
            start = reader.line_num + 1
            if b.full():
                yield b.flush()
    except (*fastjson.STREAM_ERRORS, UnicodeDecodeError, csv.Error) as err:
        b.reject(start, f"cannot read the CSV from here on: {_one_line(err)}", None)
    finally:
        text_stream.detach()  # the caller closes the binary stream


def _read_parquet(b: _Builder, path: str, cfg: InputConfig) -> Iterator[ReadBatch]:
    row = 0
    try:
        pfile = pq.ParquetFile(path)
        names = pfile.schema_arrow.names
        if cfg.text_field not in names:
            b.reject(
                None,
                f"no column '{cfg.text_field}'; columns present: {', '.join(names)} (set input.text_field)",
                cfg.text_field,
            )
            return
        # Values go through Python row by row (each record is judged alone), but a column keeps
        # the file's type: inferred again, a nanosecond timestamp would come out in microseconds.
        own = (cfg.text_field, cfg.id_field)
        passed = [f for f in pfile.schema_arrow if f.name not in own]
        b.kinds = {passthrough_name(f.name): fields.plain_type(f.type) for f in passed}
        for batch in _parquet_batches(pfile):
            for obj in _python_rows(b, row, _readable(batch), cfg):
                row += 1
                if obj is not None:
                    _take_mapping(b, row, obj, cfg, obj.get(cfg.text_field))
            if b.full():
                yield b.flush()
    except (pa.ArrowException, OSError) as err:
        b.reject(row + 1 if row else None, f"not a readable Parquet file: {_one_line(err)}", None)


def _parquet_batches(pfile: pq.ParquetFile) -> Iterator[pa.RecordBatch]:
    """The file's rows in order, in batches of at most `BATCH_SIZE` rows.

    Arrow's batch reader refuses some files it reads whole row group by row group (a struct with a
    dictionary child: "Nested data conversions not implemented for chunked array outputs"); from
    the row where it refuses, the rest is read one row group at a time (one group's rows in memory).

    Raises:
        pa.ArrowException, OSError: a row group cannot be read either.
    """
    done = 0
    try:
        for batch in pfile.iter_batches(batch_size=BATCH_SIZE):
            yield batch
            done += batch.num_rows
        return
    except pa.ArrowNotImplementedError:
        pass
    start = 0
    for group in range(pfile.num_row_groups):
        rows = pfile.metadata.row_group(group).num_rows
        if start + rows > done:
            table = pfile.read_row_group(group).slice(max(0, done - start))
            yield from table.to_batches(max_chunksize=BATCH_SIZE)
        start += rows


def _readable(batch: pa.RecordBatch) -> pa.RecordBatch:
    """The batch with each time of day in nanoseconds as its integer.

    Python's `time` holds microseconds; the integer goes back into a `time64[ns]` column whole.
    """
    columns = [
        c.cast(pa.int64()) if pa.types.is_time64(c.type) and c.type.unit == "ns" else c for c in batch.columns
    ]
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


def _python_rows(
    b: _Builder, before: int, batch: pa.RecordBatch, cfg: InputConfig
) -> list[dict[str, Any] | None]:
    """The batch's rows as Python mappings.

    A row holding a value Python cannot hold (a date past the year 9999) is a reject naming its
    field, with None in its place.
    """
    try:
        return list(batch.to_pylist())
    except (OverflowError, ValueError):
        pass
    rows: list[dict[str, Any] | None] = []
    for i in range(batch.num_rows):
        row = batch.slice(i, 1)
        try:
            rows.append(row.to_pylist()[0])
            continue
        except (OverflowError, ValueError) as err:
            problem = _one_line(err)
        bad, read = None, {}
        for name, column in zip(row.schema.names, row.columns, strict=True):
            try:
                read[name] = column.to_pylist()[0]
            except (OverflowError, ValueError):
                bad = bad or name
        rid, _ = _record_id(read, cfg)  # the record's own id, when that field reads
        b.reject(before + i + 1, f"field '{bad}' cannot be read as a Python value: {problem}", bad, rid=rid)
        rows.append(None)
    return rows


def read_file(display: str, cfg: InputConfig) -> Iterator[ReadBatch]:
    """Read one file into batches of records and rejects; a problem never stops the other files."""
    b = _Builder(display)
    try:
        fmt = detect_format(display, cfg.format)
        if fmt == "warc":
            yield from _read_warc(b, display)
        elif fmt == "parquet":
            yield from _read_parquet(b, display, cfg)
        else:
            with open_binary(display) as stream:
                if fmt == "csv":
                    yield from _read_csv(b, stream, cfg)
                else:
                    yield from _read_lines(b, stream, fmt == "jsonl", cfg)
    except OSError as err:
        b.reject(None, f"cannot open the file: {err.strerror or err}", None)
    if b.pending():
        yield b.flush()


def read(cfg: InputConfig) -> Iterator[ReadBatch]:
    """Read every input file `cfg` names, in a stable order.

    Raises:
        InputError: a path names nothing (before any record is read).
    """
    for display in discover(cfg.paths):
        yield from read_file(display, cfg)
