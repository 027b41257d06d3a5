from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.figures import (
    Packed,
    Packer,
    Statement,
    clashes,
    clashing_frames,
    conflicts,
    figures,
    is_correction,
    is_volatile,
    sequence,
    statements,
)
from dedup.figures import conflict as figure_conflict
from dedup.figures import facts as figure_facts
from tests.conftest import examples

M3, M4 = "month 3", "month 4"


def _s(values: set[float | str], written: set[str], span: tuple[float, float] | None = None) -> Statement:
    return Statement(frozenset(values), span, frozenset(written))


def test_figures_are_canonical_numbers_and_number_words() -> None:
    assert figures("Sales rose 1,250.50 dlrs to 747.0 mln, up nine pct from 007") == {1250.5, 747, 9, 7}
    assert figures("no numbers here") == frozenset()


@pytest.mark.parametrize(
    ("a", "b", "clash"),
    [
        (
            "Fed adds 1.5 billion dlrs on March 3",
            "Fed adds 2.0 billion dlrs on March 10",
            True,
        ),  # next week's notice
        (
            "Quarterly net 12 mln dlrs vs 10 mln",
            "Quarterly net 12 mln dlrs vs 10 mln. Note: includes 3 mln gain",
            False,
        ),
        (
            "Strike enters ninth day, 2,600 workers out",
            "Strike enters ninth day",
            False,
        ),  # truncated: one-sided
        (
            "Profit was 64 mln dlrs",
            "CORRECTED - profit was 59 mln dlrs",
            False,
        ),  # a correction changes a figure
        ("Talks stalled for nine weeks", "Talks stalled for 9 weeks", False),  # the same figure, spelled out
    ],
)
def test_conflicts_need_figures_missing_on_both_sides(a: str, b: str, clash: bool) -> None:
    assert conflicts([a, b], [(0, 1)]) == [clash]


def test_corrections_are_recognised_as_words() -> None:
    assert is_correction("This story corrects the amount") and is_correction("(CORRECTED) - Mobil")
    assert not is_correction("the correct amount")  # an adjective is no correction notice


def test_partial_copies_keeping_different_figures_do_not_conflict() -> None:
    first_half = "Sales rose 12 pct in March. The company employs 400 people."
    second_half = "The company employs 400 people. Profit was 3 mln dlrs."
    assert conflicts([first_half, second_half], [(0, 1)]) == [False]  # no frame holds two figures
    assert conflicts(["Sales rose 12 pct in March.", "Sales rose 15 pct in March."], [(0, 1)]) == [True]


@pytest.mark.parametrize(
    ("a", "b", "clash"),
    [
        ("bought 8,000 tonnes for April", "bought 4,000 to 5,000 tonnes for May", True),  # a range, not 8,000
        ("bought 4,500 tonnes", "bought 4,000 to 5,000 tonnes", False),  # inside the range
        ("bought 4,500 tonnes", "bought between 4,000 and 5,000 tonnes", False),
        ("bought 4,000-5,000 tonnes", "bought 4,000 to 5,000 tonnes", False),  # one range, two spellings
        ("ranged from 0.64 to 0.50 ounces", "ranged from 0.50 to 0.64 ounces", False),
        ("rose 1-1/2 to 6-3/8 dlrs", "rose 1-1/4 to 6-1/8 dlrs", True),  # no shared end
        ("on March 3, 1987 the", "on March 10, 1987 the", True),  # a list: another date
        ("rates of 5, 6 and 7 pct", "rates of 5 and 6 pct", False),  # a shorter list: a truncated copy
        ("rates of 5, 6 and 7 pct", "rates of 5, 6 and 8 pct", True),
        ("in 1985-86 it", "in 1985-1986 it", False),  # a year span, abbreviated
        ("sold 2004 units", "sold 204 units", False),  # a mistyped figure: a doubled digit undoubled
        ("receipts of 200 head", "receipts of 2,800 head", True),  # a digit inserted: another figure
        ("sold 2,004 units", "sold 2,014 units", True),  # a digit replaced
        ("sold 52 units", "sold 25 units", False),  # two digits swapped
        ("sold 9.4 mln units", "sold 94 mln units", False),  # the point left out
        ("sold 8,000 units", "sold 2,000 units", True),  # a digit replaced is another figure
        ("FUTURES 11:01 EDT wheat 284 up", "FUTURES 11:00 EDT wheat 284 up", False),  # a time stamp
        ("on 6/14/82 it", "on 6/15/82 it", True),  # a figure that is no number is compared as written
        ("week ended March 19 were", "week ended April 19 were", True),  # another month, another date
        ("the 19 March 1987 report", "the 19 April 1987 report", True),
        ("8.50 pct 2002 stock", "8.50 pct December 2012 stock", True),
        ("on March 3, 1987 the", "on March 3 the", False),  # the year left out: a shorter date
        ("by muzz Mar 13, 2016 Download", "by illya Mar 19, 2018 Download", True),  # names before dates
    ],
)
def test_statements_are_compared_as_values(a: str, b: str, clash: bool) -> None:
    assert conflicts([a, b], [(0, 1)]) == [clash]


BODY = [
    "Storm Ciaran closed the port of Dover on Thursday, stranding 2,000 lorries on the M20.",
    "The Port said 14 ferries were cancelled and that crossings would resume at 6 pct capacity.",
    "Officials said the backlog could take three days to clear.",
]


def test_a_volatile_line_does_not_split_copies_whose_body_agrees() -> None:
    a = "\n".join([*BODY, "Updated 09:15, 4 comments, 120 shares"])
    b = "\n".join([*BODY, "Updated 11:40, 7 comments, 310 shares"])
    assert is_volatile("Updated 09:15, 4 comments, 120 shares")
    assert conflicts([a, b], [(0, 1)]) == [False]
    other_body = [BODY[0].replace("2,000", "3,500"), *BODY[1:]]
    c = "\n".join([*other_body, "Updated 11:40, 7 comments, 310 shares"])
    assert conflicts([a, c], [(0, 1)]) == [True]  # another amount in the body still splits


def test_a_copyright_line_is_volatile() -> None:
    a = "\n".join([*BODY, "Copyright 2023 Example News"])
    b = "\n".join([*BODY, "© 2024 Example News"])
    assert is_volatile("Copyright 2023 Example News") and is_volatile("© 2024 Example News")
    assert conflicts([a, b], [(0, 1)]) == [False]


def test_a_record_of_volatile_lines_only_keeps_its_figures() -> None:
    assert conflicts(["Posted 3 days ago, 40 views", "Posted 5 days ago, 90 views"], [(0, 1)]) == [True]


def test_a_long_paragraph_is_body_whatever_its_words() -> None:
    long_line = "Shares of the company rose 5 pct after it said it would cut 1,200 jobs and sell its two plants in the north"
    assert not is_volatile(long_line)
    assert conflicts([long_line, long_line.replace("1,200", "1,900")], [(0, 1)]) == [True]


def test_a_truncated_table_is_covered_by_the_full_one() -> None:
    full = "MATURITY 30-89 days 5.92 pct 5.83 pct 90-100 days 5.90 pct 5.88 pct"
    assert conflicts([full, "MATURITY 30-89 days 5.92 pct 5.83 pct"], [(0, 1)]) == [False]
    assert conflicts([full, full.replace("5.88", "5.80")], [(0, 1)]) == [True]


def test_the_verdict_depends_on_the_pair_alone() -> None:
    a = "\n".join([*BODY, "Updated 09:15, 4 comments"])
    b = "\n".join(BODY)
    c = "\n".join([*BODY, "Updated 11:40, 7 comments"])
    pairs = [(0, 1), (1, 2), (0, 2)]
    assert conflicts([a, b, c], pairs) == [
        conflicts([x, y], [(0, 1)])[0] for x, y in ((a, b), (b, c), (a, c))
    ]


@given(st.text(max_size=300))
@settings(max_examples=examples(300))
def test_any_text_gives_facts(text: str) -> None:
    facts = figure_facts(text)
    assert conflicts([text, text], [(0, 1)]) == [False]
    assert isinstance(facts.correction, bool)


def test_figures_are_read_line_by_line_with_their_months() -> None:
    assert figures("bought on March 19") == {19.0, "month 3"}
    # A month ending one line does not date the figure opening the next.
    assert figures("It ends in March\n19 people came") == {19.0}


def test_a_clock_time_is_no_word_of_a_frame() -> None:
    assert statements("at 10:30 5 shares") == [
        (("at", "shares"), Statement(frozenset({5.0}), None, frozenset({"5"})))
    ]


def test_the_same_figures_in_the_same_order_never_clash() -> None:
    a = "Output rose to 255,556 ounces from 245,232 ounces, and reserves to 478,394 ounces."
    b = "Reserves rose to 478,394 ounces. Output to 255,556 from 245,232 ounces."
    assert sequence(a) != sequence(b)  # a different order: the frames are read
    c = "Output rose to 255,556 ounces from 245,232, and reserves to 478,394 ounces."
    assert sequence(a) == sequence(c) == ("255,556", "245,232", "478,394")
    assert sequence("week ended March 19, 1,200 t") != sequence("week ended April 19, 1,200 t")
    assert sequence("someone may pay one") == ("may", "one")  # words, not parts of words


def _mistypings(text: str) -> set[str]:
    """Every way one slip of the hand turns `text` into another string (the module's rule 2, written
    as the slips themselves): two different neighbours swapped, a character doubled, a doubled
    character written once, a decimal point dropped or added anywhere."""
    out = set()
    for i in range(len(text) - 1):
        if text[i] != text[i + 1]:
            out.add(text[:i] + text[i + 1] + text[i] + text[i + 2 :])
    for i in range(len(text)):
        out.add(text[: i + 1] + text[i] + text[i + 1 :])  # doubled
        if text[i] == "." or (i > 0 and text[i - 1] == text[i]):
            out.add(text[:i] + text[i + 1 :])  # point dropped, or doubled written once
    for i in range(len(text) + 1):
        out.add(text[:i] + "." + text[i:])  # point added
    out.discard(text)
    return out


@settings(max_examples=examples(600))
@given(st.text("0123456789.,", min_size=1, max_size=6), st.data())
def test_mistyped_is_one_slip_of_the_hand_either_way(x: str, data: st.DataObject) -> None:
    from dedup.figures import _mistyped

    slips = sorted(_mistypings(x))
    # A slip of `x` (which must be tolerated), `x` with two neighbours rewritten (a near miss), or any
    # figure.
    kind = data.draw(st.sampled_from(["slip", "near", "any"]))
    if kind == "slip" and slips:
        y = data.draw(st.sampled_from(slips))
    elif kind == "near" and len(x) >= 2:
        i = data.draw(st.integers(0, len(x) - 2))
        y = x[:i] + data.draw(st.text("0123456789.,", min_size=2, max_size=2)) + x[i + 2 :]
    else:
        y = data.draw(st.text("0123456789.,", max_size=7))
    expected = y in _mistypings(x) or x in _mistypings(y)
    assert _mistyped(x, y) == expected
    assert _mistyped(y, x) == expected


@pytest.mark.parametrize(
    ("x", "y", "slip"),
    [
        ("52", "25", True),  # neighbours swapped
        ("9.4", "94", True),  # point left out
        ("2004", "204", True),  # doubled written once
        ("204", "2004", True),
        ("1100", "100", True),  # the first character doubled
        ("1001", "100", False),  # a 1 added at the end, not doubled
        ("200", "2800", False),  # a digit inserted
        ("8,000", "2,000", False),  # a digit replaced
        ("123", "321", False),  # two characters apart swapped
        ("12", "23", False),  # two neighbours rewritten, one of them to the other's digit
        ("12", "31", False),
        ("1001", "001", False),  # a 1 dropped from the front: not doubled (it is not beside a 1)
        ("123", "12", False),  # the last digit dropped
        ("1213", "123", False),
        ("121", "21", False),
        ("1234", "2143", False),  # two swaps
        ("77", "77", False),  # the same figure is no slip
    ],
)
def test_mistyped_examples(x: str, y: str, slip: bool) -> None:
    from dedup.figures import _mistyped

    assert _mistyped(x, y) is slip


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1250.50", 1250.5),
        ("3/8", 0.375),
        ("12/4", 3.0),
        ("1/0", "1/0"),  # no number: kept as written
        ("6/14/82", "6/14/82"),  # a date
        ("a/8", "a/8"),
        ("1.2.3", "1.2.3"),
    ],
)
def test_a_figure_is_a_number_or_a_fraction_or_stays_as_written(text: str, value: float | str) -> None:
    from dedup.figures import _number

    assert _number(text) == value
    assert type(_number(text)) is type(value)


@pytest.mark.parametrize(
    ("a", "b", "agree"),
    [
        # Expected from the module's rule 2: two ranges agree when they share an end (or are one
        # range); a range and a value when the value is inside; plain values when one set holds the
        # other.
        (Statement(frozenset({4.0, 5.0}), (4.0, 5.0)), Statement(frozenset({5.0, 6.0}), (5.0, 6.0)), True),
        (Statement(frozenset({1.0, 10.0}), (1.0, 10.0)), Statement(frozenset({3.0, 5.0}), (3.0, 5.0)), False),
        (
            Statement(frozenset({1.0, 10.0}), (1.0, 10.0)),
            Statement(frozenset({1.0, 10.0}), (1.0, 10.0)),
            True,
        ),
        (Statement(frozenset({4.0, 5.0}), (4.0, 5.0)), Statement(frozenset({4.5})), True),
        (Statement(frozenset({4.0, 5.0}), (4.0, 5.0)), Statement(frozenset({5.5})), False),
        (Statement(frozenset({4.0, 5.0}), (4.0, 5.0)), Statement(frozenset({5.0})), True),
        (Statement(frozenset({4.0, 5.0}), (4.0, 5.0)), Statement(frozenset({"May"})), False),
        (Statement(frozenset({1.0, 2.0})), Statement(frozenset({1.0})), True),
        (Statement(frozenset({1.0, 2.0})), Statement(frozenset({1.0, 3.0})), False),
        # A range and a plain statement that share a figure (here the month of a date) agree.
        (
            Statement(frozenset({4.0, 5.0, "month 3"}), (4.0, 5.0)),
            Statement(frozenset({"month 3", 7.0})),
            True,
        ),
        (
            Statement(frozenset({4.0, 5.0, "month 3"}), (4.0, 5.0)),
            Statement(frozenset({"month 4", 7.0})),
            False,
        ),
        # Figures as written: every figure of one is written in the other or mistyped from one.
        (_s({52.0}, {"52"}), _s({25.0, 7.0}, {"25", "7"}), True),
        (_s({52.0}, {"52"}), _s({28.0, 7.0}, {"28", "7"}), False),
    ],
)
def test_statements_agree_by_rule_two_in_either_order(a: Statement, b: Statement, agree: bool) -> None:
    assert a.agrees(b) is agree
    assert b.agrees(a) is agree


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Each expectation worked out by hand from the module's rule 1: a statement is a run of
        # figures (a range with `to` / a hyphen / `between`, a list with `and` / `or` or one after
        # another, a month beside a figure part of it), framed by the nearest word before it that
        # is no hedge and the word after it; a date also gets the frame `(<date>, word after)`.
        (
            "prices rose 1-1/2 to 6-3/8 yesterday",  # a move: whole numbers and fractions
            [(("rose", "yesterday"), _s({1.5, 6.375}, {"1-1/2", "6-3/8"}, (1.5, 6.375)))],
        ),
        ("closed 6-3/8 up", [(("closed", "up"), _s({6.375}, {"6-3/8"}))]),
        ("closed 6-3/0 up", [(("closed", "up"), _s({"6-3/0"}, {"6-3/0"}))]),  # no number: as written
        (
            "crop year 1985-86 output",
            [(("year", "output"), _s({1985.0, 1986.0}, {"1985-86"}, (1985.0, 1986.0)))],
        ),
        (
            "call 555-123-4567 and 5 more",  # three parts: no range
            [(("call", "more"), _s({"555-123-4567", 5.0}, {"555-123-4567", "5"}))],
        ),
        ("rose 1/2-3 points", [(("rose", "points"), _s({"1/2-3"}, {"1/2-3"}))]),
        ("up nine pct", [(("up", "pct"), _s({9.0}, {"9"}))]),
        ("About 5 tonnes", [(("", "tonnes"), _s({5.0}, {"5"}))]),  # a hedge is no frame word
        (
            "5 and 6 rose, then 7 fell",
            [(("", "rose"), _s({5.0, 6.0}, {"5", "6"})), (("then", "fell"), _s({7.0}, {"7"}))],
        ),
        (
            "rose 10 and 12 about 7 pct",  # only a hedge between: the word before stays `rose`
            [(("rose", "about"), _s({10.0, 12.0}, {"10", "12"})), (("rose", "pct"), _s({7.0}, {"7"}))],
        ),
        ("12 ships arrived in May", [(("", "ships"), _s({12.0}, {"12"}))]),
        ("rose 4-5 6 pct", [(("rose", "pct"), _s({4.0, 5.0, 6.0}, {"4-5", "6"}, (4.0, 6.0)))]),
        ("rose 4 5-6 pct", [(("rose", "pct"), _s({4.0, 5.0, 6.0}, {"4", "5-6"}, (4.0, 6.0)))]),
        ("6 7 8 rose", [(("", "rose"), _s({6.0, 7.0, 8.0}, {"6", "7", "8"}))]),
        (
            "19 March 1987 was",
            [
                (("", "was"), _s({19.0, M3, 1987.0}, {"19", M3, "1987"})),
                (("<date>", "was"), _s({19.0, M3, 1987.0}, {"19", M3, "1987"})),
            ],
        ),
        (
            "19 March 1987",
            [
                (("", ""), _s({19.0, M3, 1987.0}, {"19", M3, "1987"})),
                (("<date>", ""), _s({19.0, M3, 1987.0}, {"19", M3, "1987"})),
            ],
        ),
        (
            "on 19 March",
            [(("on", ""), _s({19.0, M3}, {"19", M3})), (("<date>", ""), _s({19.0, M3}, {"19", M3}))],
        ),
        (
            "on 19 March 5 ships sailed",
            [
                (("on", "ships"), _s({19.0, M3, 5.0}, {"19", M3, "5"})),
                (("<date>", "ships"), _s({19.0, M3, 5.0}, {"19", M3, "5"})),
            ],
        ),
        (
            "5 March and 6 April",  # a month closing a statement ends it
            [
                (("", "and"), _s({5.0, M3}, {"5", M3})),
                (("<date>", "and"), _s({5.0, M3}, {"5", M3})),
                (("and", ""), _s({6.0, M4}, {"6", M4})),
                (("<date>", ""), _s({6.0, M4}, {"6", M4})),
            ],
        ),
        ("rose 5 to", [(("rose", "to"), _s({5.0}, {"5"}))]),  # a range word with nothing after it
        ("from 4 to 5", [(("", ""), _s({4.0, 5.0}, {"4", "5"}, (4.0, 5.0)))]),
        ("4 to 5.5 pct", [(("", "pct"), _s({4.0, 5.5}, {"4", "5.5"}, (4.0, 5.5)))]),
        ("4-5 and 6 pct", [(("", "pct"), _s({4.0, 5.0, 6.0}, {"4-5", "6"}, (4.0, 6.0)))]),
        ("4 to 5 and 6 pct", [(("", "pct"), _s({4.0, 5.0, 6.0}, {"4", "5", "6"}, (4.0, 6.0)))]),
        ("between 4 and 5 tonnes", [(("", "tonnes"), _s({4.0, 5.0}, {"4", "5"}, (4.0, 5.0)))]),
        ("from 4 or 5 tonnes", [(("", "tonnes"), _s({4.0, 5.0}, {"4", "5"}, (4.0, 5.0)))]),  # as `between`
    ],
)
def test_statements_and_their_frames(text: str, expected: list[tuple[tuple[str, str], Statement]]) -> None:
    assert statements(text) == expected


def test_a_clock_time_is_left_out_of_the_frames_it_sits_in() -> None:
    # A record of one volatile line is read whole (rule 4); its clock time is no figure or word.
    assert figure_facts("At 11:01 five ships sailed").body == {("at", "ships"): (_s({5.0}, {"5"}),)}


def test_clashing_frames_names_the_frames() -> None:
    a, b = figure_facts("Fed adds 1.5 billion dlrs"), figure_facts("Fed adds 2.0 billion dlrs")
    assert clashing_frames(a, b) == [("adds", "billion")]
    assert clashing_frames(a, a) == []


@pytest.mark.parametrize(
    ("paragraph", "volatile"),
    [
        ("Trading closed at 11:01 with 5 lots", True),  # a clock time
        ("Note: 5 tonnes loaded", False),  # a colon is no clock time
        ("© 2024 Example Media", True),
        (" ".join(["updated"] + ["word"] * 15), True),  # 16 words: at most VOLATILE_WORDS
        (" ".join(["updated"] + ["word"] * 16), False),
        ("Sales rose 5 pct", False),
    ],
)
def test_volatile_lines(paragraph: str, volatile: bool) -> None:
    assert is_volatile(paragraph) is volatile


# The patterns the figures rule was first written with (Python `re`): the oracle for the compiled
# scanner that replaced them.
_FIGURE_RE = r"\d+(?:[.,/-]\d+)*"
_TOKEN_ORACLE = re.compile(rf"(?<![^\W\d_]){_FIGURE_RE}(?![^\W\d_])|[^\W\d_]+")
_WORDS = sorted(
    [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
        "thirty",
        "forty",
        "fifty",
        "sixty",
        "seventy",
        "eighty",
        "ninety",
        "january",
        "jan",
        "february",
        "feb",
        "march",
        "mar",
        "april",
        "apr",
        "may",
        "june",
        "jun",
        "july",
        "jul",
        "august",
        "aug",
        "september",
        "sep",
        "sept",
        "october",
        "oct",
        "november",
        "nov",
        "december",
        "dec",
    ],
    key=len,
    reverse=True,
)
_SEQUENCE_ORACLE = re.compile(rf"(?<![^\W\d_])(?:{_FIGURE_RE}|{'|'.join(_WORDS)})(?![^\W\d_])")
_PIECES = st.sampled_from(
    [
        *"0123456789.,/- _\n:'xyzé",
        "٣",  # Arabic-Indic digit: a decimal digit
        "３",  # fullwidth digit
        "²",  # superscript two: numeric, no decimal digit (a letter to `re`)
        "½",
        "Ⅻ",
        "ß",
        "Ω",
        "\u0301",  # a combining accent: no word character
        "nine",
        "seventeen",
        "seven",
        "may",
        "march",
        "sept",
        "mayday",
        "12",
        "1,250.50",
        "6-3/8",
    ]
)


@settings(max_examples=examples(2000))
@given(st.lists(_PIECES, max_size=24).map("".join))
def test_the_figure_scanner_finds_what_the_patterns_find(text: str) -> None:
    from dedup import kernels

    assert kernels.figure_tokens(text, frozenset(_WORDS), True) == _TOKEN_ORACLE.findall(text)
    assert kernels.figure_tokens(text, frozenset(_WORDS), False) == _SEQUENCE_ORACLE.findall(text)


_CASED = st.sampled_from(
    [
        "NINE",
        "Nine",
        "MARCH",
        "Sept",
        "MaY",
        "DEC",
        "Seventeen",
        "X",
        "İ",
        "ΣΑ",
        "ǅ",
        "’",
        "“",
        "£",
        "Â",
        "\u212a",
    ]
)


@settings(max_examples=examples(1500))
@given(st.lists(st.lists(st.one_of(_PIECES, _CASED), max_size=16).map("".join), max_size=6))
def test_figure_digests_hash_what_the_pattern_finds_in_the_lowered_text(texts: list[str]) -> None:
    import pyarrow as pa
    import xxhash

    from dedup.figures import digests

    expected = [
        xxhash.xxh3_128_intdigest("\x1f".join(_SEQUENCE_ORACLE.findall(t.lower())).encode("utf-8"))
        for t in texts
    ]
    for given_as in (texts, pa.array(texts, pa.string())):  # Python strings or an Arrow array
        made = digests(given_as)
        assert made.dtype == np.uint64 and made.shape == (len(texts), 2)
        assert [(int(h) << 64) | int(low) for h, low in made] == expected


def test_figure_sequences_read_records_and_leave_what_they_cannot() -> None:
    import pyarrow as pa

    from dedup import kernels
    from dedup.records import arrow_bytes

    texts = [
        "Rose NINE pct to 1,250.50 in March",
        "",
        "5th of May, 12a",
        "Prix: 5 € en MAR 3, “£12” ÉTÉ",  # other characters: read from their code points
        "x1.2 DEC 3",
        "١٢ March",  # a decimal digit other than 0-9: left
        "İ 5",  # a letter that lowers to two code points: left
        "\u212a 5",  # the Kelvin sign lowers to ASCII `k`: left
    ]
    data, offsets = arrow_bytes(pa.array(texts, pa.large_string()))
    joined, bounds, other = kernels.figure_sequences(data, offsets, frozenset(_WORDS))
    found = [bytes(joined[bounds[i] : bounds[i + 1]]).decode() for i in range(len(texts))]
    assert other.tolist() == [False, False, False, False, False, True, True, True]
    assert found == [
        "nine\x1f1,250.50\x1fmarch",
        "",
        "may\x1f1",
        "5\x1fmar\x1f3\x1f12",
        "2\x1fdec\x1f3",
        "",
        "",
        "",
    ]
    with pytest.raises(ValueError, match="offsets"):
        kernels.figure_sequences(data, np.array([0, len(data) + 1], dtype=np.int64), frozenset(_WORDS))


@pytest.mark.parametrize(
    "raw",
    [
        b"\xc3A 5",
        b"\xc2A 5 nine",
        b"\xed\xa0\x80 5",
        b"\xc0\xaf 5",
        b"\xf4\x90\x80\x80 5",
        b"\x80 5",
        b"5 \xf0\x9f",
    ],
)
def test_figure_sequences_leave_bytes_that_are_no_utf8(raw: bytes) -> None:
    # Bad continuation bytes, a surrogate, an overlong form, a code point past U+10FFFF, a stray
    # continuation byte, a sequence cut by the end: left to the caller, nothing read past the end.
    from dedup import kernels

    for data in (raw, raw + b" 7"):
        offsets = np.array([0, len(raw)], dtype=np.int64)
        _joined, bounds, other = kernels.figure_sequences(
            np.frombuffer(data, np.uint8), offsets, frozenset(_WORDS)
        )
        assert other.tolist() == [True] and bounds.tolist() == [0, 0]


def test_figure_digests_read_every_character_as_the_pattern_reads_the_lowered_text() -> None:
    # Every assigned code point, beside figures and words of the list, before and after them and
    # inside a word: its class (letter or not) and its lowercase decide what the pattern finds.
    import unicodedata

    import pyarrow as pa
    import xxhash

    from dedup.figures import digests

    assert [c for c in range(0x110000) if not 0xD800 <= c < 0xE000 and len(chr(c).lower()) != 1] == [0x130]
    texts = [
        "{0}1 2{0} {0} nine{0} {0}march 3{0}4 ma{0}y 5,{0}6 -{0}7 {0}".format(chr(c))
        for c in range(0x80, 0x110000)
        if unicodedata.category(chr(c)) not in ("Cn", "Co", "Cs")
    ]
    expected = [
        xxhash.xxh3_128_intdigest("\x1f".join(_SEQUENCE_ORACLE.findall(t.lower())).encode("utf-8"))
        for t in texts
    ]
    made = digests(pa.array(texts, pa.large_string()))
    assert [(int(h) << 64) | int(low) for h, low in made.tolist()] == expected


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("12a", ["1", "a"]),  # the regex backtracks to a run not followed by a letter
        ("5th", ["th"]),
        ("abc123", ["abc", "23"]),  # a digit after a letter starts nothing; the next one does
        ("1.2.3x", ["1.2", "x"]),
        ("1.2x", ["1", "x"]),  # back to the end of the first run: a separator is no letter
        ("x1.2", ["x", "2"]),
    ],
)
def test_the_figure_scanner_backtracks_as_the_pattern_does(text: str, tokens: list[str]) -> None:
    from dedup import kernels

    assert _TOKEN_ORACLE.findall(text) == tokens  # the oracle itself, on cases worked out by hand
    assert kernels.figure_tokens(text, frozenset(), True) == tokens


def _scan_oracle(tokens: list[str]) -> list[tuple[tuple[str, str], Statement]]:
    """Rule 1 of `dedup.figures` as a plain loop over the tokens: the statements and their frames.

    Written here, apart from the compiled scan (`kernels.figure_statements`); it uses the module's
    per-token helpers (`_value`, `_written`), which the scan is handed and which the worked cases
    above hold to hand-made values.
    """
    from dedup import figures as f

    def is_figure(token: str) -> bool:
        return token[0].isdigit() or token in f._NUMBER_WORDS

    out: list[tuple[tuple[str, str], Statement]] = []
    before, done = "", 0
    for i, token in enumerate(tokens):
        if i < done or not is_figure(token):
            continue
        for word, nxt in reversed(list(zip(tokens[done:i], tokens[done + 1 : i + 1], strict=True))):
            if word not in f._HEDGES and not (word in f._MONTHS and nxt[0].isdigit()):
                before = word
                break
        opened = tokens[i - 1] if i else ""
        got, ranged = f._value(token) or ([], False)
        values, written = list(got), [f._written(token, got)]
        if opened in f._MONTHS:
            values.append(f._MONTHS[opened])
            written.append(f._MONTHS[opened])
        j = i + 1
        while j < len(tokens):
            word = tokens[j]
            nxt = tokens[j + 1] if j + 1 < len(tokens) else None
            if is_figure(word):
                more, dash = f._value(word) or ([], False)
                values, ranged = values + list(more), ranged or dash
                written.append(f._written(word, more))
                j += 1
            elif word in f._MONTHS and nxt is not None and nxt[0].isdigit():
                values.append(f._MONTHS[word])
                written.append(f._MONTHS[word])
                j += 1
            elif word in ("to", "through", "thru", "and", "or") and nxt is not None and is_figure(nxt):
                more, dash = f._value(nxt) or ([], False)
                values += list(more)
                written.append(f._written(nxt, more))
                ranged = ranged or dash or word in ("to", "through", "thru") or opened in ("between", "from")
                j += 2
            else:
                break
        if j < len(tokens) and tokens[j] in f._MONTHS:
            values.append(f._MONTHS[tokens[j]])
            written.append(f._MONTHS[tokens[j]])
            j += 1
        after = tokens[j] if j < len(tokens) else ""
        numbers = [v for v in values if isinstance(v, float)]
        made = Statement(frozenset(values), (min(numbers), max(numbers)) if ranged and numbers else None,
                         frozenset(written))  # fmt: skip
        out.append(((before, after), made))
        if any(isinstance(v, str) and v.startswith("month") for v in values):
            out.append(((f.DATE, after), made))
        done = j
    return out


_STATEMENT_TOKENS = st.sampled_from(
    [
        *"0123456789",
        "12", "1,250.50", "6-3/8", "1985-86", "4-5", "6/14/82", "1.2.3", "3/0", "²", "٣", "2004",
        "nine", "seventeen", "ninety", "zero",
        "march", "may", "sept", "dec",
        "about", "between", "from", "some", "estimated",
        "to", "through", "thru", "and", "or",
        "rose", "pct", "tonnes", "vs", "the", "x",
    ]
)  # fmt: skip


@settings(max_examples=examples(2000))
@given(st.lists(_STATEMENT_TOKENS, max_size=16))
def test_the_compiled_statement_scan_follows_the_rule(tokens: list[str]) -> None:
    from dedup import figures as f

    assert f._statements(tokens) == _scan_oracle(tokens)


_CONTEXT_PIECES = st.sampled_from(
    [
        " ", " ", "\n", ", ", ". ", "-", ":",
        "12", "1,250.50", "6-3/8", "4-5", "2004", "²", "٣", "x9", "9x",
        "nine", "ninety", "march", "may", "dec", "about", "between", "from", "estimated",
        "to", "thru", "and", "or", "rose", "pct", "tonnes", "vs", "the", "mayday", "éa", "updated",
    ]
)  # fmt: skip


def _context_oracle(tokens: list[str]) -> list[str]:
    """The tokens a word next to nothing the scan reads is left out of (a plain filter, in the test)."""
    from dedup import figures as f

    read = set(f._NUMBER_WORDS) | set(f._MONTHS) | set(f._HEDGES) | {"to", "through", "thru", "and", "or"}
    meant = [t[0].isdigit() or t in read for t in tokens]
    return [
        t
        for k, t in enumerate(tokens)
        if meant[k] or (k > 0 and meant[k - 1]) or (k + 1 < len(tokens) and meant[k + 1])
    ]


@settings(max_examples=examples(2000))
@given(st.lists(_CONTEXT_PIECES, max_size=30).map("".join))
def test_the_scan_finds_the_same_statements_in_the_tokens_next_to_figures(text: str) -> None:
    from dedup import figures as f
    from dedup import kernels

    every = f._tokens(text)
    tokens, count = kernels.figure_context(text, f._SCANNED)
    assert (tokens, count) == (_context_oracle(every), len(every))
    assert f._statements(tokens) == f._statements(every) == _scan_oracle(every)


_WRITTEN = st.text("0125.", min_size=1, max_size=5)
_STATEMENT = st.builds(
    Statement,
    st.frozensets(st.sampled_from([1.0, 2.0, 5.0, 12.0, 25.0, "month 3", "6/14/82"]), min_size=1, max_size=3),
    st.one_of(st.none(), st.sampled_from([(1.0, 5.0), (2.0, 25.0), (12.0, 12.0)])),
    st.frozensets(st.one_of(_WRITTEN, st.sampled_from(["month 3", "12", "21", "1.2", "122"])), max_size=3),
)


@settings(max_examples=examples(3000))
@given(
    st.lists(_STATEMENT, min_size=1, max_size=3), st.lists(_STATEMENT, min_size=1, max_size=3), st.booleans()
)
def test_the_compiled_rule_agrees_with_the_rule_as_written(
    mine: list[Statement], theirs: list[Statement], correction: bool
) -> None:
    from dedup import kernels
    from dedup.figures import Facts

    frame = ("rose", "pct")
    a = Facts({frame: tuple(mine), ("a", "b"): (mine[0],)}, correction)
    b = Facts({frame: tuple(theirs), ("c", "d"): (theirs[0],)}, False)
    covered = all(any(x.agrees(y) for y in theirs) for x in mine) or all(
        any(y.agrees(x) for x in mine) for y in theirs
    )
    expected = not correction and not covered
    assert figure_conflict(a, b) == figure_conflict(b, a) == expected
    assert bool(clashing_frames(a, b)) == (not covered)
    pairs = np.array([[0, 1], [1, 0], [0, 0]], dtype=np.int64)
    packer = Packer()
    packer.add_facts(a)
    packer.add_facts(b)
    assert kernels.figure_clashes(packer.finish(), pairs).tolist() == [expected, expected, False]


def test_a_frame_holds_each_statement_once_in_the_order_first_stated() -> None:
    body = figure_facts("It rose 5 pct.\nIt rose 7 pct, then rose 5 pct and rose 5 pct.").body
    assert body[("rose", "pct")] == (_s({5.0}, {"5"}), _s({7.0}, {"7"}))


def test_a_run_lets_go_of_the_statements_it_kept_for_reuse() -> None:
    import pyarrow as pa

    from dedup import dedup_table
    from dedup import figures as f

    said = (
        "The company said on Monday that its sales rose {} pct to {} mln dlrs in the first quarter of the"
        " year, and that its profit rose in line with the forecast it gave in January for the whole year"
        " (٣)."  # an Arabic-Indic digit: read by `facts`, which keeps statements for reuse
    )
    texts = [said.format(5, 100), said.format(6, 120), said.format(5, 100) + " It gave no other details."]
    f._MADE.clear()
    result = dedup_table(pa.table({"id": ["a", "b", "c"], "text": texts}))
    assert result.unique.column("id").to_pylist() == ["a", "b"]  # the rule read both figures: a and b differ
    assert result.duplicates.column("duplicate_of").to_pylist() == ["a"]
    assert f._MADE == {}


def test_a_worker_lets_go_of_the_statements_it_kept_after_its_part() -> None:
    import numpy as np

    from dedup import figures as f
    from dedup.engines import shards

    texts = ["Sales rose 5 pct to 8,000 tonnes.", "Sales rose 6 pct to 9,000 tonnes.", "Sales rose 5 pct."]
    texts = [f"{text} (٣)" for text in texts]  # an Arabic-Indic digit: read by `facts`
    f._MADE.clear()
    clash = shards._conflicts_apart(texts, np.array([[0, 1], [0, 2]], dtype=np.int64))
    assert clash.tolist() == [True, False]
    assert f._MADE == {}


def test_a_frame_of_a_long_table_is_gathered_with_few_comparisons(monkeypatch: pytest.MonkeyPatch) -> None:

    rows = [f"Lot {k % 300} cost {k % 300} dlrs" for k in range(600)]  # each row twice
    compared = 0
    equal = Statement.__eq__

    def counted(self: Statement, other: object) -> bool:
        nonlocal compared
        compared += 1
        return equal(self, other)

    monkeypatch.setattr(Statement, "__eq__", counted)
    body = figure_facts("\n".join(rows)).body
    assert body[("cost", "dlrs")] == tuple(
        _s({float(k)}, {str(k)}) for k in range(300)
    )  # once each, in order
    assert compared < 10 * len(rows)  # a frame's statements are not each compared with all before them


def test_long_runs_and_a_full_memo_add_nothing_to_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from dedup import figures as f

    f._MADE.clear()
    row = "rose " + " ".join(str(k) for k in range(f.RUN_MADE + 1)) + " pct"
    assert statements(row) == [(("rose", "pct"), _s({float(k) for k in range(f.RUN_MADE + 1)},
                                                       {str(k) for k in range(f.RUN_MADE + 1)}))]  # fmt: skip
    assert f._MADE == {}  # a run longer than `RUN_MADE` tokens is made afresh each time
    monkeypatch.setattr(f, "STATEMENTS_MADE", 3)
    line = " ".join(f"rose {k} pct." for k in range(10))
    assert [s.values for _, s in statements(line)] == [frozenset({float(k)}) for k in range(10)]
    assert len(f._MADE) == 3  # one paragraph fills the memo up to its bound, not over it


def test_a_failed_keep_step_still_lets_go_of_the_statements(monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow as pa

    from dedup import dedup_table, resolve
    from dedup import figures as f

    held: list[int] = []

    def broken(*_: object) -> None:
        held.append(len(f._MADE))
        raise RuntimeError("planted")

    said = (
        "The company said on Monday that its sales rose {} pct to {} mln dlrs in the first quarter of the"
        " year, and that its profit rose in line with the forecast it gave in January for the whole year"
        " (٣)."  # an Arabic-Indic digit: read by `facts`, which keeps statements for reuse
    )
    monkeypatch.setattr(resolve, "_expand", broken)
    f._MADE.clear()
    with pytest.raises(RuntimeError, match="planted"):
        dedup_table(pa.table({"id": ["a", "b"], "text": [said.format(5, 100), said.format(6, 120)]}))
    assert held and held[0] > 0  # the rule had read the pair when the step failed
    assert f._MADE == {}


def test_the_compiled_rule_refuses_a_pair_that_names_no_record() -> None:
    from dedup import kernels

    packer = Packer()
    packer.add("Sales rose 5 pct.")
    one = packer.finish()
    for pair in ([0, 1], [0, -1], [3, 0]):
        with pytest.raises(IndexError, match="names no record"):
            kernels.figure_clashes(one, np.array([pair], dtype=np.int64))


def test_the_compiled_rule_reads_statements_built_by_hand_as_the_rule_as_written() -> None:
    from dedup.figures import Facts

    frame = ("rose", "pct")
    plain = Statement(frozenset({np.float64(4.5)}), None, frozenset({"4.5"}))  # a NumPy float
    ranged = Statement(frozenset({4.0, 5.0}), (4.0, 5.0), frozenset({"4", "5"}))
    loose = Statement({8.0}, None, {"8"})  # type: ignore[arg-type]  # sets, not frozensets
    for x, y in [(plain, ranged), (loose, ranged), (loose, plain)]:
        a, b = Facts({frame: (x,)}, False), Facts({frame: [y]}, False)  # type: ignore[dict-item]
        assert figure_conflict(a, b) == bool(clashing_frames(a, b)) == (not x.agrees(y))


def test_statements_made_for_reuse_stay_within_their_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    from dedup import figures as f

    lines = [f"rose {k} pct to {k + 1} tonnes" for k in range(40)]
    cold = [statements(line) for line in lines]
    monkeypatch.setattr(f, "STATEMENTS_MADE", 3)
    f._MADE.clear()
    for line, expected in zip(lines * 2, cold * 2, strict=True):
        assert statements(line) == expected
        assert len(f._MADE) <= 3


_FRAME_TEXT = st.lists(
    st.sampled_from(
        ["rose", "fell", "to", "and", "pct", "tonnes", "4", "5", "6", "8,000", "march", "nine", "\n"]
    ),
    max_size=14,
).map(" ".join)


@settings(max_examples=examples(1000))
@given(_FRAME_TEXT, _FRAME_TEXT)
def test_a_conflict_is_a_clashing_frame(a: str, b: str) -> None:
    from dedup.figures import conflict

    fa, fb = figure_facts(a), figure_facts(b)
    assert conflict(fa, fb) == conflict(fb, fa) == bool(clashing_frames(fa, fb))


@pytest.mark.parametrize(
    "words",
    [
        ["x", "ab"],  # a one-letter word: no filter by first two letters
        ["éa", "nine"],  # a word not in ASCII: no filter either
        ["nine", "nineteen", "ninety", "may"],
        ["Nine", "may"],  # an upper-case word is matched as written
    ],
)
def test_the_figure_scanner_finds_any_word_list_as_the_pattern_does(words: list[str]) -> None:
    from dedup import kernels

    text = "x xy ab abc éa éab nine nineteen ninety nines mayday may Nine NINE 12x x9 ab1"
    pattern = re.compile(
        rf"(?<![^\W\d_])(?:{_FIGURE_RE}|{'|'.join(sorted(words, key=len, reverse=True))})(?![^\W\d_])"
    )
    assert kernels.figure_tokens(text, frozenset(words), False) == pattern.findall(text)


def _unpacked(packed: Packed, record: int) -> set[tuple[object, ...]]:
    """A packed record read back: `(frame key, values, span, written)` per statement (test-side decoding)."""

    def string(k: int) -> str:
        return "".join(chr(c) for c in packed.chars[packed.string_at[k] : packed.string_at[k + 1]].tolist())

    out = set()
    for key0, key1, k in packed.entries[packed.records[record] : packed.records[record + 1]].tolist():
        values = frozenset(
            float(packed.numbers[v]) if packed.strings_of[v] < 0 else string(int(packed.strings_of[v]))
            for v in range(packed.values_at[k], packed.values_at[k + 1])
        )
        written = frozenset(
            string(int(w)) for w in packed.written[packed.written_at[k] : packed.written_at[k + 1]]
        )
        low, high = packed.spans[k].tolist()
        out.add(((key0, key1), values, None if np.isnan(low) else (low, high), written))
    return out


_PACKED_PIECES = st.sampled_from(
    [
        " ", " ", " ", "\n", "\n \n", ", ", ". ", "-", ":", "(",
        "12", "7", "1,250.50", "6-3/8", "4-5", "1985-86", "3/8-5", "1.2.3", "6/14/82", "3/0", "1-2-3",
        "1/2/3", "9" * 30 + "-1", "12.5-1.5", "2004", "10:15", "1:05:33", "123:45", "12:345", "9:30pm",
        "nine", "Ninety", "twenty", "zero", "March", "may", "dec", "sept", "about", "between", "from",
        "estimated", "to", "thru", "and", "or", "rose", "pct", "tonnes", "vs", "the", "mayday",
        "updated", "Comments", "likes", "©", "corrected", "éa", "İ", "ΣΑΣ", "ß", "\u00a0",
    ]
)  # fmt: skip
_PACKED_TEXT = st.lists(_PACKED_PIECES, max_size=40).map("".join)


@settings(max_examples=examples(3000))
@given(_PACKED_TEXT)
def test_the_compiled_packer_reads_a_text_as_facts_reads_it(text: str) -> None:
    compiled, read = Packer(), Packer()
    compiled.add(text)
    read.add_facts(figure_facts(text))
    a, b = compiled.finish(), read.finish()
    assert compiled.others == 0
    assert _unpacked(a, 0) == _unpacked(b, 0)
    assert a.correction.tolist() == b.correction.tolist() == [is_correction(text)]


@pytest.mark.parametrize(
    "odd",
    [
        "rose ٣ pct",  # a figure with an Arabic-Indic digit (Python's float reads it)
        "rose ²5 pct",  # a word that starts with a digit to `str.isdigit`
        "sales " + "9" * 400 + " dlrs",  # a figure past what a float holds
        "years " + "1" * 30 + "-" + "1" * 23,  # an abbreviated range end too long to scale exactly
    ],
)
def test_a_text_the_compiled_scan_would_misread_is_read_by_facts(odd: str) -> None:
    texts = [
        "Sales rose 5 pct to 8,000 tonnes.",
        f"Sales rose 5 pct to 8,000 tonnes.\nIt said {odd} on March 3.",
        "Sales rose 6 pct to 9,000 tonnes.",
    ]
    packer, expected = Packer(), Packer()
    for text in texts:
        packer.add(text)
        expected.add_facts(figure_facts(text))
    packed = packer.finish()
    assert packer.others == 1
    assert _unpacked(packed, 1) == _unpacked(expected.finish(), 1)
    read = [figure_facts(text) for text in texts]
    pairs = [(0, 1), (1, 2)]
    assert (
        clashes(packed, np.array(pairs, dtype=np.int64)).tolist()
        == [bool(clashing_frames(read[i], read[j])) for i, j in pairs]
        == [False, True]
    )


@settings(max_examples=examples(1500))
@given(_PACKED_TEXT, _PACKED_TEXT, st.integers(1, 3))
def test_compiled_clashes_of_texts_are_clashing_frames(a: str, b: str, workers: int) -> None:
    packer = Packer()
    for text in (a, b, a):
        packer.add(text)
    fa, fb = figure_facts(a), figure_facts(b)
    expected = bool(clashing_frames(fa, fb)) and not (fa.correction or fb.correction)
    pairs = np.array([[0, 1], [1, 0], [0, 2], [1, 1]], dtype=np.int64)
    assert clashes(packer.finish(), pairs, workers).tolist() == [expected, expected, False, False]


def test_a_vocabulary_the_compiled_scan_cannot_hold_is_refused() -> None:
    from dedup import kernels

    for vocabulary in (
        {"éa": (kernels.WORD_NUMBER, 1.0)},
        {"nine": (kernels.WORD_NUMBER, 9.5)},
        {"x" * 17: (1, 1.0)},
    ):
        with pytest.raises(ValueError, match=r"vocabulary|whole number"):
            kernels.figure_packer(vocabulary, "<date>", 16, 22)


@pytest.mark.parametrize("words", [15, 16, 17])
@pytest.mark.parametrize("stamp", ["Updated 10:15", "4 comments", "© 2024"])
def test_the_compiled_packer_leaves_out_volatile_lines_up_to_their_length(words: int, stamp: str) -> None:
    from dedup import figures as f

    line = " ".join([stamp, *["word"] * (words - len(f._tokens(stamp.lower())) - 1), "7"])
    assert len(f._tokens(line.lower())) == words
    text = f"Sales rose 5 pct.\n{line}"
    compiled, read = Packer(), Packer()
    compiled.add(text)
    read.add_facts(figure_facts(text))
    unpacked = _unpacked(compiled.finish(), 0)
    assert unpacked == _unpacked(read.finish(), 0)
    extra = ":" not in stamp  # the stamp's own figure, unless a clock time (no figure)
    assert len(unpacked) == (1 if words <= f.VOLATILE_WORDS else 2 + extra)


_HUGE = "9" * 309  # past the largest float (1.8e308): reads as inf


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        # Exact arithmetic says: an abbreviated end scales by 10**len(end); where that scale is
        # past the start, the start modulo it is the start, and the end stays as written.
        ("9" * 310 + "-" + "1" * 309, ([math.inf, float("1" * 309)], True)),
        ("5." + "0" * 400 + "-" + "0" * 308 + "1", ([5.0, 1.0], True)),
        ("1985-86", ([1985.0, 1986.0], True)),  # an abbreviation within range still scales
        (_HUGE + "-5", ([math.inf, 5.0], True)),  # no finite start to abbreviate from
        (_HUGE + "/" + _HUGE, ([_HUGE + "/" + _HUGE], False)),  # inf/inf is no number: as written
        ("2-" + _HUGE + "/" + _HUGE, (["2-" + _HUGE + "/" + _HUGE], False)),
    ],
)
def test_figures_past_a_floats_range_give_values_and_never_nan(
    token: str, expected: tuple[list[float | str], bool]
) -> None:
    from dedup.figures import _value

    assert _value(token) == expected
    facts = figure_facts(f"Output was {token} tonnes in March.")  # raised OverflowError before
    values = [v for statements in facts.body.values() for s in statements for v in s.values]
    assert values and not any(isinstance(v, float) and math.isnan(v) for v in values)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (f"rose {_HUGE}/{_HUGE} to 5 pct", "rose 5 or 6 pct"),
        (f"rose {_HUGE}/{_HUGE} to 5 pct", "rose 55 pct"),
        ("0 5", f"{_HUGE}/{_HUGE}9to 5"),
        ("ranged99 29ounces", f"ranged{_HUGE}9/{_HUGE}9to 9 ounces"),
        (f"x {_HUGE}9-{'1' * 309} y", "x 5 y"),
    ],
)
@pytest.mark.parametrize("workers", [1, 2])
def test_compiled_clashes_of_figures_past_a_float_are_clashing_frames(a: str, b: str, workers: int) -> None:
    packer = Packer()
    for text in (a, b):
        packer.add(text)
    fa, fb = figure_facts(a), figure_facts(b)
    expected = bool(clashing_frames(fa, fb)) and not (fa.correction or fb.correction)
    pairs = np.array([[0, 1], [1, 0]], dtype=np.int64)
    assert clashes(packer.finish(), pairs, workers).tolist() == [expected, expected]
