"""The bad-input catalogue: each kind of bad input, what the user is told, and that the rest goes through.

Every case writes a small corpus holding the bad input beside two good articles, runs the CLI and
checks one of three outcomes:
- a reject: the run succeeds, `rejects.parquet` names file, line and field with the reason, the
  terminal lists it, the good articles are kept and the accounting identity holds;
- a repair: the bad record is read and cleaned into sensible text (lenient HTML);
- a stop: nothing is read, the exit code and the one-line message are pinned.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import Result

from dedup.display import printable
from tests.conftest import article, as_html

GOOD = [" ".join(article(seed)) for seed in (101, 102)]


def _jsonl(path: Path, lines: list[str | bytes]) -> None:
    data = b"".join((x if isinstance(x, bytes) else x.encode("utf-8")) + b"\n" for x in lines)
    path.write_bytes(data)


def _good_json(i: int) -> str:
    return json.dumps({"id": f"good{i}", "text": GOOD[i]})


@dataclass(frozen=True)
class Reject:
    """Expect `where` (file, line or None, field or None) rejected with `reason` in its text."""

    file: str
    line: int | None
    field: str | None
    reason: str


@dataclass(frozen=True)
class Kept:
    """Expect the record at `line` of `file` kept with `text` (exactly)."""

    file: str
    line: int
    text: str


@dataclass(frozen=True)
class Stop:
    """Expect the run refused with this exit code and message, nothing read."""

    code: int
    message: str


Build = Callable[[Path], dict[str, Any]]


def _lines_file(bad: str | bytes) -> Build:
    """A line-format file: good article, the bad line, good article."""

    def build(tmp: Path) -> dict[str, Any]:
        line = bad if isinstance(bad, bytes) else bad.encode("utf-8")
        (tmp / "in.txt").write_bytes(
            as_html([GOOD[0]]).encode() + b"\n" + line + b"\n" + as_html([GOOD[1]]).encode() + b"\n"
        )
        return {"input": {"paths": ["in.txt"]}}

    return build


def _jsonl_file(bad: str | bytes) -> Build:
    def build(tmp: Path) -> dict[str, Any]:
        _jsonl(tmp / "in.jsonl", [_good_json(0), bad, _good_json(1)])
        return {"input": {"paths": ["in.jsonl"]}}

    return build


def _truncated_gzip(tmp: Path) -> dict[str, Any]:
    whole = gzip.compress(
        "".join(
            json.dumps({"id": f"r{i}", "text": GOOD[i % 2] + f" copy {i}"}) + "\n" for i in range(6)
        ).encode()
    )
    (tmp / "in.jsonl.gz").write_bytes(whole[: len(whole) * 2 // 3])
    _jsonl(tmp / "more.jsonl", [_good_json(0), _good_json(1)])
    return {"input": {"paths": ["in.jsonl.gz", "more.jsonl"]}}


def _corrupt_parquet(tmp: Path) -> dict[str, Any]:
    pq.write_table(pa.table({"id": ["p1", "p2"], "text": ["a b c", "d e f"]}), tmp / "in.parquet")
    data = (tmp / "in.parquet").read_bytes()
    (tmp / "in.parquet").write_bytes(data[:20] + b"\x00" * 40 + data[60:])
    _jsonl(tmp / "more.jsonl", [_good_json(0), _good_json(1)])
    return {"input": {"paths": ["in.parquet", "more.jsonl"]}}


def _csv_newlines(tmp: Path) -> dict[str, Any]:
    (tmp / "in.csv").write_text(
        f'id,text\nc1,"{GOOD[0]}\n\nSecond paragraph of c1 here."\nc2,"{GOOD[1]}"\n', encoding="utf-8"
    )
    return {"input": {"paths": ["in.csv"]}}


def _with_other_file(name: str) -> Build:
    def build(tmp: Path) -> dict[str, Any]:
        _jsonl(tmp / "more.jsonl", [_good_json(0), _good_json(1)])
        return {"input": {"paths": [name, "more.jsonl"]}}

    return build


def _empty_file(tmp: Path) -> dict[str, Any]:
    (tmp / "empty.jsonl").write_bytes(b"")
    _jsonl(tmp / "more.jsonl", [_good_json(0), _good_json(1)])
    return {"input": {"paths": ["empty.jsonl", "more.jsonl"]}}


def _empty_folder(tmp: Path) -> dict[str, Any]:
    (tmp / "nothing").mkdir()
    return {"input": {"paths": ["nothing"]}}


def _config_text(text: str) -> Build:
    def build(tmp: Path) -> dict[str, Any]:
        _jsonl(tmp / "more.jsonl", [_good_json(0), _good_json(1)])
        return {"__raw__": text}

    return build


def _earlier_run(tmp: Path) -> dict[str, Any]:
    _jsonl(tmp / "more.jsonl", [_good_json(0), _good_json(1)])
    (tmp / "out").mkdir()
    (tmp / "out" / "unique.parquet").write_bytes(b"an earlier run")
    return {"input": {"paths": ["more.jsonl"]}, "output": {"dir": "out"}}


BIG = 50 * 1024 * 1024
TEN_MB_TEXT = " ".join(["alpha beta gamma delta"] * (10 * 1024 * 1024 // 23))

CASES: dict[str, tuple[Build, Reject | Kept | Stop]] = {
    "invalid UTF-8 in a line file": (
        _lines_file(b"<p>caf\xe9 au lait</p>"),
        Reject("in.txt", 2, "text", "invalid UTF-8 at byte 7 of the line"),
    ),
    "invalid UTF-8 in a JSON line": (
        _jsonl_file(b'{"id": "x", "text": "caf\xe9"}'),
        Reject("in.jsonl", 2, None, "invalid UTF-8 at byte 25 of the line"),
    ),
    "NUL bytes": (
        _jsonl_file(json.dumps({"id": "n", "text": "PK\u0003\u0004\u0000\u0000binary"})),
        Reject(
            "in.jsonl",
            2,
            "text",
            "the text holds NUL bytes (binary data, not text); the first at character 5",
        ),
    ),
    "unclosed HTML": (
        _lines_file("<div><p>Unclosed paragraph <b>bold <i>and italic words run on"),
        Kept("in.txt", 2, "Unclosed paragraph bold and italic words run on"),
    ),
    "malformed HTML": (
        _lines_file("<p <b>>Broken tag soup</p></p></div><p>then a real paragraph</p>"),
        Kept("in.txt", 2, ">Broken tag soup\n\nthen a real paragraph"),
    ),
    "script and style blocks": (
        _lines_file(
            "<script>var s = 'not text';</script><style>p {color: red}</style><p>Only this stays</p>"
        ),
        Kept("in.txt", 2, "Only this stays"),
    ),
    "an entity flood": (
        _jsonl_file(json.dumps({"id": "e", "text": "&amp;" * 200_000})),
        Reject("in.jsonl", 2, "text", "no words left after cleaning (only punctuation or symbols)"),
    ),
    "an empty record": (
        _jsonl_file(json.dumps({"id": "e", "text": ""})),
        Reject("in.jsonl", 2, "text", "no text left after cleaning (empty, whitespace or markup only)"),
    ),
    "a whitespace-only record": (
        _jsonl_file(json.dumps({"id": "w", "text": " \t\u00a0\u2003 \n\n "})),
        Reject("in.jsonl", 2, "text", "no text left after cleaning (empty, whitespace or markup only)"),
    ),
    "a single 50 MB record": (
        _jsonl_file(json.dumps({"id": "big", "text": "word " * (BIG // 5)})),
        Reject(
            "in.jsonl",
            2,
            "text",
            "the record has 52,428,800 characters, over normalize.max_chars (20,000,000)",
        ),
    ),
    "a line of 10 MB": (
        _lines_file(TEN_MB_TEXT),
        Kept("in.txt", 2, TEN_MB_TEXT),
    ),
    "a malformed JSON line among good ones": (
        _jsonl_file('{"id": "m", "text": "unterminated'),
        Reject("in.jsonl", 2, None, "malformed JSON (Unterminated string starting at"),
    ),
    "a missing text field": (
        _jsonl_file(json.dumps({"id": "m", "body": "the text is elsewhere"})),
        Reject("in.jsonl", 2, "text", "no field 'text'; fields present: body, id (set input.text_field)"),
    ),
    "a non-string text field": (
        _jsonl_file(json.dumps({"id": "m", "text": 42})),
        Reject("in.jsonl", 2, "text", "field 'text' is a number, expected a string"),
    ),
    "a JSON line that is not an object": (
        _jsonl_file('["a", "list"]'),
        Reject("in.jsonl", 2, None, "expected a JSON object, got a list"),
    ),
    "an id of the wrong type": (
        _jsonl_file(json.dumps({"id": {"nested": 1}, "text": "some words here"})),
        Reject("in.jsonl", 2, "id", "field 'id' is an object, expected a string or an integer"),
    ),
    "duplicate ids": (
        _jsonl_file(json.dumps({"id": "good0", "text": "another text under a taken id"})),
        Reject("in.jsonl", 2, "id", "duplicate id 'good0'; first seen at in.jsonl:1"),
    ),
    "a truncated gzip": (
        _truncated_gzip,
        Reject("in.jsonl.gz", 2, None, "the file is truncated or corrupt after line 1: "),
    ),
    "a corrupt Parquet file": (
        _corrupt_parquet,
        Reject("in.parquet", None, None, "not a readable Parquet file"),
    ),
    "CSV with embedded newlines": (
        _csv_newlines,
        Kept("in.csv", 2, GOOD[0] + "\n\nSecond paragraph of c1 here."),
    ),
    "an empty input file": (
        _empty_file,
        Kept("more.jsonl", 1, GOOD[0]),
    ),
    "an input folder with no files": (
        _empty_folder,
        Stop(1, "Error: nothing: the folder holds no files\n"),
    ),
    "a missing file": (
        _with_other_file("nope.jsonl"),
        Stop(1, "Error: nope.jsonl: no such file or folder\n"),
    ),
    "a YAML file that is not a mapping": (
        _config_text("- input\n- output\n"),
        Stop(2, "Error: config.yaml: the config must be a mapping of sections; got list\n"),
    ),
    "a config that is not YAML": (
        _config_text("input: [unclosed\n"),
        Stop(
            2,
            "Error: config.yaml: not valid YAML at line 2, column 1: expected ',' or ']', but got '<stream end>'\n",
        ),
    ),
    "an unknown key": (
        _config_text("input: {paths: [more.jsonl]}\nminhash: {num_perms: 64}\n"),
        Stop(2, "Error: config.yaml: unknown key 'minhash.num_perms'; did you mean 'num_perm'?\n"),
    ),
    "a threshold out of range": (
        _config_text("input: {paths: [more.jsonl]}\nlsh: {threshold: 1.5}\n"),
        Stop(
            2, "Error: config.yaml: lsh.threshold must be a number between 0 and 1 (both excluded); got 1.5\n"
        ),
    ),
    "a memory budget that is not a size": (
        _config_text("input: {paths: [more.jsonl]}\nmemory_budget: lots\n"),
        Stop(
            2,
            "Error: config.yaml: memory_budget must be a size such as '2GB', '512MB' or '4GiB'; got 'lots'\n",
        ),
    ),
    "an output folder holding an earlier run": (
        _earlier_run,
        Stop(
            1,
            "Error: out: the output folder holds an earlier run (unique.parquet); "
            "set output.overwrite: true or choose another output.dir\n",
        ),
    ),
}


def _write(tmp: Path, data: dict[str, Any]) -> None:
    raw = data.pop("__raw__", None)
    if raw is not None:
        (tmp / "config.yaml").write_text(raw, encoding="utf-8")
        return
    data.setdefault("output", {"dir": "out"})
    (tmp / "config.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")


def _output_rows(tmp: Path, name: str) -> list[dict[str, Any]]:
    return pq.read_table(tmp / "out" / name).to_pylist()


@pytest.mark.parametrize("kind", list(CASES))
def test_bad_input_catalogue(kind: str, cli: Callable[..., Result], tmp_path: Path) -> None:
    build, expect = CASES[kind]
    _write(tmp_path, build(tmp_path))
    result = cli("run", "config.yaml")
    if isinstance(expect, Stop):
        assert (result.exit_code, result.stderr) == (expect.code, expect.message)
        assert not (tmp_path / "out" / "report.json").exists()
        return
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["read"] == report["kept"] + report["duplicates"] + report["rejected"]
    kept = _output_rows(tmp_path, "unique.parquet")
    through = kept + _output_rows(tmp_path, "duplicates.parquet")
    assert {GOOD[0], GOOD[1]} <= {row["text"].split("\n\n")[0] for row in through}, (
        "the good records went through"
    )
    if isinstance(expect, Kept):
        (row,) = [r for r in kept if (r["source_file"], r["source_line"]) == (expect.file, expect.line)]
        assert row["text"] == expect.text
        return
    rows = [r for r in _output_rows(tmp_path, "rejects.parquet") if r["source_file"] == expect.file]
    assert [(r["source_line"], r["field"]) for r in rows] == [(expect.line, expect.field)]
    assert expect.reason in rows[0]["reason"]
    assert rows[0]["raw"] is None or len(rows[0]["raw"]) <= 65_536
    field_part = f" field '{expect.field}':" if expect.field else ""
    where = f"{expect.file}:{expect.line}" if expect.line is not None else expect.file
    assert f"  {where}:{field_part} {printable(rows[0]['reason'])}\n" in result.stderr


def test_an_unreadable_file_is_rejected_and_the_rest_goes_through(
    cli: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dedup.io import readers

    _jsonl(tmp_path / "locked.jsonl", [_good_json(0)])
    _jsonl(tmp_path / "more.jsonl", [_good_json(0), _good_json(1)])
    real = readers.open_binary

    def refuse(path: str) -> Any:
        if path.endswith("locked.jsonl"):
            raise PermissionError(13, "Permission denied", path)
        return real(path)

    monkeypatch.setattr(readers, "open_binary", refuse)
    _write(tmp_path, {"input": {"paths": ["locked.jsonl", "more.jsonl"]}})
    result = cli("run", "config.yaml")
    assert result.exit_code == 0, result.output
    assert "  locked.jsonl: cannot open the file: Permission denied\n" in result.stderr
    assert len(_output_rows(tmp_path, "unique.parquet")) == 2


@pytest.mark.processes
def test_a_file_without_read_permission(tmp_path: Path) -> None:
    """A real unreadable file; as root (who reads any file) the run goes as user `nobody`."""
    import shutil
    import subprocess
    import sys
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="dedup-locked-"))  # a folder `nobody` may enter
    try:
        folder.chmod(0o777)
        _jsonl(folder / "locked.jsonl", [_good_json(0)])
        _jsonl(folder / "more.jsonl", [_good_json(0), _good_json(1)])
        (folder / "more.jsonl").chmod(0o644)
        (folder / "locked.jsonl").chmod(0)
        _write(folder, {"input": {"paths": ["locked.jsonl", "more.jsonl"]}, "output": {"dir": "out"}})
        (folder / "config.yaml").chmod(0o644)
        command = [str(Path(sys.executable).with_name("dedup")), "run", "config.yaml"]
        if os.geteuid() == 0:
            assert shutil.which("setpriv"), "util-linux's setpriv runs the check as user nobody"
            command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
        env = {**os.environ, "HOME": str(folder), "NUMBA_CACHE_DIR": str(folder / ".cache")}
        result = subprocess.run(command, cwd=folder, capture_output=True, text=True, env=env, check=False)
        assert result.returncode == 0, result.stderr
        assert "locked.jsonl: cannot open the file: Permission denied" in result.stderr
        assert len(pq.read_table(folder / "out" / "unique.parquet")) == 2
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("kind", ["a malformed JSON line among good ones", "duplicate ids", "NUL bytes"])
def test_on_error_fail_stops_at_the_bad_record_and_writes_nothing(
    kind: str, cli: Callable[..., Result], tmp_path: Path
) -> None:
    build, expect = CASES[kind]
    assert isinstance(expect, Reject)
    _write(tmp_path, {**build(tmp_path), "on_error": "fail"})
    result = cli("run", "config.yaml")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {expect.file}:{expect.line}: ")
    assert expect.reason in result.stderr and result.stderr.endswith(" (on_error: fail)\n")
    assert not (tmp_path / "out" / "report.json").exists()


def test_max_chars_counts_characters_not_bytes() -> None:
    import pyarrow as pa

    from dedup import config_from_dict
    from dedup.featurize import clean_table

    texts = ["abcde", "abcdef", "ééééé", "éééééé", "日本語の文", "日本語の文章", "€" * 5 + "a", "a b"]
    table = pa.table(
        {
            "id": [str(i) for i in range(len(texts))],
            "text": texts,
            "source_file": ["f"] * len(texts),
            "source_line": list(range(1, len(texts) + 1)),
        }
    )
    config = config_from_dict({"input": {"paths": ["x"]}, "normalize": {"max_chars": 5}, "on_error": "skip"})
    kept, _, _, rejects = clean_table(table, config)
    assert kept["id"].to_pylist() == [str(i) for i, t in enumerate(texts) if len(t) <= 5]
    assert sorted(int(str(r.id)) for r in rejects) == [i for i, t in enumerate(texts) if len(t) > 5]
