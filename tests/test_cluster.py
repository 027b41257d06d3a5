from __future__ import annotations

import numpy as np
import pytest

from dedup.cluster import choose, connect, parse_keep, position_rank, value_rank


def test_connect_joins_chains_and_leaves_singletons() -> None:
    labels = connect(6, np.array([[0, 1], [1, 2], [4, 5]], dtype=np.int64))
    assert labels[0] == labels[1] == labels[2]
    assert labels[4] == labels[5] != labels[0]
    assert len(set(labels.tolist())) == 3


def test_choose_takes_the_lowest_rank_in_each_cluster() -> None:
    labels = np.array([0, 0, 1, 1, 1])
    rank = np.array([4, 1, 0, 3, 2])
    assert choose(labels, rank).tolist() == [1, 1, 2, 2, 2]


def test_choose_breaks_ties_with_later_priorities() -> None:
    labels = np.array([0, 0, 0])
    length = np.array([-10, -12, -12])  # longest first
    position = np.array([0, 2, 1])
    assert choose(labels, length, position).tolist() == [2, 2, 2]


def test_the_winner_does_not_depend_on_input_order() -> None:
    rng = np.random.default_rng(0)
    files = [f"f{rng.integers(3)}" for _ in range(40)]
    lines = rng.integers(1, 100, size=40).tolist()
    ids = [f"id{i}" for i in range(40)]
    labels = rng.integers(0, 5, size=40)
    winners = {ids[w] for w in choose(labels, position_rank(files, lines, ids)).tolist()}
    perm = rng.permutation(40)
    shuffled = choose(
        labels[perm],
        position_rank([files[i] for i in perm], [lines[i] for i in perm], [ids[i] for i in perm]),
    )
    assert {ids[perm[w]] for w in shuffled.tolist()} == winners


def test_value_rank_puts_greatest_first_and_missing_last() -> None:
    assert value_rank(["2024-01-02", None, "2025-03-01", "2024-01-02"], "date").tolist() == [1, 2, 0, 1]
    with pytest.raises(ValueError, match="field 'date' holds values that do not compare"):
        value_rank(["2024", 2025], "date")


@pytest.mark.parametrize(
    ("keep", "expected"),
    [
        ("first", ("first", None)),
        ("longest", ("longest", None)),
        ("newest:date", ("newest", "date")),
        ("newest: published", ("newest", "published")),
    ],
)
def test_parse_keep(keep: str, expected: tuple[str, str | None]) -> None:
    assert parse_keep(keep) == expected


@pytest.mark.parametrize("keep", ["newest", "oldest", "first:x", ""])
def test_parse_keep_rejects_unknown_rules(keep: str) -> None:
    with pytest.raises(ValueError, match="must be 'first', 'longest' or 'newest:<field>'"):
        parse_keep(keep)
