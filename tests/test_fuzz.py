"""Fuzzing: arbitrary bytes and Unicode through reading, cleaning, shingling, signing and a whole run.

The properties: nothing crashes, every output is valid, and every input record is accounted for
exactly once (kept, dropped as a duplicate, or rejected with a reason), which the pipeline checks
itself and these tests check again from the files.

Examples are drawn under the profile `tests/conftest.py` loads (derandomized in CI; the README's
longer fuzz run draws fresh ones). Every failure fuzzing has found is pinned below as an
`@example`, with where it was found, so no run depends on drawing it again; the other pinned
examples are the edge cases of the same kinds.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import example, given, settings
from hypothesis import strategies as st

import dedup
from dedup.minhash import MinHashConfig, sign, sign_forms
from dedup.normalize import NormalizeConfig, clean_batch, hashing_forms, join_paragraphs
from dedup.shingle import ShingleConfig, shingle_batch
from tests.conftest import examples

FUZZ = settings(max_examples=examples(100))
_BOM = b"\xef\xbb\xbf"

# Text that exercises the cleaner: markup, entities, whitespace of every kind, CJK, marks, controls.
_PIECES = st.sampled_from(
    [
        "<p>",
        "</p>",
        "<div>",
        "<br>",
        "<script>x</script>",
        "&amp;",
        "&#39;",
        "&bogus;",
        "\u00a0",
        "\u200b",
        "\u3000",
        "\r\n",
        "\n\n",
        "\t",
        "\u0301",
        "\ufe0f",
        "東京",
        "😀",
        "\x07",
        "Da",
        "word",
        " ",
        ".",
        "-",
        "1.5",
    ]
)
TEXT = st.lists(st.one_of(_PIECES, st.text(max_size=12)), max_size=30).map("".join)


def _run(folder: Path, name: str, data: bytes) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """Run on `data`; a run whose every record is rejected fails, and reads as all rejects here."""
    (folder / name).write_bytes(data)
    config = dedup.config_from_dict(
        {"input": {"paths": [str(folder / name)]}, "output": {"dir": str(folder / "out"), "overwrite": True}}
    )
    try:
        dedup.run(config)
    except dedup.InputError as err:
        found = re.match(r".*every record read was rejected \(([0-9,]+)\), nothing written", str(err))
        assert found is not None, str(err)
        assert not (folder / "out" / "report.json").exists()
        read = int(found.group(1).replace(",", ""))
        lines = [i for i, line in enumerate(data.split(b"\n")[:-1], 1) if line.rstrip(b"\r").strip()]
        rejects = [
            {"source_line": line, "reason": "every record rejected", "source_file": name} for line in lines
        ]
        report = {"read": read, "kept": 0, "duplicates": 0, "rejected": read}
        return report, {"unique": [], "duplicates": [], "rejects": rejects[-read:]}
    report = json.loads((folder / "out" / "report.json").read_text())
    tables = {
        n: pq.read_table(folder / "out" / f"{n}.parquet").to_pylist()
        for n in ("unique", "duplicates", "rejects")
    }
    return report, tables


def _accounted_lines(tables: dict[str, list[dict[str, Any]]]) -> list[int]:
    return sorted(row["source_line"] for rows in tables.values() for row in rows)


@FUZZ
@given(st.lists(st.binary(max_size=80), min_size=1, max_size=12))
# Found by this test (commit 847e722): a byte-order mark opening the file is no part of the first line.
@example([_BOM + b"<p>word one two</p>", b"plain line"])
@example([_BOM, b"x"])
# Found by this test under the derandomized profile (issue 12): a text file whose first line starts
# with "WARC/" was read as a corrupt WARC file, one reject for two lines.
@example([b"WARC/", b"\x00"])
# Edge cases of the same kind: blank lines only, NUL bytes, invalid UTF-8, an exact repeat, CR endings.
@example([b"", b" ", b"\r", b"\t"])
@example([b"PK\x03\x04\x00\x00binary"])
@example([b"\xff\xfe broken", b"fine words here"])
@example([b"<p>same words</p>", b"<p>same words</p>\r"])
def test_arbitrary_bytes_as_lines_are_each_accounted_for(lines: list[bytes]) -> None:
    data = b"\n".join(lines) + b"\n"
    body = data.removeprefix(b"\xef\xbb\xbf")  # a byte-order mark opening the file is no text
    records = [i for i, line in enumerate(body.split(b"\n")[:-1], 1) if line.rstrip(b"\r").strip()]
    with tempfile.TemporaryDirectory() as tmp:
        report, tables = _run(Path(tmp), "in.txt", data)
    assert report["read"] == len(records) == report["kept"] + report["duplicates"] + report["rejected"]
    assert _accounted_lines(tables) == records
    for row in tables["rejects"]:
        assert row["reason"] and row["source_file"].endswith("in.txt")
    for row in tables["unique"]:
        assert row["text"] and row["text"] == "\n\n".join(row["paragraphs"])


_JSON_VALUE = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), TEXT)
_ROW = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(st.text(max_size=3), st.integers(0, 5), _JSON_VALUE),
        "text": st.one_of(TEXT, _JSON_VALUE),
        "extra": _JSON_VALUE,
    },
)
_LINE = st.one_of(
    _ROW.map(lambda r: json.dumps(r).encode()), st.binary(max_size=40).filter(lambda b: b"\n" not in b)
)


@FUZZ
@given(st.lists(_LINE, min_size=1, max_size=12))
# Found by this test (issue 11, item 3): an unsigned 64-bit count beside a line that sends the block
# to the line-by-line reader crashed the run (OverflowError building the Arrow column).
@example([b'{"text": "word", "views": 18446744073709551615}', b"{broken"])
# Found with it (issue 11, items 1-3): a byte-order mark when another line forces the line-by-line
# path; an escaped lone surrogate; an integer of 5,000 digits.
@example([_BOM + b'{"id": "a", "text": "word"}', b"{broken"])
@example([b'{"id": "s", "text": "abc \\ud800 def"}', b'{"text": "fine"}'])
@example([b'{"text": "word", "n": ' + b"9" * 5000 + b"}"])
# Edge cases of the same kinds: ids that repeat once read as text, a boolean id, a field whose type
# changes between lines, something other than an object, a null text.
@example([b'{"id": 1, "text": "a b c"}', b'{"id": "1", "text": "d e f"}'])
@example([b'{"id": true, "text": "a"}', b'{"text": "b", "extra": 1}', b'{"text": "c", "extra": "x"}'])
@example([b"[1]", b'{"text": null}', b'{"text": "ok"}'])
def test_arbitrary_json_lines_are_each_accounted_for(lines: list[bytes]) -> None:
    data = b"\n".join(lines) + b"\n"
    lines = [lines[0].removeprefix(b"\xef\xbb\xbf"), *lines[1:]]  # a byte-order mark is no text
    records = [i for i, line in enumerate(lines, 1) if line.rstrip(b"\r").strip()]
    with tempfile.TemporaryDirectory() as tmp:
        report, tables = _run(Path(tmp), "in.jsonl", data)
    assert report["read"] == len(records) == report["kept"] + report["duplicates"] + report["rejected"]
    assert _accounted_lines(tables) == records
    kept_ids = [row["id"] for row in tables["unique"]] + [row["id"] for row in tables["duplicates"]]
    assert len(kept_ids) == len(set(kept_ids)), "ids are unique among the records that went through"
    assert {row["duplicate_of"] for row in tables["duplicates"]} <= {row["id"] for row in tables["unique"]}


@FUZZ
@given(st.lists(TEXT, min_size=1, max_size=20), st.sampled_from(["auto", "html", "text"]), st.integers(1, 3))
def test_clean_shingle_sign_give_valid_outputs_for_any_text(
    texts: list[str], content: str, ngram: int
) -> None:
    cfg = NormalizeConfig(content=content)  # type: ignore[arg-type]
    paragraphs = clean_batch(pa.array(texts, pa.large_string()), cfg, workers=2)
    paragraphs.validate(full=True)
    assert len(paragraphs) == len(texts)
    for record in paragraphs.to_pylist():
        assert all(p and p == p.strip() and "\x00" not in p for p in record)
    forms = hashing_forms(join_paragraphs(paragraphs, "\n"), workers=2)
    forms.validate(full=True)
    minhash = MinHashConfig(num_perm=32)
    signatures = sign_forms(forms, ngram, minhash, workers=2)
    assert signatures.shape == (len(texts), 32) and signatures.dtype == np.uint32
    hashes, offsets = shingle_batch(forms, ShingleConfig(ngram=ngram))
    assert np.array_equal(sign(hashes, offsets, minhash), signatures), "kernel and numpy reference agree"
    empty = np.flatnonzero(np.diff(offsets) == 0)
    assert (signatures[empty] == np.iinfo(np.uint32).max).all(), "no shingles: the empty signature"
