"""The Redis store: an index shared by workers on several machines.

Keys live under one namespace (`index.name`, default `dedup`):

    <ns>:meta           hash: fingerprint and settings
    <ns>:next           counter: the last record number given out
    <ns>:rec            hash: number -> id length + id + blob (the length in 2 bytes, or for an id
                        of 65,535 bytes and more, 0xFFFF and then 4 bytes)
    <ns>:id             hash: id -> number
    <ns>:x:<p> <ns>:b:<p>
                        hashes of the exact and band keys, spread over 4,096 hashes by the key's
                        low bits: field = the 8-byte key, value = the packed record numbers

Packing many keys into a few thousand hashes keeps Redis's per-key overhead off the bill (a
bucket per key, as datasketch stores it, costs a Redis key per band per record).

Writers hold a lock (redis-py's `Lock`: `SET NX` with a token and a timeout), so a check and the
add that follows it see the same index from any machine. While it is held, a thread extends it
every third of `lock_timeout`, so a batch may take longer than the timeout. A batch is written by
one Lua script, which Redis runs atomically, and which writes nothing unless the lock still holds
this writer's token: a writer that lost its lock (stalled past the timeout, say) gets an
`EngineError` and leaves no partial batch, and no other writer's batch is interleaved with its own.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import numpy as np
import numpy.typing as npt

from dedup.display import mask_credentials
from dedup.errors import ConfigError, EngineError, IndexMismatchError
from dedup.index.store import Reentrant, Table

_SPREAD = 4096
_PREFIX = {"exact": "x", "band": "b"}
_LONG_ID = 0xFFFF  # an id length of 2 bytes, or this mark and 4 bytes
_LOST = "DEDUP_LOCK_LOST"

# KEYS: lock, rec, id, then buckets. ARGV: token, n, n x (number, id, record), then per bucket
# entry (index of its bucket in KEYS, field, packed numbers to append).
_INSERT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('DEDUP_LOCK_LOST') end
local n = tonumber(ARGV[2])
local a = 3
for i = 1, n do
  redis.call('HSET', KEYS[2], ARGV[a], ARGV[a + 2])
  redis.call('HSET', KEYS[3], ARGV[a + 1], ARGV[a])
  a = a + 3
end
while a <= #ARGV do
  local bucket = KEYS[tonumber(ARGV[a])]
  local held = redis.call('HGET', bucket, ARGV[a + 1])
  redis.call('HSET', bucket, ARGV[a + 1], (held or '') .. ARGV[a + 2])
  a = a + 3
end
return n
"""

# KEYS: lock, rec, id, then buckets. ARGV: token, n, n x (number, id), then the packed numbers
# to remove, then per bucket entry (index of its bucket in KEYS, field).
_DELETE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('DEDUP_LOCK_LOST') end
local n = tonumber(ARGV[2])
local a = 3
for i = 1, n do
  redis.call('HDEL', KEYS[2], ARGV[a])
  if ARGV[a + 1] ~= '' then redis.call('HDEL', KEYS[3], ARGV[a + 1]) end
  a = a + 2
end
local gone = {}
local packed = ARGV[a]
for i = 1, #packed, 8 do gone[string.sub(packed, i, i + 7)] = true end
a = a + 1
while a <= #ARGV do
  local bucket = KEYS[tonumber(ARGV[a])]
  local held = redis.call('HGET', bucket, ARGV[a + 1])
  if held then
    local keep = {}
    for i = 1, #held, 8 do
      local num = string.sub(held, i, i + 7)
      if not gone[num] then keep[#keep + 1] = num end
    end
    if #keep > 0 then
      redis.call('HSET', bucket, ARGV[a + 1], table.concat(keep))
    else
      redis.call('HDEL', bucket, ARGV[a + 1])
    end
  end
  a = a + 2
end
return n
"""


def _pack_record(rid: str, blob: bytes) -> bytes:
    encoded = rid.encode()
    if len(encoded) < _LONG_ID:
        return len(encoded).to_bytes(2, "little") + encoded + blob
    return _LONG_ID.to_bytes(2, "little") + len(encoded).to_bytes(4, "little") + encoded + blob


def _unpack_record(raw: bytes) -> tuple[str, bytes]:
    size, start = int.from_bytes(raw[:2], "little"), 2
    if size == _LONG_ID:
        size, start = int.from_bytes(raw[2:6], "little"), 6
    return raw[start : start + size].decode(), bytes(raw[start + size :])


class RedisStore:
    """An index in Redis (`redis://host:port/db`).

    Raises:
        ConfigError: the URL is not one redis-py reads.
        EngineError: Redis cannot be reached, or fails a command (the URL's password masked).
        IndexMismatchError: the namespace holds keys that are not a dedup index.
    """

    def __init__(self, url: str, name: str = "dedup", lock_timeout: float = 60.0) -> None:
        try:
            import redis  # noqa: PLC0415 - imported when a Redis index is opened
        except ImportError:  # pragma: no cover - the dependency is declared
            raise EngineError("a redis:// index needs the redis package (pip install redis)") from None
        self.redis = redis
        self.ns = name
        self.where = mask_credentials(url)
        try:
            self.client: Any = redis.Redis.from_url(url)
        except ValueError as err:
            raise ConfigError(
                f"{self.where}: not a Redis URL ({mask_credentials(str(err))}); index.path takes a SQLite "
                "file or a URL such as redis://host:6379/0"
            ) from None
        self.lock_timeout = lock_timeout
        self.reentrant = Reentrant()
        self.token: bytes | None = None
        try:
            self.client.ping()
        except redis.RedisError as err:
            raise EngineError(f"{self.where}: cannot reach Redis: {mask_credentials(str(err))}") from None
        self._insert = self.client.register_script(_INSERT)
        self._delete = self.client.register_script(_DELETE)
        with self._errors():
            self._refuse_foreign_keys()

    def _key(self, *parts: str) -> str:
        return ":".join((self.ns, *parts))

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Redis's errors as `EngineError`s naming the server (its password masked)."""
        try:
            yield
        except self.redis.RedisError as err:
            if _LOST in str(err):
                raise EngineError(
                    f"{self.where} ({self.ns}): the index lock was lost before the batch was written "
                    f"(held past index.lock_timeout, {self.lock_timeout:g} s, without being extended); "
                    "nothing of the batch was written: retry it"
                ) from None
            raise EngineError(
                f"{self.where} ({self.ns}): Redis failed: {mask_credentials(str(err))}"
            ) from None

    def _refuse_foreign_keys(self) -> None:
        """Refuse a namespace whose keys this index would write are there without its metadata.

        Those are another application's keys (or a damaged index): writing would change them.
        """
        kind = self.client.type(self._key("meta"))
        kind = kind.decode() if isinstance(kind, bytes) else str(kind)
        if kind == "hash":
            return
        ours = [self._key(name) for name in ("rec", "id", "next")]
        ours += [self._key(prefix, str(p)) for prefix in _PREFIX.values() for p in range(_SPREAD)]
        if kind != "none" or self.client.exists(*ours):
            raise IndexMismatchError(
                f"{self.where}: the namespace '{self.ns}' holds keys that are not a dedup index; "
                "dedup never writes into keys it did not create: choose another index.name"
            )

    def locked(self) -> AbstractContextManager[None]:
        """Hold the index's lock (redis-py's `Lock`, extended while held); nested calls join it."""
        return self.reentrant.hold(self._take_lock)

    @contextmanager
    def _take_lock(self) -> Iterator[None]:
        lock = self.client.lock(
            self._key("lock"),
            timeout=self.lock_timeout,
            blocking_timeout=self.lock_timeout,
            thread_local=False,  # the thread that extends the lock needs its token
        )
        with self._errors():
            acquired = lock.acquire()
        if not acquired:
            raise EngineError(f"{self.ns}: could not take the index lock within {self.lock_timeout:.0f} s")
        self.token = lock.local.token
        stop = threading.Event()
        keeper = threading.Thread(target=self._keep, args=(lock, stop), daemon=True)
        keeper.start()
        try:
            yield
        finally:
            stop.set()
            keeper.join()
            self.token = None
            with contextlib.suppress(self.redis.RedisError):  # lost: every write checked the token
                lock.release()

    def _keep(self, lock: Any, stop: threading.Event) -> None:
        """Extend the held lock every third of its timeout until `stop` (or until it is lost)."""
        while not stop.wait(self.lock_timeout / 3):
            if not self.extend(lock):
                return

    def extend(self, lock: Any) -> bool:
        """Reset the held lock's time to live to `lock_timeout`; False when it is no longer held."""
        try:
            lock.reacquire()
        except self.redis.RedisError:  # redis-py's LockError is one too
            return False
        return True

    def read_meta(self) -> dict[str, str]:
        """See `Store`."""
        with self._errors():
            raw = self.client.hgetall(self._key("meta"))
        return {k.decode(): v.decode() for k, v in raw.items()}

    def write_meta(self, meta: dict[str, str]) -> None:
        """See `Store`."""
        with self._errors():
            self.client.hset(self._key("meta"), mapping=meta)

    def _bucket(self, table: Table, key: int) -> str:
        return self._key(_PREFIX[table], str(key % _SPREAD))

    def lookup(
        self, table: Table, keys: npt.NDArray[np.uint64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """See `Store`."""
        values = np.ascontiguousarray(keys, dtype=np.uint64).tolist()
        with self._errors():
            pipe = self.client.pipeline(transaction=False)
            for key in values:
                pipe.hget(self._bucket(table, key), key.to_bytes(8, "little"))
            found_all = pipe.execute()
        at: list[int] = []
        nums: list[int] = []
        for i, packed in enumerate(found_all):
            if packed:
                found = np.frombuffer(packed, dtype=np.int64).tolist()
                at.extend([i] * len(found))
                nums.extend(found)
        return np.array(at, dtype=np.int64), np.array(nums, dtype=np.int64)

    def fetch(self, nums: list[int]) -> dict[int, tuple[str, bytes]]:
        """See `Store`."""
        if not nums:
            return {}
        with self._errors():
            raws = self.client.hmget(self._key("rec"), nums)
        return {num: _unpack_record(raw) for num, raw in zip(nums, raws, strict=True) if raw is not None}

    def find(self, ids: list[str]) -> dict[str, tuple[int, bytes]]:
        """See `Store`."""
        if not ids:
            return {}
        with self._errors():
            found = self.client.hmget(self._key("id"), ids)
        nums = {rid: int(n) for rid, n in zip(ids, found, strict=True) if n}
        records = self.fetch(list(nums.values()))
        return {rid: (num, records[num][1]) for rid, num in nums.items() if num in records}

    def _entries(
        self, exact: npt.NDArray[np.uint64], bands: npt.NDArray[np.uint64], nums: list[int]
    ) -> dict[tuple[str, bytes], list[int]]:
        """`{(bucket, field): record numbers}` for the exact and band keys of records `nums`."""
        width = bands.shape[1] if bands.ndim == 2 else 0
        pairs = [("exact", int(k), n) for k, n in zip(np.asarray(exact).tolist(), nums, strict=True)]
        flat = np.asarray(bands, dtype=np.uint64).reshape(-1).tolist()
        pairs += [
            ("band", int(k), n) for k, n in zip(flat, [n for n in nums for _ in range(width)], strict=True)
        ]
        entries: dict[tuple[str, bytes], list[int]] = {}
        for table, key, num in pairs:
            entries.setdefault((self._bucket(table, key), key.to_bytes(8, "little")), []).append(num)  # type: ignore[arg-type]
        return entries

    def _run(self, script: Any, head: list[Any], tail: Sequence[tuple[Any, ...]]) -> None:
        """Run a write script: the lock's token and `head`, then per bucket entry its KEYS index."""
        if self.token is None:  # pragma: no cover - writes are made under `locked()`
            raise EngineError(f"{self.ns}: a write without the index lock")
        buckets = list(dict.fromkeys(entry[0] for entry in tail))
        where = {bucket: i + 4 for i, bucket in enumerate(buckets)}  # Lua's KEYS start at 1
        args: list[Any] = [self.token, *head]
        for bucket, *rest in tail:
            args.append(where[bucket])
            args.extend(rest)
        with self._errors():
            script(keys=[self._key("lock"), self._key("rec"), self._key("id"), *buckets], args=args)

    def insert(
        self, ids: list[str], blobs: list[bytes], exact: npt.NDArray[np.uint64], bands: npt.NDArray[np.uint64]
    ) -> None:
        """See `Store`: one atomic script, refused when the lock was lost."""
        if not ids:
            return
        with self.locked():
            with self._errors():
                last = int(self.client.incrby(self._key("next"), len(ids)))
            nums = list(range(last - len(ids) + 1, last + 1))
            head: list[Any] = [len(ids)]
            for num, rid, blob in zip(nums, ids, blobs, strict=True):
                head.extend([num, rid.encode(), _pack_record(rid, blob)])
            tail = [
                (bucket, field, np.array(sorted(found), dtype=np.int64).tobytes())
                for (bucket, field), found in self._entries(exact, bands, nums).items()
            ]
            self._run(self._insert, head, tail)

    def delete(self, nums: list[int], exact: npt.NDArray[np.uint64], bands: npt.NDArray[np.uint64]) -> None:
        """See `Store`: one atomic script, refused when the lock was lost."""
        if not nums:
            return
        with self.locked():
            records = self.fetch(nums)
            head: list[Any] = [len(nums)]
            for num in nums:
                head.extend([num, records[num][0].encode() if num in records else b""])
            head.append(np.array(nums, dtype=np.int64).tobytes())
            tail = [(bucket, field) for bucket, field in self._entries(exact, bands, nums)]
            self._run(self._delete, head, tail)

    def count(self) -> int:
        """See `Store`."""
        with self._errors():
            return int(self.client.hlen(self._key("rec")))

    def nbytes(self) -> int:
        """See `Store`: Redis's own count of the memory each of the index's keys takes."""
        total = 0
        with self._errors():
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
