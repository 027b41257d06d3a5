r"""The index at paragraph granularity: which paragraphs of a record are already known, and where from.

Under `granularity: paragraph` an `Index` keeps a second store beside its records' (a SQLite file
`<stem>.paragraphs<suffix>` next to the index file, or the Redis namespace `<index.name>:paragraphs`)
holding every paragraph that counts (at least `paragraphs.min_words` words) of every indexed
record: under the id `<record id>\x1f<position>` its digest, band keys and shingle set, with the
same key tables as records. A record's entry `<record id>\x1f` lists the positions stored, so that
`remove` finds them. A paragraph of a checked record is *known* when an indexed paragraph is its
exact repeat (same hashing form), its near-duplicate (Jaccard), or holds it (containment: it is
inside the indexed paragraph), verified on the shingle sets as records are. Boilerplate is not
removed by the index (it has no corpus to count over); it reports what it knows.

Writes go to the paragraph store first, then to the records' store, both under their locks (taken
in that order by every writer): a crash between the two leaves paragraphs of a record that is not
indexed, which adding the record again completes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import xxhash

from dedup import lsh
from dedup.config import Config
from dedup.display import mask_credentials
from dedup.errors import IndexMismatchError
from dedup.index.store import MEMORY, SQLiteStore, Store, is_redis, pack_entry, unpack_entry
from dedup.paragraphs import ParagraphFeatures

SEPARATOR = "\x1f"


@dataclass(frozen=True, slots=True)
class KnownParagraph:
    """A paragraph of a checked record that the index already holds.

    Attributes:
        paragraph: its position among the record's cleaned paragraphs (from 0).
        duplicate_of: the id of the indexed record holding it.
        indexed_paragraph: its position among that record's cleaned paragraphs.
        similarity: Jaccard similarity of the two paragraphs' shingle sets (1.0 for `exact`).
        matched_by: `exact` (the same hashing form), `jaccard` (near-duplicates both ways) or
            `containment` (this paragraph is inside the indexed one).
    """

    paragraph: int
    duplicate_of: str
    indexed_paragraph: int
    similarity: float
    matched_by: str


def target(path_or_url: str, name: str) -> tuple[str, str]:
    """Where the paragraph store of an index at `path_or_url` lives: `(path or URL, Redis namespace)`."""
    if is_redis(path_or_url):
        return path_or_url, f"{name}:paragraphs"
    if path_or_url == MEMORY:  # an index in memory: its paragraph store is another
        return MEMORY, name
    path = Path(path_or_url)
    return str(path.with_name(f"{path.stem}.paragraphs{path.suffix}")), name


def _records(count: int) -> str:
    return f"{count} record" if count == 1 else f"{count} records"


def _missing(path_or_url: str, where: str, indexed: int | None) -> IndexMismatchError:
    held = f"; the index holds {_records(indexed)} whose paragraphs it would not know" if indexed else ""
    return IndexMismatchError(
        f"{mask_credentials(path_or_url)}: its paragraph store ({mask_credentials(where)}) is missing{held}. "
        "Restore it beside the index, or build the index anew"
    )


def _a_file(path: str) -> bool:
    """Whether a SQLite store is there: a file that is not empty (SQLite would make one)."""
    return Path(path).is_file() and Path(path).stat().st_size > 0


def _store(where: str, name: str, config: Config) -> tuple[Store, str]:
    """The paragraph store at `where` (a Redis URL and namespace `name`, or a SQLite path), and its label."""
    if is_redis(where):
        from dedup.index.redis_store import RedisStore  # noqa: PLC0415 - only Redis users need it

        return RedisStore(where, name, config.index.lock_timeout), f"{where} namespace {name}"
    return SQLiteStore(where, config.index.lock_timeout), where


def _directory_key(rid: str) -> np.uint64:
    """The exact key of a record's directory entry (never a paragraph digest's, but for 2**-64)."""
    return np.uint64(xxhash.xxh3_64_intdigest(b"\x1fdirectory\x1f" + rid.encode("utf-8")))


@dataclass(slots=True)
class _Paragraph:
    """One paragraph of a batch that counts: its record (row in the batch) and position."""

    record: int
    position: int
    digest: npt.NDArray[np.uint64]
    keys: npt.NDArray[np.uint64]
    shingles: npt.NDArray[np.uint32]


class Paragraphs:
    """The paragraph store of an index (see the module)."""

    def __init__(self, store: Store, config: Config) -> None:
        self.store, self.config = store, config
        self.bands, _ = lsh.resolve_params(config.lsh, config.minhash.num_perm)
        self.verify_cfg = dataclasses.replace(config.lsh, verify="exact", figures=False)

    @classmethod
    def open(cls, path_or_url: str, config: Config, meta: dict[str, str], indexed: int | None) -> Paragraphs:
        """Open the paragraph store of the index at `path_or_url`, with the index's settings.

        Args:
            path_or_url: the index's SQLite path or Redis URL.
            config: the index's config.
            meta: the index's signature settings, written into a new store.
            indexed: how many records the index holds, or None where no store may be created. A
                new store is made only for an index that holds no records: an index whose records
                outlive their paragraph store (a file deleted, a namespace flushed) would call
                every paragraph new, so it is refused, and nothing is created.

        Raises:
            IndexMismatchError: the store holds other settings, is not a dedup index, or is missing
                where it may not be created.
        """
        where, name = target(path_or_url, config.index.name)
        if not is_redis(where) and indexed != 0 and not _a_file(where):
            raise _missing(path_or_url, where, indexed)
        store, label = _store(where, name, config)
        if not store.read_meta() and indexed != 0:
            store.close()
            raise _missing(path_or_url, label, indexed)
        if not store.read_meta():
            with store.locked():
                if not store.read_meta():
                    store.write_meta(meta)
        return cls(store, config)

    @staticmethod
    def left(path_or_url: str, config: Config) -> tuple[str, int]:
        """Where the paragraph store of the index at `path_or_url` lives, and how many entries it holds.

        0 where there is no store; nothing is created. An index that is new while a store with
        entries is there would adopt the paragraphs of records it does not hold.
        """
        where, name = target(path_or_url, config.index.name)
        if not is_redis(where) and not _a_file(where):
            return where, 0
        store, label = _store(where, name, config)
        try:
            return label, store.count() if store.read_meta() else 0
        finally:
            store.close()

    def close(self) -> None:
        """Release the store's connection."""
        self.store.close()

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the paragraph store's write lock."""
        with self.store.locked():
            yield

    # Reading a batch ----------------------------------------------------------------------------

    def counted(self, paragraph: ParagraphFeatures, rows: list[int]) -> list[_Paragraph]:
        """The paragraphs that count of the batch's records `rows` (rows of `paragraph`)."""
        out = []
        min_words = self.config.paragraphs.min_words
        for i in rows:
            start, end = int(paragraph.offsets[i]), int(paragraph.offsets[i + 1])
            for p in range(start, end):
                if paragraph.words[p] < min_words:
                    continue
                shingles = paragraph.sets[paragraph.set_offsets[p] : paragraph.set_offsets[p + 1]]
                out.append(_Paragraph(i, p - start, paragraph.digests[p], paragraph.keys[:, p], shingles))
        return out

    def known(self, mine: list[_Paragraph]) -> dict[int, list[KnownParagraph]]:
        """For each record (batch row), its paragraphs that the store holds, best match each."""
        if not mine:
            return {}
        digests = np.array([p.digest[0] for p in mine], dtype=np.uint64)
        keys = np.stack([p.keys for p in mine]).astype(np.uint64)
        at, nums = self.store.lookup("exact", digests)
        band_at, band_nums = self.store.lookup("band", keys.reshape(-1))
        candidates = sorted(
            {(int(a), int(n)) for a, n in zip(at.tolist(), nums.tolist(), strict=True)}
            | {
                (int(a) // self.bands, int(n))
                for a, n in zip(band_at.tolist(), band_nums.tolist(), strict=True)
            }
        )
        stored = self.store.fetch(sorted({n for _, n in candidates}))
        theirs: list[tuple[int, str, int, npt.NDArray[np.uint64], npt.NDArray[np.uint32]]] = []
        for k, num in candidates:
            if num not in stored:
                continue
            pid, blob = stored[num]
            rid, _, position = pid.rpartition(SEPARATOR)
            if not position:  # a directory entry
                continue
            digest, _, shingles = unpack_entry(blob, self.bands)
            theirs.append((k, rid, int(position), digest, shingles))
        return self._best(mine, theirs)

    def _best(
        self,
        mine: list[_Paragraph],
        theirs: list[tuple[int, str, int, npt.NDArray[np.uint64], npt.NDArray[np.uint32]]],
    ) -> dict[int, list[KnownParagraph]]:
        """Each of `mine`'s best verified match among `theirs` (`(k, record id, position, digest, set)`)."""
        best: dict[int, tuple[tuple[float, float, str, int], KnownParagraph]] = {}
        inexact = [t for t in theirs if not np.array_equal(t[3], mine[t[0]].digest)]
        verdict = _verify([mine[t[0]].shingles for t in inexact], [t[4] for t in inexact], self.verify_cfg)
        scored: list[tuple[int, KnownParagraph]] = []
        for k, rid, position, digest, _ in theirs:
            if np.array_equal(digest, mine[k].digest):
                scored.append((k, KnownParagraph(mine[k].position, rid, position, 1.0, "exact")))
        for q, (k, rid, position, _, _) in enumerate(inexact):
            if not verdict.keep[q] or int(verdict.inside[q]) == lsh.SECOND_INSIDE:
                continue
            by = "jaccard" if verdict.similar[q] and int(verdict.inside[q]) == lsh.MUTUAL else "containment"
            scored.append((k, KnownParagraph(mine[k].position, rid, position, float(verdict.jaccard[q]), by)))
        for k, known in scored:
            rank = (
                -float(known.matched_by == "exact"),
                -known.similarity,
                known.duplicate_of,
                known.indexed_paragraph,
            )
            if k not in best or rank < best[k][0]:
                best[k] = (rank, known)
        out: dict[int, list[KnownParagraph]] = {}
        for k in sorted(best):
            out.setdefault(mine[k].record, []).append(best[k][1])
        return out

    def within(
        self, mine: list[_Paragraph], earlier: list[tuple[str, _Paragraph]]
    ) -> dict[int, list[KnownParagraph]]:
        """`known` against the paragraphs of records added earlier in the batch: `(record id, paragraph)`."""
        if not mine or not earlier:
            return {}
        by_digest: dict[bytes, list[int]] = {}
        by_key: dict[int, list[int]] = {}
        for e, (_, p) in enumerate(earlier):
            by_digest.setdefault(p.digest.tobytes(), []).append(e)
            for key in p.keys.tolist():
                by_key.setdefault(key, []).append(e)
        theirs = []
        for k, p in enumerate(mine):
            found = set(by_digest.get(p.digest.tobytes(), []))
            found.update(e for key in p.keys.tolist() for e in by_key.get(key, []))
            for e in sorted(found):
                rid, q = earlier[e]
                theirs.append((k, rid, q.position, q.digest, q.shingles))
        return self._best(mine, theirs)

    # Writing ------------------------------------------------------------------------------------

    def insert(self, records: list[tuple[str, list[_Paragraph]]]) -> None:
        """Store the paragraphs of new records: `(record id, its paragraphs that count)`; stored ones stay."""
        if not records:
            return
        directory = [f"{rid}{SEPARATOR}" for rid, _ in records]
        present = self.store.find(directory)
        fresh = [(rid, paragraphs) for rid, paragraphs in records if f"{rid}{SEPARATOR}" not in present]
        ids, blobs, exact, keys = [], [], [], []
        for rid, paragraphs in fresh:
            for p in paragraphs:
                ids.append(f"{rid}{SEPARATOR}{p.position}")
                blobs.append(pack_entry(p.digest, p.keys, p.shingles))
                exact.append(p.digest[0])
                keys.append(p.keys)
        if ids:
            self.store.insert(ids, blobs, np.array(exact, dtype=np.uint64), np.stack(keys).astype(np.uint64))
        if fresh:
            positions = [np.array([p.position for p in ps], dtype="<u4").tobytes() for _, ps in fresh]
            dir_keys = np.array([_directory_key(rid) for rid, _ in fresh], dtype=np.uint64)
            dir_ids = [f"{rid}{SEPARATOR}" for rid, _ in fresh]
            self.store.insert(dir_ids, positions, dir_keys, np.empty((len(fresh), 0), dtype=np.uint64))

    def remove(self, ids: list[str]) -> None:
        """Forget the paragraphs of records by id."""
        entries = self.store.find([f"{rid}{SEPARATOR}" for rid in ids])
        if not entries:
            return
        wanted = []
        for entry, (_, blob) in entries.items():
            rid = entry[: -len(SEPARATOR)]
            wanted += [f"{rid}{SEPARATOR}{int(k)}" for k in np.frombuffer(blob, dtype="<u4").tolist()]
        found = self.store.find(wanted)
        if found:
            parsed = [unpack_entry(blob, self.bands) for _, blob in found.values()]
            self.store.delete(
                [num for num, _ in found.values()],
                np.array([p[0][0] for p in parsed], dtype=np.uint64),
                np.stack([p[1] for p in parsed]).astype(np.uint64),
            )
        dir_nums = [num for num, _ in entries.values()]
        dir_keys = np.array([_directory_key(e[: -len(SEPARATOR)]) for e in entries], dtype=np.uint64)
        self.store.delete(dir_nums, dir_keys, np.empty((len(dir_nums), 0), dtype=np.uint64))


def _verify(
    mine: list[npt.NDArray[np.uint32]], theirs: list[npt.NDArray[np.uint32]], cfg: lsh.LSHConfig
) -> lsh.Verdict:
    """Verify pairs `(mine[k], theirs[k])` of shingle sets."""
    if not mine:
        return lsh.Verdict.empty()
    sets = [*mine, *theirs]
    sizes = np.array([len(s) for s in sets], dtype=np.int64)
    offsets = np.zeros(len(sets) + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    k = len(mine)
    pairs = np.stack([np.arange(k), np.arange(k, 2 * k)], axis=1).astype(np.int64)
    return lsh.verify(pairs, np.empty((2 * k, 0), np.uint32), (np.concatenate(sets), offsets), cfg)
