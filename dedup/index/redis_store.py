"""The Redis store: an index shared by workers on several machines.

Keys live under one namespace (`index.name`, default `dedup`):

    <ns>:meta           hash: fingerprint and settings
    <ns>:next           counter: the last record number given out
    <ns>:rec            hash: number -> id length (2 bytes) + id + blob
    <ns>:id             hash: id -> number
    <ns>:x:<p> <ns>:b:<p>
                        hashes of the exact and band keys, spread over 4,096 hashes by the key's
                        low bits: field = the 8-byte key, value = the packed record numbers

Packing many keys into a few thousand hashes keeps Redis's per-key overhead off the bill (a
bucket per key, as datasketch stores it, costs a Redis key per band per record). Writers hold a
lock (`SET NX` with a token and a timeout, released by a compare-and-delete script: redis-py's
`Lock`), so a check and the add that follows it see the same index from any machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import numpy as np
import numpy.typing as npt

from dedup.errors import EngineError
from dedup.index.store import Reentrant, Table

_SPREAD = 4096
_PREFIX = {"exact": "x", "band": "b"}


class RedisStore:
    """An index in Redis (`redis://host:port/db`)."""

    def __init__(self, url: str, name: str = "dedup", lock_timeout: float = 60.0) -> None:
        try:
            import redis  # noqa: PLC0415 - imported when a Redis index is opened
        except ImportError:  # pragma: no cover - the dependency is declared
            raise EngineError("a redis:// index needs the redis package (pip install redis)") from None
        self.ns = name
        self.client: Any = redis.Redis.from_url(url)
        self.lock_timeout = lock_timeout
        self.reentrant = Reentrant()
        try:
            self.client.ping()
        except redis.RedisError as err:
            raise EngineError(f"{url}: cannot reach Redis: {err}") from None

    def _key(self, *parts: str) -> str:
        return ":".join((self.ns, *parts))

    def locked(self) -> AbstractContextManager[None]:
        """Hold the index's lock (redis-py's `Lock`); nested calls join it."""
        return self.reentrant.hold(self._take_lock)

    @contextmanager
    def _take_lock(self) -> Iterator[None]:
        lock = self.client.lock(
            self._key("lock"), timeout=self.lock_timeout, blocking_timeout=self.lock_timeout
        )
        if not lock.acquire():
            raise EngineError(f"{self.ns}: could not take the index lock within {self.lock_timeout:.0f} s")
        try:
            yield
        finally:
            lock.release()

    def read_meta(self) -> dict[str, str]:
        """See `Store`."""
        raw = self.client.hgetall(self._key("meta"))
        return {k.decode(): v.decode() for k, v in raw.items()}

    def write_meta(self, meta: dict[str, str]) -> None:
        """See `Store`."""
        self.client.hset(self._key("meta"), mapping=meta)

    def _bucket(self, table: Table, key: int) -> str:
        return self._key(_PREFIX[table], str(key % _SPREAD))

    def lookup(
        self, table: Table, keys: npt.NDArray[np.uint64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """See `Store`."""
        values = np.ascontiguousarray(keys, dtype=np.uint64).tolist()
        pipe = self.client.pipeline(transaction=False)
        for key in values:
            pipe.hget(self._bucket(table, key), key.to_bytes(8, "little"))
        at: list[int] = []
        nums: list[int] = []
        for i, packed in enumerate(pipe.execute()):
            if packed:
                found = np.frombuffer(packed, dtype=np.int64).tolist()
                at.extend([i] * len(found))
                nums.extend(found)
        return np.array(at, dtype=np.int64), np.array(nums, dtype=np.int64)

    def fetch(self, nums: list[int]) -> dict[int, tuple[str, bytes]]:
        """See `Store`."""
        if not nums:
            return {}
        out = {}
        for num, raw in zip(nums, self.client.hmget(self._key("rec"), nums), strict=True):
            if raw is not None:
                size = int.from_bytes(raw[:2], "little")
                out[num] = (raw[2 : 2 + size].decode(), bytes(raw[2 + size :]))
        return out

    def find(self, ids: list[str]) -> dict[str, tuple[int, bytes]]:
        """See `Store`."""
        if not ids:
            return {}
        nums = {rid: int(n) for rid, n in zip(ids, self.client.hmget(self._key("id"), ids), strict=True) if n}
        records = self.fetch(list(nums.values()))
        return {rid: (num, records[num][1]) for rid, num in nums.items() if num in records}

    def _append(self, pipe: Any, table: Table, keys: list[int], nums: list[int]) -> None:
        """Add `nums` to the entries of `keys` (read, then write: the caller holds the lock)."""
        by_key: dict[int, list[int]] = {}
        for key, num in zip(keys, nums, strict=True):
            by_key.setdefault(key, []).append(num)
        distinct = list(by_key)
        read = self.client.pipeline(transaction=False)
        for key in distinct:
            read.hget(self._bucket(table, key), key.to_bytes(8, "little"))
        for key, packed in zip(distinct, read.execute(), strict=True):
            held = np.frombuffer(packed, dtype=np.int64).tolist() if packed else []
            merged = np.array(sorted(set(held) | set(by_key[key])), dtype=np.int64)
            pipe.hset(self._bucket(table, key), key.to_bytes(8, "little"), merged.tobytes())

    def insert(
        self, ids: list[str], blobs: list[bytes], exact: npt.NDArray[np.uint64], bands: npt.NDArray[np.uint64]
    ) -> None:
        """See `Store`."""
        if not ids:
            return
        with self.locked():
            last = int(self.client.incrby(self._key("next"), len(ids)))
            nums = list(range(last - len(ids) + 1, last + 1))
            pipe = self.client.pipeline(transaction=True)
            for num, rid, blob in zip(nums, ids, blobs, strict=True):
                encoded = rid.encode()
                pipe.hset(self._key("rec"), num, len(encoded).to_bytes(2, "little") + encoded + blob)
                pipe.hset(self._key("id"), rid, num)
            self._append(pipe, "exact", np.asarray(exact, dtype=np.uint64).tolist(), nums)
            width = bands.shape[1] if bands.ndim == 2 else 0
            band_keys = np.asarray(bands, dtype=np.uint64).reshape(-1).tolist()
            self._append(pipe, "band", band_keys, [n for n in nums for _ in range(width)])
            pipe.execute()

    def delete(self, nums: list[int], exact: npt.NDArray[np.uint64], bands: npt.NDArray[np.uint64]) -> None:
        """See `Store`."""
        if not nums:
            return
        with self.locked():
            records = self.fetch(nums)
            pipe = self.client.pipeline(transaction=True)
            width = bands.shape[1] if bands.ndim == 2 else 0
            gone = set(nums)
            pairs = [("exact", int(k), n) for k, n in zip(np.asarray(exact).tolist(), nums, strict=True)]
            flat = np.asarray(bands, dtype=np.uint64).reshape(-1).tolist()
            pairs += [
                ("band", int(k), n)
                for k, n in zip(flat, [n for n in nums for _ in range(width)], strict=True)
            ]
            for table, key, _ in pairs:
                field = key.to_bytes(8, "little")
                packed = self.client.hget(self._bucket(table, key), field)  # type: ignore[arg-type]
                held = [
                    x
                    for x in (np.frombuffer(packed, dtype=np.int64).tolist() if packed else [])
                    if x not in gone
                ]
                if held:
                    pipe.hset(self._bucket(table, key), field, np.array(held, dtype=np.int64).tobytes())  # type: ignore[arg-type]
                else:
                    pipe.hdel(self._bucket(table, key), field)  # type: ignore[arg-type]
            for num in nums:
                pipe.hdel(self._key("rec"), num)
                if num in records:
                    pipe.hdel(self._key("id"), records[num][0])
            pipe.execute()

    def count(self) -> int:
        """See `Store`."""
        return int(self.client.hlen(self._key("rec")))

    def nbytes(self) -> int:
        """See `Store`: Redis's own count of the memory each of the index's keys takes."""
        total = 0
        for key in self.client.scan_iter(match=f"{self.ns}:*", count=1000):
            total += int(self.client.memory_usage(key, samples=0) or 0)
        return total

    def clear(self) -> None:
        """Delete every key of the namespace (tests and benchmarks)."""
        for key in self.client.scan_iter(match=f"{self.ns}:*", count=1000):
            self.client.delete(key)

    def close(self) -> None:
        """See `Store`."""
        self.client.close()
