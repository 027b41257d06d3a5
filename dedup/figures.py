"""Figures: the numbers a record states, and the verifier rule built on them.

Set overlap does not tell a re-issued wire story from next week's notice of the same template:
both share most of their words. What differs is the figures: amounts, rates, dates, counts, in
the same sentence frame ("arrange 1.5 billion dlrs" against "arrange 2.0 billion dlrs"). A
re-issue that is truncated, extended or re-headlined keeps or drops figures, but does not put a
different figure in the same frame. So a pair *conflicts* when some frame (the words on either
side of a figure) occurs in both records with no figure in common, unless one of them announces
a correction (a corrected story changes a figure on purpose).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_UNITS = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen"
_TEENS = "sixteen seventeen eighteen nineteen twenty"
_TENS = {
    "thirty": "30",
    "forty": "40",
    "fifty": "50",
    "sixty": "60",
    "seventy": "70",
    "eighty": "80",
    "ninety": "90",
}
_NUMBER_WORDS = {word: str(value) for value, word in enumerate(f"{_UNITS} {_TEENS}".split())} | _TENS
_CORRECTION = re.compile(r"\bcorrect(?:ed|s|ion|ing)\b", re.IGNORECASE)


def _canonical(number: str) -> str:
    """`1,250.50` -> `1250.5`, `747.0` -> `747`: one spelling per value."""
    number = number.replace(",", "")
    if "." in number and "/" not in number and "-" not in number:
        number = number.rstrip("0").rstrip(".")
    return number.lstrip("0") or "0"


def figures(text: str) -> frozenset[str]:
    """The figures a text states: numbers and number words, both as canonical digits."""
    return frozenset(figure for _, figure in frames(text))


_TOKEN = re.compile(r"(?<![^\W\d_])\d+(?:[.,/-]\d+)*(?![^\W\d_])|[^\W\d_]+")  # "6-3/8" is one figure


def frames(text: str) -> list[tuple[tuple[str, str], str]]:
    """Each figure with its frame: `((word before, word after), figure)`, lowercased.

    The frame words are the nearest words that are not figures themselves, so a run of figures
    ("6-1/16 pct", a row of a table) shares one frame.
    """
    tokens = _TOKEN.findall(text.lower())
    values: list[str | None] = []
    for token in tokens:
        if token[0].isdigit():
            values.append(_canonical(token))
        else:
            values.append(_NUMBER_WORDS.get(token))
    before: list[str] = []
    last = ""
    for token, value in zip(tokens, values, strict=True):
        before.append(last)
        if value is None:
            last = token
    out = []
    following = ""
    for i in range(len(tokens) - 1, -1, -1):
        value = values[i]
        if value is None:
            following = tokens[i]
            continue
        out.append(((before[i], following), value))
    out.reverse()
    return out


def is_correction(text: str) -> bool:
    """Whether a text announces a correction (`corrected`, `corrects`, `correction`)."""
    return _CORRECTION.search(text) is not None


def _by_frame(text: str) -> dict[tuple[str, str], set[str]]:
    table: dict[tuple[str, str], set[str]] = {}
    for frame, figure in frames(text):
        table.setdefault(frame, set()).add(figure)
    return table


def conflicts(texts: Sequence[str], pairs: Sequence[tuple[int, int]]) -> list[bool]:
    """For each pair of `texts` indices, whether a shared frame holds different figures."""
    cache: dict[int, tuple[dict[tuple[str, str], set[str]], bool]] = {}

    def facts(i: int) -> tuple[dict[tuple[str, str], set[str]], bool]:
        if i not in cache:
            cache[i] = (_by_frame(texts[i]), is_correction(texts[i]))
        return cache[i]

    out = []
    for a, b in pairs:
        fa, ca = facts(a)
        fb, cb = facts(b)
        clash = any(not (fa[frame] & fb[frame]) for frame in fa.keys() & fb.keys())
        out.append(clash and not (ca or cb))
    return out
