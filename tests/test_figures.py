from __future__ import annotations

import pytest

from dedup.figures import conflicts, figures, is_correction


def test_figures_are_canonical_numbers_and_number_words() -> None:
    assert figures("Sales rose 1,250.50 dlrs to 747.0 mln, up nine pct from 007") == {
        "1250.5",
        "747",
        "9",
        "7",
    }
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
