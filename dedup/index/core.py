"""`dedup.Index`: an incremental index that answers "is this new?" per record, across runs and workers.

Records are cleaned, hashed and signed exactly as `dedup run` does (same config sections); the
index keeps, per record, its id, its exact digest, its LSH band keys and its shingle set (not its
text), in an embedded SQLite file by default or in Redis (`redis://...`) when it is shared across
machines. A check finds exact repeats by digest and near-duplicates by band keys, then verifies
each candidate on the exact shingle sets (Jaccard, containment, the short-record rule); the
figures rule, which reads text, is not applied. Containment is directional: a record that holds an
indexed record inside it, and more, is new; one that is inside an indexed record is its duplicate.
The index stores the signature fingerprint and refuses a config that would sign differently.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from dedup import lsh
from dedup.config import Config, fingerprint
from dedup.display import mask_credentials
from dedup.errors import IndexMismatchError, InputError
from dedup.featurize import Features, featurize
from dedup.index.paragraphs import KnownParagraph, Paragraphs
from dedup.index.store import MEMORY, SQLiteStore, Store, is_redis, pack_entry, unpack_entry
from dedup.io import fields
from dedup.records import ID, PARAGRAPHS, SOURCE_FILE, SOURCE_LINE, TEXT, id_problem, missing
from dedup.settings import NORMALIZE_VERSION

FORMAT = "1"  # the stored layout; part of the fingerprint
Status = Literal["new", "exact", "near", "present", "rejected"]


@dataclass(frozen=True, slots=True)
class Match:
    """What the index says of one record.

    Attributes:
        id: the record's id.
        status: `new` (not in the index; added by `add` and `check_and_add`), `exact` or `near`
            (a duplicate of `duplicate_of`), `present` (this id is already indexed), `rejected`
            (nothing to index: `reason` says why).
        duplicate_of: the indexed record it duplicates (for `exact`, `near`, `present`).
        similarity: Jaccard similarity to `duplicate_of` (1.0 for exact).
        containment: the share of this record's distinct shingles found in `duplicate_of`.
        reason: why a record was rejected.
        matched_by: the evidence for `exact`, `near` and `present`: `exact` (the same hashing
            form), `jaccard` or `containment` (this record is inside `duplicate_of`), or, for
            `present` only, `id`: the id is indexed with another text (`similarity` and
            `containment` then measure the two texts).
        paragraphs: under `granularity: paragraph`, the record's paragraphs that the index already
            holds (`KnownParagraph`: its position, the indexed record and paragraph, the evidence),
            in paragraph order; empty otherwise, and for `present` and `rejected` records.
    """

    id: str
    status: Status
    duplicate_of: str | None = None
    similarity: float | None = None
    containment: float | None = None
    reason: str | None = None
    matched_by: str | None = None
    paragraphs: tuple[KnownParagraph, ...] = ()


def signature_settings(config: Config) -> dict[str, str]:
    """Everything stored with an index that changes its keys; a mismatch is refused."""
    bands, rows = lsh.resolve_params(config.lsh, config.minhash.num_perm)
    settings = {
        "normalize_version": str(NORMALIZE_VERSION),
        "normalize": f"content={config.normalize.content} mail_headers={config.normalize.mail_headers}",
        "shingle.ngram": str(config.shingle.ngram),
        "minhash": json.dumps(dataclasses.asdict(config.minhash), sort_keys=True),
        "bands": str(bands),
        "rows": str(rows),
        "format": FORMAT,
    }
    if config.granularity == "paragraph":  # document indexes keep the settings they were built with
        settings["granularity"] = f"paragraph min_words={config.paragraphs.min_words}"
    digest = hashlib.sha256(json.dumps([fingerprint(config), settings], sort_keys=True).encode()).hexdigest()
    return {**settings, "fingerprint": digest[:16]}


@dataclass(slots=True)
class _Batch:
    """A batch as the index reads it: the featurized readable records, by input position."""

    ids: list[str]
    rows: npt.NDArray[np.int64]  # positions in the input of the readable records
    features: Features  # row k is `rows[k]` of the input
    keys: npt.NDArray[np.uint64]  # (k, bands)
    sets: list[npt.NDArray[np.uint32]]
    blobs: list[bytes]
    rejected: dict[int, str]
    counted: dict[int, list[Any]] = field(default_factory=dict)  # row -> its paragraphs that count
    holders: dict[int, set[int]] = field(default_factory=dict)  # row -> earlier rows holding its paragraphs
    known: dict[int, list[KnownParagraph]] = field(default_factory=dict)  # row -> known paragraphs

    @property
    def digests(self) -> npt.NDArray[np.uint64]:
        """`uint64 (k, 2)`: the readable records' exact digests."""
        return self.features.digests


def _table(records: pa.Table | Iterable[Any]) -> tuple[pa.Table, list[str], dict[int, str]]:
    """Records as a table of `id` and `text`: a table, `(id, text)` pairs or mappings with both.

    Returns:
        `(table, ids, unstorable)`: the table, each record's id as given (as text; `<record N>`,
        1-based, for a null id), and the records whose id is null or neither a string nor an
        integer (`records.id_problem`), whose text is no string, or
        whose id or text holds a lone surrogate (no UTF-8 form: Arrow cannot hold it) with the
        reason; in the table those have an empty text, so nothing of them is indexed.

    Raises:
        InputError: a table without an `id` or `text` column.
        TypeError: `records` is no table or iterable of records, or a record no pair or mapping.
    """
    if isinstance(records, pa.Table):
        for name in (ID, TEXT):
            if name not in records.column_names:
                present = ", ".join(records.column_names) or "none"
                raise InputError(
                    f"no column '{name}'; columns present: {present}", path="<batch>", field=name
                )
        text, id_column = records[TEXT], records[ID]
        string = pa.types.is_string(text.type) or pa.types.is_large_string(text.type)
        kind = id_column.type
        id_ok = pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_integer(kind)
        if string and id_ok and not text.null_count and not id_column.null_count:
            ids_array = id_column.cast(pa.string())
            table = _positioned(ids_array, text.cast(pa.string()))  # no Python copy
            return table, ids_array.to_pylist(), {}
        given, texts = id_column.to_pylist(), text.to_pylist()
    elif type(records).__module__.startswith("pandas") and hasattr(records, "columns"):
        given, texts = _frame(records)
    else:
        given, texts = _pairs(records)
    # The index keeps records by id: a record without one is a reject, shown by its position; so
    # is a record whose id is no string or integer (as in a file), or whose text is no string.
    given = [None if missing(x) else x for x in given]  # NaN and pandas' NA are no id either
    unstorable: dict[int, str] = {}
    for i, x in enumerate(given):
        problem = "no id (null): the index keeps records by id" if x is None else id_problem(x)
        if problem is not None:
            unstorable[i] = problem
    ids = [f"<record {i + 1}>" if x is None else str(x) for i, x in enumerate(given)]
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            kind = "null" if t is None else type(t).__name__
            unstorable.setdefault(i, f"text must be a string; got {kind}")
    if unstorable:
        texts = ["" if i in unstorable else t for i, t in enumerate(texts)]
    try:
        return _positioned(pa.array(ids, pa.string()), pa.array(texts, pa.string())), ids, unstorable
    except UnicodeEncodeError:
        pass
    stored_ids, stored_texts = list(ids), list(texts)
    for i, (rid, text) in enumerate(zip(ids, texts, strict=True)):
        for what, value in (("id", rid), ("text", text)):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as err:
                point = ord(value[err.start])
                reason = f"the {what} holds a lone surrogate (\\u{point:04x}), which is not a character"
                unstorable.setdefault(i, reason)
                stored_ids[i] = f"<record {i + 1}>" if what == "id" else stored_ids[i]
                stored_texts[i] = ""
    table = _positioned(pa.array(stored_ids, pa.string()), pa.array(stored_texts, pa.string()))
    return table, ids, unstorable


def _frame(frame: Any) -> tuple[list[Any], list[Any]]:
    """The ids and texts of a pandas DataFrame's `id` and `text` columns (or named index levels).

    Each value is judged alone, as a file's are (a column mixing types has no Arrow type).

    Raises:
        InputError: a column is missing, or its name appears more than once.
    """
    frame = fields.named_index_as_columns(frame, "<batch>")  # `set_index("id")` keeps the ids
    names = [str(name) for name in frame.columns]
    columns = []
    for name in (ID, TEXT):
        if names.count(name) != 1:
            problem = (
                f"column '{name}' appears {names.count(name)} times; give each column its own name"
                if names.count(name)
                else f"no column '{name}'; columns present: {', '.join(names) or 'none'}"
            )
            raise InputError(problem, path="<batch>", field=name)
        columns.append(fields.pandas_values(frame.iloc[:, names.index(name)]))
    return columns[0], columns[1]


def _pairs(records: Iterable[Any]) -> tuple[list[Any], list[Any]]:
    """The ids and texts of `(id, text)` pairs or mappings with both.

    Raises:
        TypeError: `records` is text or bytes, or not iterable; a record is neither a pair nor
            such a mapping (named by its 1-based place).
    """
    if isinstance(records, (str, bytes)) or not isinstance(records, Iterable):
        raise TypeError(
            "records: an Arrow table or an iterable of (id, text) pairs or mappings with 'id' and "
            f"'text'; got {type(records).__name__}"
        )
    given: list[Any] = []
    texts: list[Any] = []
    for place, record in enumerate(records, start=1):
        if isinstance(record, Mapping) and ID in record and TEXT in record:
            given.append(record[ID])
            texts.append(record[TEXT])
        elif isinstance(record, Sequence) and not isinstance(record, (str, bytes)) and len(record) == 2:
            given.append(record[0])
            texts.append(record[1])
        else:
            raise TypeError(
                f"record {place}: an (id, text) pair or a mapping with 'id' and 'text'; "
                f"got {type(record).__name__} {_clip(repr(record))}"
            )
    return given, texts


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _positioned(ids: Any, texts: Any) -> pa.Table:
    """`id` and `text` with batch positions (`<batch>`, 1-based row) for the cleaning stage's rejects."""
    n = len(ids)
    return pa.table(
        {
            ID: ids,
            TEXT: texts,
            SOURCE_FILE: pa.array(["<batch>"] * n, pa.string()),
            SOURCE_LINE: pa.array(np.arange(1, n + 1), pa.int64()),
        }
    )


def _redundant(verdict: lsh.Verdict, p: int) -> bool:
    """Whether pair `p`'s first record (the one checked) is a duplicate of its second.

    A record that holds an indexed one inside it (and more) is new: containment is directional.
    """
    return bool(verdict.keep[p]) and int(verdict.inside[p]) != lsh.SECOND_INSIDE


def _evidence(verdict: lsh.Verdict, p: int) -> str:
    """`jaccard` when pair `p` are duplicates both ways by Jaccard, else `containment`."""
    return "jaccard" if verdict.similar[p] and int(verdict.inside[p]) == lsh.MUTUAL else "containment"


class Index:
    """An incremental dedup index. Open it with `Index.open(path_or_url, config)`."""

    def __init__(self, store: Store, config: Config, paragraphs: Paragraphs | None = None) -> None:
        self.store, self.config, self.paragraphs = store, config, paragraphs
        self.bands, self.rows = lsh.resolve_params(config.lsh, config.minhash.num_perm)
        self.verify_cfg = dataclasses.replace(config.lsh, verify="exact", figures=False)

    @classmethod
    def open(
        cls,
        path_or_url: str | os.PathLike[str] | None = None,
        config: Config | None = None,
        *,
        create: bool = True,
    ) -> Index:
        """Open (or, with `create`, create) the index at a SQLite path or a Redis URL.

        Args:
            path_or_url: a SQLite file (a string or a path object) or a Redis URL;
                `config.index.path` when None.
            config: the settings records are signed with; the defaults when None.
            create: make a new index where there is none. Without it, a path or namespace that
                holds no index is refused and nothing is created (`dedup index check`, which adds
                nothing: a mistyped path would otherwise report every record new).

        Raises:
            IndexMismatchError: the index was built with settings that sign records differently,
                the file is not an index, or (without `create`) there is no index there.
            EngineError: Redis cannot be reached.
            ValueError: `path_or_url` is empty or blank (SQLite would read "" as a private
                database deleted on close).
        """
        config = config or Config()
        target = config.index.path if path_or_url is None else os.fspath(path_or_url)
        if isinstance(path_or_url, os.PathLike) and target == MEMORY:
            target = os.path.join(os.curdir, target)  # a path object names a file, even this one
        if not target.strip():
            raise ValueError(f"{target!r} names no index: give a SQLite file or a Redis URL")
        store: Store
        if is_redis(target):
            from dedup.index.redis_store import RedisStore  # noqa: PLC0415 - only Redis users need it

            store = RedisStore(target, config.index.name, config.index.lock_timeout)
            if not store.read_meta():
                _refuse_new(target, config, create, store)
        else:
            file = Path(target)
            if not (file.is_file() and file.stat().st_size):
                _refuse_new(target, config, create, None)
            store = SQLiteStore(target, config.index.lock_timeout)
        expected = signature_settings(config)
        stored = store.read_meta()
        if not stored and not create:
            store.close()
            raise _no_index(target, config)
        if not stored:  # a new index: the first writer records its settings
            with store.locked():
                stored = store.read_meta()
                if not stored:
                    store.write_meta(expected)
                    stored = expected
        if stored.get("fingerprint") != expected["fingerprint"]:
            store.close()
            keys = [*expected, *(k for k in stored if k not in expected)]  # a setting either side lacks too
            differ = [
                f"{k} {stored.get(k)!r} (this config: {expected.get(k)!r})"
                for k in keys
                if k != "fingerprint" and stored.get(k) != expected.get(k)
            ]
            raise IndexMismatchError(
                f"{mask_credentials(target)}: the index was built with other signature settings: "
                f"{'; '.join(differ) or 'fingerprint'}. Records signed this way would silently miss its "
                "duplicates; open it with the settings it was built with, or build a new index"
            )
        if config.granularity != "paragraph":
            return cls(store, config)
        try:
            indexed = store.count() if create else None  # a paragraph store is made only for an empty index
            return cls(store, config, Paragraphs.open(target, config, expected, indexed))
        except BaseException:
            store.close()
            raise

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the storage connection."""
        self.store.close()
        if self.paragraphs is not None:
            self.paragraphs.close()

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """Hold the write locks: the paragraph store's (when there is one), then the records'."""
        if self.paragraphs is None:
            with self.store.locked():
                yield
            return
        with self.paragraphs.locked(), self.store.locked():
            yield

    # Preparing records ----------------------------------------------------------------------------

    def _prepare(self, records: pa.Table | Iterable[Any]) -> _Batch:
        table, ids, unstorable = _table(records)
        features = featurize(table, self.config)
        rejected = {int(r.source_line or 0) - 1: r.reason for r in features.rejects} | unstorable
        rows = np.asarray(features.records[SOURCE_LINE].to_numpy(), dtype=np.int64) - 1
        keys = np.ascontiguousarray(features.keys.T)
        bounds = features.set_offsets
        sets = [features.sets[bounds[i] : bounds[i + 1]] for i in range(len(features))]
        blobs = [pack_entry(features.digests[i], keys[i], sets[i]) for i in range(len(sets))]
        seen: set[str] = set()
        for row in rows.tolist():
            if ids[row] in seen:
                rejected[row] = f"id '{ids[row]}' repeated within the batch"
            seen.add(ids[row])
        batch = _Batch(ids, rows, features, keys, sets, blobs, rejected)
        if self.paragraphs is not None and features.paragraph is not None:
            for p in self.paragraphs.counted(features.paragraph, list(range(len(features)))):
                batch.counted.setdefault(p.record, []).append(p)
        return batch

    # Matching ---------------------------------------------------------------------------------------

    def _verify(
        self, mine: list[npt.NDArray[np.uint32]], theirs: list[npt.NDArray[np.uint32]]
    ) -> lsh.Verdict:
        """Verify pairs `(mine[k], theirs[k])` on their shingle sets."""
        sets = [*mine, *theirs]
        sizes = np.array([len(s) for s in sets], dtype=np.int64)
        offsets = np.zeros(len(sets) + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        hashes = np.concatenate(sets) if sets else np.empty(0, dtype=np.uint32)
        k = len(mine)
        pairs = np.stack([np.arange(k), np.arange(k, 2 * k)], axis=1).astype(np.int64)
        return lsh.verify(pairs, np.empty((2 * k, 0), np.uint32), (hashes, offsets), self.verify_cfg)

    def _against_index(self, batch: _Batch) -> list[Match | None]:
        """For each readable record, its best match in the index (None when it has none)."""
        k = len(batch.rows)
        out: list[Match | None] = [None] * k
        if k == 0:
            return out
        present = self.store.find([batch.ids[r] for r in batch.rows.tolist()])
        at, nums = self.store.lookup("exact", batch.digests[:, 0].copy())
        band_at, band_nums = self.store.lookup("band", batch.keys.reshape(-1))
        candidates = sorted(
            {(int(a), int(n)) for a, n in zip(at.tolist(), nums.tolist(), strict=True)}
            | {
                (int(a) // self.bands, int(n))
                for a, n in zip(band_at.tolist(), band_nums.tolist(), strict=True)
            }
            | self._paragraph_candidates(batch)
        )
        stored = self.store.fetch(sorted({n for _, n in candidates}))
        mine, theirs, pair_of = [], [], []
        for i, num in candidates:
            if num not in stored:
                continue
            rid, blob = stored[num]
            digest, _, shingles = unpack_entry(blob, self.bands)
            if np.array_equal(digest, batch.digests[i]):
                best = out[i]
                if best is None or best.status != "exact":
                    out[i] = Match(batch.ids[batch.rows[i]], "exact", rid, 1.0, 1.0, matched_by="exact")
                continue
            mine.append(batch.sets[i])
            theirs.append(shingles)
            pair_of.append((i, num, rid))
        if mine:
            verdict = self._verify(mine, theirs)
            order = sorted(
                range(len(pair_of)), key=lambda p: (pair_of[p][0], -verdict.jaccard[p], pair_of[p][1])
            )
            for p in order:
                i, _, rid = pair_of[p]
                if _redundant(verdict, p) and out[i] is None:
                    out[i] = Match(
                        batch.ids[batch.rows[i]],
                        "near",
                        rid,
                        float(verdict.jaccard[p]),
                        float(verdict.share_a[p]),
                        matched_by=_evidence(verdict, p),
                    )
        for i, match in self._present(batch, present).items():
            out[i] = match
        return out

    def _present(self, batch: _Batch, present: dict[str, tuple[int, bytes]]) -> dict[int, Match]:
        """`{slot: Match}` for the batch records whose id is indexed, with the evidence against it.

        The same hashing form is `exact` (similarity and containment 1.0); another text under the
        same id is `id`, with the Jaccard similarity and containment its shingles measure.
        """
        slots = [
            (i, batch.ids[row]) for i, row in enumerate(batch.rows.tolist()) if batch.ids[row] in present
        ]
        out: dict[int, Match] = {}
        mine, theirs, differ = [], [], []
        for i, rid in slots:
            digest, _, shingles = unpack_entry(present[rid][1], self.bands)
            if np.array_equal(digest, batch.digests[i]):
                out[i] = Match(rid, "present", rid, 1.0, 1.0, matched_by="exact")
            else:
                mine.append(batch.sets[i])
                theirs.append(shingles)
                differ.append((i, rid))
        if differ:
            verdict = self._verify(mine, theirs)
            for p, (i, rid) in enumerate(differ):
                similarity, share = float(verdict.jaccard[p]), float(verdict.share_a[p])
                out[i] = Match(rid, "present", rid, similarity, share, matched_by="id")
        return out

    def _paragraph_candidates(self, batch: _Batch) -> set[tuple[int, int]]:
        """`(row, record number)` of indexed records holding a paragraph of a batch record (read only)."""
        if self.paragraphs is None or not batch.counted:
            return set()
        mine = [p for i in sorted(batch.counted) for p in batch.counted[i]]
        batch.known = self.paragraphs.known(mine)
        holders = self.store.find(sorted({k.duplicate_of for ks in batch.known.values() for k in ks}))
        return {
            (i, holders[k.duplicate_of][0])
            for i, ks in batch.known.items()
            for k in ks
            if k.duplicate_of in holders and k.duplicate_of != batch.ids[batch.rows[i]]
        }

    def _results(self, batch: _Batch, matches: Sequence[Match | None]) -> list[Match]:
        results: list[Match] = []
        slot = {row: i for i, row in enumerate(batch.rows.tolist())}
        for row, rid in enumerate(batch.ids):
            if row in batch.rejected:
                results.append(Match(rid, "rejected", reason=batch.rejected[row]))
                continue
            match = matches[slot[row]] or Match(rid, "new")
            known = batch.known.get(slot[row])
            if known and match.status != "present":
                match = dataclasses.replace(match, paragraphs=tuple(sorted(known, key=lambda k: k.paragraph)))
            results.append(match)
        return results

    # The API ----------------------------------------------------------------------------------------

    def ingest(
        self, records: pa.Table, add: bool
    ) -> tuple[list[Match], npt.NDArray[np.int64], pa.Table, pa.Array[Any]]:
        """`check_and_add` (or `check`) for batch jobs.

        Returns:
            `(matches, rows, readable, paragraphs)`: a match per input record; the positions of
            the readable records in `records`; those rows of `records` (pass-through fields kept);
            their cleaned paragraphs.
        """
        batch = self._prepare(records)
        if add:
            with self._writing():
                matches = self._checked_and_added(batch)
        else:
            matches = self._results(batch, self._against_index(batch))
        passthrough = records.take(pa.array(batch.rows, pa.int64()))
        return matches, batch.rows, passthrough, batch.features.records[PARAGRAPHS]

    def check(self, records: pa.Table | Iterable[Any]) -> list[Match]:
        """Say for each record whether the index already holds it or a near-duplicate (reads only).

        Raises:
            InputError: a table without an `id` or `text` column.
            TypeError: `records` is no Arrow table or iterable of `(id, text)` pairs or mappings
                with `id` and `text` (as `add` and `check_and_add`); a record whose text is no
                string is a `rejected` match instead.
        """
        batch = self._prepare(records)
        return self._results(batch, self._against_index(batch))

    def add(self, records: pa.Table | Iterable[Any]) -> list[Match]:
        """Index every readable record whose id is not indexed yet (`new`); others are `present`."""
        batch = self._prepare(records)
        with self._writing():
            present = self.store.find([batch.ids[r] for r in batch.rows.tolist()])
            add = [
                i
                for i, r in enumerate(batch.rows.tolist())
                if batch.ids[r] not in present and r not in batch.rejected
            ]
            self._insert(batch, add)
        found = self._present(batch, present)
        matches: list[Match | None] = [found.get(i) for i in range(len(batch.rows))]
        return self._results(batch, matches)

    def check_and_add(self, records: pa.Table | Iterable[Any]) -> list[Match]:
        """Check each record and index the new ones, in one step under the index's write lock.

        Records of one batch are taken in order: a record that duplicates an earlier new record
        of the same batch is reported as its duplicate and not added.
        """
        batch = self._prepare(records)
        with self._writing():
            return self._checked_and_added(batch)

    def _checked_and_added(self, batch: _Batch) -> list[Match]:
        matches = self._against_index(batch)
        added: list[int] = []
        by_digest: dict[bytes, int] = {}
        by_key: dict[int, list[int]] = {}
        for i, row in enumerate(batch.rows.tolist()):
            if matches[i] is not None or row in batch.rejected:
                continue
            self._known_within_batch(batch, i, added)
            match = self._within_batch(batch, i, added, by_digest, by_key)
            if match is not None:
                matches[i] = match
                continue
            added.append(i)
            by_digest[batch.digests[i].tobytes()] = i
            for key in batch.keys[i].tolist():
                by_key.setdefault(key, []).append(i)
        self._insert(batch, added)
        return self._results(batch, matches)

    def _within_batch(
        self,
        batch: _Batch,
        i: int,
        added: list[int],
        by_digest: dict[bytes, int],
        by_key: dict[int, list[int]],
    ) -> Match | None:
        rid = batch.ids[batch.rows[i]]
        twin = by_digest.get(batch.digests[i].tobytes())
        if twin is not None:
            return Match(rid, "exact", batch.ids[batch.rows[twin]], 1.0, 1.0, matched_by="exact")
        earlier = sorted(
            {j for key in batch.keys[i].tolist() for j in by_key.get(key, [])} | batch.holders.pop(i, set())
        )
        if not earlier:
            return None
        verdict = self._verify([batch.sets[i]] * len(earlier), [batch.sets[j] for j in earlier])
        kept = [p for p in range(len(earlier)) if _redundant(verdict, p)]
        if not kept:
            return None
        p = min(kept, key=lambda q: (-verdict.jaccard[q], earlier[q]))
        return Match(
            rid,
            "near",
            batch.ids[batch.rows[earlier[p]]],
            float(verdict.jaccard[p]),
            float(verdict.share_a[p]),
            matched_by=_evidence(verdict, p),
        )

    def _known_within_batch(self, batch: _Batch, i: int, added: list[int]) -> None:
        """Record `i`'s paragraphs held by records added earlier in the batch (and those records)."""
        if self.paragraphs is None or not batch.counted.get(i) or not added:
            return
        earlier = [(j, p) for j in added for p in batch.counted.get(j, [])]
        found = self.paragraphs.within(
            batch.counted[i], [(batch.ids[batch.rows[j]], p) for j, p in earlier]
        ).get(i, [])
        have = {k.paragraph for k in batch.known.get(i, [])}
        batch.known.setdefault(i, []).extend(k for k in found if k.paragraph not in have)
        by_id = {batch.ids[batch.rows[j]]: j for j in added}
        batch.holders[i] = {by_id[k.duplicate_of] for k in found}

    def _insert(self, batch: _Batch, which: list[int]) -> None:
        if not which:
            return
        if self.paragraphs is not None:  # the paragraph store first (see `dedup.index.paragraphs`)
            self.paragraphs.insert([(batch.ids[batch.rows[i]], batch.counted.get(i, [])) for i in which])
        pick = np.array(which, dtype=np.int64)
        self.store.insert(
            [batch.ids[batch.rows[i]] for i in which],
            [batch.blobs[i] for i in which],
            batch.digests[pick, 0],
            batch.keys[pick],
        )

    def remove(self, ids: Iterable[str | int]) -> int:
        """Forget records by id; returns how many of them were indexed.

        Raises:
            TypeError: `ids` is one string or bytes (whose characters would be taken as ids), or
                holds a value that is no id (`records.id_problem`: neither a string nor an integer).
        """
        if isinstance(ids, (str, bytes, bytearray, memoryview)) or not isinstance(ids, Iterable):
            kind = type(ids).__name__
            raise TypeError(f"ids: an iterable of ids, not one id; got {kind} {_clip(repr(ids))}")
        wanted: list[str] = []
        for rid in ids:  # the ids `add` takes, and no other: str(None) would name the id "None"
            if id_problem(rid) is not None:
                kind = type(rid).__name__
                raise TypeError(f"ids: each a string or an integer, as `add` takes them; got {kind} {rid!r}")
            wanted.append(str(rid))
        with self._writing():
            if self.paragraphs is not None:
                self.paragraphs.remove(wanted)
            found = self.store.find(wanted)
            nums = [num for num, _ in found.values()]
            parsed = [unpack_entry(blob, self.bands) for _, blob in found.values()]
            if nums:
                exact_keys = np.array([p[0][0] for p in parsed], dtype=np.uint64)
                band_keys = np.stack([p[1] for p in parsed]).astype(np.uint64)
                self.store.delete(nums, exact_keys, band_keys)
        return len(nums)

    def stats(self) -> dict[str, Any]:
        """Records indexed, bytes of storage (the paragraph store's too), bytes per record, settings."""
        records = self.store.count()
        size = self.store.nbytes() + (self.paragraphs.store.nbytes() if self.paragraphs is not None else 0)
        return {
            "records": records,
            "bytes": size,
            "bytes_per_record": size / records if records else 0.0,
            "settings": self.store.read_meta(),
        }


def _refuse_new(target: str, config: Config, create: bool, store: Store | None) -> None:
    """Refuse a new index where none may be made (closing `store`, when given).

    Without `create`, none is made. At paragraph granularity, none is made beside a paragraph
    store that holds entries (left from an index that is gone): the new index would report
    paragraphs of records it does not hold.

    Raises:
        IndexMismatchError: saying which.
    """
    problem: IndexMismatchError | None = None
    if not create:
        problem = _no_index(target, config)
    elif config.granularity == "paragraph":
        where, entries = Paragraphs.left(target, config)
        if entries:
            problem = IndexMismatchError(
                f"{mask_credentials(target)}: no index there, but its paragraph store "
                f"({mask_credentials(where)}) holds {entries} entries, left from an index that is gone: "
                "a new index would report paragraphs of records it does not hold. Restore the "
                "index, or remove the paragraph store"
            )
    if problem is not None:
        if store is not None:
            store.close()
        raise problem


def _no_index(target: str, config: Config) -> IndexMismatchError:
    namespace = f" (namespace '{config.index.name}')" if is_redis(target) else ""
    return IndexMismatchError(
        f"{mask_credentials(target)}{namespace}: no index there; build one with `dedup index add` "
        "(or `Index.open` with `create=True`), or correct the path"
    )
