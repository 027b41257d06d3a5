"""Checkpoints: what keys them, and what is reused (in-process, so mutation runs reach the code).

`tests/test_resume.py` kills real processes; these tests hold the same promises one call at a time:
a checkpoint is keyed by every setting that changes the outputs and by the input files' contents,
and a piece is reused only when its size and digest both match its marker.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import xxhash

from dedup import config_from_dict
from dedup.config import Config, to_dict
from dedup.engines.local import CHECKPOINT_LAYOUT, _settings
from dedup.engines.shards import Limits
from dedup.io import work

LIMITS = Limits.from_budget(4 * 10**9)


def _config(*overrides: str) -> Config:
    return config_from_dict(
        {"input": {"paths": ["in.jsonl"]}, "output": {"dir": "out"}}, overrides=list(overrides)
    )


def _key(config: Config, inputs: list[work.InputFile] | None = None, limits: Limits = LIMITS) -> str:
    files = inputs if inputs is not None else [work.InputFile("in.jsonl", 10, "00ff")]
    return work.run_key(_settings(config, limits), files)


# Every setting that changes a run's outputs, each with a value other than the default.
OUTPUT_SETTINGS = [
    "input.paths=[other.jsonl]",
    "input.format=jsonl",
    "input.id_field=key",
    "input.text_field=body",
    "output.compression=snappy",
    "normalize.content=text",
    "normalize.mail_headers=keep",
    "normalize.max_chars=1000",
    "shingle.ngram=5",
    "minhash.num_perm=64",
    "minhash.seed=2",
    "lsh.threshold=0.6",
    "lsh.bands=16",
    "lsh.rows=4",
    "lsh.false_positive_weight=0.5",
    "lsh.false_negative_weight=0.5",
    "lsh.verify=estimate",
    "lsh.containment=0.9",
    "lsh.figures=false",
    "lsh.min_shingles=5",
    "lsh.short_threshold=0.9",
    "lsh.max_bucket=50",
    "cluster.keep=longest",
    "on_error=fail",
    "granularity=paragraph",
    "paragraphs.min_words=6",
    "paragraphs.min_records=3",
]
# Settings that change where the outputs go or how fast they come, never what they hold.
OTHER_SETTINGS = [
    "output.dir=elsewhere",
    "output.overwrite=true",
    "workers=2",
    "progress=never",
    # The Spark engine's settings: the local engine, whose checkpoints these are, does not read them.
    "spark.master=local[1]",
    "spark.partitions=4",
]


@pytest.mark.parametrize("override", OUTPUT_SETTINGS)
def test_every_output_changing_setting_changes_the_checkpoint_key(override: str) -> None:
    assert _key(_config(override)) != _key(_config())


@pytest.mark.parametrize("override", OTHER_SETTINGS)
def test_where_and_how_fast_do_not_change_the_checkpoint_key(override: str) -> None:
    assert _key(_config(override)) == _key(_config())


def test_the_key_holds_every_config_section_but_the_output_folder_the_pace_and_the_engine() -> None:
    config = _config()
    settings = _settings(config, LIMITS)
    pace = ("workers", "progress", "memory_budget", "engine", "spark")
    expected = {k: v for k, v in to_dict(config).items() if k not in pace}
    expected["output"] = {"compression": "zstd"}
    assert {k: v for k, v in settings.items() if k not in ("limits", "version")} == expected
    assert settings["limits"] == [LIMITS.records, LIMITS.text_bytes]
    assert settings["version"][2] == CHECKPOINT_LAYOUT


def test_the_shard_limits_and_the_input_contents_change_the_key() -> None:
    config = _config()
    small = Limits.from_budget(10**6)
    assert _key(config, limits=small) != _key(config)
    same = [work.InputFile("in.jsonl", 10, "00ff")]
    assert _key(config, [work.InputFile("in.jsonl", 10, "00fe")]) != _key(config, same)  # edited in place
    assert _key(config, [work.InputFile("in.jsonl", 11, "00ff")]) != _key(config, same)
    assert _key(config, [work.InputFile("moved.jsonl", 10, "00ff")]) != _key(config, same)
    assert _key(config, [*same, work.InputFile("more.jsonl", 1, "01")]) != _key(config, same)
    assert _key(config, [work.InputFile("in.jsonl", 10, "00ff")]) == _key(config, same)


def test_the_key_is_twenty_hex_digits_whatever_the_order_of_the_settings() -> None:
    files = [work.InputFile("in.jsonl", 10, "00ff")]
    forward = work.run_key({"a": 1, "b": {"x": 1, "y": 2}}, files)
    assert re.fullmatch(r"[0-9a-f]{20}", forward), "a folder name of 20 hex digits"
    # The same settings built in another order are the same settings.
    assert work.run_key({"b": {"y": 2, "x": 1}, "a": 1}, files) == forward
    # A value JSON cannot write (a path, a date) is keyed by its text rather than stopping the run.
    assert work.run_key({"a": Path("x")}, files) == work.run_key({"a": "x"}, files)


def test_describe_digests_each_file_and_marks_an_unreadable_one(tmp_path: Path) -> None:
    data = b"x" * (3 << 20) + b"tail"  # more than one read block would be with a small block
    (tmp_path / "a").write_bytes(data)
    described = work.describe([str(tmp_path / "a"), str(tmp_path / "missing")])
    # Expected values from xxhash itself, over the whole file at once.
    assert described[0] == work.InputFile(str(tmp_path / "a"), len(data), xxhash.xxh3_64_hexdigest(data))
    assert described[1] == work.InputFile(str(tmp_path / "missing"), -1, "")


def test_describe_reads_a_file_larger_than_its_block_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(work, "_HASH_BLOCK", 5)
    (tmp_path / "a").write_bytes(b"0123456789abc")
    (described,) = work.describe([str(tmp_path / "a")])
    assert (described.bytes, described.xxh3) == (13, xxhash.xxh3_64_hexdigest(b"0123456789abc"))


def _shard(store: work.WorkDir, name: str = "00000-00000") -> None:
    table = pa.table({"id": ["a", "b"], "text": ["one", "two"]})
    rejects = pa.table({"reason": pa.array([], pa.string())})
    arrays = {"digests": np.arange(4, dtype=np.uint64).reshape(2, 2), "lengths": np.array([3, 3])}
    store.save_shard(name, table, rejects, arrays, {"rows": 2})


def test_a_finished_shard_is_reused_with_its_marker(tmp_path: Path) -> None:
    _shard(work.WorkDir.open(tmp_path, "k1"))
    fresh = work.WorkDir.open(tmp_path, "k1")  # a rerun: nothing verified in memory yet
    meta = fresh.shard_meta("00000-00000")
    assert meta is not None and meta["rows"] == 2
    assert set(meta["pieces"]) == {"arrow", "rejects.arrow", "digests.npy", "lengths.npy"}
    piece = fresh.shard_file("00000-00000", "digests.npy")
    assert meta["pieces"]["digests.npy"] == {
        "bytes": piece.stat().st_size,
        "xxh3": xxhash.xxh3_64_hexdigest(piece.read_bytes()),
    }
    assert work.load_array(piece).tolist() == [[0, 1], [2, 3]]
    assert work.load_table(fresh.shard_file("00000-00000", "arrow"))["id"].to_pylist() == ["a", "b"]
    assert fresh.shard_meta("00000-00001") is None  # never written
    assert fresh.shard_meta("00000-00000") == meta, "asked again, the same marker (checked once per run)"


@pytest.mark.parametrize("piece", ["arrow", "rejects.arrow", "digests.npy", "lengths.npy", "json"])
@pytest.mark.parametrize("damage", ["zeroed", "truncated", "removed"])
def test_a_damaged_piece_makes_the_shard_undone(tmp_path: Path, piece: str, damage: str) -> None:
    _shard(work.WorkDir.open(tmp_path, "k1"))
    fresh = work.WorkDir.open(tmp_path, "k1")
    path = fresh.shard_file("00000-00000", piece)
    data = path.read_bytes()
    if damage == "zeroed":  # what a power cut can leave: the same size, other bytes
        path.write_bytes(bytes(len(data)))
    elif damage == "truncated":
        path.write_bytes(data[:-1])
    else:
        path.unlink()
    assert fresh.shard_meta("00000-00000") is None


def test_a_piece_is_intact_only_when_both_its_size_and_its_digest_match(tmp_path: Path) -> None:
    path = tmp_path / "piece"
    path.write_bytes(b"checkpoint")
    right = {"bytes": 10, "xxh3": xxhash.xxh3_64_hexdigest(b"checkpoint")}
    assert work._intact(path, right)
    assert not work._intact(path, {**right, "bytes": 11})  # the size check alone
    assert not work._intact(path, {**right, "xxh3": "0" * 16})  # the digest check alone
    assert not work._intact(path, {"xxh3": right["xxh3"]})
    assert not work._intact(path, [10, right["xxh3"]])


def test_a_marker_that_is_not_json_or_has_no_pieces_is_undone(tmp_path: Path) -> None:
    store = work.WorkDir.open(tmp_path, "k1")
    _shard(store, "00000-00000")
    _shard(store, "00000-00001")
    store.shard_file("00000-00000", "json").write_text("{not json", encoding="utf-8")
    store.shard_file("00000-00001", "json").write_text(json.dumps({"rows": 2}), encoding="utf-8")
    fresh = work.WorkDir.open(tmp_path, "k1")
    assert fresh.shard_meta("00000-00000") is None
    assert fresh.shard_meta("00000-00001") is None


def test_a_file_is_done_only_when_every_shard_of_it_is(tmp_path: Path) -> None:
    store = work.WorkDir.open(tmp_path, "k1")
    assert store.file_shards(0) is None
    _shard(store, "00000-00000")
    _shard(store, "00000-00001")
    store.finish_file(0, ["00000-00000", "00000-00001"])
    assert work.WorkDir.open(tmp_path, "k1").file_shards(0) == ["00000-00000", "00000-00001"]
    store.shard_file("00000-00001", "lengths.npy").write_bytes(b"\0" * 8)
    assert work.WorkDir.open(tmp_path, "k1").file_shards(0) is None
    (store.files / "00001.json").write_text('{"a": 1}', encoding="utf-8")
    assert store.file_shards(1) is None


def test_other_keys_are_removed_and_the_same_key_is_kept(tmp_path: Path) -> None:
    _shard(work.WorkDir.open(tmp_path, "old"))
    assert work.WorkDir.exists(tmp_path, "old")
    store = work.WorkDir.open(tmp_path, "new")
    assert not work.WorkDir.exists(tmp_path, "old") and work.WorkDir.exists(tmp_path, "new")
    _shard(store)
    assert work.WorkDir.open(tmp_path, "new").shard_meta("00000-00000") is not None
    assert store.size() == sum(p.stat().st_size for p in store.root.rglob("*") if p.is_file()) > 0
    stray = tmp_path / work.WORK / "stray"
    stray.write_text("not a checkpoint folder", encoding="utf-8")
    work.WorkDir.open(tmp_path, "new")  # a stray file among the keys' folders stops nothing
    store.remove()
    assert not store.root.exists() and stray.exists(), "the work folder stays while it holds something else"
    stray.unlink()
    store.remove()  # removing what is already gone is no error
    assert not (tmp_path / work.WORK).exists(), "the work folder goes when it is left empty"


def test_the_resolved_duplicates_are_reused_only_when_intact(tmp_path: Path) -> None:
    store = work.WorkDir.open(tmp_path, "k1")
    assert store.load_global() is None
    store.save_global({"duplicate_of": np.array([-1, 0])}, {"groups": 1})
    done = work.WorkDir.open(tmp_path, "k1").load_global()
    assert done is not None
    arrays, meta = done
    assert arrays["duplicate_of"].tolist() == [-1, 0] and meta["groups"] == 1
    path = store.root / "global.npz"
    path.write_bytes(bytes(path.stat().st_size))
    assert work.WorkDir.open(tmp_path, "k1").load_global() is None


def test_staged_outputs_are_reused_only_when_intact(tmp_path: Path) -> None:
    store = work.WorkDir.open(tmp_path, "k1")
    assert store.staged() is None
    (store.stage / "unique.parquet").write_bytes(b"rows")
    meta = {"outputs": {"unique.parquet": {"bytes": 4, "xxh3": xxhash.xxh3_64_hexdigest(b"rows")}}}
    store.finish_stage(meta)
    assert store.staged() == meta
    (store.stage / "unique.parquet").write_bytes(b"ROWS")
    assert store.staged() is None
    (store.stage / "staged.json").write_text("[]", encoding="utf-8")
    assert store.staged() is None


def test_a_temporary_file_does_not_outlive_a_failed_write(tmp_path: Path) -> None:
    def fail(temp: Path) -> None:
        temp.write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        work._atomic(tmp_path / "piece", fail)
    assert list(tmp_path.iterdir()) == []

    def fail_at_once(temp: Path) -> None:
        raise OSError("no space left")  # before the temporary file exists

    with pytest.raises(OSError, match="no space left"):  # its own error, not one from the clean-up
        work._atomic(tmp_path / "piece", fail_at_once)
    assert work.save_json(tmp_path / "m.json", {"b": 1, "a": [2]}) == len('{"a": [2], "b": 1}')
    assert (tmp_path / "m.json").read_text(encoding="utf-8") == '{"a": [2], "b": 1}'
    assert (
        work.save_table(tmp_path / "t.arrow", pa.table({"x": [1]})) == (tmp_path / "t.arrow").stat().st_size
    )
    assert work.load_schema(tmp_path / "t.arrow") == pa.schema([pa.field("x", pa.int64())])


def test_a_checkpoint_holding_pickled_objects_is_not_loaded(tmp_path: Path) -> None:
    # A global checkpoint whose arrays need unpickling (never one dedup writes), with a marker that
    # matches it: loading it could run code, so it counts as not done.
    store = work.WorkDir.open(tmp_path, "k1")
    with open(store.root / "global.npz", "wb") as handle:
        np.savez(handle, duplicate_of=np.array([{"a": 1}], dtype=object))
    about = {"bytes": (store.root / "global.npz").stat().st_size}
    about["xxh3"] = xxhash.xxh3_64_hexdigest((store.root / "global.npz").read_bytes())
    (store.root / "global.json").write_text(json.dumps({"groups": 1, "npz": about}), encoding="utf-8")
    assert work.WorkDir.open(tmp_path, "k1").load_global() is None


class _Stopped(Exception):
    """Stands for a kill at a crash point: the run leaves what it wrote, as a killed process does."""


def test_a_run_stopped_half_published_resumes_and_another_config_does_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dedup import run
    from dedup.engines import local
    from dedup.errors import OutputError
    from tests.conftest import article, write_jsonl

    rows = [{"id": f"r{i}", "text": "\n\n".join(article(i % 6, paragraphs=3))} for i in range(12)]
    write_jsonl(tmp_path / "in.jsonl", rows)

    def config(out: str, *overrides: str) -> Config:
        data = {"input": {"paths": [str(tmp_path / "in.jsonl")]}, "output": {"dir": str(tmp_path / out)}}
        return config_from_dict(data, overrides=list(overrides))

    def stop(point: str) -> None:
        if point == "publish:unique.parquet":
            raise _Stopped(point)

    monkeypatch.setattr(local, "crash_point", stop)
    with pytest.raises(_Stopped):
        run(config("out"))
    out = tmp_path / "out"
    assert (out / "unique.parquet").exists() and not (out / "report.json").exists()
    # Another setting is another run: its checkpoints are not there, so the half-published files
    # are an earlier run's outputs, and the folder is refused.
    with pytest.raises(OutputError, match="holds an earlier run"):
        run(config("out", "lsh.threshold=0.6"))
    # The same run again resumes from its checkpoints and finishes as a fresh run would.
    monkeypatch.setattr(local, "crash_point", lambda point: None)
    resumed = run(config("out"))
    fresh = run(config("fresh"))
    assert (resumed.kept, resumed.duplicates) == (fresh.kept, fresh.duplicates) == (6, 6)
    assert "fingerprint" in resumed.timings, "the time spent digesting the input files is reported"
    data = (tmp_path / "in.jsonl").read_bytes()  # the input's size and digest, from xxhash itself
    expected = [
        {"file": str(tmp_path / "in.jsonl"), "bytes": len(data), "xxh3": xxhash.xxh3_64_hexdigest(data)}
    ]
    assert resumed.inputs == fresh.inputs == expected
    assert fresh.memory_budget == 4 * 10**9, "the default 4GB, in decimal bytes"
    for name in ("unique.parquet", "duplicates.parquet"):
        assert (out / name).read_bytes() == (tmp_path / "fresh" / name).read_bytes()


@pytest.mark.parametrize("version", [(1, 0), (2, 0)])
@pytest.mark.parametrize("fortran", [False, True])
def test_load_array_reads_what_numpy_writes(tmp_path: Path, version: tuple[int, int], fortran: bool) -> None:
    # Either header version and either memory order; the expected array is numpy's own `np.load`.
    array = np.arange(12, dtype=np.int64).reshape(3, 4)
    if fortran:
        array = np.asfortranarray(array)
    path = tmp_path / "a.npy"
    with open(path, "wb") as handle:
        np.lib.format.write_array(handle, array, version=version)
    got = work.load_array(path)
    assert got.tolist() == np.load(path).tolist() == array.tolist()
    assert got.dtype == np.int64 and got.shape == (3, 4)
