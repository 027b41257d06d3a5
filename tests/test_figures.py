from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.figures import Statement, conflicts, figures, is_correction, is_volatile, sequence, statements
from dedup.figures import facts as figure_facts
from tests.conftest import examples


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
