r"""What `dedup` shows people: credentials masked, and control characters escaped.

Messages, reports and the terminal show input (ids, file names, field names) and configuration
(an index URL). `mask_credentials` hides a URL's password (`redis://:secret@host` becomes
`redis://:***@host`), so it never reaches a terminal, a log or `report.json`. `printable` escapes
the characters that a terminal acts on instead of showing (escape sequences that clear the screen
or set a window title, carriage returns, bidirectional overrides) as `\x1b`, `\u202e`, so a
record cannot drive the terminal of whoever reads about it.
"""

from __future__ import annotations

import re
from typing import Any

_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^\s/@:]*)(?::[^\s/@]*)?@")
_PASSWORD_PARAM = re.compile(r"(?P<name>[?&]password=)[^&\s]*", re.IGNORECASE)
# C0 and C1 controls, DEL, line and paragraph separators, and bidirectional marks and overrides.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


def mask_credentials(text: str) -> str:
    """`text` with the password of every URL in it (`user:password@`, `?password=`) as `***`.

    A URL whose user part has no `:` (`redis://secret@host`, where redis-py takes it as the
    password) is masked whole.
    """

    def userinfo(match: re.Match[str]) -> str:
        had_password = match.group(0).count(":") > 1 or not match.group("user")
        user = match.group("user") if had_password else ""
        return f"{match.group('scheme')}{user}:***@"

    masked = _USERINFO.sub(userinfo, text)
    return _PASSWORD_PARAM.sub(lambda m: f"{m.group('name')}***", masked)


def masked(data: Any) -> Any:
    """Plain data (as for JSON) with `mask_credentials` applied to every string in it."""
    if isinstance(data, str):
        return mask_credentials(data)
    if isinstance(data, dict):
        return {key: masked(value) for key, value in data.items()}
    if isinstance(data, list):
        return [masked(value) for value in data]
    return data


def printable(text: str) -> str:
    r"""`text` with every control character escaped (`\x1b`, `\x0a`, `\u202e`), safe for a terminal."""

    def escape(match: re.Match[str]) -> str:
        point = ord(match.group(0))
        return f"\\x{point:02x}" if point < 0x100 else f"\\u{point:04x}"

    return _CONTROL.sub(escape, text)
