"""The Spark engine's work where the records are: featurize each input file, write the outputs.

Both run inside Spark tasks through `mapInArrow`, one Arrow batch at a time, and call the code the
local engine calls: `readers.read_file` and `shards.pieces` cut a file as a local run does,
`featurize` cleans, digests, signs, bands and shingles each piece, and `outputs` builds the rows of
`unique`, `duplicates` and `rejects`, which `writers.TableWriter` writes as the part files of each
output dataset. No PySpark is imported here: these are plain functions of Arrow batches.

Everything a piece yields travels in one table of fixed columns (`FEATURES`), one `kind` a row:
`INFO` (a piece's counts, its WARC records that hold no document by kind, and its pass-through
fields as one Arrow IPC stream with their schema: the fields' types differ from file to file and
are unified once every piece is seen), `RECORD`
(a cleaned record: its uid, digest and band keys as signed 64-bit integers, its shingle set as
little-endian `uint32` bytes, its paragraphs and the ingredients of its keep rank), `REJECT`,
`ERROR` (a `DedupError` raised in the task, re-raised on the driver) and `FILE` (an input file's
size and digest). A record's uid is `file_index << 40 | line`: unique, and ordered as the source
position a local run ranks by.
"""

from __future__ import annotations

import datetime
import decimal
import math
import os
import pickle
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dedup import cluster, errors, outputs
from dedup.config import Config, size_bytes
from dedup.engines.shards import Limits, conform, pieces
from dedup.featurize import Features, featurize
from dedup.io import fields, readers, work, writers
from dedup.records import ID, PARAGRAPHS, SOURCE_FILE, SOURCE_LINE, TEXT, Reject, fail_fast, passthrough_name
from dedup.settings import parse_keep

INFO, RECORD, REJECT, ERROR, FILE = 0, 1, 2, 3, 4
#: What `mapInArrow` takes: a function of a partition's Arrow batches.
ArrowFunction = Callable[[Iterable[pa.RecordBatch]], Iterable[pa.RecordBatch]]
#: Bits of a uid that hold the line; the file's index is above them.
LINE_BITS = 40
ROWS = 4096

FEATURES = pa.schema(
    [
        ("kind", pa.int8()),
        ("file_index", pa.int32()),
        ("piece", pa.int32()),
        ("uid", pa.int64()),
        (ID, pa.string()),
        (SOURCE_FILE, pa.string()),
        (SOURCE_LINE, pa.int64()),
        ("d0", pa.int64()),
        ("d1", pa.int64()),
        ("keys", pa.list_(pa.int64())),
        ("sets", pa.binary()),
        ("sig", pa.binary()),
        ("length", pa.int64()),
        ("keep_type", pa.string()),
        ("keep_num", pa.float64()),
        ("keep_int", pa.decimal128(38, 0)),  # the number when it is an integer, whole
        # Nanoseconds since the epoch (`cluster.moment`), whole: a long holds 1677-2262 only.
        ("keep_time", pa.decimal128(38, 0)),
        ("keep_error", pa.string()),
        ("keep_value", pa.binary()),
        (PARAGRAPHS, pa.list_(pa.string())),
        ("row", pa.int32()),
        ("schema", pa.binary()),
        ("extra", pa.binary()),
        ("read", pa.int64()),
        ("skipped", pa.int64()),
        ("skipped_kinds", pa.list_(pa.string())),
        ("skipped_counts", pa.list_(pa.int64())),
        ("text_bytes", pa.int64()),
        ("stage", pa.string()),
        ("field", pa.string()),
        ("reason", pa.string()),
        ("raw", pa.string()),
        ("error", pa.binary()),
    ]
)

#: What the output step returns per part file written.
PARTS = pa.schema(
    [
        ("table", pa.string()),
        ("part", pa.string()),
        ("rows", pa.int64()),
        ("bytes", pa.int64()),
        ("xxh3", pa.string()),
    ]
)

_SPARK_TYPES = {
    pa.int8(): "tinyint",
    pa.int32(): "int",
    pa.int64(): "bigint",
    pa.float64(): "double",
    pa.bool_(): "boolean",
    pa.string(): "string",
    pa.binary(): "binary",
    pa.decimal128(38, 0): "decimal(38,0)",
}


def ddl(schema: pa.Schema) -> str:
    """The Spark DDL of an Arrow schema of the types the engine's tables use (lists of them too)."""

    def spark_type(kind: pa.DataType) -> str:
        if pa.types.is_list(kind):
            return f"array<{spark_type(kind.value_type)}>"
        return _SPARK_TYPES[kind]

    return ", ".join(f"`{f.name}` {spark_type(f.type)}" for f in schema)


def error_payload(err: errors.DedupError) -> bytes:
    """A `DedupError` raised in a task, as bytes the driver turns back into it (`reraise`)."""
    if isinstance(err, errors.InputError):
        return pickle.dumps(("InputError", err.reason, err.path, err.line, err.field))
    return pickle.dumps((type(err).__name__, str(err), None, None, None))


def reraise(payload: bytes) -> errors.DedupError:
    """The error `error_payload` packed, to be raised on the driver."""
    name, message, path, line, field_name = pickle.loads(payload)
    if name == "InputError":
        return errors.InputError(message, path=path, line=line, field=field_name)
    kind = getattr(errors, name, errors.EngineError)
    return kind(message)


def _rows(n: int, schema: pa.Schema, /, **columns: Any) -> pa.RecordBatch:
    """A batch of `schema` with the given columns and nulls elsewhere."""
    arrays = []
    for f in schema:
        value = columns.get(f.name)
        if value is None:
            arrays.append(pa.nulls(n, f.type))
        elif isinstance(value, (pa.Array, pa.ChunkedArray)):
            arrays.append(value.cast(f.type))
        else:
            arrays.append(pa.array(value, f.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _binary(values: npt.NDArray[Any], offsets: npt.NDArray[np.int64]) -> pa.Array[Any]:
    """Rows of raw bytes: row `i` is `values[offsets[i]:offsets[i + 1]]` (little-endian)."""
    width = values.dtype.itemsize
    return pa.Array.from_buffers(
        pa.binary(),
        len(offsets) - 1,
        [
            None,
            pa.py_buffer((offsets * width).astype(np.int32)),
            pa.py_buffer(values.astype("<" + values.dtype.str[1:]).tobytes()),
        ],
    )


def unpack(
    column: pa.Array[Any] | pa.ChunkedArray, dtype: str
) -> tuple[npt.NDArray[Any], npt.NDArray[np.int64]]:
    """The values and `int64` offsets (in values) of a binary column `_binary` made; nulls are empty."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    column = column.fill_null(b"") if column.null_count else column
    column = column.cast(pa.large_binary())
    _, offsets_buf, data_buf = column.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[column.offset : column.offset + len(column) + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.empty(0, np.uint8)
    data = np.ascontiguousarray(data[offsets[0] : offsets[-1]])
    width = np.dtype(dtype).itemsize
    return data.view(dtype), ((offsets - offsets[0]) // width).astype(np.int64)


# Featurize -----------------------------------------------------------------------------------------


def featurize_files(config: Config, cwd: str) -> ArrowFunction:
    """The `mapInArrow` function turning `(file_index, path)` rows into `FEATURES` rows.

    Paths are read as the config names them (they name the records: `source_file`, ids), from the
    driver's working folder `cwd` where a worker has it (Spark starts workers elsewhere).
    """

    def run(tasks: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        if os.path.isdir(cwd):
            os.chdir(cwd)
        for task in tasks:
            for index, path in zip(task.column(0).to_pylist(), task.column(1).to_pylist(), strict=True):
                yield from _featurize_file(int(index), str(path), config)

    return run


def _featurize_file(index: int, path: str, config: Config) -> Iterator[pa.RecordBatch]:
    (described,) = work.describe([path])
    yield _rows(1, FEATURES, kind=[FILE], file_index=[index], read=[described.bytes], reason=[described.xxh3])
    limits = Limits.from_budget(size_bytes(config.memory_budget))
    for number, piece in enumerate(pieces(readers.read_file(path, config.input), limits)):
        try:  # as the local engine's `shards.process`: a piece's read rejects, then its clean ones
            fail_fast(piece.rejects, config.on_error)
            features = featurize(piece.records, config)
        except errors.DedupError as err:
            yield _rows(
                1, FEATURES, kind=[ERROR], file_index=[index], piece=[number], error=[error_payload(err)]
            )
            return
        text_bytes = int(pc.sum(pc.binary_length(piece.records[TEXT])).as_py() or 0)
        extra = features.records.drop_columns([ID, SOURCE_FILE, SOURCE_LINE, PARAGRAPHS])
        yield _rows(
            1,
            FEATURES,
            kind=[INFO],
            file_index=[index],
            piece=[number],
            schema=[extra.schema.serialize().to_pybytes()],
            extra=[_ipc(extra)],
            read=[piece.records.num_rows + len(piece.rejects)],
            skipped=[piece.skipped_blank],
            skipped_kinds=[list(piece.skipped_records)],
            skipped_counts=[list(piece.skipped_records.values())],
            text_bytes=[text_bytes],
        )
        for start in range(0, len(features), ROWS):
            yield _records(features, start, min(start + ROWS, len(features)), index, number, config)
        rejects = sorted(
            [*piece.rejects, *features.rejects], key=lambda r: -1 if r.source_line is None else r.source_line
        )
        if rejects:
            yield _reject_rows(rejects, index, number)


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def _records(
    features: Features, start: int, end: int, index: int, number: int, config: Config
) -> pa.RecordBatch:
    records = features.records.slice(start, end - start)
    n = end - start
    lines = np.asarray(records[SOURCE_LINE].to_numpy(), dtype=np.int64)
    if n and (lines.max() >= 1 << LINE_BITS or index >= 1 << (63 - LINE_BITS)):
        raise errors.EngineError(f"{records[SOURCE_FILE][0]}: more than 2**40 lines, or 2**23 files")
    digests = features.digests[start:end].view(np.int64)
    keys = np.ascontiguousarray(features.keys[:, start:end].T).view(np.int64)
    bands = keys.shape[1]
    key_lists = pa.ListArray.from_arrays(
        pa.array(np.arange(n + 1, dtype=np.int32) * bands), pa.array(keys.reshape(-1), pa.int64())
    )
    offsets = features.set_offsets[start : end + 1]
    sets = _binary(features.sets[offsets[0] : offsets[-1]], offsets - offsets[0])
    columns: dict[str, Any] = {}
    if config.lsh.verify == "estimate":
        width = features.signatures.shape[1]
        sig = np.ascontiguousarray(features.signatures[start:end]).reshape(-1)
        columns["sig"] = _binary(sig, np.arange(n + 1, dtype=np.int64) * width)
    columns.update(_keep_columns(records, features.lengths[start:end], config))
    return _rows(
        n,
        FEATURES,
        kind=np.full(n, RECORD, np.int8),
        file_index=np.full(n, index, np.int32),
        piece=np.full(n, number, np.int32),
        uid=(np.int64(index) << LINE_BITS) | lines,
        id=records[ID].combine_chunks(),
        source_file=records[SOURCE_FILE].combine_chunks(),
        source_line=lines,
        d0=digests[:, 0],
        d1=digests[:, 1],
        keys=key_lists,
        sets=sets,
        length=features.lengths[start:end],
        paragraphs=records[PARAGRAPHS].combine_chunks().cast(pa.list_(pa.string())),
        row=np.arange(start, end, dtype=np.int32),
        **columns,
    )


def _reject_rows(rejects: list[Reject], index: int, number: int) -> pa.RecordBatch:
    n = len(rejects)
    return _rows(
        n,
        FEATURES,
        kind=np.full(n, REJECT, np.int8),
        file_index=np.full(n, index, np.int32),
        piece=np.full(n, number, np.int32),
        source_file=[r.source_file for r in rejects],
        source_line=[r.source_line for r in rejects],
        id=[r.id for r in rejects],
        stage=[r.stage for r in rejects],
        field=[r.field for r in rejects],
        reason=[r.reason for r in rejects],
        raw=[r.raw for r in rejects],
    )


# The keep rank's ingredients -------------------------------------------------------------------------

_NUMBERS = (int, float, decimal.Decimal)

#: The `keep_type` of a value `keep: newest` reads as a point in time: text, or a date or date and
#: time (no Python type has this name: a time of day, `time`, is no point in time).
TIME_KIND = "<moment>"


def _keep_columns(records: pa.Table, lengths: npt.NDArray[np.int64], config: Config) -> dict[str, Any]:
    """Per record what its keep rank is made of; the driver decides the rule's reading of them.

    `first` and `none` need nothing but the position (the uid); `longest` the length. For
    `newest:<field>` and `priority:<field>`, each value as `cluster` reads it: its type, as a
    number, as a point in time (text), why it is neither, and the value itself (pickled) for the
    error that names the values that do not compare.
    """
    rule, field_name = parse_keep(config.cluster.keep)
    if rule not in ("newest", "priority"):
        return {}
    assert field_name is not None
    column_name = passthrough_name(field_name)  # the input's field, as the outputs name it
    if column_name in records.column_names:
        column = records[column_name]
        values = fields.values(column, records.schema.field(column_name))
    else:
        values = [None] * records.num_rows
    kinds, numbers, integers, moments, problems, raws = [], [], [], [], [], []
    for raw in values:
        value = cluster._scalar(raw)  # how `cluster`'s rank functions read a value
        if isinstance(value, decimal.Decimal) and value.is_nan():
            value = None  # a NaN decimal is missing, as `cluster` reads it
        number = moment = problem = None
        exact: object = None
        if rule == "priority" and value is not None:
            try:
                cluster.number_rank([raw], field_name)
                if not (isinstance(value, float) and math.isnan(value)):
                    number = float(value)  # type: ignore[arg-type]
                    exact = cluster._text_number(value) if isinstance(value, str) else value
            except cluster.RankError as err:
                problem = str(err)
        elif rule == "newest" and isinstance(value, _NUMBERS) and not isinstance(value, bool):
            number, exact = float(value), value
        elif rule == "newest" and isinstance(value, str):
            try:
                moment = cluster.moment(value)
            except (ValueError, OverflowError):
                problem = _time_problem(raw, field_name)
        elif rule == "newest" and isinstance(value, datetime.date):  # a date or time column as it is
            moment = cluster.utc_nanoseconds(value)
        # An integer exactly (as the local engine compares it), where a decimal(38, 0) holds it.
        whole = isinstance(exact, int) and not isinstance(exact, bool) and abs(exact) < 10**37
        integers.append(exact if whole else None)
        kind = TIME_KIND if isinstance(value, (str, datetime.date)) else type(value).__name__
        kinds.append(None if value is None else kind)
        numbers.append(number)
        moments.append(moment)
        problems.append(problem)
        raws.append(None if value is None else pickle.dumps(raw))
    return {
        "keep_type": kinds,
        "keep_num": numbers,
        "keep_int": integers,
        "keep_time": moments,
        "keep_error": problems,
        "keep_value": raws,
    }


def _time_problem(raw: object, field_name: str) -> str:
    try:
        cluster.time_rank([raw], field_name)
    except cluster.RankError as err:
        return str(err)
    return f"field '{field_name}': {raw!r} is not a date or time"


# Outputs ---------------------------------------------------------------------------------------------


def write_outputs(config: Config, extra: pa.Schema, stage: str, decisions: str) -> ArrowFunction:
    """The `mapInArrow` function writing one part file of each output from a partition of `FEATURES`.

    Args:
        config: the run's config.
        extra: the pass-through fields of the whole input, unified.
        stage: the folder holding one folder per output dataset, where the parts go.
        decisions: the folder of the decisions, partitioned by `file_index` (Spark's layout): what
            the keep step decided for every record in a group, and the records whose id repeats.
    """

    def run(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        writer = _PartWriter(config, extra, Path(stage), Path(decisions))
        try:
            for batch in batches:
                writer.add(batch)
            writer.close()
        except errors.DedupError as err:
            writer.discard()
            yield _rows(1, PARTS, table=["error"], part=[error_payload(err).hex()], rows=[0], bytes=[0])
            return
        except OSError as err:
            writer.discard()
            failure = writers.failure(Path(stage), err)
            yield _rows(1, PARTS, table=["error"], part=[error_payload(failure).hex()], rows=[0], bytes=[0])
            return
        for name, (part, rows, size, digest) in writer.written.items():
            yield _rows(1, PARTS, table=[name], part=[part], rows=[rows], bytes=[size], xxh3=[digest])

    return run


class _PartWriter:
    """One task's part files: records piece by piece, rejects file by file, in source order."""

    def __init__(self, config: Config, extra: pa.Schema, stage: Path, decisions: Path) -> None:
        self.config, self.extra, self.stage, self.decisions = config, extra, stage, decisions
        self.schemas = dict(zip(("unique", "duplicates"), outputs.schemas(extra), strict=True))
        self.schemas["rejects"] = outputs.rejects_table([]).schema
        self.open: dict[str, writers.TableWriter] = {}
        self.written: dict[str, tuple[str, int, int, str]] = {}
        self.counts: dict[str, int] = {}
        self.name = ""
        self.file = -1
        self.passthrough: pa.Table | None = None
        self.held: list[pa.Table] = []
        self.rejects: list[pa.Table] = []
        self.decided: pa.Table | None = None

    def add(self, batch: pa.RecordBatch) -> None:
        """Take a batch of `FEATURES` rows (rows of one piece stay together, in order)."""
        table = pa.Table.from_batches([batch])
        kinds = np.asarray(table["kind"].to_numpy(), dtype=np.int8)
        cuts = np.flatnonzero(np.r_[True, kinds[1:] != kinds[:-1], True])
        for start, end in zip(cuts[:-1].tolist(), cuts[1:].tolist(), strict=True):
            part = table.slice(start, end - start)
            kind = int(kinds[start])
            if kind == INFO:
                for row in range(part.num_rows):
                    self._piece(part.slice(row, 1))
            elif kind == RECORD:
                self.held.append(part)
            elif kind == REJECT:
                self.rejects.append(part)

    def _piece(self, info: pa.Table) -> None:
        self._flush()
        index, number = info["file_index"][0].as_py(), info["piece"][0].as_py()
        if index != self.file:
            self._file_done()
            self.file = index
            self.decided = self._decisions(index)
        if not self.name:
            self.name = f"part-{index:05d}-{number:05d}.parquet"
        self.passthrough = pa.ipc.open_stream(info["extra"][0].as_py()).read_all()

    def _decisions(self, index: int) -> pa.Table | None:
        folder = self.decisions / f"file_index={index}"
        if not folder.is_dir():
            return None
        table = pq.read_table(folder)
        return table.take(pc.sort_indices(table, sort_keys=[("uid", "ascending")]))

    def _flush(self) -> None:
        """Write the held records of the current piece."""
        if not self.held:
            return
        held = pa.concat_tables(self.held).combine_chunks()
        self.held = []
        assert self.passthrough is not None
        uids = np.asarray(held["uid"].to_numpy(), dtype=np.int64)
        found = _lookup(self.decided, uids)
        repeated = found["status"] == 1
        if repeated.any():
            self.rejects.append(_id_rejects(held, found, repeated, self.config.input.id_field))
        take = pa.array(np.flatnonzero(~repeated), pa.int64())
        held, found = held.take(take), {k: v[~repeated] for k, v in found.items()}
        extra = self.passthrough.take(pa.array(held["row"].to_numpy(), pa.int64()))
        columns = {ID: held[ID], SOURCE_FILE: held[SOURCE_FILE], SOURCE_LINE: held[SOURCE_LINE]}
        columns.update({name: extra[name] for name in extra.column_names})
        base = pa.Table.from_arrays(
            list(columns.values()),
            schema=pa.schema(
                [
                    held.schema.field(ID),
                    held.schema.field(SOURCE_FILE),
                    held.schema.field(SOURCE_LINE),
                    *extra.schema,
                ]
            ),
        )
        records = conform(base, self.extra)
        paragraphs = held[PARAGRAPHS].combine_chunks()
        kept = found["duplicate_of"] == None  # noqa: E711 - an object array of ids and None
        keep, drop = pa.array(np.flatnonzero(kept), pa.int64()), pa.array(np.flatnonzero(~kept), pa.int64())
        self._write(
            "unique",
            outputs.unique_table(records.take(keep), paragraphs.take(keep), found["cluster_size"][kept]),
        )
        self._write(
            "duplicates",
            outputs.duplicates_table(
                records.take(drop),
                paragraphs.take(drop),
                pa.array(found["duplicate_of"][~kept], pa.string()),
                pa.array(found["cluster_id"][~kept], pa.string()),
                found["similarity"][~kept],
                found["containment"][~kept],
                found["matched_by"][~kept],
            ),
        )

    def _file_done(self) -> None:
        """Write the rejects of the file just finished, in line order."""
        if not self.rejects:
            return
        table = pa.concat_tables(
            [r.select(list(outputs.rejects_table([]).column_names)) for r in self.rejects]
        )
        self.rejects = []
        lines = np.asarray(table[SOURCE_LINE].fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
        table = table.take(pa.array(np.argsort(lines, kind="stable"), pa.int64()))
        self._write("rejects", table.cast(outputs.rejects_table([]).schema))

    def _write(self, name: str, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        if name not in self.open:
            folder = self.stage / name
            folder.mkdir(parents=True, exist_ok=True)
            self.open[name] = writers.TableWriter(folder / self.name, self.schemas[name], self.config.output)
        self.open[name].write(table)
        self.counts[name] = self.counts.get(name, 0) + table.num_rows

    def close(self) -> None:
        """Write what is held and close the part files."""
        self._flush()
        self._file_done()
        for name, writer in self.open.items():
            writer.close()
            path = self.stage / name / self.name
            self.written[name] = (
                self.name,
                self.counts[name],
                path.stat().st_size,
                writers.digest_file(path),
            )

    def discard(self) -> None:
        """Close and remove what this task wrote (it failed)."""
        for writer in self.open.values():
            writer.__exit__(errors.DedupError, None, None)


def _lookup(decided: pa.Table | None, uids: npt.NDArray[np.int64]) -> dict[str, npt.NDArray[Any]]:
    """The decisions on `uids`: a record without one is kept alone (a cluster of one)."""
    n = len(uids)
    out: dict[str, npt.NDArray[Any]] = {
        "status": np.zeros(n, np.int8),
        "duplicate_of": np.full(n, None, dtype=object),
        "cluster_id": np.full(n, None, dtype=object),
        "cluster_size": np.ones(n, np.int64),
        "matched_by": np.zeros(n, np.int8),
        "similarity": np.ones(n, np.float64),
        "containment": np.ones(n, np.float64),
        "reason": np.full(n, None, dtype=object),
    }
    if decided is None or decided.num_rows == 0:
        return out
    known = np.asarray(decided["uid"].to_numpy(), dtype=np.int64)
    at = np.minimum(np.searchsorted(known, uids), len(known) - 1)
    hit = known[at] == uids
    rows = pa.array(at[hit], pa.int64())
    for name, into in out.items():
        column = decided[name].take(rows)
        into[hit] = np.array(column.to_pylist(), dtype=object) if into.dtype == object else column.to_numpy()
    return out


def _id_rejects(
    held: pa.Table, found: dict[str, npt.NDArray[Any]], repeated: npt.NDArray[np.bool_], id_field: str
) -> pa.Table:
    """The rejects of records whose id repeats an earlier record's (`records.repeated_ids`' reasons)."""
    rows = pa.array(np.flatnonzero(repeated), pa.int64())
    picked = held.take(rows)
    rejects = [
        Reject(file, line, reason, "read", rid, id_field)
        for file, line, rid, reason in zip(
            picked[SOURCE_FILE].to_pylist(),
            picked[SOURCE_LINE].to_pylist(),
            picked[ID].to_pylist(),
            found["reason"][repeated].tolist(),
            strict=True,
        )
    ]
    return outputs.rejects_table(rejects)
