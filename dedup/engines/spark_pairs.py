"""The Spark engine's work on pairs and groups: buckets into candidates, verification, the keep step.

Plain functions of Arrow batches for `mapInArrow`, each calling the local engine's code:

- `bucket_pairs`: one partition of `(band, key, uid, digest)` rows, sorted by band and key by
  Spark; within a bucket the records go in the order a local run numbers its exact groups (by
  digest, as unsigned words), and `kernels.bucket_pairs` pairs them as it does there, so a bucket
  past `lsh.max_bucket` gives the same pairs. A pair is `(a, b)` with `a` first in that order.
- `verify_pairs`: rows holding a pair and both records' shingle sets, verified by `lsh.verify`.
- `settle_groups`: rows of whole groups (the records joined by verified pairs, their exact
  repeats, and every candidate pair among them with its verdict), sorted by group by Spark; each
  run of groups goes through `resolve.decide` (groups, the keep step with the figures rule, the
  check of every drop), exactly as a local run decides them, since one group's decisions never
  depend on another's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from dedup import cluster, kernels, lsh, resolve
from dedup.config import Config
from dedup.engines.spark_records import ArrowFunction, error_payload, unpack
from dedup.errors import DedupError
from dedup.records import ID

#: Rows gathered before a batch of whole buckets or groups is processed.
CHUNK_ROWS = 1 << 16

PAIRS = pa.schema([("a", pa.int64()), ("b", pa.int64())])
VERDICTS = pa.schema(
    [
        ("a", pa.int64()),
        ("b", pa.int64()),
        ("keep", pa.bool_()),
        ("jaccard", pa.float64()),
        ("containment", pa.float64()),
        ("similar", pa.bool_()),
        ("share_a", pa.float64()),
        ("share_b", pa.float64()),
        ("inside", pa.int8()),
    ]
)
#: One row per record in a group (`kind` 0), per group of the keep step's counts (1), per error (2).
DECISIONS = pa.schema(
    [
        ("kind", pa.int8()),
        ("uid", pa.int64()),
        ("file_index", pa.int32()),
        ("status", pa.int8()),
        ("duplicate_of", pa.string()),
        ("cluster_id", pa.string()),
        ("cluster_size", pa.int64()),
        ("matched_by", pa.int8()),
        ("similarity", pa.float64()),
        ("containment", pa.float64()),
        ("reason", pa.string()),
        ("verified", pa.int64()),
        ("groups", pa.int64()),
        ("error", pa.binary()),
    ]
)


def _unsigned(column: pa.ChunkedArray | pa.Array[Any]) -> npt.NDArray[np.uint64]:
    return np.asarray(column.to_numpy(), dtype=np.int64).view(np.uint64)


def _whole(batches: Iterable[pa.RecordBatch], keys: list[str]) -> Iterator[pa.Table]:
    """Tables of whole runs of equal `keys` from batches sorted by them, about `CHUNK_ROWS` rows each."""
    held: list[pa.RecordBatch] = []
    rows = 0
    for batch in batches:
        held.append(batch)
        rows += batch.num_rows
        if rows < CHUNK_ROWS:
            continue
        table = pa.Table.from_batches(held).combine_chunks()
        last = [table[k][-1].as_py() for k in keys]
        same = np.ones(table.num_rows, dtype=bool)
        for k, value in zip(keys, last, strict=True):
            same &= np.asarray(table[k].to_numpy()) == value
        cut = int(np.flatnonzero(~same)[-1]) + 1 if (~same).any() else 0
        if cut:
            yield table.slice(0, cut)
        rest = table.slice(cut)
        held, rows = rest.to_batches(), rest.num_rows
    if rows:
        yield pa.Table.from_batches(held).combine_chunks()


# Candidates -------------------------------------------------------------------------------------


def bucket_pairs(max_bucket: int) -> ArrowFunction:
    """The `mapInArrow` function turning `(band, key, uid, d0, d1)` rows into candidate pairs `PAIRS`."""

    def run(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for table in _whole(batches, ["band", "key"]):
            band = np.asarray(table["band"].to_numpy(), dtype=np.int64)
            key = _unsigned(table["key"])
            order = np.lexsort((_unsigned(table["d1"]), _unsigned(table["d0"]), key, band))
            band, key = band[order], key[order]
            uid = np.asarray(table["uid"].to_numpy(), dtype=np.int64)[order]
            bounds = np.flatnonzero(np.r_[True, band[1:] != band[:-1], True])
            found = []
            for start, end in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
                local = kernels.bucket_pairs(np.ascontiguousarray(key[start:end].reshape(-1, 1)), max_bucket)
                found.append(uid[start:end][local])
            pairs = np.concatenate(found) if found else np.empty((0, 2), np.int64)
            if len(pairs):
                yield pa.RecordBatch.from_arrays([pa.array(pairs[:, 0]), pa.array(pairs[:, 1])], schema=PAIRS)

    return run


# Verification -----------------------------------------------------------------------------------


def verify_pairs(config: Config) -> ArrowFunction:
    """The `mapInArrow` function verifying `(a, b, sa, sb, ga, gb)` rows (sets, signatures): `VERDICTS`."""

    def run(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            m = batch.num_rows
            hashes_a, offsets_a = unpack(batch.column("sa"), "<u4")
            hashes_b, offsets_b = unpack(batch.column("sb"), "<u4")
            hashes = np.concatenate([hashes_a, hashes_b]).astype(np.uint32)
            offsets = np.concatenate([offsets_a, offsets_b[1:] + offsets_a[-1]]).astype(np.int64)
            pairs = np.stack([np.arange(m), np.arange(m) + m], axis=1).astype(np.int64)
            signatures = np.empty((2 * m, 0), dtype=np.uint32)
            if config.lsh.verify == "estimate":
                sig_a, _ = unpack(batch.column("ga"), "<u4")
                sig_b, _ = unpack(batch.column("gb"), "<u4")
                signatures = np.concatenate([sig_a, sig_b]).astype(np.uint32).reshape(2 * m, -1)
            verdict = lsh.verify(pairs, signatures, (hashes, offsets), config.lsh)
            yield pa.RecordBatch.from_arrays(
                [
                    batch.column("a"),
                    batch.column("b"),
                    *(pa.array(getattr(verdict, f)) for f in lsh.Verdict.__slots__),
                ],
                schema=VERDICTS,
            )

    return run


# The keep step ----------------------------------------------------------------------------------


class _GroupSource:
    """A `resolve.Source` over the records of a run of groups (sets and texts of representatives only)."""

    def __init__(self, table: pa.Table) -> None:
        self.hashes, self.offsets = unpack(table["sets"], "<u4")
        self.signature_table = table["sig"]
        self.text = table["text"]
        self.ids = table[ID]

    def __len__(self) -> int:
        return len(self.ids)

    def band_keys(self, rows: npt.NDArray[np.int64], band: int) -> npt.NDArray[np.uint64]:
        """Not read by `resolve.decide`."""
        raise NotImplementedError

    def signatures(self, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.uint32]:
        """See `resolve.Source`."""
        values, offsets = unpack(self.signature_table.take(pa.array(rows, pa.int64())), "<u4")
        width = int(offsets[1] - offsets[0]) if len(rows) else 0
        return values.astype(np.uint32).reshape(len(rows), width)

    def sets(self, rows: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]]:
        """See `resolve.Source`."""
        from dedup.featurize import gather_sets  # noqa: PLC0415 - featurize is heavy; workers have it

        return gather_sets(self.hashes.astype(np.uint32), self.offsets, rows)

    def texts(self, rows: npt.NDArray[np.int64]) -> list[str]:
        """See `resolve.Source`."""
        return [str(t) for t in self.text.take(pa.array(rows, pa.int64())).to_pylist()]

    def figure_digests(self, rows: npt.NDArray[np.int64]) -> None:
        """None: the figures rule makes the digests from `texts` (a group's representatives only)."""
        return None

    def lengths(self) -> npt.NDArray[np.int64]:
        """Not read by `resolve.decide` (the rank is given)."""
        raise NotImplementedError

    def values(self, field_name: str) -> list[object]:
        """Not read by `resolve.decide` (the rank is given)."""
        raise NotImplementedError

    def record_ids(self, rows: npt.NDArray[np.int64]) -> list[str]:
        """See `resolve.Source`."""
        return [str(i) for i in self.ids.take(pa.array(rows, pa.int64())).to_pylist()]


def settle_groups(config: Config) -> ArrowFunction:
    """The `mapInArrow` function deciding runs of whole groups into `DECISIONS` rows.

    Input rows (sorted by `comp` by Spark): `kind` 0, a record of a group (`uid`, `rep` its exact
    group's representative, `id`, `file_index`, `primary` the rule's part of its keep rank, its
    digest `d0`/`d1`, and for a representative its `sets`, `sig` and `text`); `kind` 1, a
    candidate pair `(a, b)` of representatives with its verdict.
    """

    def run(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for table in _whole(batches, ["comp"]):
            try:
                yield _decide(table, config)
            except DedupError as err:
                yield _error(err)
                return

    return run


def _error(err: DedupError) -> pa.RecordBatch:
    arrays = [pa.nulls(1, f.type) for f in DECISIONS]
    arrays[0] = pa.array([2], pa.int8())
    arrays[-1] = pa.array([error_payload(err)], pa.binary())
    return pa.RecordBatch.from_arrays(arrays, schema=DECISIONS)


def _decide(table: pa.Table, config: Config) -> pa.RecordBatch:
    kinds = np.asarray(table["kind"].to_numpy(), dtype=np.int8)
    records = table.filter(pa.array(kinds == 0))
    pairs_table = table.filter(pa.array(kinds == 1))
    records = records.take(np.argsort(np.asarray(records["uid"].to_numpy(), dtype=np.int64), kind="stable"))
    uid = np.asarray(records["uid"].to_numpy(), dtype=np.int64)
    rep_uid = np.asarray(records["rep"].to_numpy(), dtype=np.int64)
    # Exact groups numbered as a local run numbers them: by digest, as unsigned words.
    reps = np.flatnonzero(uid == rep_uid)
    order = np.lexsort((_unsigned(records["d1"])[reps], _unsigned(records["d0"])[reps]))
    rep = reps[order]
    by_uid = np.argsort(uid[rep])
    group = by_uid[np.searchsorted(uid[rep], rep_uid, sorter=by_uid)].astype(np.int64)
    a = by_uid[np.searchsorted(uid[rep], np.asarray(pairs_table["a"].to_numpy()), sorter=by_uid)]
    b = by_uid[np.searchsorted(uid[rep], np.asarray(pairs_table["b"].to_numpy()), sorter=by_uid)]
    assert (a < b).all(), "candidate pairs come in the order of their digests"
    pair_order = np.lexsort((b, a))
    pairs = np.stack([a[pair_order], b[pair_order]], axis=1).astype(np.int64)
    verdict = lsh.Verdict(
        *(
            np.asarray(pairs_table[f].to_numpy(zero_copy_only=False))[pair_order]
            for f in lsh.Verdict.__slots__
        )
    )
    # The keep rule's part as it is: a double, or whole nanoseconds of a time (decimals).
    primary = np.unique(np.asarray(records["primary"].to_numpy(zero_copy_only=False)), return_inverse=True)[1]
    rank = cluster.rank(primary.astype(np.int64).reshape(-1), np.arange(len(uid), dtype=np.int64))
    source = _GroupSource(records)
    found = resolve.decide(source, group, rep, rank, pairs, verdict, config, resolve.Clock())
    ids = records[ID].combine_chunks()
    n = len(uid)
    dropped = found.duplicate_of >= 0
    named = ids.take(pa.array(np.where(dropped, found.duplicate_of, 0), pa.int64()))
    last = np.zeros(n + 1, np.int64)  # the run's counts go in its last row
    arrays: dict[str, Any] = {
        "kind": np.r_[np.zeros(n, np.int8), np.int8(1)],
        "uid": np.r_[uid, 0],
        "file_index": np.r_[np.asarray(records["file_index"].to_numpy(), dtype=np.int32), 0],
        "status": np.zeros(n + 1, np.int8),
        "duplicate_of": [
            *(v if d else None for v, d in zip(named.to_pylist(), dropped.tolist(), strict=True)),
            None,
        ],
        "cluster_id": [*ids.take(pa.array(found.cluster, pa.int64())).to_pylist(), None],
        "cluster_size": np.r_[found.cluster_size, 0],
        "matched_by": np.r_[found.matched_by, 0],
        "similarity": np.r_[found.similarity, 0.0],
        "containment": np.r_[found.containment, 0.0],
        "verified": np.r_[last[:-1], found.verified_pairs],
        "groups": np.r_[last[:-1], found.groups],
    }
    columns = [
        pa.array(arrays[f.name], f.type) if f.name in arrays else pa.nulls(n + 1, f.type) for f in DECISIONS
    ]
    return pa.RecordBatch.from_arrays(columns, schema=DECISIONS)
