r"""What `dedup` shows people: credentials masked, and control characters escaped.

Messages, reports and the terminal show input (ids, file names, field names) and configuration
(an index URL, Spark settings). `mask_credentials` hides a URL's password (`redis://:secret@host`
becomes `redis://:***@host`) and the value of a setting whose name names a secret
(`spark.hadoop.fs.s3a.secret.key=***`), so neither reaches a terminal, a log or `report.json`.
`printable` escapes the characters that a terminal acts on instead of showing (escape sequences
that clear the screen or set a window title, carriage returns, bidirectional overrides) as `\x1b`,
`\u202e`, so a record cannot drive the terminal of whoever reads about it.
"""

from __future__ import annotations

import re
from typing import Any

_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^\s/@:]*)(?::[^\s/@]*)?@")
_PASSWORD_PARAM = re.compile(r"(?P<name>[?&]password=)[^&\s]*", re.IGNORECASE)
#: What marks a dotted setting's name as naming a secret: the words of Spark's own redaction
#: (`spark.redaction.regex`: secret, password, token, access.key) and credential, auth, and a
#: part of the name that is or ends in `key` (`fs.s3a.secret.key`, `fs.azure.account.key.<account>`,
#: `...encryption.key`, `apikey`).
SECRET_NAME = re.compile(
    r"secret|passw(?:or)?d|token|credential|auth|access[._-]?key|(?:^|[._-])[a-z0-9]*key(?:$|[._-])",
    re.IGNORECASE,
)
# A dotted setting and its value, `name=value` (`spark.hadoop.fs.s3a.secret.key=...`, a JVM's
# `-Dspark.ssl.keyPassword=...`): alone (a `spark.conf` item, the value to its end), quoted (a
# config error's `got [...]`, the value to the closing quote) or in text (the value to the next
# space, comma, semicolon, quote or bracket).
_SETTING = r"(?P<name>(?<![\w.])[A-Za-z][\w-]*(?:\.[\w-]+)+)(?P<eq>\s*=\s*)"
_SETTING_ALONE = re.compile(rf"\s*{_SETTING}(?P<value>.*)", re.DOTALL)
_SETTING_QUOTED = re.compile(rf"(?P<quote>['\"]){_SETTING}(?P<value>[^'\"]*)(?P=quote)")
_SETTING_IN_TEXT = re.compile(rf"{_SETTING}(?P<value>[^\s,;'\"\[\](){{}}]+)")
# C0 and C1 controls, DEL, line and paragraph separators, and bidirectional marks and overrides.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


def secret_setting(name: str) -> bool:
    """Whether a setting's name names a secret (`SECRET_NAME`), whose value is never shown."""
    return SECRET_NAME.search(name) is not None


def mask_credentials(text: str) -> str:
    """`text` with every credential in it as `***`: URL passwords and secret settings' values.

    The password of every URL (`user:password@`, `?password=`); a URL whose user part has no `:`
    (`redis://secret@host`, where redis-py takes it as the password) is masked whole. The value
    of every dotted setting whose name names a secret (`secret_setting`):
    `spark.hadoop.fs.s3a.secret.key=***`, alone or in text.
    """
    alone = _SETTING_ALONE.fullmatch(text)
    if alone is not None and secret_setting(alone.group("name")):
        text = f"{text[: alone.start('value')]}***"

    def userinfo(match: re.Match[str]) -> str:
        had_password = match.group(0).count(":") > 1 or not match.group("user")
        user = match.group("user") if had_password else ""
        return f"{match.group('scheme')}{user}:***@"

    def setting(match: re.Match[str]) -> str:
        if not secret_setting(match.group("name")):
            return match.group(0)
        whole = match.group(0)
        return (
            f"{whole[: match.start('value') - match.start()]}***{whole[match.end('value') - match.start() :]}"
        )

    masked = _USERINFO.sub(userinfo, text)
    masked = _PASSWORD_PARAM.sub(lambda m: f"{m.group('name')}***", masked)
    masked = _SETTING_QUOTED.sub(setting, masked)
    return _SETTING_IN_TEXT.sub(setting, masked)


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
