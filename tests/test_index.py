"""`dedup.Index` on both backends: the API, restarts, fingerprint refusal, the CLI, concurrent writers.

Redis tests talk to a real `redis-server` (the `redis_url` fixture in `conftest.py`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import Result

import dedup
from dedup import Index, IndexMismatchError, config_from_dict
from tests.conftest import article
from tests.corpus import ROOT

TEXTS = [" ".join(article(500 + k, paragraphs=3, words=30)) for k in range(6)]


def _near(text: str, k: int = 0) -> str:
    words = text.split()
    words[5 + k] = "altered"
    return " ".join(words)


def _open(target: tuple[str, dict[str, Any]], **more: Any) -> Index:
    where, data = target
    return Index.open(where, config_from_dict({**data, **more}))


def test_check_add_remove_stats(target: tuple[str, dict[str, Any]]) -> None:
    with _open(target) as index:
        assert [m.status for m in index.check([("a", TEXTS[0])])] == ["new"]
        assert [m.status for m in index.add([("a", TEXTS[0]), ("b", TEXTS[1])])] == ["new", "new"]
        found = index.check(
            [("x", TEXTS[0]), ("y", _near(TEXTS[1])), ("z", TEXTS[2]), ("a", TEXTS[0]), ("e", "")]
        )
        assert [(m.id, m.status, m.duplicate_of) for m in found] == [
            ("x", "exact", "a"),
            ("y", "near", "b"),
            ("z", "new", None),
            ("a", "present", "a"),
            ("e", "rejected", None),
        ]
        assert found[0].similarity == 1.0 and 0.8 < (found[1].similarity or 0) < 1.0
        assert found[4].reason == "no text left after cleaning (empty, whitespace or markup only)"
        assert index.stats()["records"] == 2 and index.stats()["bytes_per_record"] > 0
        assert index.remove(["a", "nope"]) == 1
        assert [m.status for m in index.check([("x", TEXTS[0])])] == ["new"]
        assert index.stats()["records"] == 1


def _word_trigrams(text: str) -> set[tuple[str, ...]]:
    """The oracle: word 3-grams of lowercased `\\w+` words, in plain Python."""
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + 3]) for i in range(len(words) - 2)}


def test_an_indexed_id_with_another_text_is_present_with_the_measured_evidence(
    target: tuple[str, dict[str, Any]],
) -> None:
    with _open(target) as index:
        index.add([("a", TEXTS[0])])
        longer = TEXTS[0] + " " + TEXTS[1]
        for call in (index.check, index.add, index.check_and_add):
            same, other, grown = call([("a", TEXTS[0])]) + call([("a", TEXTS[2])]) + call([("a", longer)])
            assert (same.status, same.matched_by, same.similarity) == ("present", "exact", 1.0)
            assert (other.status, other.duplicate_of, other.matched_by) == ("present", "a", "id")
            assert other.similarity == other.containment == 0.0  # no word 3-gram in common
            mine, theirs = _word_trigrams(longer), _word_trigrams(TEXTS[0])
            assert grown.matched_by == "id"
            assert grown.similarity == pytest.approx(len(mine & theirs) / len(mine | theirs))
            assert grown.containment == pytest.approx(len(mine & theirs) / len(mine))
        assert index.stats()["records"] == 1  # nothing replaced the indexed text


def test_a_record_without_an_id_is_rejected_by_position(target: tuple[str, dict[str, Any]]) -> None:
    with _open(target) as index:
        first, second = index.check_and_add([(None, TEXTS[0]), (None, TEXTS[1])])
        assert [(m.id, m.status) for m in (first, second)] == [
            ("<record 1>", "rejected"),
            ("<record 2>", "rejected"),
        ]
        assert first.reason == "no id (null): the index keeps records by id"
        assert index.stats()["records"] == 0
        (named,) = index.check_and_add([("None", TEXTS[0])])  # the text "None" is an id like any other
        assert named.status == "new"


def test_check_and_add_handles_duplicates_within_a_batch(target: tuple[str, dict[str, Any]]) -> None:
    with _open(target) as index:
        batch = [("a", TEXTS[0]), ("b", _near(TEXTS[0])), ("c", TEXTS[0]), ("d", TEXTS[1]), ("a", TEXTS[3])]
        result = index.check_and_add(batch)
        assert [(m.status, m.duplicate_of) for m in result] == [
            ("new", None),
            ("near", "a"),
            ("exact", "a"),
            ("new", None),
            ("rejected", None),
        ]
        assert index.stats()["records"] == 2
        again = index.check_and_add([("b", _near(TEXTS[0], 1)), ("d", TEXTS[1])])
        assert [(m.status, m.duplicate_of) for m in again] == [("near", "a"), ("present", "d")]


def test_containment_is_directional_in_the_index(target: tuple[str, dict[str, Any]]) -> None:
    post = "\n\n".join(article(520, paragraphs=4))
    reply = "\n\n".join(["> " + p for p in article(520, paragraphs=4)] + article(521, paragraphs=2))
    with _open(target) as index:
        index.add([("post", post)])
        # A reply holding the indexed post, and more, is new; the post is inside it.
        (match,) = index.check([("reply", reply)])
        assert match.status == "new"
        index.add([("reply", reply)])
        index.remove(["post"])
        (match,) = index.check([("post-again", post)])
        assert (match.status, match.duplicate_of, match.matched_by) == ("near", "reply", "containment")
        assert match.containment == 1.0


def test_an_index_survives_a_restart(target: tuple[str, dict[str, Any]]) -> None:
    with _open(target) as index:
        index.add([("a", TEXTS[0])])
    with _open(target) as index:
        assert [(m.status, m.duplicate_of) for m in index.check([("b", TEXTS[0])])] == [("exact", "a")]


def test_a_mismatched_config_is_refused(target: tuple[str, dict[str, Any]]) -> None:
    with _open(target) as index:
        index.add([("a", TEXTS[0])])
    with pytest.raises(IndexMismatchError) as err:
        _open(target, shingle={"ngram": 5}, minhash={"num_perm": 64})
    message = str(err.value)
    assert (
        "the index was built with other signature settings: shingle.ngram '3' (this config: '5')" in message
    )
    assert '"num_perm": 128' in message and '"num_perm": 64' in message and "silently miss" in message
    with _open(target, lsh={"threshold": 0.5, "containment": None}) as index:  # verification only: fine
        assert index.stats()["records"] == 1


def test_a_file_that_is_not_an_index_is_refused(tmp_path: Path) -> None:
    (tmp_path / "junk.sqlite").write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(IndexMismatchError, match=r"junk\.sqlite: not a dedup index"):
        Index.open(str(tmp_path / "junk.sqlite"))


def test_an_empty_index_path_is_refused_and_creates_nothing(
    cli: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite reads "" as a private database that is gone on close: records added there are lost."""
    monkeypatch.chdir(tmp_path)
    for empty in ("", "  "):
        with pytest.raises(ValueError, match="names no index: give a SQLite file or a Redis URL"):
            Index.open(empty)
    (tmp_path / "in.jsonl").write_text(json.dumps({"id": "a", "text": TEXTS[0]}) + "\n")
    (tmp_path / "c.yaml").write_text("index: {path: ''}\noutput: {dir: out}\ninput: {paths: [in.jsonl]}\n")
    for job in ("add", "check"):
        result = cli("index", job, "c.yaml")
        assert result.exit_code == 2 and "Traceback" not in result.output
        assert "index.path must name a SQLite file or a Redis URL; got ''" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml", "in.jsonl"]


@pytest.mark.parametrize("name", ["file::memory:", "file:x.sqlite?mode=memory", "a#b?c%20d.sqlite"])
def test_a_sqlite_path_is_a_file_name_never_a_uri(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """SQLite reads a name starting `file:` as a URI (`file::memory:` is a database in memory)."""
    monkeypatch.chdir(tmp_path)
    with Index.open(name) as index:
        index.add([("a", TEXTS[0])])
        assert index.stats()["bytes"] > 0
    assert (tmp_path / name).is_file()
    with Index.open(name, create=False) as again:
        assert [m.status for m in again.check([("a", TEXTS[0])])] == ["present"]
    with Index.open(tmp_path / name, create=False) as by_path:  # a path object names it too
        assert by_path.stats()["records"] == 1
    # POSIX lets an absolute path start with "//"; as a URI's "//" it would name a host.
    with Index.open("/" + str(tmp_path / name), create=False) as doubled:
        assert doubled.stats()["records"] == 1


def test_an_index_opened_by_a_relative_path_stays_that_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path)
    with Index.open("rel.sqlite") as index:
        index.add([("a", TEXTS[0])])
        os.chdir(tmp_path / "elsewhere")  # a caller's own chdir, while the index is open
        assert index.stats()["records"] == 1 and index.stats()["bytes"] > 0
        index.add([("b", TEXTS[1])])
    assert not (tmp_path / "elsewhere" / "rel.sqlite").exists()
    with Index.open(str(tmp_path / "rel.sqlite"), create=False) as again:
        assert again.stats()["records"] == 2
    os.chdir(tmp_path / "elsewhere")
    with Index.open(Path(":memory:")) as named:  # a path object names a file, even this one
        named.add([("a", TEXTS[0])])
    assert (tmp_path / "elsewhere" / ":memory:").is_file()


def test_an_index_job_refuses_an_index_in_memory(cli: Callable[..., Result], tmp_path: Path) -> None:
    """`:memory:` is gone when the job ends: an add there would report records new and keep none."""
    (tmp_path / "in.jsonl").write_text(json.dumps({"id": "a", "text": TEXTS[0]}) + "\n")
    (tmp_path / "c.yaml").write_text(
        "index: {path: ':memory:'}\noutput: {dir: out}\ninput: {paths: [in.jsonl]}\n"
    )
    for job in ("add", "check"):
        result = cli("index", job, "c.yaml")
        assert result.exit_code == 2 and "Traceback" not in result.output
        assert "index.path ':memory:' is an index in memory, gone when the job ends" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml", "in.jsonl"]


def test_cli_index_add_then_check(cli: Callable[..., Result], tmp_path: Path) -> None:
    rows = [{"id": f"r{k}", "text": t, "day": k} for k, t in enumerate(TEXTS[:3])]
    (tmp_path / "day1.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    later = [
        {"id": "n1", "text": _near(TEXTS[0])},
        {"id": "n2", "text": TEXTS[4]},
        {"id": "r1", "text": TEXTS[1]},
    ]
    (tmp_path / "day2.jsonl").write_text("".join(json.dumps(r) + "\n" for r in later) + "{bad\n")
    base = "index: {path: idx.sqlite}\noutput: {dir: out, overwrite: true}\n"
    (tmp_path / "c1.yaml").write_text(base + "input: {paths: [day1.jsonl]}\n")
    (tmp_path / "c2.yaml").write_text(base + "input: {paths: [day2.jsonl]}\n")
    first = cli("index", "add", "c1.yaml")
    assert first.exit_code == 0 and first.stdout.startswith("read 3: new 3, duplicates 0")
    second = cli("index", "check", "c2.yaml")
    assert second.exit_code == 0, second.output
    assert second.stdout.startswith("read 4: new 1, duplicates 2 (0 exact, 1 near, 1 present), rejected 1")
    out = tmp_path / "out"
    assert pq.read_table(out / "unique.parquet")["id"].to_pylist() == ["n2"]
    dups = pq.read_table(out / "duplicates.parquet").to_pylist()
    assert [(d["id"], d["duplicate_of"], d["match"]) for d in dups] == [
        ("n1", "r0", "near"),
        ("r1", "r1", "present"),
    ]
    assert pq.read_table(out / "rejects.parquet")["source_line"].to_pylist() == [4]
    report = json.loads((out / "report.json").read_text())
    assert report["read"] == report["kept"] + report["duplicates"] + report["rejected"]
    with Index.open(str(tmp_path / "idx.sqlite")) as index:
        assert index.stats()["records"] == 3, "check adds nothing"


def test_cli_index_streams_batches_and_the_budget_changes_no_byte(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    # About 600 records: at 1MB a batch holds 122 of them, at 4GB one batch holds all.
    rows = []
    for k in range(600):
        text = TEXTS[k % 6] if k % 5 else " ".join(article(900 + k, paragraphs=2, words=25))
        rows.append(
            {"id": f"r{k}", "text": text if k % 7 else _near(text, k % 3), "n": k if k < 400 else str(k)}
        )
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    outputs = []
    for budget in ("1MB", "4GB"):
        (tmp_path / "c.yaml").write_text(
            f"index: {{path: idx-{budget}.sqlite}}\noutput: {{dir: out-{budget}}}\n"
            f"input: {{paths: [in.jsonl]}}\nmemory_budget: {budget}\n"
        )
        result = cli("index", "add", "c.yaml")
        assert result.exit_code == 0, result.output
        outputs.append(
            {
                n: (tmp_path / f"out-{budget}" / n).read_bytes()
                for n in ("unique.parquet", "duplicates.parquet")
            }
        )
        assert not (tmp_path / f"out-{budget}" / ".dedup-index-work").exists()
    assert outputs[0] == outputs[1]
    report = json.loads((tmp_path / "out-1MB" / "report.json").read_text())
    assert report["read"] == 600 == report["kept"] + report["duplicates"] + report["rejected"]
    assert report["shards"]["total"] > 1  # at 1MB a batch holds at most 122 records or 31 KB of text
    assert json.loads((tmp_path / "out-4GB" / "report.json").read_text())["shards"]["total"] == 1
    unique = pq.read_table(tmp_path / "out-1MB" / "unique.parquet")
    assert unique.schema.field("n").metadata == {b"dedup": b"json"}  # one type across batches


WORKER = """
import json, os, sys, time
import dedup
where, data, path, out = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], sys.argv[4]
records = json.loads(open(path).read())
with dedup.Index.open(where, dedup.config_from_dict(data)) as index:
    index.check([("warm-up", "load the compiled kernels before the race")])
    open(out + ".ready", "w").close()
    while not os.path.exists(os.path.join(os.path.dirname(out), "go")):  # start together
        time.sleep(0.005)
    results = []
    for start in range(0, len(records), 7):
        results += index.check_and_add([(r[0], r[1]) for r in records[start:start + 7]])
json.dump([[m.id, m.status, m.duplicate_of] for m in results], open(out, "w"))
"""


def test_concurrent_writers_add_each_record_once_with_one_winner_per_group(
    target: tuple[str, dict[str, Any]], tmp_path: Path
) -> None:
    # 30 groups; each group's members are the base text, exact copies and near copies under
    # different ids. Three processes ingest overlapping, differently ordered slices at once.
    groups = [" ".join(article(900 + g, paragraphs=3, words=30)) for g in range(30)]
    members = [
        (f"g{g}-m{k}", g, groups[g] if k % 2 == 0 else _near(groups[g], k))
        for g in range(30)
        for k in range(4)
    ]
    where, data = target
    procs = []
    for w in range(3):
        mine = [m for i, m in enumerate(members) if i % 3 != w]  # each member is in two of the three
        mine = mine[w::1] if w == 0 else list(reversed(mine)) if w == 1 else mine[::2] + mine[1::2]
        path = tmp_path / f"in{w}.json"
        path.write_text(json.dumps([[m[0], m[2]] for m in mine]))
        command = [
            sys.executable,
            "-c",
            WORKER,
            where,
            json.dumps(data),
            str(path),
            str(tmp_path / f"out{w}.json"),
        ]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        procs.append(subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True))
    ready = [tmp_path / f"out{w}.json.ready" for w in range(3)]
    while not all(r.exists() for r in ready) and all(p.poll() is None for p in procs):
        subprocess.run(["sleep", "0.01"], check=False)
    (tmp_path / "go").touch()
    for proc in procs:
        _, errors = proc.communicate()
        assert proc.returncode == 0, errors
    results = [row for w in range(3) for row in json.loads((tmp_path / f"out{w}.json").read_text())]
    group_of = {m[0]: m[1] for m in members}
    winners: dict[int, set[str]] = {}
    for rid, status, duplicate_of in results:
        assert status in ("new", "exact", "near", "present")
        if status == "new":
            winners.setdefault(group_of[rid], set()).add(rid)
        else:
            assert group_of[duplicate_of] == group_of[rid], "a duplicate names a member of its own group"
    assert all(len(w) == 1 for w in winners.values()) and len(winners) == 30, "one winner per group"
    with _open(target) as index:
        assert index.stats()["records"] == 30, "every winner indexed exactly once, nothing else"
        check = index.check([(f"probe{g}", groups[g]) for g in range(30)])
        assert {m.duplicate_of for m in check} == {next(iter(w)) for w in winners.values()}


def test_index_is_exported() -> None:
    assert dedup.Index is Index and "Index" in dedup.__all__


def test_the_readme_example_runs_and_prints_what_it_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", readme, re.S) if "Index.open" in b]
    shutil.copytree(ROOT / "configs", tmp_path / "configs")
    monkeypatch.chdir(tmp_path)
    exec(compile(block, "README.md", "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    comments = [
        line.split("# ", 1)[1].strip() for line in block.splitlines() if line.strip().startswith("# ")
    ]
    assert printed[:2] == comments[:2] == ["a1 new None None", "a2 exact a1 1.0"]
    assert printed[2:] == ["exact", "0"]


def test_cli_index_names_an_indexed_id_with_another_text_present_by_id(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    # The id `r0` comes again with another text, beside a record the index has never seen: both
    # jobs report `r0` present (matched_by `id`) and `fresh` new, and `add` indexes `fresh`.
    (tmp_path / "day1.jsonl").write_text(json.dumps({"id": "r0", "text": TEXTS[0]}) + "\n")
    later = [{"id": "r0", "text": TEXTS[0] + " And one more sentence."}, {"id": "fresh", "text": TEXTS[3]}]
    (tmp_path / "day2.jsonl").write_text("".join(json.dumps(r) + "\n" for r in later))
    base = "index: {path: idx.sqlite}\noutput: {dir: out, overwrite: true}\n"
    (tmp_path / "c1.yaml").write_text(base + "input: {paths: [day1.jsonl]}\n")
    (tmp_path / "c2.yaml").write_text(base + "input: {paths: [day2.jsonl]}\n")
    assert cli("index", "add", "c1.yaml").exit_code == 0
    for job in ("check", "add"):
        result = cli("index", job, "c2.yaml")
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith("read 2: new 1, duplicates 1 (0 exact, 0 near, 1 present)")
        assert pq.read_table(tmp_path / "out" / "unique.parquet")["id"].to_pylist() == ["fresh"]
        (dup,) = pq.read_table(tmp_path / "out" / "duplicates.parquet").to_pylist()
        assert (dup["id"], dup["duplicate_of"], dup["match"], dup["matched_by"]) == (
            "r0",
            "r0",
            "present",
            "id",
        )
        words = _word_trigrams(TEXTS[0])
        more = _word_trigrams(TEXTS[0] + " And one more sentence.")
        assert dup["similarity"] == pytest.approx(len(words & more) / len(words | more))
    with Index.open(str(tmp_path / "idx.sqlite")) as index:
        assert [m.status for m in index.check([("fresh", TEXTS[3])])] == ["present"]


def test_cli_index_check_refuses_a_path_that_holds_no_index(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    (tmp_path / "in.jsonl").write_text(json.dumps({"id": "a", "text": TEXTS[0]}) + "\n")
    (tmp_path / "empty.sqlite").write_bytes(b"")
    for path in ("typo/idx.sqlite", "empty.sqlite"):
        (tmp_path / "c.yaml").write_text(
            f"index: {{path: {path}}}\noutput: {{dir: out}}\ninput: {{paths: [in.jsonl]}}\n"
        )
        result = cli("index", "check", "c.yaml")
        assert result.exit_code == IndexMismatchError.exit_code
        assert f"{path}: no index there" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "typo").exists(), "a check creates nothing"
    assert (tmp_path / "empty.sqlite").read_bytes() == b""
    assert not (tmp_path / "out").exists(), "not even the output folder"
    # An earlier run's outputs stay as they were, even where the job may overwrite them.
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "unique.parquet").write_bytes(b"earlier")
    (tmp_path / "c.yaml").write_text(
        "index: {path: typo/idx.sqlite}\noutput: {dir: out, overwrite: true}\ninput: {paths: [in.jsonl]}\n"
    )
    assert cli("index", "check", "c.yaml").exit_code == IndexMismatchError.exit_code
    assert (tmp_path / "out" / "unique.parquet").read_bytes() == b"earlier"


def test_opening_with_create_false_refuses_a_missing_index(target: tuple[str, dict[str, Any]]) -> None:
    where, data = target
    with pytest.raises(IndexMismatchError, match="no index there"):
        Index.open(where, config_from_dict(data), create=False)
    with _open(target) as index:
        index.add([("a", TEXTS[0])])
    with Index.open(where, config_from_dict(data), create=False) as index:
        assert [m.status for m in index.check([("b", TEXTS[0])])] == ["exact"]


def test_odd_records_are_rejects_or_one_clear_error(target: tuple[str, dict[str, Any]]) -> None:
    with _open(target) as index:
        index.add([("a", TEXTS[0])])
        # A text that is no string is a reject of its record, as a null id is; the rest are read.
        found = index.check([("x", None), ("y", TEXTS[0]), ("z", 5), {"id": "w", "text": TEXTS[2]}])
        assert [(m.id, m.status, m.reason) for m in found] == [
            ("x", "rejected", "text must be a string; got null"),
            ("y", "exact", None),
            ("z", "rejected", "text must be a string; got int"),
            ("w", "new", None),
        ]
        table = pa.table({"id": ["t1", "t2"], "text": pa.array([TEXTS[0], None], pa.string())})
        assert [m.status for m in index.check(table)] == ["exact", "rejected"]
        # What is no batch of records at all is a TypeError or InputError that says so.
        with pytest.raises(TypeError, match=r"records: an Arrow table or an iterable of .*; got str"):
            index.check("hello")
        with pytest.raises(
            TypeError, match=r"record 2: an \(id, text\) pair or a mapping with 'id' and 'text'"
        ):
            index.check([("p", TEXTS[1]), ("q",)])
        with pytest.raises(dedup.InputError, match=r"no column 'id'; columns present: text"):
            index.check(pa.table({"text": [TEXTS[0]]}))
        assert index.stats()["records"] == 1


def test_remove_refuses_a_bare_string(target: tuple[str, dict[str, Any]]) -> None:
    # A string is an iterable of its characters: "abc" would forget records a, b and c.
    with _open(target) as index:
        index.add([("a", TEXTS[0]), ("b", TEXTS[1]), ("c", TEXTS[2]), ("abc", TEXTS[3])])
        for wrong in ("abc", b"abc", 2):
            with pytest.raises(TypeError, match=r"ids: an iterable of ids, not one id; got "):
                index.remove(wrong)  # type: ignore[arg-type]
        assert index.stats()["records"] == 4
        assert index.remove(["abc"]) == 1 and index.stats()["records"] == 3


def test_an_id_must_be_a_string_or_an_integer_as_in_a_file(target: tuple[str, dict[str, Any]]) -> None:
    with _open(target) as index:
        found = index.add(
            [(1.5, TEXTS[0]), (7, TEXTS[1]), (np.int64(8), TEXTS[2]), (True, TEXTS[3]), ("s", TEXTS[4])]
        )
        assert [(m.id, m.status, m.reason) for m in found] == [
            ("1.5", "rejected", "id must be a string or an integer; got float"),
            ("7", "new", None),
            ("8", "new", None),
            ("True", "rejected", "id must be a string or an integer; got bool"),
            ("s", "new", None),
        ]
        table = pa.table({"id": pa.array([2.5, 3.0]), "text": [TEXTS[5], TEXTS[0]]})
        assert [(m.status, m.reason) for m in index.check(table)] == [
            ("rejected", "id must be a string or an integer; got float"),
        ] * 2
        assert index.stats()["records"] == 3


def test_remove_takes_ids_by_the_rule_add_takes_them(target: tuple[str, dict[str, Any]]) -> None:
    with _open(target) as index:
        index.add(
            [("97", TEXTS[0]), ("None", TEXTS[1]), ("1.0", TEXTS[2]), ("True", TEXTS[3]), (5, TEXTS[4])]
        )
        for wrong in (bytearray(b"ab"), memoryview(b"ab"), [None], [1.0], [True], [b"97"]):
            with pytest.raises(TypeError, match=r"ids: "):
                index.remove(wrong)  # type: ignore[arg-type]
        assert index.stats()["records"] == 5
        assert index.remove(iter([5, np.int64(97)])) == 2 and index.stats()["records"] == 3


def test_a_missing_or_not_a_number_id_is_a_missing_id(target: tuple[str, dict[str, Any]]) -> None:
    import pandas as pd

    with _open(target) as index:
        found = index.check([(float("nan"), TEXTS[0]), (pd.NA, TEXTS[1]), (None, TEXTS[2])])
        assert [(m.id, m.reason) for m in found] == [
            (f"<record {k}>", "no id (null): the index keeps records by id") for k in (1, 2, 3)
        ]


def test_a_dataframe_is_a_batch_of_records(target: tuple[str, dict[str, Any]]) -> None:
    import pandas as pd

    with _open(target) as index:
        index.add([("a", TEXTS[0])])
        frame = pd.DataFrame({"id": ["x", 7, 2.5], "text": [TEXTS[0], TEXTS[1], TEXTS[2]]})
        assert [(m.id, m.status) for m in index.check(frame)] == [
            ("x", "exact"),
            ("7", "new"),
            ("2.5", "rejected"),
        ]
        with pytest.raises(dedup.InputError, match=r"no column 'id'; columns present: text"):
            index.check(pd.DataFrame({"text": [TEXTS[0]]}))
        by_id = pd.DataFrame({"id": ["x", "y"], "text": [TEXTS[0], TEXTS[1]]}).set_index("id")
        assert [(m.id, m.status) for m in index.check(by_id)] == [("x", "exact"), ("y", "new")]


def test_cli_index_add_refused_for_its_output_folder_creates_no_index(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    (tmp_path / "in.jsonl").write_text(json.dumps({"id": "a", "text": TEXTS[0]}) + "\n")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "unique.parquet").write_bytes(b"earlier")
    (tmp_path / "c.yaml").write_text(
        "index: {path: store/fresh.sqlite}\noutput: {dir: out}\ninput: {paths: [in.jsonl]}\n"
    )
    result = cli("index", "add", "c.yaml")
    assert result.exit_code != 0 and "holds an earlier run" in result.output
    assert not (tmp_path / "store").exists(), "no index is created for a job that cannot write"


@pytest.mark.parametrize("granularity", ["document", "paragraph"])
def test_an_index_in_memory_works_and_leaves_no_file(
    granularity: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with Index.open(":memory:", config_from_dict({"granularity": granularity})) as index:
        assert [m.status for m in index.add([("a", TEXTS[0])])] == ["new"]
        assert [m.status for m in index.check([("b", TEXTS[0])])] == ["exact"]
        stats = index.stats()
        assert stats["records"] == 1 and stats["bytes"] > 0
    assert list(tmp_path.iterdir()) == []


def test_cli_index_add_refused_for_a_held_output_folder_or_a_mismatch_leaves_nothing(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    from dedup.config import OutputConfig
    from dedup.io import writers

    (tmp_path / "in.jsonl").write_text(json.dumps({"id": "a", "text": TEXTS[0]}) + "\n")
    (tmp_path / "c.yaml").write_text(
        "index: {path: store/fresh.sqlite}\noutput: {dir: out}\ninput: {paths: [in.jsonl]}\n"
    )
    with writers.claim(OutputConfig(dir=str(tmp_path / "out"))):  # another run writes there
        result = cli("index", "add", "c.yaml")
    assert result.exit_code != 0 and "another dedup run is writing" in result.output
    assert not (tmp_path / "store").exists(), "no index is created for a job that cannot write"
    (tmp_path / "out").rmdir()
    # An index built otherwise refuses the add; the output folder the job made goes with it.
    with Index.open(str(tmp_path / "other.sqlite"), config_from_dict({"minhash": {"num_perm": 64}})) as index:
        index.add([("z", TEXTS[1])])
    (tmp_path / "c.yaml").write_text(
        "index: {path: other.sqlite}\noutput: {dir: out}\ninput: {paths: [in.jsonl]}\n"
    )
    assert cli("index", "add", "c.yaml").exit_code == IndexMismatchError.exit_code
    assert not (tmp_path / "out").exists()
