"""WARC and WET files: the documents of a web crawl, read with FastWARC.

A WARC file (ISO 28500) is a sequence of records; a crawl's documents are its `response` records
(an HTTP response: status line, headers, body) and, in a WET file, its `conversion` records (the
plain text Common Crawl extracted from a response). `records(path)` yields, in file order, one
`Document` per response with an HTML or plain-text body and per conversion record, a `Skipped`
for every other record (requests, metadata, `warcinfo`, revisits, images, redirects...), and a
`Damage` where the file stops making sense, after which nothing more is read from it.

Why FastWARC (Resiliparse project, Apache-2.0) rather than warcio: it parses gzip, zstd and lz4
WARCs in compiled code (Bevendorff et al. 2021 measure it several times faster than warcio; see
`benchmarks/reports/web.md` for this machine), reports each record's offset in the file as
stored (the offset Common Crawl's index gives), ships type stubs, and raises on a corrupt stream
instead of yielding garbage. Its HTTP decoders undo chunked transfer and gzip/brotli/deflate
content encodings; a record's raw length is checked against its `Content-Length` first, so a
record cut short by a truncated file is a `Damage`, never a shortened document.

Decoding a body follows the WHATWG order: a byte-order mark, else the charset of the HTTP
`Content-Type` header, else the page's `<meta charset>` (first 1,024 bytes), else detection by
uchardet (Resiliparse), and labels are mapped as browsers map them (`iso-8859-1` is
windows-1252, `gb2312` is GBK). Bytes invalid in that encoding become U+FFFD: decoding never fails.
"""

from __future__ import annotations

import codecs
import io
import os
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import zstandard
from fastwarc.stream_io import BrotliReader, ChunkedReader, GzipReader
from fastwarc.warc import ArchiveIterator, HeaderMap, WarcRecord, WarcRecordType
from resiliparse.parse.encoding import detect_encoding, map_encoding_to_html5

#: Media types of the bodies that are documents; any other response is skipped.
TEXT_TYPES = frozenset({"text/html", "application/xhtml+xml", "text/plain"})
#: How much of a file's start is decompressed to tell a WARC from other data.
_SNIFF_BYTES = 1 << 16
#: The first piece of a record read: enough for the HTTP head that says whether it is a document.
_HEAD_BYTES = 1 << 16
_GZIP, _ZSTD = b"\x1f\x8b", b"\x28\xb5\x2f\xfd"
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_HTML_START = re.compile(rb"^\s*<(?:!doctype\s+html|html|head|body)\b", re.IGNORECASE)
_NAMED = re.compile(r"\.(?:warc|arc)(?:\.(?:gz|zst|zstd|lz4))?$", re.IGNORECASE)
#: A WARC version line, the first line of a WARC record (ISO 28500 section 4).
_VERSION_LINE = re.compile(rb"WARC/\d+\.\d+\r?\n")


@dataclass(frozen=True, slots=True)
class Document:
    """One document of a WARC or WET file.

    Attributes:
        offset: the record's byte offset in the file as stored (compressed, for `.warc.gz`).
        record_id: its `WARC-Record-ID` (`<urn:uuid:...>`), or None when the record has none.
        text: the decoded body: HTML for a response, plain text for a conversion record.
        fields: what passes through: `url`, `date` (`WARC-Date`), `content_type` (the body's media
            type), `charset` (what the body was decoded with; responses), `language` (WET only,
            when Common Crawl identified it).
    """

    offset: int
    record_id: str | None
    text: str
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Skipped:
    """A record that holds no document; `kind` is its WARC type, or `response: <why>`."""

    offset: int
    kind: str


@dataclass(frozen=True, slots=True)
class Damage:
    """Where a file stops being readable; `whole` is False when nothing after it was read."""

    offset: int
    reason: str
    whole: bool = False


Item = Document | Skipped | Damage


def named_like_warc(path: str) -> bool:
    """Whether the file's name says WARC (`.warc`, `.warc.gz`, `.warc.wet.gz`, `.arc`...)."""
    return _NAMED.search(path) is not None


def sniff(head: bytes) -> bool:
    """Whether a file starting with `head` (as stored, possibly gzip or zstd) is a WARC file.

    The first record of a WARC file begins with its version line, `WARC/1.0` or `WARC/1.1`
    (ISO 28500 section 4): the whole line, digits and all, so that a text file whose first line
    merely starts with `WARC/` stays text.
    """
    data = head
    try:
        if head.startswith(_GZIP):
            data = zlib.decompressobj(wbits=31).decompress(head, 64)
        elif head.startswith(_ZSTD):
            data = zstandard.ZstdDecompressor().decompressobj().decompress(head)[:64]
    except (zlib.error, zstandard.ZstdError):
        return False
    return _VERSION_LINE.match(data.lstrip(b"\r\n")) is not None


def is_warc(path: str) -> bool:
    """Whether the file at `path` is a WARC file, by its content (see `sniff`).

    Raises:
        OSError: the file cannot be read.
    """
    with open(path, "rb") as handle:
        return sniff(handle.read(_SNIFF_BYTES))


def media_type(content_type: str | None) -> str:
    """The lowercased media type of a `Content-Type` value, without parameters (`text/html`)."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def _charset(content_type: str | None) -> str | None:
    match = re.search(r"charset\s*=\s*[\"']?([^\s;\"']+)", content_type or "", re.IGNORECASE)
    return match.group(1) if match else None


def decode(body: bytes, content_type: str | None) -> tuple[str, str]:
    """Decode a body: `(text, encoding used)`, in the WHATWG order (see the module docstring).

    Never raises: bytes invalid in the chosen encoding become U+FFFD.
    """
    encoding: str | None = None
    for bom, name in _BOMS:
        if body.startswith(bom):
            encoding, body = name, body[len(bom) :]
            break
    if encoding is None:
        declared = _charset(content_type)
        if declared:
            encoding = map_encoding_to_html5(declared, fallback_utf8=False)
    if encoding is None:
        html = media_type(content_type) != "text/plain"
        encoding = detect_encoding(body, from_html_meta=html) or "utf-8"
    try:
        return body.decode(encoding, errors="replace"), encoding
    except LookupError:  # a label the WHATWG map knows but this Python does not
        return body.decode("utf-8", errors="replace"), "utf-8"


def _unwrap(raw: bytes, headers: dict[str, str]) -> bytes:
    """Undo the HTTP transfer coding (chunked) and content coding (gzip, deflate, br) of a body.

    Raises:
        OSError: the body is not validly coded.
    """
    body = raw
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = ChunkedReader(io.BytesIO(body)).read()
    for coding in reversed([c.strip().lower() for c in headers.get("content-encoding", "").split(",")]):
        if coding in ("gzip", "x-gzip"):
            body = GzipReader(io.BytesIO(body)).read()
        elif coding == "deflate":
            body = GzipReader(io.BytesIO(body), zlib=True).read()
        elif coding == "br":
            body = BrotliReader(io.BytesIO(body)).read()
    return body


def _fields(record: WarcRecord) -> dict[str, str]:
    out: dict[str, str] = {}
    url = record.headers.get("WARC-Target-URI")
    if url:
        out["url"] = url.strip().removeprefix("<").removesuffix(">")  # wget writes <...>
    date = record.headers.get("WARC-Date")
    if date:
        out["date"] = date.strip()
    return out


def _verdict(offset: int, http: HeaderMap, body_start: bytes) -> Skipped | Damage | None:
    """Why an HTTP response holds no document (from its head alone), or None when it holds one."""
    status = http.status_code
    if status is None or not (http.status_line or "").startswith("HTTP/"):
        return Damage(offset, "the response record holds no HTTP status line", whole=True)
    if not 200 <= status < 300:
        return Skipped(offset, f"response: HTTP {status // 100}xx")
    kind = media_type(http.get("Content-Type"))
    if not kind and _HTML_START.match(body_start[:1024]):
        kind = "text/html"  # no Content-Type, but the body starts like a page
    if kind not in TEXT_TYPES:
        return Skipped(offset, f"response: {kind or 'no content type'}")
    return None


def _response(record: WarcRecord, http: HeaderMap, raw: bytes) -> Document | Damage:
    offset = record.stream_pos
    headers = {k.lower(): v for k, v in http.items()}
    declared = headers.get("content-type")
    try:
        body = _unwrap(raw, headers)
    except OSError as err:
        coding = headers.get("content-encoding") or headers.get("transfer-encoding")
        return Damage(offset, f"the HTTP body's encoding ({coding}) cannot be undone: {err}", whole=True)
    text, encoding = decode(body, declared)
    fields = _fields(record)
    kind = media_type(declared) or "text/html"  # `_verdict` let it through: HTML or text
    fields.update(content_type=kind, charset=encoding)
    return Document(offset, record.record_id, text, fields)


def _drain(record: WarcRecord) -> int:
    """Read the rest of a record's block without keeping it; return its length in bytes."""
    size = 0
    while chunk := record.reader.read(_HEAD_BYTES):
        size += len(chunk)
    return size


def _conversion(record: WarcRecord, raw: bytes) -> Document:
    declared = record.headers.get("Content-Type")
    text, _ = decode(raw, declared or "text/plain; charset=utf-8")
    # The converter writes one line per block of the page: each line is a paragraph.
    text = "\n\n".join(line for line in text.splitlines() if line.strip())
    fields = _fields(record)
    fields["content_type"] = media_type(declared) or "text/plain"
    language = record.headers.get("WARC-Identified-Content-Language")
    if language:
        fields["language"] = language
    return Document(record.stream_pos, record.record_id, text, fields)


def records(path: str | os.PathLike[str]) -> Iterator[Item]:
    """The documents, skipped records and damage of one WARC or WET file, in file order.

    A record whose body is shorter than its `Content-Length` (the file was cut there) or a
    stream that cannot be decompressed or parsed ends the file with a `Damage` naming the byte
    offset; every whole record before it has been yielded. A response whose HTTP part is broken
    is a `Damage` of that record alone (`whole=True`); reading goes on.

    Raises:
        OSError: the file cannot be opened.
    """
    with open(path, "rb") as handle:
        last = -1
        iterator = iter(ArchiveIterator(handle, record_types=WarcRecordType.any_type, parse_http=False))
        while True:
            try:
                record = next(iterator, None)
                if record is None:
                    return
                offset = record.stream_pos
                kind = record.record_type
                head, start = HeaderMap(), 0
                verdict: Skipped | Damage | None = None
                block_type = (record.headers.get("Content-Type") or "").lower()
                http = kind == WarcRecordType.response and block_type.startswith("application/http")
                if kind not in (WarcRecordType.response, WarcRecordType.conversion):
                    verdict = Skipped(offset, (record.headers.get("WARC-Type") or "unknown").strip().lower())
                elif kind == WarcRecordType.response and not http:  # no HTTP exchange (dns:, ftp:)
                    verdict = Skipped(offset, f"response: {media_type(block_type) or 'no content type'}")
                expected = record.content_length
                # The block's length is checked against Content-Length, but only a document's block
                # is kept: an image or a redirect is read past in pieces.
                block = record.reader.read(_HEAD_BYTES)
                if http and verdict is None:
                    if len(block) == _HEAD_BYTES and b"\n\r\n" not in block and b"\n\n" not in block:
                        block += record.reader.read()  # an HTTP head longer than the first piece
                    start = head.parse(io.BytesIO(block))
                    verdict = _verdict(offset, head, block[start:])
                if verdict is None:
                    block += record.reader.read()
                    size = len(block)
                else:
                    size = len(block) + _drain(record)
            except (OSError, ValueError) as err:
                problem = " ".join(str(err).split())
                if last < 0:
                    yield Damage(0, f"not a readable WARC file: {problem}")
                else:  # the damage lies past the start of the last whole record
                    yield Damage(
                        last + 1,
                        f"the WARC file is truncated or corrupt after the record at byte {last:,}: {problem}",
                    )
                return
            if record.headers.get("Content-Length") is None or size < expected:
                # Every WARC record names its length; one without it was cut inside its header.
                got = f"{size:,} of {expected:,} bytes" if expected else "its header ends early"
                yield Damage(
                    offset,
                    f"the WARC record at byte {offset:,} is cut short ({got}): the file is truncated "
                    "or corrupt from there",
                )
                return
            last = offset
            if verdict is not None:
                yield verdict
            elif kind == WarcRecordType.conversion:
                yield _conversion(record, block)
            else:
                yield _response(record, head, block[start:])
