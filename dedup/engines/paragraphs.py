"""The local engine's paragraph step: the paragraph index over the shards, and shards without boilerplate.

Under `granularity: paragraph`, after every shard is featurized (its paragraphs' digests, band
keys, shingle sets and lengths saved beside its records), `derive` runs `dedup.boilerplate.find`
over the shards, reading each shard's mapped arrays in turn, then writes for each shard a
*derived* shard (`<shard>.b`): its records with their boilerplate paragraphs taken out and their
document features recomputed (`dedup.paragraphs.strip`), less the records left with no words and
those whose id repeats an earlier record's, which become rejects of the derived shard in line
order. The rest of the run (resolve, stage, publish) reads the derived shards as it reads any.

The paragraph groups (`paragraphs.parquet`'s rows), the candidate pairs the paragraph index
proposes and its counts are saved as one more checkpoint piece (`paragraphs.*`, marker last); a
rerun reuses them and every intact derived shard, and a kill at any point leaves finished pieces
or none, as for the shards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from dedup import boilerplate
from dedup.config import Config, threads
from dedup.engines.shards import Shard
from dedup.featurize import gather_sets
from dedup.io import work
from dedup.outputs import rejects_table
from dedup.paragraphs import emptied_reject, strip
from dedup.records import ID, PARAGRAPHS, SOURCE_FILE, SOURCE_LINE, Reject, fail_fast
from dedup.resolve import Clock

#: The checkpoint name of the paragraph index's results (groups table, pairs, counts).
CHECKPOINT = "paragraphs"
#: The suffix of a derived shard's name.
DERIVED = ".b"
_DOCUMENT_ARRAYS = ("digests", "keys", "lengths", "sets", "set_offsets")


@dataclass(slots=True)
class Derived:
    """The paragraph step's results.

    Attributes:
        shards: the derived shards, in source order.
        pairs: `int64 (m, 2)`, candidate pairs of records, as rows of the derived shards.
        groups: the boilerplate groups (`paragraphs.parquet`'s rows).
        stats: the paragraph index's counts, with `emptied`.
    """

    shards: list[Shard]
    pairs: npt.NDArray[np.int64]
    groups: pa.Table
    stats: dict[str, int]


def derive(
    store: work.WorkDir,
    shards: list[Shard],
    valid: npt.NDArray[np.int64],
    id_rejects: dict[int, list[Reject]],
    config: Config,
    clock: Clock,
) -> Derived:
    """Run the paragraph index over `shards` and write (or reuse) the derived shards.

    Args:
        store: the run's checkpoint folder.
        shards: the featurized shards, in source order.
        valid: `int64`, the rows (numbered across the shards) whose id is not a repeat.
        id_rejects: the repeated-id rejects, by shard.
        config: the run's config.
        clock: collects the stage timings.

    Raises:
        InputError: a record emptied by boilerplate removal, under `on_error: fail`.
    """
    names = [s.base.name for s in shards]
    done = store.shard_meta(CHECKPOINT)
    if done is not None and all(store.shard_meta(n + DERIVED) is not None for n in names):
        return Derived(
            [Shard.load(store, n + DERIVED) for n in names],
            np.asarray(work.load_array(store.shard_file(CHECKPOINT, "pairs.npy")), dtype=np.int64),
            work.load_table(store.shard_file(CHECKPOINT, "arrow")),
            {k: int(v) for k, v in done["stats"].items()},
        )
    offsets = np.cumsum([0] + [s.rows for s in shards]).astype(np.int64)
    is_valid = np.zeros(int(offsets[-1]), dtype=bool)
    is_valid[valid] = True
    parts = [
        boilerplate.Part(
            s.rows,
            lambda name, s=s: s.array(f"paragraph_{name}"),  # type: ignore[misc]
            s.table,
            is_valid[offsets[k] : offsets[k + 1]],
        )
        for k, s in enumerate(shards)
    ]
    found = boilerplate.find(parts, config, clock, threads(config))
    kept_rows: list[npt.NDArray[np.bool_]] = []
    emptied = 0
    with clock.stage("strip"):
        for k, shard in enumerate(shards):
            keep, count = _derive_one(
                store,
                shard,
                names[k],
                found.removed[k],
                is_valid[offsets[k] : offsets[k + 1]],
                id_rejects.get(k, []),
                config,
            )
            kept_rows.append(keep)
            emptied += count
    keep_all = np.concatenate(kept_rows) if kept_rows else np.empty(0, dtype=bool)
    renumber = np.cumsum(keep_all) - 1
    pairs = found.pairs[keep_all[found.pairs].all(axis=1)] if len(found.pairs) else found.pairs
    pairs = np.ascontiguousarray(renumber[pairs].astype(np.int64))
    stats = {**found.stats, "emptied": emptied}
    store.save_shard(CHECKPOINT, found.groups, rejects_table([]), {"pairs": pairs}, {"stats": stats})
    return Derived([Shard.load(store, n + DERIVED) for n in names], pairs, found.groups, stats)


def _derive_one(
    store: work.WorkDir,
    shard: Shard,
    name: str,
    removed: npt.NDArray[np.bool_],
    valid: npt.NDArray[np.bool_],
    id_rejects: list[Reject],
    config: Config,
) -> tuple[npt.NDArray[np.bool_], int]:
    """Write one derived shard (unless an intact one is there); return its kept rows and emptied count."""
    meta = store.shard_meta(name + DERIVED)
    if meta is not None:
        return np.asarray(Shard.load(store, name + DERIVED).array("kept"), dtype=bool), int(meta["emptied"])
    table = shard.table()
    arrays = {a: np.asarray(shard.array(a)) for a in _DOCUMENT_ARRAYS}
    if config.lsh.verify == "estimate":
        arrays["signatures"] = np.asarray(shard.array("signatures"))
    done = strip(table[PARAGRAPHS], arrays, removed, config, threads(config))
    emptied = done.emptied & valid
    keep = valid & ~emptied
    rejects = [Reject(**{k: r[k] for k in _REJECT_KEYS}) for r in shard.rejects().to_pylist()]
    rejects += id_rejects
    emptied_rejects = []
    for row in np.flatnonzero(emptied).tolist():
        record = table.slice(row, 1).select([ID, SOURCE_FILE, SOURCE_LINE, PARAGRAPHS]).to_pylist()[0]
        emptied_rejects.append(emptied_reject(record, int(done.removed[row]), config.input.text_field))
    fail_fast(emptied_rejects, config.on_error)
    rejects += emptied_rejects
    rejects.sort(key=lambda r: -1 if r.source_line is None else r.source_line)
    take = pa.array(np.flatnonzero(keep), pa.int64())
    records = table.set_column(table.schema.get_field_index(PARAGRAPHS), PARAGRAPHS, done.paragraphs)
    out = done.arrays
    sets, set_offsets = gather_sets(out["sets"], out["set_offsets"], np.flatnonzero(keep).astype(np.int64))
    arrays_out: dict[str, npt.NDArray[Any]] = {
        "digests": out["digests"][keep],
        "keys": np.ascontiguousarray(out["keys"][:, keep]),
        "lengths": out["lengths"][keep],
        "sets": sets,
        "set_offsets": set_offsets,
        "kept": keep,
    }
    if "signatures" in out:
        arrays_out["signatures"] = out["signatures"][keep]
    meta = {
        "file": shard.file,
        "first_line": shard.first_line,
        "last_line": shard.last_line,
        "rows": int(keep.sum()),
        "read": shard.read,
        "rejected": len(rejects),
        "skipped": shard.skipped,
        "text_bytes": shard.text_bytes,
        "skipped_records": shard.skipped_records,
        "emptied": int(emptied.sum()),
    }
    store.save_shard(name + DERIVED, records.take(take), rejects_table(rejects), arrays_out, meta)
    return keep, int(emptied.sum())


_REJECT_KEYS = ("source_file", "source_line", "reason", "stage", "id", "field", "raw")
