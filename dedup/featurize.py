"""Featurize: records in, everything the global steps need of each record out, computed once.

One step serves every runner (the in-memory `dedup_table`, the local engine's shards, the index):
clean each record into paragraphs and its hashing form, reject what cannot be cleaned, then the
exact digest, the MinHash signature (one per distinct text), the LSH band keys, the sorted set of
distinct shingle hashes (what verification counts) and the cleaned length (what `keep: longest`
reads). The hashing form itself is not kept: it is made, read by the kernels and dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from dedup import exact, figures, kernels, lsh, minhash, normalize
from dedup.config import Config, threads
from dedup.records import (
    ID,
    PARAGRAPHS,
    SOURCE_FILE,
    SOURCE_LINE,
    TEXT,
    Reject,
    arrow_bytes,
    clip_raw,
    fail_fast,
)
from dedup.resolve import Clock

if TYPE_CHECKING:
    from dedup.paragraphs import ParagraphFeatures


@dataclass(slots=True)
class Features:
    """Cleaned records and what the global steps read of them, aligned row by row.

    Attributes:
        records: the records that survived cleaning: `id`, `source_file`, `source_line`, the
            pass-through fields and `paragraphs` (`large_list<large_string>`); no raw text.
        digests: `uint64 (n, 2)`, xxh3-128 of each hashing form.
        signatures: `uint32 (n, num_perm)`, MinHash signatures.
        keys: `uint64 (bands, n)`, LSH band keys, one row per band.
        sets: `uint32 (total,)`, each record's distinct shingle hashes, sorted;
            record `i` owns `sets[set_offsets[i]:set_offsets[i + 1]]`.
        set_offsets: `int64 (n + 1,)`.
        lengths: `int64 (n,)`, cleaned characters per record.
        rejects: records that could not be cleaned, with the reason.
        paragraph: each paragraph's digest, band keys and shingle set (`dedup.paragraphs`), under
            `granularity: paragraph`; else None.
        pairs: `int64 (m, 2)`, pairs of rows the paragraph index proposes as candidates (they
            share a paragraph that is not boilerplate); None when there is no paragraph index.
        figure_digests: `uint64 (n, 2)`, `figures.digests` of each record's paragraphs joined by
            newlines, when the figures rule is on (`lsh.figures`); else None. A step that changes
            the paragraphs (boilerplate out) leaves None, and the rule reads the texts instead.
    """

    records: pa.Table
    digests: npt.NDArray[np.uint64]
    signatures: npt.NDArray[np.uint32]
    keys: npt.NDArray[np.uint64]
    sets: npt.NDArray[np.uint32]
    set_offsets: npt.NDArray[np.int64]
    lengths: npt.NDArray[np.int64]
    rejects: list[Reject]
    paragraph: ParagraphFeatures | None = None
    pairs: npt.NDArray[np.int64] | None = None
    figure_digests: npt.NDArray[np.uint64] | None = None

    def __len__(self) -> int:
        return int(self.records.num_rows)

    def arrays(self, signatures: bool = True) -> dict[str, npt.NDArray[Any]]:
        """The per-record arrays by name: what a shard saves and `strip` reworks.

        `digests`, `keys`, `lengths`, `sets`, `set_offsets`, `signatures` unless `signatures`
        is False, and `figure_digests` when there are some.
        """
        out: dict[str, npt.NDArray[Any]] = {
            "digests": self.digests,
            "keys": self.keys,
            "lengths": self.lengths,
            "sets": self.sets,
            "set_offsets": self.set_offsets,
        }
        if signatures:
            out["signatures"] = self.signatures
        if self.figure_digests is not None:
            out["figure_digests"] = self.figure_digests
        return out


def featurize(
    records: pa.Table, config: Config, clock: Clock | None = None, figure_digests: bool = True
) -> Features:
    """Clean, digest, sign, band and shingle a table of records (and each paragraph, by granularity).

    Args:
        records: `id`, `text`, `source_file`, `source_line` and pass-through fields.
        config: the run's config.
        clock: collects the stage timings (`clean`, `exact`, `sign`, `band`, `shingle`, `figures`).
        figure_digests: make `Features.figure_digests` (when the figures rule is on). A caller
            that resolves in the same process may leave them to the keep step, which then makes
            them for the records of verified pairs only (the same digests).

    Returns:
        The `Features` of the records that could be cleaned; the rest are its `rejects`.

    Raises:
        InputError: the first record that cannot be cleaned, under `on_error: fail`.
    """
    clock = clock or Clock()
    workers = threads(config)
    with clock.stage("clean"):
        kept, paragraphs, forms, rejects = clean_table(records, config)
    with clock.stage("exact"):
        digests = exact.digest(forms)
    with clock.stage("shingle"):
        sets, set_offsets = shingle_sets(forms, config.shingle.ngram, workers)
    with clock.stage("sign"):  # one signature per distinct text, from its set, copied to its repeats
        group, rep = exact.groups(digests)
        signatures = minhash.sign_sets(sets, set_offsets, rep, config.minhash, workers)[group]
    with clock.stage("band"):
        keys = np.ascontiguousarray(
            lsh.band(signatures, *lsh.resolve_params(config.lsh, config.minhash.num_perm)).T
        )
    table = kept.drop_columns([TEXT]).append_column(PARAGRAPHS, paragraphs)
    features = Features(
        table, digests, signatures, keys, sets, set_offsets, paragraph_lengths(paragraphs), rejects
    )
    if config.lsh.figures and figure_digests:
        with clock.stage("figures"):  # what the figures rule compares first, per record
            features.figure_digests = figures.digests(normalize.join_paragraphs(paragraphs, "\n"))
    if config.granularity == "paragraph":
        from dedup.paragraphs import paragraph_features  # noqa: PLC0415 - it imports this module

        with clock.stage("paragraphs"):
            features.paragraph = paragraph_features(paragraphs, config, workers)
    return features


def shingle_sets(
    forms: pa.Array[Any], ngram: int, workers: int = 1
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]]:
    """Each hashing form's distinct shingle hashes, sorted, packed: `(sets uint32, offsets int64 (n+1,))`.

    `kernels.shingle_set_bytes` over the forms' bytes, on `workers` threads.
    """
    return kernels.shingle_set_bytes(*arrow_bytes(forms), ngram, workers)


def gather_sets(
    sets: npt.NDArray[np.uint32], offsets: npt.NDArray[np.int64], rows: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]]:
    """The packed sets of `rows` (any order, repeats allowed), packed again in that order."""
    sizes = offsets[rows + 1] - offsets[rows]
    packed = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(sizes, out=packed[1:])
    out = np.empty(int(packed[-1]), dtype=np.uint32)
    kernels.copy_ranges(sets, offsets[rows], out, packed[:-1], sizes)
    return out, packed


def clean_table(
    records: pa.Table, config: Config
) -> tuple[pa.Table, pa.LargeListArray, pa.LargeStringArray, list[Reject]]:
    """Clean records into paragraphs and hashing forms; reject what is too long or has no words left.

    Returns:
        `(kept, paragraphs, forms, rejects)`: the records that survived, their paragraphs and
        hashing forms (aligned row by row), and the rejected ones.

    Raises:
        InputError: the first rejected record, under `on_error: fail`.
    """
    cfg = config.normalize
    workers = threads(config)
    texts = records[TEXT].combine_chunks() if records.num_rows else pa.array([], pa.large_string())
    too_long = _too_long(texts, cfg.max_chars)
    binary = _holds_nul(texts)
    fits = np.flatnonzero(~too_long & ~binary)
    fitting = texts if len(fits) == len(texts) else texts.take(pa.array(fits, pa.int64()))
    paragraphs = normalize.clean_batch(fitting, cfg, workers)
    forms = normalize.hashing_forms(normalize.join_paragraphs(paragraphs, "\n"), workers)
    no_text = np.asarray(pc.list_value_length(paragraphs).to_numpy(zero_copy_only=False)) == 0
    no_words = np.asarray(pc.binary_length(forms).to_numpy(zero_copy_only=False)) == 0
    reasons: dict[int, str] = {}
    for i in np.flatnonzero(binary & ~too_long).tolist():
        at = texts[i].as_py().index("\x00")
        reasons[i] = f"the text holds NUL bytes (binary data, not text); the first at character {at + 1:,}"
    for i in np.flatnonzero(too_long).tolist():
        length = len(texts[i].as_py())
        reasons[i] = f"the record has {length:,} characters, over normalize.max_chars ({cfg.max_chars:,})"
    for k in np.flatnonzero(no_words).tolist():
        reasons[int(fits[k])] = (
            "no text left after cleaning (empty, whitespace or markup only)"
            if no_text[k]
            else "no words left after cleaning (only punctuation or symbols)"
        )
    rejects: list[Reject] = []
    if reasons:
        ids = records[ID].to_pylist()
        files, lines = records[SOURCE_FILE].to_pylist(), records[SOURCE_LINE].to_pylist()
        for i in sorted(reasons):
            raw = clip_raw(texts[i].as_py())
            field_name = config.input.text_field
            rejects.append(Reject(files[i], lines[i], reasons[i], "clean", ids[i], field_name, raw))
    fail_fast(rejects, config.on_error)
    if not reasons:
        return records, paragraphs, forms, rejects
    good = pa.array(np.flatnonzero(~no_words), pa.int64())
    kept = records.take(pa.array(fits[~no_words], pa.int64()))
    return kept, paragraphs.take(good), forms.take(good), rejects


def _too_long(texts: pa.Array[Any], max_chars: int) -> npt.NDArray[np.bool_]:
    """`bool (n,)`: which texts hold more than `max_chars` characters.

    A text holds no more characters than UTF-8 bytes, so only those of more bytes are counted.
    """
    sizes = np.asarray(pc.binary_length(texts).to_numpy(zero_copy_only=False), dtype=np.int64)
    over = np.flatnonzero(sizes > max_chars)
    out = np.zeros(len(texts), dtype=bool)
    if len(over):
        counted = pc.utf8_length(texts.take(pa.array(over, pa.int64())))
        out[over] = np.asarray(counted.to_numpy(zero_copy_only=False), dtype=np.int64) > max_chars
    return out


def _holds_nul(texts: pa.Array[Any]) -> npt.NDArray[np.bool_]:
    """`bool (n,)`: which texts hold a NUL character; the records' bytes are looked through once first."""
    data = texts.buffers()[2] if len(texts) else None
    if data is None or not np.any(np.frombuffer(data, dtype=np.uint8) == 0):
        return np.zeros(len(texts), dtype=bool)  # no NUL byte anywhere in the array's bytes
    return np.asarray(pc.match_substring(texts, "\x00").to_numpy(zero_copy_only=False), dtype=bool)


def paragraph_lengths(paragraphs: pa.Array[Any]) -> npt.NDArray[np.int64]:
    """`int64 (n,)`: each record's total paragraph length in characters."""
    n = len(paragraphs)
    if n == 0:
        return np.empty(0, dtype=np.int64)
    lengths = np.asarray(pc.utf8_length(paragraphs.flatten()).to_numpy(zero_copy_only=False), dtype=np.int64)
    parents = np.asarray(pc.list_parent_indices(paragraphs).to_numpy(zero_copy_only=False), dtype=np.int64)
    return np.bincount(parents, weights=lengths, minlength=n).astype(np.int64)
