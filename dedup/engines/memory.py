"""The batch job on records held in memory: `dedup_table`, notebooks and the index's batches.

The same steps as the local engine, without shards or checkpoints: `featurize` the records,
`resolve` them through `FeatureSource` (a `resolve.Source` over `Features`), and build the output
tables with `dedup.outputs`. `read_all` reads a config's input files into one table, for callers
that want the records in memory.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from dedup import cluster, exact, normalize, outputs
from dedup.boilerplate import Boilerplate
from dedup.config import Config, threads
from dedup.featurize import Features, featurize, gather_sets
from dedup.io import fields, readers
from dedup.progress import NullProgress, Progress
from dedup.records import (
    ID,
    PARAGRAPHS,
    SOURCE_FILE,
    SOURCE_LINE,
    Reject,
    fail_fast,
    ints,
    repeated_ids,
    strings,
)
from dedup.report import Report
from dedup.resolve import Clock, Duplicates, resolve


def read_all(
    config: Config, progress: Progress | None = None, skipped_records: dict[str, int] | None = None
) -> tuple[pa.Table, list[Reject], int]:
    """Read every input record of `config.input` into one table.

    Args:
        config: the run's config.
        progress: where progress goes.
        skipped_records: when given, WARC records that hold no document are counted into it by
            kind (see `ReadBatch.skipped_records`).

    Returns:
        `(records, rejects, skipped_blank_lines)`. A record whose id repeats an earlier one (by
        source position) is rejected, so every id in `records` is unique.

    Raises:
        InputError: input that cannot be read at all, or the first reject under `on_error: fail`.
    """
    progress = progress or NullProgress()
    tables: list[pa.Table] = []
    rejects: list[Reject] = []
    skipped = 0
    for batch in readers.read(config.input):
        fail_fast(batch.rejects, config.on_error)
        tables.append(batch.records)
        rejects.extend(batch.rejects)
        skipped += batch.skipped_blank
        if skipped_records is not None:
            for kind, n in batch.skipped_records.items():
                skipped_records[kind] = skipped_records.get(kind, 0) + n
        progress.advance(batch.records.num_rows + len(batch.rejects))
    if skipped_records:
        counts = sorted(skipped_records.items())
        skipped_records.clear()
        skipped_records.update(counts)
    table, repeats = unique_ids(readers.concat(tables), config)
    return table, rejects + repeats, skipped


def load(config: Config) -> Features:
    """Read and featurize every input record of `config` in memory (the read rejects join the clean ones).

    Under `granularity: paragraph` the paragraph index runs too (`strip_boilerplate`).

    Raises:
        InputError: input that cannot be read, or a reject under `on_error: fail`.
    """
    records, rejects, _ = read_all(config)
    features = featurize(records, config)
    features.rejects[:0] = rejects
    return strip_boilerplate(features, config)[0]


def strip_boilerplate(
    features: Features, config: Config, clock: Clock | None = None
) -> tuple[Features, Boilerplate | None]:
    """Under `granularity: paragraph`, the paragraph index and the records without their boilerplate.

    Returns:
        `(features, found)`: the records as `dedup.paragraphs.apply` leaves them and what the
        paragraph index found (`found.stats` gains `emptied`, the records emptied); at document
        granularity the features as they are and None.

    Raises:
        InputError: a record emptied by boilerplate removal, under `on_error: fail`.
    """
    if config.granularity != "paragraph" or features.paragraph is None:
        return features, None
    from dedup import paragraphs  # noqa: PLC0415 - only paragraph granularity needs it

    stripped, found = paragraphs.apply(features, config, clock)
    emptied = stripped.rejects[len(features.rejects) :]
    fail_fast(emptied, config.on_error)
    found.stats["emptied"] = len(emptied)
    return stripped, found


def unique_ids(table: pa.Table, config: Config) -> tuple[pa.Table, list[Reject]]:
    """The records whose id does not repeat an earlier one (by source position), and a reject for each repeat.

    Raises:
        InputError: the first repeat, under `on_error: fail`.
    """
    if table.num_rows == 0 or len(pc.unique(table[ID])) == table.num_rows:
        return table, []
    ids = strings(table, ID)
    files, lines = strings(table, SOURCE_FILE), ints(table, SOURCE_LINE)
    order = np.argsort(cluster.position_rank(files, lines, ids), kind="stable").tolist()
    drop, repeats = repeated_ids(ids, files, lines, order, config.input.id_field)
    fail_fast(repeats, config.on_error)
    keep = np.ones(len(ids), dtype=bool)
    keep[drop] = False
    return table.filter(pa.array(keep)), repeats


class FeatureSource:
    """A `resolve.Source` over `Features` held in memory."""

    def __init__(self, features: Features) -> None:
        self.features = features

    def __len__(self) -> int:
        return len(self.features)

    def band_keys(self, rows: npt.NDArray[np.int64], band: int) -> npt.NDArray[np.uint64]:
        """See `resolve.Source`."""
        return np.ascontiguousarray(self.features.keys[band, rows])

    def signatures(self, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.uint32]:
        """See `resolve.Source`."""
        return self.features.signatures[rows]

    def sets(self, rows: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]]:
        """See `resolve.Source`."""
        return gather_sets(self.features.sets, self.features.set_offsets, rows)

    def texts(self, rows: npt.NDArray[np.int64]) -> list[str]:
        """See `resolve.Source`."""
        paragraphs = self.features.records[PARAGRAPHS].take(pa.array(rows, pa.int64()))
        return list(normalize.join_paragraphs(paragraphs, "\n").to_pylist())

    def figure_digests(self, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.uint64] | None:
        """See `resolve.Source`."""
        held = self.features.figure_digests
        return None if held is None else held[rows]

    def lengths(self) -> npt.NDArray[np.int64]:
        """See `resolve.Source`."""
        return self.features.lengths

    def values(self, field_name: str) -> list[object]:
        """See `resolve.Source`."""
        records = self.features.records
        if field_name in records.column_names:
            return fields.values(records[field_name], records.schema.field(field_name))
        return [None] * records.num_rows

    def record_ids(self, rows: npt.NDArray[np.int64]) -> list[str]:
        """See `resolve.Source`."""
        return list(self.features.records[ID].take(pa.array(rows, pa.int64())).to_pylist())


def position(features: Features) -> npt.NDArray[np.int64]:
    """`int64 (n,)`: each record's rank by source position (file, line, id)."""
    records = features.records
    return cluster.position_rank(
        strings(records, SOURCE_FILE), ints(records, SOURCE_LINE), strings(records, ID)
    )


def find_duplicates(features: Features, config: Config, clock: Clock | None = None) -> Duplicates:
    """Exact groups, candidates, verification and the keep step over `features`.

    Raises:
        InputError: the keep rule's field cannot rank the records.
        VerificationError: a dropped record does not verify against the record it names (a bug).
    """
    clock = clock or Clock()
    with clock.stage("exact"):
        group, rep = exact.groups(features.digests)
    source = FeatureSource(features)
    return resolve(source, group, rep, position(features), config, clock, threads(config), features.pairs)


def tables(
    features: Features, found: Duplicates, rejects: list[Reject], report: Report
) -> tuple[pa.Table, pa.Table, pa.Table]:
    """`(unique, duplicates, rejects)` tables of an in-memory run, rows in source order.

    The counts go into `report` (whose `read` the caller sets) and the accounting is checked.

    Raises:
        AccountingError: the counts do not add up (a bug).
    """
    outputs.count(report, found, len(rejects))
    order = np.argsort(position(features), kind="stable").astype(np.int64)
    records = features.records.take(pa.array(order, pa.int64()))
    ids = features.records[ID].combine_chunks() if len(features) else pa.array([], pa.string())
    unique, duplicates = outputs.build(
        records.drop_columns([PARAGRAPHS]), records[PARAGRAPHS], order, found, ids
    )
    return unique, duplicates, outputs.rejects_table(rejects)
