"""Figures: the numbers a record states, and the verifier rule built on them.

Set overlap does not tell a re-issued wire story from next week's notice of the same template:
both share most of their words. What differs is the figures: amounts, rates, dates, counts. A
re-issue that is truncated, extended or re-headlined keeps the figures it has (one side may have
figures the other lacks), while another notice has figures of its own on both sides. So a pair
*conflicts* when each record states a figure the other does not, unless one of them announces a
correction (a corrected story changes a figure on purpose).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_WORD = re.compile(r"[a-z]+")
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
    if "." in number:
        number = number.rstrip("0").rstrip(".")
    return number.lstrip("0") or "0"


def figures(text: str) -> frozenset[str]:
    """The figures a text states: numbers and number words, both as canonical digits."""
    numbers = {_canonical(m) for m in _NUMBER.findall(text)}
    words = {_NUMBER_WORDS[w] for w in _WORD.findall(text.lower()) if w in _NUMBER_WORDS}
    return frozenset(numbers | words)


def is_correction(text: str) -> bool:
    """Whether a text announces a correction (`corrected`, `corrects`, `correction`)."""
    return _CORRECTION.search(text) is not None


def conflicts(texts: Sequence[str], pairs: Sequence[tuple[int, int]]) -> list[bool]:
    """For each pair of `texts` indices, whether each side states a figure the other does not."""
    cache: dict[int, tuple[frozenset[str], bool]] = {}

    def facts(i: int) -> tuple[frozenset[str], bool]:
        if i not in cache:
            cache[i] = (figures(texts[i]), is_correction(texts[i]))
        return cache[i]

    out = []
    for a, b in pairs:
        fa, ca = facts(a)
        fb, cb = facts(b)
        out.append(not (ca or cb) and bool(fa - fb) and bool(fb - fa))
    return out
