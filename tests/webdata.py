"""Web data the tests build themselves: pages of one site, and WARC/WET files written byte by byte.

The WARC writer follows ISO 28500 by hand (version line, named fields, `Content-Length`, a blank
line, the block, two CRLFs), one gzip member per record for `.warc.gz`, so the reader under test
shares no code with it.
"""

from __future__ import annotations

import gzip
import html
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import article

MENU = [f"Menu section {i}" for i in range(40)]
FOOTER = [f"Footer link {i}" for i in range(15)]


def site_page(seed: int, title: str) -> str:
    """A whole page of one site: header with a 40-item `<nav>` menu, an article, a 15-item footer list.

    Also a cookie banner, a share bar and an aside of related links, all boilerplate.
    """
    menu = "".join(f'<li><a href="/s/{i}">{html.escape(m)}</a></li>' for i, m in enumerate(MENU))
    footer = "".join(f'<li><a href="/f/{i}">{html.escape(f)}</a></li>' for i, f in enumerate(FOOTER))
    body = "".join(f"<p>{html.escape(p)}</p>" for p in article(seed))
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>"
        f"{html.escape(title)} | The Daily Site</title></head><body>"
        '<div class="cookie-banner">We use cookies to improve your experience. Accept all cookies</div>'
        f'<header><div class="logo">The Daily Site</div><nav><ul>{menu}</ul></nav></header>'
        f"<main><article><h1>{html.escape(title)}</h1>{body}"
        '<div class="share-bar"><a href="#">Share on Facebook</a> <a href="#">Share by email</a></div>'
        "</article><aside><h3>Related stories</h3><ul><li><a href='/r/1'>Another story one</a></li>"
        "<li><a href='/r/2'>Another story two</a></li></ul></aside></main>"
        f"<footer><ul>{footer}</ul><p>Copyright 2024 The Daily Site</p></footer></body></html>"
    )


def boilerplate_of_the_site() -> list[str]:
    """Texts of the site's furniture that must not be in any kept record."""
    return [*MENU, *FOOTER, "Accept all cookies", "Share on Facebook", "Another story one", "Copyright 2024"]


@dataclass
class Record:
    """One WARC record to write."""

    type: str
    block: bytes
    headers: dict[str, str] = field(default_factory=dict)
    record_id: str | None = None

    def encode(self) -> bytes:
        seen = repr((self.type, self.headers, self.block))
        rid = self.record_id or f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, seen)}>"
        lines = ["WARC/1.0", f"WARC-Type: {self.type}", f"WARC-Record-ID: {rid}"]
        lines += [f"{k}: {v}" for k, v in self.headers.items()]
        lines.append(f"Content-Length: {len(self.block)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.block + b"\r\n\r\n"


def http_response(
    url: str,
    body: bytes,
    content_type: str | None = "text/html; charset=utf-8",
    status: str = "200 OK",
    extra: str = "",
    record_id: str | None = None,
    date: str = "2024-05-18T01:58:10Z",
) -> Record:
    """A `response` record holding an HTTP response."""
    head = f"HTTP/1.1 {status}\r\n"
    if content_type is not None:
        head += f"Content-Type: {content_type}\r\n"
    head += extra + "\r\n"
    headers = {
        "WARC-Target-URI": url,
        "WARC-Date": date,
        "Content-Type": "application/http; msgtype=response",
    }
    return Record("response", head.encode("latin-1") + body, headers, record_id)


def http_request(url: str) -> Record:
    """The `request` record a crawler writes before a response."""
    block = f"GET / HTTP/1.1\r\nHost: {url.split('/')[2]}\r\n\r\n".encode()
    return Record(
        "request", block, {"WARC-Target-URI": url, "Content-Type": "application/http; msgtype=request"}
    )


def warcinfo() -> Record:
    """The `warcinfo` record that opens a WARC file."""
    return Record(
        "warcinfo",
        b"software: tests\r\nformat: WARC File Format 1.0\r\n",
        {"Content-Type": "application/warc-fields"},
    )


def conversion(url: str, text: str, record_id: str, language: str | None = None) -> Record:
    """A WET `conversion` record: the plain text of a page, one line per block."""
    headers = {"WARC-Target-URI": url, "WARC-Date": "2024-05-18T01:58:10Z", "Content-Type": "text/plain"}
    if language:
        headers["WARC-Identified-Content-Language"] = language
    return Record("conversion", text.encode("utf-8"), headers, record_id)


def write_warc(path: Path, records: list[Record], gz: bool | None = None) -> tuple[Path, list[int]]:
    """Write records as a WARC file (one gzip member each when `gz`, by default when the name ends
    in `.gz`); return the path and each record's byte offset in the file."""
    gz = path.name.endswith(".gz") if gz is None else gz
    data = b""
    offsets: list[int] = []
    for record in records:
        offsets.append(len(data))
        raw = record.encode()
        data += gzip.compress(raw, mtime=0) if gz else raw
    path.write_bytes(data)
    return path, offsets
