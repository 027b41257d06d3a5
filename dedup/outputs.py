"""The output tables every runner writes or returns, built in one place.

`unique.parquet` (kept records), `duplicates.parquet` (one row per dropped record with the record
it names and the evidence) and `rejects.parquet` (what could not be read or cleaned), and the
report's counts with the accounting identity checked. The local engine builds them shard by shard
(`build` on each shard's rows), `dedup_table` and the notebook path on the whole table; the index
batch fills the same schemas from its matches.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from dedup import normalize
from dedup.records import CLUSTER_ID, CLUSTER_SIZE, ID, PARAGRAPHS, SOURCE_FILE, SOURCE_LINE, TEXT, Reject
from dedup.report import Report
from dedup.resolve import CONTAINMENT, CONTAINS, EXACT, JACCARD, MATCHED_BY, Duplicates


def rejects_table(rejects: list[Reject]) -> pa.Table:
    """`rejects.parquet`'s rows: position, id, stage, field, reason and (a prefix of) the raw content."""
    return pa.table(
        {
            SOURCE_FILE: pa.array([r.source_file for r in rejects], pa.string()),
            SOURCE_LINE: pa.array([r.source_line for r in rejects], pa.int64()),
            ID: pa.array([r.id for r in rejects], pa.string()),
            "stage": pa.array([r.stage for r in rejects], pa.string()),
            "field": pa.array([r.field for r in rejects], pa.string()),
            "reason": pa.array([r.reason for r in rejects], pa.string()),
            "raw": pa.array([r.raw for r in rejects], pa.string()),
        }
    )


def unique_table(
    records: pa.Table, paragraphs: pa.Array[Any], cluster_size: npt.NDArray[np.int64]
) -> pa.Table:
    """`unique.parquet`'s rows for kept `records`.

    Columns: id, cleaned text and paragraphs, position, pass-through fields, `cluster_id` (the
    record's own id) and `cluster_size`.
    """
    if TEXT in records.column_names:
        records = records.drop_columns([TEXT])
    unique = records.add_column(1, TEXT, normalize.join_paragraphs(paragraphs, "\n\n").cast(pa.string()))
    unique = unique.add_column(2, PARAGRAPHS, paragraphs.cast(pa.list_(pa.string())))
    unique = unique.append_column(CLUSTER_ID, records[ID])
    return unique.append_column(CLUSTER_SIZE, pa.array(cluster_size, pa.int64()))


def duplicates_table(
    records: pa.Table,
    paragraphs: pa.Array[Any],
    duplicate_of: pa.Array[Any],
    cluster_id: pa.Array[Any],
    similarity: npt.NDArray[np.float64],
    containment: npt.NDArray[np.float64],
    matched_by: npt.NDArray[np.int8],
) -> pa.Table:
    """`duplicates.parquet`'s rows for dropped `records`.

    Columns: id, the id of the record it duplicates, its cluster id, the evidence (Jaccard
    `similarity`, `containment` of the dropped record in the named one, `matched_by` = `exact`,
    `jaccard`, `containment` or `contains`, and `match` = `exact` or `near`), the dropped record's
    cleaned text (for auditing) and its position.
    """
    names = np.asarray(MATCHED_BY, dtype=object)[matched_by]
    return pa.table(
        {
            ID: records[ID],
            "duplicate_of": pa.array(duplicate_of, pa.string()),
            CLUSTER_ID: pa.array(cluster_id, pa.string()),
            "similarity": pa.array(similarity, pa.float64()),
            "containment": pa.array(containment, pa.float64(), from_pandas=True),
            "matched_by": pa.array(names.tolist(), pa.string()),
            "match": pa.array(np.where(matched_by == EXACT, "exact", "near").tolist(), pa.string()),
            TEXT: normalize.join_paragraphs(paragraphs, "\n\n").cast(pa.string()),
            SOURCE_FILE: records[SOURCE_FILE],
            SOURCE_LINE: records[SOURCE_LINE],
        }
    )


def schemas(extra: pa.Schema) -> tuple[pa.Schema, pa.Schema]:
    """The schemas of `unique.parquet` and `duplicates.parquet` for these pass-through fields."""
    own = [pa.field(ID, pa.string()), pa.field(SOURCE_FILE, pa.string()), pa.field(SOURCE_LINE, pa.int64())]
    schema = pa.schema([*own, *extra])  # the pass-through fields keep their metadata (JSON text)
    empty = pa.Table.from_arrays([pa.array([], f.type) for f in schema], schema=schema)
    paragraphs = pa.array([], pa.large_list(pa.large_string()))
    unique = unique_table(empty, paragraphs, np.empty(0, dtype=np.int64)).schema
    none = np.empty(0, dtype=np.float64)
    no_ids = pa.array([], pa.string())
    dups = duplicates_table(empty, paragraphs, no_ids, no_ids, none, none, none.astype(np.int8))
    return unique, dups.schema


def build(
    records: pa.Table,
    paragraphs: pa.Array[Any],
    rows: npt.NDArray[np.int64],
    found: Duplicates,
    ids: pa.Array[Any],
) -> tuple[pa.Table, pa.Table]:
    """`(unique, duplicates)` rows for a stretch of records.

    Args:
        records: the stretch's records (`id`, position, pass-through fields), in output order.
        paragraphs: their cleaned paragraphs.
        rows: `int64 (k,)`, each record's row in `found` (and in `ids`).
        found: what the resolve step decided for every record of the run.
        ids: every record's id, by row, to name the record each dropped one duplicates.
    """
    keeps = found.kept[rows]
    kept, dropped = rows[keeps], rows[~keeps]
    take, drop = pa.array(np.flatnonzero(keeps), pa.int64()), pa.array(np.flatnonzero(~keeps), pa.int64())
    unique = unique_table(records.take(take), paragraphs.take(take), found.cluster_size[kept])
    duplicates = duplicates_table(
        records.take(drop),
        paragraphs.take(drop),
        ids.take(pa.array(found.duplicate_of[dropped], pa.int64())),
        ids.take(pa.array(found.cluster[dropped], pa.int64())),
        found.similarity[dropped],
        found.containment[dropped],
        found.matched_by[dropped],
    )
    return unique, duplicates


def count(report: Report, found: Duplicates, rejected: int) -> None:
    """Fill the report's counts from what the resolve step found, and check the accounting.

    Raises:
        AccountingError: `read != kept + duplicates + rejected` (`report.read` set by the caller).
    """
    kept_mask = found.kept
    by = found.matched_by[~kept_mask]
    report.kept, report.duplicates, report.rejected = int(kept_mask.sum()), len(by), rejected
    report.exact_duplicates = int(np.sum(by == EXACT))
    report.near_duplicates = int(np.sum((by == JACCARD) | (by == CONTAINMENT) | (by == CONTAINS)))
    report.matched_by = {name: int(np.sum(by == code)) for code, name in enumerate(MATCHED_BY) if code}
    report.clusters = int(np.sum(kept_mask & (found.cluster_size > 1)))
    report.groups = found.groups
    report.candidate_pairs, report.verified_pairs = found.candidate_pairs, found.verified_pairs
    report.bands, report.rows = found.bands, found.rows
    report.check()
