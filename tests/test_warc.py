from __future__ import annotations

import codecs
import gzip
import json
import os
from pathlib import Path

import pyarrow as pa
import pytest

from dedup import config_from_dict, run
from dedup.io.readers import InputConfig, ReadBatch, detect_format, read
from dedup.io.warc import decode, sniff
from tests.conftest import ROOT, write_jsonl
from tests.webdata import Record, conversion, http_request, http_response, warcinfo, write_warc

SHARED = Path(os.environ.get("DEDUP_DATA", ROOT.parent / "shared" / "data")) / "web"
PAGE = "<!DOCTYPE html><html><head><title>T</title></head><body><article><p>{}</p></article></body></html>"


def _read(*paths: Path | str) -> tuple[pa.Table, ReadBatch]:
    """Every batch of `paths` merged: (records, a batch holding all rejects and skip counts)."""
    batches = list(read(InputConfig(paths=tuple(str(p) for p in paths))))
    skipped: dict[str, int] = {}
    for b in batches:
        for kind, n in b.skipped_records.items():
            skipped[kind] = skipped.get(kind, 0) + n
    records = pa.concat_tables([b.records for b in batches if b.records.num_rows], promote_options="default")
    return records, ReadBatch(records, [r for b in batches for r in b.rejects], 0, skipped)


def _crawl() -> list[Record]:
    return [
        warcinfo(),
        http_request("https://a.example/"),
        http_response(
            "<https://a.example/>", PAGE.format("Storm closes the port").encode(), record_id="<urn:uuid:a>"
        ),
        http_response("https://a.example/t.txt", b"Plain text body.", "text/plain", record_id="<urn:uuid:b>"),
        http_response("https://a.example/i.png", b"\x89PNG\r\n", "image/png"),
        http_response("https://a.example/gone", b"<html>Not found</html>", status="404 Not Found"),
        http_response("https://a.example/old", b"", status="301 Moved Permanently"),
        Record("revisit", b"", {"WARC-Target-URI": "https://a.example/"}),
        Record("metadata", b"fetchTimeMs: 12\r\n", {"Content-Type": "application/warc-fields"}),
        Record("resource", b"wget log", {"Content-Type": "text/plain"}),
    ]


def test_responses_become_records_and_other_records_are_counted(tmp_path: Path) -> None:
    path, offsets = write_warc(tmp_path / "crawl.warc.gz", _crawl())
    records, batch = _read(path)
    assert batch.rejects == []
    rows = records.to_pylist()
    assert [r["id"] for r in rows] == ["<urn:uuid:a>", "<urn:uuid:b>"]
    assert [r["source_line"] for r in rows] == offsets[2:4]  # byte offsets of the records
    assert rows[0]["url"] == "https://a.example/"  # the <...> some crawlers write is gone
    assert rows[0]["date"] == "2024-05-18T01:58:10Z"
    assert [r["content_type"] for r in rows] == ["text/html", "text/plain"]
    assert rows[1]["text"] == "Plain text body."
    assert batch.skipped_records == {
        "warcinfo": 1,
        "request": 1,
        "response: image/png": 1,
        "response: HTTP 4xx": 1,
        "response: HTTP 3xx": 1,
        "revisit": 1,
        "metadata": 1,
        "resource": 1,
    }


@pytest.mark.parametrize("granularity", ["document", "paragraph"])
@pytest.mark.parametrize("budget", ["1MB", "1GB"])
def test_skipped_records_are_in_the_report(tmp_path: Path, granularity: str, budget: str) -> None:
    write_warc(tmp_path / "crawl.warc", _crawl())
    config = config_from_dict(
        {
            "input": {"paths": [str(tmp_path / "crawl.warc")]},
            "output": {"dir": str(tmp_path / "out")},
            "granularity": granularity,
            "memory_budget": budget,
        }
    )
    report = run(config)
    assert (report.read, report.kept, report.rejected) == (2, 2, 0)
    saved = json.loads((tmp_path / "out" / "report.json").read_text())
    assert saved["skipped_records"]["request"] == 1 and sum(saved["skipped_records"].values()) == 8


def test_wet_conversion_records_are_documents_with_one_paragraph_a_line(tmp_path: Path) -> None:
    text = "Escopete\nIr al contenido\n\nEl escopete ye un lugar de Aragón.\n"
    path, _ = write_warc(
        tmp_path / "x.warc.wet.gz",
        [warcinfo(), conversion("https://an.example/", text, "<urn:uuid:w>", "spa")],
    )
    records, batch = _read(path)
    assert batch.skipped_records == {"warcinfo": 1} and batch.rejects == []
    row = records.to_pylist()[0]
    assert (row["id"], row["url"], row["language"], row["content_type"]) == (
        "<urn:uuid:w>",
        "https://an.example/",
        "spa",
        "text/plain",
    )
    assert row["text"] == "Escopete\n\nIr al contenido\n\nEl escopete ye un lugar de Aragón."


@pytest.mark.parametrize(
    ("body", "content_type", "text", "encoding"),
    [
        ("Привет, мир".encode("cp1251"), "text/html; charset=windows-1251", "Привет, мир", "cp1251"),
        (
            "你好世界".encode("gb18030"),
            "text/html; charset=gb2312",
            "你好世界",
            "gbk",
        ),  # as browsers read gb2312
        (b"<meta charset='shift_jis'>" + "日本語".encode("shift_jis"), "text/html", "日本語", "shift_jis"),
        (
            codecs.BOM_UTF16_LE + "Größe".encode("utf-16-le"),
            "text/html; charset=iso-8859-1",
            "Größe",
            "utf-16-le",
        ),
        (b"caf\xc3\xa9 \xff\xfe ok", "text/html; charset=utf-8", "café \ufffd\ufffd ok", "utf-8"),
        (b"caf\xe9", "text/html; charset=no-such-charset", "caf", None),  # then detected
    ],
)
def test_bodies_are_decoded_by_header_then_page_then_detection(
    body: bytes, content_type: str, text: str, encoding: str | None
) -> None:
    decoded, used = decode(body, content_type)
    assert text in decoded
    if encoding is not None:
        assert codecs.lookup(used).name == codecs.lookup(encoding).name


def test_chunked_and_gzip_encoded_bodies_are_undone(tmp_path: Path) -> None:
    page = PAGE.format("Chunked and compressed").encode()
    packed = gzip.compress(page)
    chunked = b"".join(
        b"%x\r\n%s\r\n" % (len(packed[i : i + 50]), packed[i : i + 50]) for i in range(0, len(packed), 50)
    )
    chunked += b"0\r\n\r\n"
    extra = "Transfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n"
    bad = http_response(
        "https://a.example/bad",
        b"not gzip at all",
        extra="Content-Encoding: gzip\r\n",
        record_id="<urn:uuid:bad>",
    )
    path, offsets = write_warc(
        tmp_path / "c.warc",
        [http_response("https://a.example/", chunked, extra=extra, record_id="<urn:uuid:c>"), bad],
    )
    records, batch = _read(path)
    assert "Chunked and compressed" in records.to_pylist()[0]["text"]
    (reject,) = batch.rejects
    assert reject.source_line == offsets[1] and "encoding (gzip) cannot be undone" in reject.reason


def test_a_response_without_an_http_status_line_is_rejected_alone(tmp_path: Path) -> None:
    broken = Record(
        "response",
        b"garbage, no HTTP here\r\n\r\nbody",
        {"Content-Type": "application/http; msgtype=response"},
    )
    ok = http_response("https://a.example/", PAGE.format("fine").encode(), record_id="<urn:uuid:ok>")
    path, offsets = write_warc(tmp_path / "b.warc", [broken, ok])
    records, batch = _read(path)
    assert records["id"].to_pylist() == ["<urn:uuid:ok>"]
    assert [(r.source_file, r.source_line) for r in batch.rejects] == [(str(path), offsets[0])]
    assert "no HTTP status line" in batch.rejects[0].reason


def test_a_mixed_folder_is_read_by_content(tmp_path: Path) -> None:
    folder = tmp_path / "crawl"
    folder.mkdir()
    write_jsonl(folder / "docs.jsonl", [{"id": "j1", "text": "A JSON line record."}])
    with gzip.open(folder / "more.jsonl.gz", "wt") as handle:
        handle.write(json.dumps({"id": "j2", "text": "Another."}) + "\n")
    page = PAGE.format("x").encode()
    write_warc(
        folder / "a.warc.gz", [warcinfo(), http_response("https://a/", page, record_id="<urn:uuid:1>")]
    )
    write_warc(folder / "b.gz", [warcinfo(), conversion("https://b/", "WET text", "<urn:uuid:2>")])
    write_warc(folder / "c.data", [http_response("https://c/", page, record_id="<urn:uuid:3>")])
    records, batch = _read(str(folder / "*"))
    assert sorted(records["id"].to_pylist()) == ["<urn:uuid:1>", "<urn:uuid:2>", "<urn:uuid:3>", "j1", "j2"]
    assert not any(t.startswith("WARC/") or "WARC-Type" in t for t in records["text"].to_pylist())
    assert batch.rejects == [] and batch.skipped_records == {"warcinfo": 2}
    assert detect_format(str(folder / "c.data"), "auto") == "warc"
    assert detect_format(str(folder / "docs.jsonl"), "auto") == "jsonl"


@pytest.mark.parametrize("name", ["t.warc.gz", "t.warc"])
def test_a_truncated_warc_keeps_every_whole_record_before_the_damage(tmp_path: Path, name: str) -> None:
    pages = [
        http_response(f"https://a/{i}", PAGE.format(f"page {i} " * 50).encode(), record_id=f"<urn:uuid:{i}>")
        for i in range(4)
    ]
    path, offsets = write_warc(tmp_path / name, [warcinfo(), *pages])
    data = path.read_bytes()
    path.write_bytes(data[: offsets[3] + (offsets[4] - offsets[3]) // 2])  # cut inside the third page
    write_jsonl(tmp_path / "after.jsonl", [{"id": "after", "text": "The next file is read."}])
    records, batch = _read(path, tmp_path / "after.jsonl")
    assert records["id"].to_pylist() == ["<urn:uuid:0>", "<urn:uuid:1>", "after"]
    (reject,) = batch.rejects
    assert (reject.source_file, reject.source_line) == (str(path), offsets[3])
    assert reject.reason.startswith(f"the WARC record at byte {offsets[3]:,} is cut short")


def test_a_corrupt_warc_gz_keeps_every_whole_record_before_the_damage(tmp_path: Path) -> None:
    pages = [
        http_response(f"https://a/{i}", PAGE.format(f"page {i} " * 50).encode(), record_id=f"<urn:uuid:{i}>")
        for i in range(4)
    ]
    path, offsets = write_warc(tmp_path / "c.warc.gz", pages)
    data = bytearray(path.read_bytes())
    data[offsets[2] + 20 : offsets[2] + 60] = b"\x00" * 40  # inside the compressed third record
    path.write_bytes(bytes(data))
    records, batch = _read(path)
    assert records["id"].to_pylist() == ["<urn:uuid:0>", "<urn:uuid:1>"]
    (reject,) = batch.rejects
    assert reject.source_file == str(path) and offsets[1] < reject.source_line <= offsets[2]
    assert reject.reason.startswith(
        f"the WARC file is truncated or corrupt after the record at byte {offsets[1]:,}: "
    )


@pytest.mark.parametrize(("name", "fmt"), [("x.warc.gz", "auto"), ("x.jsonl", "warc")])
def test_a_file_that_is_not_warc_is_rejected_when_named_or_forced_as_warc(
    tmp_path: Path, name: str, fmt: str
) -> None:
    path = tmp_path / name
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(b'{"id": 1, "text": "json"}\n'))
    else:
        write_jsonl(path, [{"id": 1, "text": "json"}])
    batches = list(read(InputConfig(paths=(str(path),), format=fmt)))  # type: ignore[arg-type]
    (reject,) = [r for b in batches for r in b.rejects]
    assert reject.source_file == str(path) and reject.source_line == 0
    assert reject.reason.startswith("not a readable WARC file: ")


@pytest.mark.parametrize(
    ("head", "warc"),
    [
        (b"WARC/1.0\r\nWARC-Type: warcinfo\r\n", True),
        (b"WARC/1.1\r\n", True),
        (gzip.compress(b"WARC/1.0\r\nWARC-Type: response\r\n", mtime=0), True),  # mtime: stable test ids
        (gzip.compress(b'{"text": "WARC/1.0"}\n', mtime=0), False),
        (b"\x1f\x8b\x08garbage", False),
        (b"<html>", False),
        (b"", False),
        (b"WARC/\n\x00\n", False),  # a text line opening with "WARC/" (found by tests/test_fuzz.py)
        (b"WARC/ is a format\n", False),
        (b"WARC/1.0 is the format crawlers write\n", False),
        (b"WARC/1.0", False),  # the version line unfinished
    ],
)
def test_sniff(head: bytes, warc: bool) -> None:
    assert sniff(head) is warc


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data/web is not here")
def test_the_shared_common_crawl_samples(tmp_path: Path) -> None:
    expect = {
        "dolma_warc_sample-0000.warc.gz": (22, {"warcinfo": 1, "request": 22, "metadata": 1, "resource": 2}),
        "dolma_warc_sample-0001.warc.gz": (15, {"warcinfo": 1, "request": 15, "metadata": 1, "resource": 2}),
        "resiliparse_warcfile_CC-MAIN-2020-34.warc.gz": (16, {"warcinfo": 1, "request": 17, "metadata": 16}),
        "whirlwind_CC-MAIN-2024-22.warc.gz": (1, {"warcinfo": 1, "request": 1, "metadata": 1}),
        "whirlwind_CC-MAIN-2024-22.warc.wet.gz": (1, {"warcinfo": 1}),
    }
    for name, (documents, skipped) in expect.items():
        records, batch = _read(SHARED / name)
        assert (records.num_rows, batch.skipped_records, batch.rejects) == (documents, skipped, [])
        assert all(i.startswith("<urn:uuid:") for i in records["id"].to_pylist())
    records, _ = _read(SHARED / "resiliparse_warcfile_CC-MAIN-2020-34.warc.gz")
    by_charset = {row["charset"]: row["text"] for row in records.to_pylist()}
    assert any("\u0400" <= ch <= "\u04ff" for ch in by_charset["cp1251"])  # Cyrillic, from windows-1251
    assert any("\u4e00" <= ch <= "\u9fff" for ch in by_charset["gbk"])  # Chinese, from gb2312
    # The run: the WET file was read as 208 lines; it holds one document.
    wet = SHARED / "whirlwind_CC-MAIN-2024-22.warc.wet.gz"
    report = run(config_from_dict({"input": {"paths": [str(wet)]}, "output": {"dir": str(tmp_path / "out")}}))
    assert (report.read, report.kept, report.rejected) == (1, 1, 0)


def test_a_file_cut_inside_a_skipped_record_is_damaged_there(tmp_path: Path) -> None:
    first = http_response("https://a/0", PAGE.format("first page").encode(), record_id="<urn:uuid:0>")
    image = http_response("https://a/big.jpg", bytes(range(256)) * 1000, "image/jpeg")
    last = http_response("https://a/1", PAGE.format("last page").encode(), record_id="<urn:uuid:1>")
    path, offsets = write_warc(tmp_path / "cut.warc", [first, image, last])
    path.write_bytes(path.read_bytes()[: offsets[1] + 100_000])
    records, batch = _read(path)
    assert records["id"].to_pylist() == ["<urn:uuid:0>"]
    assert [r.source_line for r in batch.rejects] == [offsets[1]] and batch.skipped_records == {}


@pytest.mark.parametrize(
    ("texts", "limit", "sizes"),
    [
        # A batch is handed on once its documents hold `limit` characters or more (worked out by
        # hand: 5 + 5 reaches 10; 3 + 3 + 3 + 3 passes it).
        (["aaaaa"] * 5, 10, [2, 2, 1]),
        (["aaa"] * 5, 10, [4, 1]),
        (["a" * 9] * 4, 10, [2, 2]),  # the count starts from nothing again after each batch
    ],
)
def test_a_warc_is_read_in_batches_bounded_by_their_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, texts: list[str], limit: int, sizes: list[int]
) -> None:
    from dedup.io import readers

    monkeypatch.setattr(readers, "_WARC_BATCH_BYTES", limit)
    records = [conversion(f"https://a/{k}", t, f"<urn:uuid:{k}>") for k, t in enumerate(texts)]
    path, _ = write_warc(tmp_path / "a.warc", [warcinfo(), *records])
    batches = [b for b in read(InputConfig(paths=(str(path),))) if b.records.num_rows]
    assert [b.records.num_rows for b in batches] == sizes


def test_skipped_records_are_counted_by_kind(tmp_path: Path) -> None:
    path, _ = write_warc(
        tmp_path / "a.warc",
        [
            warcinfo(),
            http_request("https://a/"),
            http_request("https://b/"),
            conversion("https://a/", "x", "<urn:uuid:1>"),
        ],
    )
    _, info = _read(path)
    assert info.skipped_records == {"warcinfo": 1, "request": 2}
