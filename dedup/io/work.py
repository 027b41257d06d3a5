"""Checkpoints: a run's finished work on disk, so a killed run resumes where it stopped.

A run's checkpoints live in `<output.dir>/.dedup-work/<key>/`, where the key is a digest of the
input files' contents and of every setting that changes the outputs. A rerun with the same key
reuses what is there; any other key's folder is stale and removed. Each piece is written under a
temporary name and renamed, and a shard counts as done only once its marker (written last) is
there, so a kill at any point leaves either a finished piece or none. The marker holds each
piece's size and xxh3 digest, and a piece is reused only when both match: a power cut can leave a
renamed file whose blocks never reached the disk (zeroed, at its full size), so checkpoints are
verified when reused rather than fsynced when written.

    shards/<file>-<part>.arrow        the shard's cleaned records (no raw text)
    shards/<file>-<part>.<array>.npy  digests, signatures, band keys, lengths
    shards/<file>-<part>.rejects.arrow
    shards/<file>-<part>.json         the marker: counts, and the size and digest of every piece
    files/<file>.json                 the file's shard names, once all of them are done
    global.npz + global.json          the resolved duplicates
    stage/                            the output files, before they are published
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import xxhash
from pyarrow import ipc

from dedup.io.writers import digest_file

WORK = ".dedup-work"
#: The suffix of a shard's records handed to a worker process (`WorkDir.handed_file`).
HANDED = "handed.arrow"
_HASH_BLOCK = 4 << 20


@dataclass(frozen=True, slots=True)
class InputFile:
    """An input file as a run saw it: its display path, size and content digest (xxh3-64, hex)."""

    path: str
    bytes: int
    xxh3: str


def describe(paths: list[str]) -> list[InputFile]:
    """Size and content digest of each input file (an unreadable file gets an empty digest)."""
    out = []
    for path in paths:
        hasher = xxhash.xxh3_64()
        size = 0
        try:
            with open(path, "rb") as handle:
                while block := handle.read(_HASH_BLOCK):
                    hasher.update(block)
                    size += len(block)
            out.append(InputFile(path, size, hasher.hexdigest()))
        except OSError:
            out.append(InputFile(path, -1, ""))
    return out


def run_key(settings: dict[str, Any], inputs: list[InputFile]) -> str:
    """The checkpoint key: a digest of the output-changing settings and the inputs' contents."""
    data = {"settings": settings, "inputs": [[f.path, f.bytes, f.xxh3] for f in inputs]}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:20]


def _atomic(path: Path, write: Any) -> int:
    """Write `path` through a temporary name; return its size."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(temp)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return path.stat().st_size


def _intact(path: Path, about: Any) -> bool:
    """Whether `path` still has the size and digest recorded when it was written."""
    return (
        isinstance(about, dict)
        and path.stat().st_size == about.get("bytes")
        and digest_file(path) == about.get("xxh3")
    )


def save_table(path: Path, table: pa.Table) -> int:
    """Write an Arrow IPC file (memory-mappable) atomically; return its size."""

    def write(temp: Path) -> None:
        with pa.OSFile(str(temp), "wb") as sink, ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)

    return _atomic(path, write)


def load_table(path: Path) -> pa.Table:
    """An Arrow IPC file, memory-mapped (its pages are read only when touched)."""
    return ipc.open_file(pa.memory_map(str(path), "r")).read_all()


def save_array(path: Path, array: npt.NDArray[Any]) -> int:
    """Write a `.npy` file atomically; return its size."""

    def write(temp: Path) -> None:
        with open(temp, "wb") as handle:
            np.save(handle, np.ascontiguousarray(array), allow_pickle=False)

    return _atomic(path, write)


def load_array(path: Path) -> npt.NDArray[Any]:
    """A `.npy` file, memory-mapped read-only.

    Arrow maps the file (numpy's own mapping keeps a file descriptor open per array, and a run
    over tens of thousands of input files would run out of them).
    """
    with open(path, "rb") as handle:
        version = np.lib.format.read_magic(handle)
        read_header = (
            np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        )
        shape, fortran, dtype = read_header(handle)
        offset = handle.tell()
    count = int(np.prod(shape, dtype=np.int64))
    mapped = pa.memory_map(str(path), "r").read_buffer()
    flat = np.frombuffer(mapped, dtype=dtype, count=count, offset=offset)
    return flat.reshape(shape, order="F" if fortran else "C")


def load_schema(path: Path) -> pa.Schema:
    """The schema of an Arrow IPC file (its data is not read)."""
    with pa.OSFile(str(path), "rb") as handle:
        return ipc.open_file(handle).schema


def save_json(path: Path, data: Any) -> int:
    """Write JSON atomically; return its size."""
    text = json.dumps(data, sort_keys=True)
    return _atomic(path, lambda temp: Path(temp).write_text(text, encoding="utf-8"))


def _about(path: Path) -> dict[str, Any]:
    return {"bytes": path.stat().st_size, "xxh3": digest_file(path)}


class WorkDir:
    """One run's checkpoint folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.shards = root / "shards"
        self.files = root / "files"
        self.stage = root / "stage"
        self._verified: dict[str, dict[str, Any]] = {}  # shard markers whose pieces were checked

    @classmethod
    def open(cls, output_dir: Path, key: str) -> WorkDir:
        """The checkpoint folder for `key` under `output_dir`, created; other keys' folders removed."""
        base = output_dir / WORK
        if base.is_dir():
            for other in base.iterdir():
                if other.name != key:
                    shutil.rmtree(other, ignore_errors=True)
        work = cls(base / key)
        for folder in (work.shards, work.files, work.stage):
            folder.mkdir(parents=True, exist_ok=True)
        for stale in work.shards.glob(f"*.{HANDED}"):  # handed to a worker that never took it
            stale.unlink(missing_ok=True)
        return work

    @staticmethod
    def exists(output_dir: Path, key: str) -> bool:
        """Whether `output_dir` holds checkpoints for `key` (a run of the same work was interrupted)."""
        return (output_dir / WORK / key).is_dir()

    def remove(self) -> None:
        """Remove this run's checkpoints (and the work folder when it is left empty)."""
        shutil.rmtree(self.root, ignore_errors=True)
        with contextlib.suppress(OSError):
            self.root.parent.rmdir()

    def size(self) -> int:
        """Bytes the checkpoints take on disk."""
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())

    # Shards -------------------------------------------------------------------------------------

    def shard_file(self, name: str, piece: str) -> Path:
        """The path of one piece of a shard (`arrow`, `rejects.arrow`, `<array>.npy`)."""
        return self.shards / f"{name}.{piece}"

    def handed_file(self, name: str) -> Path:
        """Where shard `name`'s records wait for the worker process that makes it.

        The worker removes the file as it takes the records; `open` removes those of an
        interrupted run. No shard's marker names it: it is never a checkpoint.
        """
        return self.shard_file(name, HANDED)

    def save_shard(
        self,
        name: str,
        table: pa.Table,
        rejects: pa.Table,
        arrays: dict[str, npt.NDArray[Any]],
        meta: dict[str, Any],
    ) -> None:
        """Write a shard's pieces, then its marker (each piece's size and digest)."""
        save_table(self.shard_file(name, "arrow"), table)
        save_table(self.shard_file(name, "rejects.arrow"), rejects)
        for key, array in arrays.items():
            save_array(self.shard_file(name, f"{key}.npy"), array)
        pieces = ["arrow", "rejects.arrow", *(f"{key}.npy" for key in arrays)]
        about = {piece: _about(self.shard_file(name, piece)) for piece in pieces}
        marker = {**meta, "pieces": about}
        save_json(self.shard_file(name, "json"), marker)
        self._verified[name] = marker

    def shard_meta(self, name: str) -> dict[str, Any] | None:
        """A finished shard's marker, or None when the shard is not done or a piece is damaged.

        A piece is damaged when its size or digest differs from the marker's.
        """
        if name in self._verified:
            return self._verified[name]
        marker = self.shard_file(name, "json")
        try:
            meta = typing.cast(dict[str, Any], json.loads(marker.read_text(encoding="utf-8")))
            for piece, about in meta["pieces"].items():
                if not _intact(self.shard_file(name, piece), about):
                    return None
        except (OSError, ValueError, KeyError, AttributeError):
            return None
        self._verified[name] = meta
        return meta

    def file_shards(self, index: int) -> list[str] | None:
        """The shard names of input file `index` when all of them are done, else None."""
        try:
            names = json.loads((self.files / f"{index:05d}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(names, list) or any(self.shard_meta(str(n)) is None for n in names):
            return None
        return [str(n) for n in names]

    def finish_file(self, index: int, names: list[str]) -> None:
        """Record that every shard of input file `index` is done."""
        save_json(self.files / f"{index:05d}.json", names)

    # The resolved duplicates ----------------------------------------------------------------------

    def save_global(self, arrays: dict[str, npt.NDArray[Any]], meta: dict[str, Any]) -> None:
        """Write the global step's arrays, then its marker."""

        def write(temp: Path) -> None:
            with open(temp, "wb") as handle:
                np.savez(handle, allow_pickle=False, **arrays)

        _atomic(self.root / "global.npz", write)
        save_json(self.root / "global.json", {**meta, "npz": _about(self.root / "global.npz")})

    def load_global(self) -> tuple[dict[str, npt.NDArray[Any]], dict[str, Any]] | None:
        """The global step's arrays and marker, or None when it is not done (or is damaged)."""
        try:
            meta = json.loads((self.root / "global.json").read_text(encoding="utf-8"))
            path = self.root / "global.npz"
            if not _intact(path, meta["npz"]):
                return None
            with np.load(path, allow_pickle=False) as data:
                return {key: data[key] for key in data.files}, meta
        except (OSError, ValueError, KeyError):
            return None

    # Staged outputs ------------------------------------------------------------------------------

    def staged(self) -> dict[str, Any] | None:
        """The staged outputs' marker (names, sizes, digests), or None when staging is not done."""
        try:
            meta = typing.cast(dict[str, Any], json.loads((self.stage / "staged.json").read_text("utf-8")))
            for name, about in meta["outputs"].items():
                if not _intact(self.stage / name, about):
                    return None
        except (OSError, ValueError, KeyError, AttributeError, TypeError):
            return None
        return meta

    def finish_stage(self, meta: dict[str, Any]) -> None:
        """Record that every output file is staged."""
        save_json(self.stage / "staged.json", meta)
