"""Figures: the numbers a record states, and the verifier rule built on them.

Set overlap does not tell a re-issued wire story from next week's notice of the same template:
both share most of their words. What differs is the figures: amounts, rates, dates, counts, in
the same sentence frame ("arrange 1.5 billion dlrs" against "arrange 2.0 billion dlrs"). A
re-issue that is truncated, extended or re-headlined keeps or drops figures, but does not put a
different figure in the same frame.

The rule, for one pair of records and nothing else:

1. A *figure* is a number (`1,250.50`, `6-3/8`) or a number word (`nine`), with a month beside it
   part of it (`March 19`, `19 March 1987`, `December 2012`: another month is another date; a
   date is also compared in a frame of its own, `(<date>, word after)`, since the word before it
   is often a name).
   A unit is a frame word, not part of the figure: `2.40 mln tonnes` and `2,825,600 tonnes` are in
   different frames and are not compared (scaling by `mln` made the frames of wire-story tables
   such as `vs 24.6 mln` collide and split hand-labeled duplicates). Figures joined by
   `to`, `through` or a hyphen (`4,000 to 5,000`, `4,000-5,000`, `between 4 and 5`) are a *range*;
   figures joined by `and`, `or` or listed one after another (`8, 9 and 10`, a row of a table)
   are a *list*. Each such run is one *statement* with a *frame*: the nearest word before it
   (hedges such as `about` or `between` skipped) and the nearest word after it.
2. Two statements in one frame *agree* when one's figures are all among the other's (a list that
   a truncated copy shortened) or are mistypings of them (two neighbours swapped, a character
   doubled or undoubled, a decimal point left out: `52` and `25`, `2004` and `204`, `9.4` and `94`;
   a digit inserted or replaced, `200` and `2800`, `8,000` and `2,000`, is another figure), when
   a range holds every figure of a plain statement, or when two ranges (or a range and a plain
   statement) share a figure, such as an end or the month of a date: `4,000 to 5,000` agrees
   with `4,500` and not with `8,000`; `March 3, 1987` does not agree with `March 10, 1987`;
   `rose 1-1/2 to 6-3/8` does not agree with `rose 1-1/4 to 6-1/8` (a move, not a range,
   compared by its ends).
3. A pair *conflicts* when some frame occurs in both records and each record states something in
   it that no statement of the other agrees with (a truncated copy that states less is covered
   by the fuller one), unless one record announces a correction (a corrected story changes a
   figure on purpose).
4. A clock time (`11:01`) is a time stamp, not a figure. Only the *body* counts: a *volatile
   line* (a paragraph of at most `VOLATILE_WORDS` words holding a clock time or a time-stamp or
   counter word such as `updated`, `posted`, `comments`, `views`, `shares`, `copyright`) changes between two
   crawls of one page, so its figures are left out, unless a record has nothing but such lines.
   "Updated 09:15, 4 comments" against "Updated 11:40, 7 comments" does not split two copies of
   one article; another week's amounts in the body of a notice do.

5. Two records that state the same figures in the same order (`sequence`: digits and number
   words) do not conflict, whatever words surround them: another notice of a template states
   other figures, a re-issue with its words edited states the same ones.

Figures are extracted once per record (`facts` for one record, `Packer` for many, compiled) and
compared per pair (`conflict`, `clashes`: compiled); `sequence` spares both for the pairs whose
figures are the same.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import xxhash

from dedup import exact, kernels
from dedup.records import arrow_bytes

_UNITS = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen"
_TEENS = "sixteen seventeen eighteen nineteen twenty"
_TENS = {"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_NUMBER_WORDS: dict[str, float] = {
    word: float(value) for value, word in enumerate(f"{_UNITS} {_TEENS}".split())
} | {k: float(v) for k, v in _TENS.items()}
_CORRECTION = re.compile(r"\bcorrect(?:ed|s|ion|ing)\b", re.IGNORECASE)
_NO_WORDS: frozenset[str] = frozenset()


def _tokens(text: str) -> list[str]:
    r"""Figures and words of a text, in order.

    A figure is digits with inner separators, not glued to letters (`6-3/8` is one); a word is a run
    of letters: `(?<![^\W\d_])\d+(?:[.,/-]\d+)*(?![^\W\d_])|[^\W\d_]+` (`kernels.figure_tokens`).
    """
    return kernels.figure_tokens(text, _NO_WORDS, True)


_RANGE_WORDS = frozenset({"to", "through", "thru"})
# A month beside a figure is part of it ("March 19", "19 March 1987"): another month is another date.
_MONTHS = {
    name: f"month {k}"
    for k, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
# Every figure a text states, and every month (part of a date), in order: what `sequence` compares.
_FIGURE_WORDS = frozenset([*_NUMBER_WORDS, *_MONTHS])
_LIST_WORDS = frozenset({"and", "or"})
# Words that hedge a figure without changing its frame ("bought about 8,000 tonnes").
_HEDGES = frozenset(
    {
        "about",
        "around",
        "some",
        "nearly",
        "approximately",
        "roughly",
        "almost",
        "between",
        "from",
        "estimated",
    }
)

# Every word the statement scan gives a meaning to (`kernels.figure_context`).
_SCANNED = frozenset([*_NUMBER_WORDS, *_MONTHS, *_HEDGES, *_RANGE_WORDS, *_LIST_WORDS])

#: The word standing for "a date" in the extra frame every date gets (`(DATE, word after)`).
DATE = "<date>"
#: Statements kept for reuse by their run of tokens, at most: about 800 bytes each (key and
#: statement, measured on news), so about 26 MiB. The 20,636 records the rule reads on 5 edited
#: copies of Reuters+BBC make 26,927 distinct runs out of 285,000 statements.
STATEMENTS_MADE = 1 << 15
#: Only runs of at most this many tokens are kept for reuse: a longer one (a row of a table) is
#: rarely met again and would make a large key.
RUN_MADE = 8
#: A volatile line has at most this many words (figures included).
VOLATILE_WORDS = 16
_CLOCK = re.compile(r"(?<!\d)\d{1,2}:\d{2}(?::\d{2})?(?!\d)")
_STAMP_WORDS = frozenset(
    {
        "updated",
        "update",
        "posted",
        "published",
        "modified",
        "edited",
        "ago",
        "comment",
        "comments",
        "view",
        "views",
        "share",
        "shares",
        "like",
        "likes",
        "reply",
        "replies",
        "retweets",
        "reads",
        "votes",
        "followers",
        "reactions",
        "copyright",
    }
)


#: A figure's value: a number, or the text of a figure that is no single number (a date `6/14/82`).
Value = float | str


@dataclass(frozen=True, slots=True)
class Statement:
    """Figures stated together in one frame.

    Attributes:
        values: the figures, as numbers.
        span: `(low, high)` for a range, else None.
        written: the figures as written (digits, separators other than commas).
    """

    values: frozenset[Value]
    span: tuple[float, float] | None = None
    written: frozenset[str] = frozenset()

    def agrees(self, other: Statement) -> bool:
        """Whether two statements in one frame can both be true (see the module's rule 2)."""
        if self.span is not None and other.span is not None:
            return bool(self.values & other.values) or self.span == other.span
        if self.span is not None or other.span is not None:
            ranged, plain = (self, other) if self.span is not None else (other, self)
            assert ranged.span is not None
            low, high = ranged.span
            inside = all(isinstance(v, float) and low <= v <= high for v in plain.values)
            return inside or bool(self.values & other.values)
        if self.values <= other.values or other.values <= self.values:
            return True
        return _within(self.written, other.written) or _within(other.written, self.written)


def _within(mine: frozenset[str], theirs: frozenset[str]) -> bool:
    """Whether every figure written in `mine` is written in `theirs`, or mistyped from one of them."""
    return bool(mine) and all(v in theirs or any(_mistyped(v, w) for w in theirs) for v in mine)


def _mistyped(x: str, y: str) -> bool:
    """Whether two figures as written are one figure mistyped (see the module's rule 2).

    Tolerated: two neighbours swapped (`52` and `25`), a decimal point left out (`9.4` and `94`),
    a character doubled or undoubled (`2004` and `204`). A digit inserted, deleted or replaced
    (`200` and `2800`, `8,000` and `2,000`) makes another figure.
    """
    if len(x) == len(y):
        diff = [i for i in range(len(x)) if x[i] != y[i]]
        if len(diff) != 2 or diff[1] != diff[0] + 1:
            return False
        return x[diff[0]] == y[diff[1]] and x[diff[1]] == y[diff[0]]
    if abs(len(x) - len(y)) != 1:
        return False
    short, long_ = (x, y) if len(x) < len(y) else (y, x)
    for i in range(len(long_)):
        if long_[:i] + long_[i + 1 :] == short:
            if long_[i] == ".":
                return True
            if (i > 0 and long_[i - 1] == long_[i]) or (i + 1 < len(long_) and long_[i + 1] == long_[i]):
                return True
    return False


Frame = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Facts:
    """What the figures rule reads of one record.

    Attributes:
        body: each frame of the record's body with its statements.
        correction: the record announces a correction.
    """

    body: dict[Frame, tuple[Statement, ...]]
    correction: bool


def _value(token: str) -> tuple[list[Value], bool] | None:
    """A figure token's values and whether it is a hyphen range; None for a word that is no figure."""
    if not token[0].isdigit():
        word = _NUMBER_WORDS.get(token)
        return None if word is None else ([word], False)
    token = token.replace(",", "")
    if "-" in token:
        parts = token.split("-")
        numbers = [_number(p) for p in parts]
        if len(parts) == 2 and "/" in parts[1] and isinstance(numbers[0], float):
            fraction = numbers[1]  # "6-3/8": a whole number and a fraction
            return [numbers[0] + fraction if isinstance(fraction, float) else token], False
        if len(parts) == 2 and all(isinstance(x, float) for x in numbers) and "/" not in token:
            low, high = float(numbers[0]), float(numbers[1])
            scale = 10 ** len(parts[1])  # "1985-86": the second abbreviates the first
            # A scale past the start leaves the end as written (the start modulo it is the start),
            # and a start past a float's range (inf) has nothing to abbreviate: neither is scaled,
            # which would overflow or give NaN.
            if high < low and len(parts[1]) < len(parts[0]) and math.isfinite(low) and scale <= low:
                high = low - low % scale + high
            return [low, high], True
        return [token], False
    return [_number(token)], False


def _written(token: str, values: list[Value]) -> str:
    """A figure as written, commas out; a number word as its digits."""
    if token[0].isdigit():
        return token.replace(",", "")
    return f"{values[0]:.0f}" if isinstance(values[0], float) else str(values[0])


def _number(text: str) -> Value:
    """`"1250.50"` -> 1250.5, `"3/8"` -> 0.375; `6/14/82`, `1.2.3` or `1/0` stays the text it is.

    A number past a float's range is `inf`; a fraction of two such (inf/inf) stays its text, so no
    value is NaN (which no comparison holds, and the compiled rule marks "no range" with).
    """
    try:
        return float(text)
    except ValueError:
        pass
    top, slash, bottom = text.partition("/")
    if slash and "/" not in bottom:
        try:
            numerator, denominator = float(top), float(bottom)
        except ValueError:
            return text
        if not denominator:
            return text
        value = numerator / denominator
        return text if math.isnan(value) else value  # inf/inf is no number: kept as written
    return text


def statements(paragraph: str) -> list[tuple[Frame, Statement]]:
    """Each statement of figures in a paragraph with its frame, in order.

    Args:
        paragraph: one paragraph (or line) of text.

    Returns:
        `[((word before, word after), Statement)]`, words lowercased.
    """
    return _statements(_tokens(_CLOCK.sub(" ", paragraph.lower())))  # a clock time is a stamp


def _statements(tokens: list[str]) -> list[tuple[Frame, Statement]]:
    if len(_MADE) >= STATEMENTS_MADE:
        _MADE.clear()
    return kernels.figure_statements(
        tokens, _NUMBER_WORDS, _MONTHS, _HEDGES, _RANGE_WORDS, _LIST_WORDS,
        _value, _written, Statement, DATE, _MADE, STATEMENTS_MADE, RUN_MADE,
    )  # fmt: skip


# Statements made, by their run of tokens (`kernels.figure_statements`): immutable, so shared.
_MADE: dict[tuple[str, ...], tuple[Statement, bool]] = {}


def forget() -> None:
    """Let go of the statements kept for reuse (at most `STATEMENTS_MADE`); what is read next is the same."""
    _MADE.clear()


def is_volatile(paragraph: str) -> bool:
    """Whether a paragraph is a volatile line: short, with a clock time or a stamp or counter word."""
    return _volatile(paragraph, _tokens(paragraph.lower()))


def _volatile(paragraph: str, words: list[str]) -> bool:
    if len(words) > VOLATILE_WORDS:
        return False
    stamped = (":" in paragraph and _CLOCK.search(paragraph) is not None) or "©" in paragraph
    return stamped or not _STAMP_WORDS.isdisjoint(words)


def facts(text: str) -> Facts:
    """The figures rule's view of one record: its body's statements by frame, and its correction flag.

    Written with Python objects, for reading one record (`dedup.explain`) and the records the
    compiled `Packer` leaves; `Packer` reads the same of many records at a time.

    Args:
        text: the record's cleaned paragraphs joined by newlines.
    """
    paragraphs = [_read_paragraph(p) for p in text.split("\n") if p.strip()]
    body = [statements for volatile, statements in paragraphs if not volatile] or [s for _, s in paragraphs]
    return Facts(kernels.figure_body(body), is_correction(text))


Read = tuple[bool, tuple[tuple[Frame, Statement], ...]]


def _read_paragraph(paragraph: str) -> Read:
    lowered = paragraph.lower()
    tokens, count = kernels.figure_context(lowered, _SCANNED)  # only what the scan reads
    volatile = count <= VOLATILE_WORDS and _volatile(paragraph, _tokens(lowered))
    if ":" in paragraph and _CLOCK.search(paragraph) is not None:  # a time stamp, no figure
        tokens = kernels.figure_context(_CLOCK.sub(" ", lowered), _SCANNED)[0]
    return volatile, tuple(_statements(tokens))


def figures(text: str) -> frozenset[Value]:
    """Every figure a text states, as numbers (number words included), volatile lines or not."""
    return frozenset(v for line in text.split("\n") for _, s in statements(line) for v in s.values)


def is_correction(text: str) -> bool:
    """Whether a text announces a correction (`corrected`, `corrects`, `correction`)."""
    return "correct" in text.lower() and _CORRECTION.search(text) is not None


def _covered(mine: tuple[Statement, ...], theirs: tuple[Statement, ...]) -> bool:
    """Whether every statement of `mine` agrees with some statement of `theirs`."""
    return all(any(x.agrees(y) for y in theirs) for x in mine)


def clashing_frames(a: Facts, b: Facts) -> list[Frame]:
    """The frames both bodies use where neither record's statements all agree with the other's.

    A copy that keeps only some of a frame's statements (a truncated table) is covered by the
    fuller record; two tables that each state a figure the other lacks are not.
    """
    out = []
    for frame in sorted(a.body.keys() & b.body.keys()):
        mine, theirs = a.body[frame], b.body[frame]
        if not _covered(mine, theirs) and not _covered(theirs, mine):
            out.append(frame)
    return out


def sequence(text: str) -> tuple[str, ...]:
    """The figures a text states (digits, number words and months, lowercased), in order.

    Two records whose sequences are equal state the same figures in the same order and do not
    conflict (rule 5 of the module), so the frames of neither need reading.
    """
    return tuple(kernels.figure_tokens(text.lower(), _FIGURE_WORDS, False))


def digests(texts: Sequence[str] | pa.Array[Any]) -> npt.NDArray[np.uint64]:
    """`uint64 (len(texts), 2)`: xxh3-128 of each text's `sequence` (its figures joined by U+001F).

    Two records with equal digests state the same figures in the same order (rule 5), up to a
    collision of a 128-bit hash. `dedup.featurize` keeps one per record, so the keep step compares
    digests instead of reading texts.

    Args:
        texts: the texts, as Python strings or an Arrow string array (no nulls); each is read from
            its bytes (`kernels.figure_sequences`), and the few that kernel leaves (a decimal digit
            other than 0-9, a letter whose lowercase is ASCII) through `sequence`.
    """
    array = texts if isinstance(texts, pa.Array) else pa.array(list(texts), pa.large_string())
    data, offsets = arrow_bytes(array)
    joined, bounds, other = kernels.figure_sequences(data, offsets, _FIGURE_WORDS)
    made = exact.digest_ranges(joined, bounds)
    for i in np.flatnonzero(other).tolist():
        key = "\x1f".join(sequence(str(array[i].as_py()))).encode("utf-8", "surrogatepass")
        made[i] = np.frombuffer(xxhash.xxh3_128_digest(key), dtype=">u8")
    return made


def conflict(a: Facts, b: Facts) -> bool:
    """Whether two records state different figures (the module's rule), corrections exempt.

    `bool(clashing_frames(a, b))`, compiled (`kernels.figure_clashes` on the two packed).
    """
    packer = Packer()
    packer.add_facts(a)
    packer.add_facts(b)
    return bool(clashes(packer.finish(), _ONE_PAIR)[0])


_ONE_PAIR = np.array([[0, 1]], dtype=np.int64)


def conflicts(texts: Sequence[str], pairs: Sequence[tuple[int, int]]) -> list[bool]:
    """For each pair of `texts` indices, whether the two conflict.

    Each text a pair holds is read once (`Packer`); the pairs are compared compiled.
    """
    at = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    units, local = np.unique(at, return_inverse=True)
    packer = Packer()
    for u in units.tolist():
        packer.add(texts[u])
    clash: list[bool] = clashes(packer.finish(), local.reshape(-1, 2).astype(np.int64)).tolist()
    return clash


def _vocabulary() -> dict[str, tuple[int, float]]:
    """Each word the rule gives a meaning to: `(classes, value)`, what `kernels.figure_packer` reads.

    Classes are `kernels.WORD_*` bits; the value is a number word's number or a month's number.
    """
    out = {word: (kernels.WORD_NUMBER, value) for word, value in _NUMBER_WORDS.items()}
    out |= {word: (kernels.WORD_MONTH, float(tag.split()[1])) for word, tag in _MONTHS.items()}
    for words, bits in (
        (_HEDGES, kernels.WORD_HEDGE),
        (_RANGE_WORDS, kernels.WORD_RANGE),
        (_LIST_WORDS, kernels.WORD_LIST),
        (_STAMP_WORDS, kernels.WORD_STAMP),
        (frozenset({"between", "from"}), kernels.WORD_OPENS),
    ):
        for word in words:
            held, value = out.get(word, (0, 0.0))
            out[word] = (held | bits, value)
    return out


_VOCABULARY = _vocabulary()
#: Digits of the abbreviated end of a hyphen range (`1985-86`) read compiled; a longer one (its
#: scale past what a float holds exactly) leaves the record to `facts`.
SCALE_DIGITS = 22


@dataclass(frozen=True, slots=True)
class Packed:
    """Many records' facts (`Facts`) as flat arrays, for `clashes`.

    Attributes:
        records: `int64 (n + 1,)`, record `i` owns `entries[records[i]:records[i + 1]]`.
        entries: `uint64 (e, 3)`, one per statement of a frame: the frame `(word before, word
            after)` as two 64-bit hash lanes, then the statement's index; sorted by frame within
            a record.
        spans: `float64 (s, 2)`, a range's `(low, high)`; NaN for a statement that is no range.
        values_at: `int64 (s + 1,)`, statement `k`'s values are `values_at[k]:values_at[k + 1]`.
        written_at: `int64 (s + 1,)`, the same for its figures as written.
        numbers: `float64 (v,)`, each value that is a number.
        strings_of: `int64 (v,)`, -1 for a number, else the index of the value's string.
        written: `int64 (w,)`, the string of each figure as written.
        string_at: `int64 (k + 1,)`, string `i` is `chars[string_at[i]:string_at[i + 1]]`.
        chars: `uint32 (c,)`, code points.
        correction: `bool (n,)`, the record announces a correction.
    """

    records: npt.NDArray[np.int64]
    entries: npt.NDArray[np.uint64]
    spans: npt.NDArray[np.float64]
    values_at: npt.NDArray[np.int64]
    written_at: npt.NDArray[np.int64]
    numbers: npt.NDArray[np.float64]
    strings_of: npt.NDArray[np.int64]
    written: npt.NDArray[np.int64]
    string_at: npt.NDArray[np.int64]
    chars: npt.NDArray[np.uint32]
    correction: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.records) - 1


class Packer:
    """Reads records' facts into a `Packed`, compiled (`kernels.figure_packer`).

    What is packed is what `facts` reads (rules 1 and 4 of the module): the body's statements by
    frame, and the correction flag. A frame is kept as a 128-bit hash of its two words, so two
    frames are one up to a collision of that hash. A record the compiled scan does not read as
    Python would (a figure with a digit other than 0-9, a word starting with a digit to
    `str.isdigit` such as `²`, a value that is no finite number) is read by `facts` and packed
    from its `Facts`.
    """

    def __init__(self) -> None:
        self._packer = kernels.figure_packer(_VOCABULARY, DATE, VOLATILE_WORDS, SCALE_DIGITS)
        self._correction: list[bool] = []
        #: Records read by `facts` instead of the compiled scan.
        self.others = 0

    def add(self, text: str) -> None:
        """Add one record: its cleaned paragraphs joined by newlines."""
        lowered = text.lower()
        if not self._packer.add_text(lowered):
            self._packer.add_facts(facts(text).body)
            self.others += 1
        self._correction.append("correct" in lowered and _CORRECTION.search(text) is not None)

    def add_facts(self, read: Facts) -> None:
        """Add one record from its `Facts`."""
        self._packer.add_facts(read.body)
        self._correction.append(read.correction)

    def finish(self) -> Packed:
        """The records added, in order."""
        return Packed(*self._packer.finish(), np.array(self._correction, dtype=bool))


def clashes(packed: Packed, pairs: npt.NDArray[np.int64], workers: int = 1) -> npt.NDArray[np.bool_]:
    """`bool (m,)`: for each pair of `packed` records (`int64 (m, 2)`), whether the two conflict.

    `conflict` of the two records' `Facts`, compiled (`kernels.figure_clashes`) on `workers` threads.

    Raises:
        IndexError: a pair names no record of `packed`.
    """
    return kernels.figure_clashes(packed, pairs, workers)
