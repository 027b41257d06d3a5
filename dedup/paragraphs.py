"""Paragraphs as units: what each paragraph is hashed into, and records without their boilerplate.

Under `granularity: paragraph` every cleaned paragraph gets what a record gets: the xxh3-128 digest
of its hashing form, a MinHash signature (one per distinct paragraph, copied to its repeats), its
LSH band keys, its sorted set of distinct shingle hashes and its length in words. A paragraph of
fewer than `paragraphs.min_words` words is *short*: it is hashed like any other, but the paragraph
index (`dedup.boilerplate`) leaves it out, so it is never boilerplate and never pairs two records.

A record's shingles are taken inside its paragraphs, so a record's shingle set is the union of
its paragraphs' sets. `strip` takes the boilerplate paragraphs out of records and recomputes each
touched record's document features (digest, signature, band keys, shingle set, length) from the
hashing form of what is left, exactly as `featurize` computes them for a record that had no
boilerplate; untouched records keep theirs. A record left with no words is *emptied*.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from dedup import boilerplate, exact, lsh, minhash, normalize
from dedup.config import Config, threads
from dedup.featurize import Features, gather_sets, paragraph_lengths, shingle_sets
from dedup.records import ID, PARAGRAPHS, SOURCE_FILE, SOURCE_LINE, Reject, arrow_bytes, clip_raw
from dedup.resolve import Clock

#: The arrays a batch's `ParagraphFeatures` hold, as the local engine names its shard files.
ARRAYS = ("offsets", "digests", "keys", "sets", "set_offsets", "words")
#: Distinct paragraphs signed at once: their signatures (512 bytes each at 128 permutations) are
#: only banded, so a shard of many short paragraphs holds at most 32 MiB of them.
SIGN_CHUNK = 1 << 16


@dataclass(slots=True)
class ParagraphFeatures:
    """Every paragraph of a batch of records, aligned with the records' flattened `paragraphs` column.

    Attributes:
        offsets: `int64 (n + 1,)`, record `i` holds paragraphs `offsets[i]:offsets[i + 1]`.
        digests: `uint64 (p, 2)`, xxh3-128 of each paragraph's hashing form.
        keys: `uint64 (bands, p)`, LSH band keys of each paragraph's MinHash signature.
        sets: `uint32 (total,)`, each paragraph's distinct shingle hashes, sorted; paragraph `k`
            owns `sets[set_offsets[k]:set_offsets[k + 1]]`.
        set_offsets: `int64 (p + 1,)`.
        words: `int32 (p,)`, hashing-form tokens per paragraph (0 for a paragraph of symbols only).
    """

    offsets: npt.NDArray[np.int64]
    digests: npt.NDArray[np.uint64]
    keys: npt.NDArray[np.uint64]
    sets: npt.NDArray[np.uint32]
    set_offsets: npt.NDArray[np.int64]
    words: npt.NDArray[np.int32]

    def __len__(self) -> int:
        return len(self.words)

    def arrays(self) -> dict[str, npt.NDArray[Any]]:
        """The arrays by the names of `ARRAYS` (what a shard saves)."""
        return {name: getattr(self, name) for name in ARRAYS}


def lists(paragraphs: pa.Array[Any] | pa.ChunkedArray[Any]) -> pa.LargeListArray:
    """A `paragraphs` column as one `large_list<large_string>` array."""
    if isinstance(paragraphs, pa.ChunkedArray):
        chunks = [c.cast(pa.large_list(pa.large_string())) for c in paragraphs.chunks]
        if not chunks:
            return pa.array([], pa.large_list(pa.large_string()))
        paragraphs = pa.concat_arrays(chunks)
    return paragraphs.cast(pa.large_list(pa.large_string()))


def list_offsets(paragraphs: pa.LargeListArray) -> npt.NDArray[np.int64]:
    """`int64 (n + 1,)`: where each record's paragraphs start in the flattened list, from 0."""
    offsets = np.asarray(paragraphs.offsets.to_numpy(), dtype=np.int64)
    return np.asarray(offsets - offsets[0], dtype=np.int64)


def words(forms: pa.Array[Any]) -> npt.NDArray[np.int32]:
    """`int32 (p,)`: tokens in each hashing form (single spaces between tokens, none around them)."""
    data, offsets = arrow_bytes(forms)
    spaces = np.flatnonzero(data == 0x20)  # about one byte in six: far less than a running count
    count = np.searchsorted(spaces, offsets[1:]) - np.searchsorted(spaces, offsets[:-1])
    return (count + (np.diff(offsets) > 0)).astype(np.int32)


def paragraph_features(paragraphs: pa.Array[Any], config: Config, workers: int = 1) -> ParagraphFeatures:
    """Digest, sign, band and shingle every paragraph of a batch.

    Args:
        paragraphs: `large_list<large_string>`, each record's cleaned paragraphs.
        config: the run's config (`shingle`, `minhash` and `lsh` sections).
        workers: threads for the kernels.

    Returns:
        The batch's `ParagraphFeatures`, paragraph by paragraph in flattened order.
    """
    paragraph_lists = lists(paragraphs)
    forms = normalize.hashing_forms(paragraph_lists.flatten(), workers)
    digests = exact.digest(forms)
    group, rep = exact.groups(digests)
    bands, rows = lsh.resolve_params(config.lsh, config.minhash.num_perm)
    sets, set_offsets = shingle_sets(forms, config.shingle.ngram, workers)
    rep_keys = np.empty((bands, len(rep)), dtype=np.uint64)
    for start in range(0, len(rep), SIGN_CHUNK):  # signatures are 4 * num_perm bytes a paragraph
        chunk = rep[start : start + SIGN_CHUNK]
        signatures = minhash.sign_sets(sets, set_offsets, chunk, config.minhash, workers)
        rep_keys[:, start : start + SIGN_CHUNK] = lsh.band(signatures, bands, rows).T
    keys = np.ascontiguousarray(rep_keys[:, group])
    return ParagraphFeatures(list_offsets(paragraph_lists), digests, keys, sets, set_offsets, words(forms))


@dataclass(slots=True)
class Stripped:
    """Records with their boilerplate paragraphs taken out, and their document features recomputed.

    Attributes:
        paragraphs: `large_list<large_string>`, each record's paragraphs that are not boilerplate.
        arrays: the document arrays of `dedup.featurize.Features` by name (`digests`, `keys`
            `(bands, n)`, `sets`, `set_offsets`, `lengths`, and `signatures` when given), with the
            touched records' rows recomputed (the given arrays themselves when none is touched).
        removed: `int64 (n,)`, boilerplate paragraphs taken out of each record.
        emptied: `bool (n,)`, records left with no words.
    """

    paragraphs: pa.LargeListArray
    arrays: dict[str, npt.NDArray[Any]]
    removed: npt.NDArray[np.int64]
    emptied: npt.NDArray[np.bool_]


def strip(
    paragraphs: pa.Array[Any] | pa.ChunkedArray[Any],
    arrays: dict[str, npt.NDArray[Any]],
    removed: npt.NDArray[np.bool_],
    config: Config,
    workers: int = 1,
) -> Stripped:
    """Take the `removed` paragraphs out of their records and recompute those records' features.

    Args:
        paragraphs: `large_list<large_string>` (n records), the records' cleaned paragraphs.
        arrays: the records' document arrays (`digests (n, 2)`, `keys (bands, n)`, `sets`,
            `set_offsets (n + 1,)`, `lengths (n,)`, optionally `signatures (n, num_perm)`); not
            modified.
        removed: `bool (p,)`, which paragraphs (in flattened order) are boilerplate.
        config: the run's config.
        workers: threads for the kernels.

    Returns:
        `Stripped`; a record none of whose paragraphs is removed keeps its rows as they were.
    """
    paragraph_lists = lists(paragraphs)
    n = len(paragraph_lists)
    offsets = list_offsets(paragraph_lists)
    counts = np.diff(offsets)
    parent = np.repeat(np.arange(n, dtype=np.int64), counts)
    taken = np.bincount(parent[removed], minlength=n).astype(np.int64)
    values = paragraph_lists.flatten().filter(pa.array(~removed))
    new_offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts - taken, out=new_offsets[1:])
    stripped = pa.LargeListArray.from_arrays(pa.array(new_offsets), values)
    touched = np.flatnonzero(taken > 0)
    emptied = np.zeros(n, dtype=bool)
    if not len(touched):  # nothing to recompute: the arrays as given (they may be read-only maps)
        return Stripped(stripped, dict(arrays), taken, emptied)
    out = {name: np.array(array) for name, array in arrays.items() if name not in ("sets", "set_offsets")}
    kept_lists = stripped.take(pa.array(touched, pa.int64()))
    forms = normalize.hashing_forms(normalize.join_paragraphs(kept_lists, "\n"), workers)
    emptied[touched] = np.asarray(pc.binary_length(forms).to_numpy(zero_copy_only=False)) == 0
    new_sets, new_set_offsets = shingle_sets(forms, config.shingle.ngram, workers)
    every = np.arange(len(forms), dtype=np.int64)
    signatures = minhash.sign_sets(new_sets, new_set_offsets, every, config.minhash, workers)
    bands, rows = lsh.resolve_params(config.lsh, config.minhash.num_perm)
    out["digests"][touched] = exact.digest(forms)
    out["keys"][:, touched] = lsh.band(signatures, bands, rows).T
    out["lengths"][touched] = paragraph_lengths(kept_lists)
    if "signatures" in out:
        out["signatures"][touched] = signatures
    out["sets"], out["set_offsets"] = _splice(
        arrays["sets"], arrays["set_offsets"], touched, new_sets, new_set_offsets
    )
    return Stripped(stripped, out, taken, emptied)


def _splice(
    sets: npt.NDArray[np.uint32],
    offsets: npt.NDArray[np.int64],
    rows: npt.NDArray[np.int64],
    new_sets: npt.NDArray[np.uint32],
    new_offsets: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]]:
    """Packed sets with the sets of `rows` replaced by the new ones (row `rows[k]` gets set `k`)."""
    pool = np.concatenate([np.asarray(sets), new_sets])
    starts, ends = np.array(offsets[:-1], dtype=np.int64), np.array(offsets[1:], dtype=np.int64)
    starts[rows] = len(sets) + new_offsets[:-1]
    ends[rows] = len(sets) + new_offsets[1:]
    sizes = ends - starts
    packed = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=packed[1:])
    take = np.repeat(starts - packed[:-1], sizes) + np.arange(int(packed[-1]), dtype=np.int64)
    return np.ascontiguousarray(pool[take]), packed


def emptied_reject(record: dict[str, Any], removed: int, text_field: str) -> Reject:
    """The reject of a record that boilerplate removal left with no words.

    Args:
        record: the record's `id`, `source_file`, `source_line` and (cleaned) `paragraphs`.
        removed: how many of its paragraphs were boilerplate.
        text_field: the input field that held its text.
    """
    reason = (
        f"no words left once boilerplate is removed (boilerplate paragraphs: {removed:,}; "
        "their groups are listed in paragraphs.parquet)"
    )
    raw = clip_raw("\n\n".join(record[PARAGRAPHS]))
    return Reject(
        record[SOURCE_FILE], record[SOURCE_LINE], reason, "boilerplate", record[ID], text_field, raw
    )


def apply(
    features: Features, config: Config, clock: Clock | None = None
) -> tuple[Features, boilerplate.Boilerplate]:
    """The paragraph index over records held in memory, and the records without their boilerplate.

    Args:
        features: featurized records with their `paragraph` features (`granularity: paragraph`);
            their ids are unique.
        config: the run's config.
        clock: collects the stage timings.

    Returns:
        `(features, found)`: the records that still hold words, with their boilerplate
        paragraphs taken out, their document features recomputed, the candidate `pairs` the
        paragraph index proposes (rows of the returned records) and a reject for each emptied
        record added to `rejects`; and what the paragraph index found.
    """
    clock = clock or Clock()
    paragraph = features.paragraph
    assert paragraph is not None, "featurize under granularity: paragraph"
    records = features.records
    part = boilerplate.Part(len(features), paragraph.arrays().__getitem__, lambda: records)
    found = boilerplate.find([part], config, clock, threads(config))
    with clock.stage("strip"):
        done = strip(records[PARAGRAPHS], features.arrays(), found.removed[0], config, threads(config))
    table = records.set_column(records.schema.get_field_index(PARAGRAPHS), PARAGRAPHS, done.paragraphs)
    rejects = list(features.rejects)
    for row in np.flatnonzero(done.emptied).tolist():
        record = records.slice(row, 1).to_pylist()[0]
        rejects.append(emptied_reject(record, int(done.removed[row]), config.input.text_field))
    keep = np.flatnonzero(~done.emptied)
    renumber = np.cumsum(~done.emptied) - 1
    pairs = found.pairs[~done.emptied[found.pairs].any(axis=1)]
    out = done.arrays
    sets, set_offsets = out["sets"], out["set_offsets"]
    if len(keep) < len(features):
        sets, set_offsets = gather_sets(sets, set_offsets, keep)
    stripped = Features(
        table.take(pa.array(keep, pa.int64())),
        out["digests"][keep],
        out["signatures"][keep],
        np.ascontiguousarray(out["keys"][:, keep]),
        sets,
        set_offsets,
        out["lengths"][keep],
        rejects,
        None,
        renumber[pairs],
    )
    return stripped, found
