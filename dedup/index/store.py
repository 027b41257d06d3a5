"""Index storage: the small protocol an index backend implements, and the embedded SQLite one.

A store holds, per indexed record, an integer number, its id and a blob (digest, band keys,
shingle set), plus two key tables mapping 64-bit keys to record numbers: `exact` (the digest's
first word) and `band` (the LSH band keys). `locked()` gives one writer at a time across
processes (and machines, for Redis), so a check and the add that follows it see the same index.

SQLite is the embedded default: it is in Python's standard library, needs no server, survives
restarts and crashes (a transaction is all or nothing), and its file locks make concurrent
writers from several processes safe (`BEGIN IMMEDIATE`, waiting up to `lock_timeout`). In WAL
mode readers do not wait for writers.
"""

from __future__ import annotations

import sqlite3
import urllib.parse
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from dedup.errors import EngineError, IndexMismatchError

Table = Literal["exact", "band"]


_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS records "
    "(num INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, blob BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS exact (key INTEGER, num INTEGER, PRIMARY KEY (key, num)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS band (key INTEGER, num INTEGER, PRIMARY KEY (key, num)) WITHOUT ROWID",
)
_TABLES = frozenset({"meta", "records", "exact", "band"})
_CHUNK = 500  # keys per SQL statement (well under SQLite's variable limit)


class Store(Protocol):
    """What an index needs from its storage."""

    def read_meta(self) -> dict[str, str]:
        """The index's metadata (empty for a new index)."""
        ...

    def write_meta(self, meta: dict[str, str]) -> None:
        """Store metadata (fingerprint, settings)."""
        ...

    def locked(self) -> AbstractContextManager[None]:
        """Hold the index's write lock (one writer at a time, across processes)."""
        ...

    def lookup(
        self, table: Table, keys: npt.NDArray[np.uint64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """`(position in keys, record number)` for every stored entry under one of `keys`."""
        ...

    def fetch(self, nums: list[int]) -> dict[int, tuple[str, bytes]]:
        """`{number: (id, blob)}` for the stored records among `nums`."""
        ...

    def find(self, ids: list[str]) -> dict[str, tuple[int, bytes]]:
        """`{id: (number, blob)}` for the stored records among `ids`."""
        ...

    def insert(
        self, ids: list[str], blobs: list[bytes], exact: npt.NDArray[np.uint64], bands: npt.NDArray[np.uint64]
    ) -> None:
        """Add records (ids not yet stored) with their exact keys `(n,)` and band keys `(n, bands)`."""
        ...

    def delete(self, nums: list[int], exact: npt.NDArray[np.uint64], bands: npt.NDArray[np.uint64]) -> None:
        """Remove records and their keys."""
        ...

    def count(self) -> int:
        """Records stored."""
        ...

    def nbytes(self) -> int:
        """Bytes the index takes in its storage."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class Reentrant:
    """A lock that nested calls join: `hold(take)` runs `take()` (a context manager) only outermost."""

    def __init__(self) -> None:
        self.depth = 0

    @contextmanager
    def hold(self, take: Any) -> Iterator[None]:
        """Hold the lock `take()` gives, unless this object already holds it."""
        if self.depth:
            self.depth += 1
            try:
                yield
            finally:
                self.depth -= 1
            return
        with take():
            self.depth = 1
            try:
                yield
            finally:
                self.depth = 0


def is_redis(path_or_url: str) -> bool:
    """Whether an index's `path_or_url` names a Redis server (else a SQLite file)."""
    return path_or_url.startswith(("redis://", "rediss://", "unix://"))


#: SQLite's name for a database held in memory (gone with its connection), not a file.
MEMORY = ":memory:"


def _location(path: str) -> str:
    """The SQLite URI of the file `path` names, as written (or `MEMORY`).

    SQLite as Python ships it reads a name starting `file:` as a URI, so `file::memory:` or
    `file:x?mode=memory` would be a database in memory, gone on close, while the index looks for
    the file beside it. Every other path is made a `file:` URI of the absolute path, percent-encoded:
    the name is a file's, whatever it holds.
    """
    if path == MEMORY:
        return path
    # An empty authority ("file://" + "/..."): POSIX lets an absolute path start with "//", which
    # right after "file:" would name a host.
    return "file://" + urllib.parse.quote(str(Path(path).absolute()))


class SQLiteStore:
    """The embedded store: one SQLite file, WAL mode, safe for several writing processes.

    Raises:
        IndexMismatchError: the file is not SQLite, or a database that is not a dedup index (its
            tables are not an index's): nothing is written into it.
        EngineError: SQLite fails, or another writer holds the write lock past `lock_timeout`.
    """

    def __init__(self, path: str, lock_timeout: float = 60.0) -> None:
        self.path = Path(path)  # as given, for messages
        # The file itself, whatever directory the caller moves to later (`nbytes`).
        self.file = self.path if path == MEMORY else self.path.absolute()
        self.lock_timeout = lock_timeout
        if self.path.parent and not self.path.parent.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(_location(path), timeout=lock_timeout, isolation_level=None, uri=True)
            tables = self._tables()
        except sqlite3.DatabaseError as err:
            raise IndexMismatchError(f"{path}: not a dedup index (SQLite says: {err})") from None
        if tables and tables != _TABLES:
            self.db.close()
            raise IndexMismatchError(
                f"{path}: not a dedup index (a database with tables {', '.join(sorted(tables))}); dedup "
                "never writes into a database it did not create: choose another index.path"
            )
        self.reentrant = Reentrant()
        with self._errors():
            if not tables:  # an empty database (a new file): make it an index
                self.db.execute("PRAGMA journal_mode=WAL")
                with self._write():
                    if not self._tables():
                        for statement in _SCHEMA:
                            self.db.execute(statement)
            self.db.execute("PRAGMA synchronous=NORMAL")

    def _tables(self) -> frozenset[str]:
        rows = self.db.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
        return frozenset(name for (name,) in rows if not name.startswith("sqlite_"))

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """SQLite's errors as `EngineError`s naming the file; a lock held too long says so."""
        try:
            yield
        except sqlite3.OperationalError as err:
            if "locked" in str(err) or "busy" in str(err):
                raise EngineError(
                    f"{self.path}: another writer held the index's write lock for longer than "
                    f"index.lock_timeout ({self.lock_timeout:g} s); retry, or raise index.lock_timeout"
                ) from None
            raise EngineError(f"{self.path}: SQLite failed: {err}") from None
        except sqlite3.Error as err:
            raise EngineError(f"{self.path}: SQLite failed: {err}") from None

    @contextmanager
    def _write(self) -> Iterator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with self._errors(), self._write():
            yield

    def locked(self) -> AbstractContextManager[None]:
        """One transaction holding SQLite's write lock; nested calls join it."""
        return self.reentrant.hold(self._locked)

    def read_meta(self) -> dict[str, str]:
        """See `Store`."""
        with self._errors():
            return dict(self.db.execute("SELECT key, value FROM meta").fetchall())

    def write_meta(self, meta: dict[str, str]) -> None:
        """See `Store`."""
        with self.locked():
            self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(meta.items()))

    def lookup(
        self, table: Table, keys: npt.NDArray[np.uint64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """See `Store`."""
        signed = np.ascontiguousarray(keys, dtype=np.uint64).view(np.int64)
        where: dict[int, list[int]] = {}
        for i, key in enumerate(signed.tolist()):
            where.setdefault(key, []).append(i)
        found_at: list[int] = []
        found_num: list[int] = []
        distinct = list(where)
        for key, num in self._select(f"SELECT key, num FROM {table} WHERE key IN ({{marks}})", distinct):
            for i in where[key]:
                found_at.append(i)
                found_num.append(num)
        return np.array(found_at, dtype=np.int64), np.array(found_num, dtype=np.int64)

    def _select(self, sql: str, values: list[Any]) -> Iterator[tuple[Any, ...]]:
        """Rows of `sql` (whose `IN (...)` is `{marks}`) for `values`, a chunk at a time."""
        with self._errors():
            for start in range(0, len(values), _CHUNK):
                part = values[start : start + _CHUNK]
                yield from self.db.execute(sql.format(marks=",".join("?" * len(part))), part)

    def fetch(self, nums: list[int]) -> dict[int, tuple[str, bytes]]:
        """See `Store`."""
        rows = self._select("SELECT num, id, blob FROM records WHERE num IN ({marks})", list(nums))
        return {num: (rid, blob) for num, rid, blob in rows}

    def find(self, ids: list[str]) -> dict[str, tuple[int, bytes]]:
        """See `Store`."""
        rows = self._select("SELECT num, id, blob FROM records WHERE id IN ({marks})", list(ids))
        return {rid: (num, blob) for num, rid, blob in rows}

    def insert(
        self, ids: list[str], blobs: list[bytes], exact: npt.NDArray[np.uint64], bands: npt.NDArray[np.uint64]
    ) -> None:
        """See `Store`."""
        with self.locked():
            nums: list[int] = []
            for rid, blob in zip(ids, blobs, strict=True):
                cursor = self.db.execute("INSERT INTO records (id, blob) VALUES (?, ?)", (rid, blob))
                nums.append(int(cursor.lastrowid or 0))
            exact_rows, band_rows = _key_rows(nums, exact, bands)
            self.db.executemany("INSERT OR IGNORE INTO exact VALUES (?, ?)", exact_rows)
            self.db.executemany("INSERT OR IGNORE INTO band VALUES (?, ?)", band_rows)

    def delete(self, nums: list[int], exact: npt.NDArray[np.uint64], bands: npt.NDArray[np.uint64]) -> None:
        """See `Store`."""
        with self.locked():
            exact_rows, band_rows = _key_rows(nums, exact, bands)
            self.db.executemany("DELETE FROM exact WHERE key = ? AND num = ?", exact_rows)
            self.db.executemany("DELETE FROM band WHERE key = ? AND num = ?", band_rows)
            self.db.executemany("DELETE FROM records WHERE num = ?", [(n,) for n in nums])

    def count(self) -> int:
        """See `Store`."""
        with self._errors():
            return int(self.db.execute("SELECT count(*) FROM records").fetchone()[0])

    def nbytes(self) -> int:
        """See `Store`: the database file and its write-ahead log (an in-memory database's pages)."""
        if str(self.file) == MEMORY:
            pages = self.db.execute("PRAGMA page_count").fetchone()[0]
            return int(pages) * int(self.db.execute("PRAGMA page_size").fetchone()[0])
        wal = self.file.with_name(self.file.name + "-wal")
        return self.file.stat().st_size + (wal.stat().st_size if wal.exists() else 0)

    def close(self) -> None:
        """See `Store`."""
        self.db.close()


def _key_rows(
    nums: list[int], exact: npt.NDArray[np.uint64], bands: npt.NDArray[np.uint64]
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """`(key, number)` rows of the exact and band tables (keys as SQLite's signed 64-bit integers)."""
    exact_keys = np.ascontiguousarray(exact, dtype=np.uint64).view(np.int64).tolist()
    band_keys = np.ascontiguousarray(bands, dtype=np.uint64).view(np.int64).tolist()
    exact_rows = list(zip(exact_keys, nums, strict=True))
    band_rows = [(key, num) for num, keys in zip(nums, band_keys, strict=True) for key in keys]
    return exact_rows, band_rows


def pack_entry(
    digest: npt.NDArray[np.uint64], keys: npt.NDArray[np.uint64], shingles: npt.NDArray[np.uint32]
) -> bytes:
    """One stored unit (a record or a paragraph) as the blob a store keeps beside its id.

    Args:
        digest: `uint64 (2,)`, the xxh3-128 digest of the unit's hashing form.
        keys: `uint64 (bands,)`, its LSH band keys.
        shingles: `uint32 (k,)`, its sorted distinct shingle hashes.

    Returns:
        `16 + 8 * bands + 4 * k` bytes, little-endian: digest, band keys, shingles.
    """
    return digest.astype("<u8").tobytes() + keys.astype("<u8").tobytes() + shingles.astype("<u4").tobytes()


def unpack_entry(
    blob: bytes, bands: int
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64], npt.NDArray[np.uint32]]:
    """The `(digest, band keys, shingles)` of a blob written by `pack_entry` with `bands` band keys."""
    digest = np.frombuffer(blob[:16], dtype="<u8").astype(np.uint64)
    keys = np.frombuffer(blob[16 : 16 + 8 * bands], dtype="<u8").astype(np.uint64)
    return digest, keys, np.frombuffer(blob[16 + 8 * bands :], dtype="<u4").astype(np.uint32)
