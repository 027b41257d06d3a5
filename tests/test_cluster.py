from __future__ import annotations

import heapq
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup import lsh
from dedup.cluster import (
    RankError,
    connect,
    number_rank,
    parse_keep,
    position_rank,
    rank,
    settle,
    split_components,
    time_rank,
    value_rank,
)
from tests.conftest import examples

M, A_IN, B_IN = lsh.MUTUAL, lsh.FIRST_INSIDE, lsh.SECOND_INSIDE


def _verdict(inside: list[int], jaccard: list[float] | None = None) -> lsh.Verdict:
    m = len(inside)
    j = np.array(jaccard if jaccard is not None else [0.6] * m, dtype=np.float64)
    share = np.full(m, 0.9)
    return lsh.Verdict(
        np.ones(m, dtype=bool),
        j,
        share,
        np.ones(m, dtype=bool),
        share,
        share,
        np.array(inside, dtype=np.int8),
    )


def _settle(ranks: list[int], edges: list[tuple[int, int]], inside: list[int], **kw: object) -> list[int]:
    e = np.array(edges, dtype=np.int64).reshape(-1, 2)
    out = settle(
        np.array(ranks, dtype=np.int64), e, _verdict(inside, kw.get("jaccard")), bool(kw.get("drop_all"))
    )  # type: ignore[arg-type]
    return out.duplicate_of.tolist()


def test_connect_joins_chains_and_leaves_singletons() -> None:
    labels = connect(6, np.array([[0, 1], [1, 2], [4, 5]], dtype=np.int64))
    assert labels[0] == labels[1] == labels[2]
    assert labels[4] == labels[5] != labels[0]
    assert len(set(labels.tolist())) == 3


def test_a_chain_drops_nothing_through_a_third_record() -> None:
    # 0 ~ 1 ~ 2, and 0, 2 share nothing: 1 goes for 0; 2 stays, its only duplicate being gone.
    assert _settle([0, 1, 2], [(0, 1), (1, 2)], [M, M]) == [-1, 0, -1]


def test_the_keep_rank_decides_between_duplicates_both_ways() -> None:
    assert _settle([1, 0], [(0, 1)], [M]) == [1, -1]
    assert _settle([0, 1], [(0, 1)], [M]) == [-1, 0]


@pytest.mark.parametrize("ranks", [[0, 1], [1, 0]])
def test_the_record_inside_another_is_dropped_whatever_the_rank(ranks: list[int]) -> None:
    assert _settle(ranks, [(0, 1)], [A_IN]) == [1, -1]
    assert _settle(ranks, [(0, 1)], [B_IN]) == [-1, 0]


def test_a_record_inside_two_is_dropped_for_the_closer_one() -> None:
    # 0 is inside 1 and 2; both are kept; it names the one it shares more with.
    assert _settle([0, 1, 2], [(0, 1), (0, 2)], [A_IN, A_IN], jaccard=[0.3, 0.4]) == [2, -1, -1]


def test_a_container_taken_late_still_holds_what_is_inside_it() -> None:
    # 0 ~ 2 both ways (0 ranks first), 1 is inside 2 and not inside 0: 2 goes for 0, and so 1,
    # whose only container is gone, stays.
    assert _settle([0, 1, 2], [(0, 2), (1, 2)], [M, A_IN]) == [-1, -1, 0]


def test_keep_none_drops_every_record_with_a_duplicate() -> None:
    out = _settle([0, 1, 2, 3], [(0, 1), (1, 2)], [M, A_IN], drop_all=True)
    assert out[3] == -1 and all(d >= 0 for d in out[:3])
    assert out[1] == 2  # it names the record it is inside


def _reference(ranks: list[int], edges: list[tuple[int, int, int, float]]) -> list[int]:
    """The keep step written out plainly (no shared code): take records by rank, a record inside
    another after it; drop for the best kept one it is inside or that came first among its
    duplicates both ways."""
    n = len(ranks)
    waits = [0] * n
    holds: dict[int, list[int]] = {}
    for a, b, kind, _ in edges:
        if kind == A_IN:
            waits[a] += 1
            holds.setdefault(b, []).append(a)
        elif kind == B_IN:
            waits[b] += 1
            holds.setdefault(a, []).append(b)
    ready = [(ranks[i], i) for i in range(n) if waits[i] == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        _, x = heapq.heappop(ready)
        order.append(x)
        for z in holds.get(x, []):
            waits[z] -= 1
            if waits[z] == 0:
                heapq.heappush(ready, (ranks[z], z))
    assert len(order) == n
    when = {x: i for i, x in enumerate(order)}
    named = [-1] * n
    for x in order:
        best: tuple[float, int, int] | None = None
        for a, b, kind, jac in edges:
            if x not in (a, b):
                continue
            y = b if a == x else a
            inner = a if kind == A_IN else b if kind == B_IN else None
            if inner is not None and inner != x:
                continue
            if inner is None and when[y] > when[x]:
                continue
            if named[y] != -1:
                continue
            key = (-jac, ranks[y], y)
            if best is None or key < best:
                best = key
        named[x] = best[2] if best is not None else -1
    return named


@st.composite
def _graphs(draw: st.DrawFn) -> tuple[list[int], list[tuple[int, int, int, float]]]:
    n = draw(st.integers(2, 9))
    ranks = draw(st.permutations(list(range(n))))
    sizes = draw(st.lists(st.integers(1, 5), min_size=n, max_size=n))  # containment goes to larger sets
    pairs = draw(st.sets(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=14))
    edges = []
    for a, b in sorted(pairs):
        if a >= b:
            continue
        kinds = [M]
        if sizes[a] < sizes[b]:
            kinds.append(A_IN)
        if sizes[b] < sizes[a]:
            kinds.append(B_IN)
        edges.append((a, b, draw(st.sampled_from(kinds)), draw(st.sampled_from([0.5, 0.6, 0.7]))))
    return list(ranks), edges


@settings(max_examples=examples(300))
@given(_graphs())
def test_the_keep_step_matches_a_plain_reference_and_keeps_its_promises(
    graph: tuple[list[int], list[tuple[int, int, int, float]]],
) -> None:
    ranks, edges = graph
    e = [(a, b) for a, b, _, _ in edges]
    kinds = [k for _, _, k, _ in edges]
    jac = [j for _, _, _, j in edges]
    expected = _reference(ranks, edges)
    assert _settle(ranks, e, kinds, jaccard=jac) == expected
    kept = {i for i, d in enumerate(expected) if d == -1}
    for x, y in enumerate(expected):
        if y == -1:
            continue
        assert y in kept  # named records are kept, so nothing is dropped through a third record
        edge = next(k for k, (a, b) in enumerate(e) if {a, b} == {x, y})
        assert kinds[edge] == M or (kinds[edge] == A_IN) == (e[edge][0] == x)  # the inner one goes
    # Relabelling the records (their input order) changes nothing but the labels.
    perm = list(reversed(range(len(ranks))))
    moved = [(perm[a], perm[b], {M: M, A_IN: A_IN, B_IN: B_IN}[k], j) for a, b, k, j in edges]
    moved_ranks = [0] * len(ranks)
    for i, r in enumerate(ranks):
        moved_ranks[perm[i]] = r
    again = _settle(moved_ranks, [(a, b) for a, b, _, _ in moved], [k for *_, k, _ in moved], jaccard=jac)
    assert [again[perm[i]] for i in range(len(ranks))] == [perm[d] if d >= 0 else -1 for d in expected]


def test_rank_breaks_ties_with_later_arrays() -> None:
    length = np.array([-10, -12, -12])  # longest first
    position = np.array([0, 2, 1])
    assert rank(length, position).tolist() == [2, 1, 0]


def test_position_rank_does_not_depend_on_input_order() -> None:
    rng = np.random.default_rng(0)
    files = [f"f{rng.integers(3)}" for _ in range(40)]
    lines = rng.integers(1, 100, size=40).tolist()
    ids = [f"id{i}" for i in range(40)]
    ranks = position_rank(files, lines, ids)
    perm = rng.permutation(40)
    shuffled = position_rank([files[i] for i in perm], [lines[i] for i in perm], [ids[i] for i in perm])
    assert shuffled.tolist() == ranks[perm].tolist()
    expected = sorted(range(40), key=lambda i: (files[i], lines[i], ids[i]))
    assert [int(np.flatnonzero(ranks == k)[0]) for k in range(40)] == expected


def test_value_rank_puts_greatest_first_and_missing_last() -> None:
    assert value_rank(["2024-01-02", None, "2025-03-01", "2024-01-02"], "date").tolist() == [1, 2, 0, 1]
    with pytest.raises(ValueError, match="field 'date' holds values that do not compare"):
        value_rank(["2024", 2025], "date")


def test_number_rank_wants_numbers() -> None:
    assert number_rank([0.5, None, 2, math.nan, 0.5], "score").tolist() == [1, 2, 0, 2, 1]
    assert number_rank([1, "9", "2.5"], "score").tolist() == [2, 0, 1]  # numbers written as text
    with pytest.raises(
        ValueError, match=r"field 'score' must hold numbers for keep: priority; found str 'x'"
    ):
        number_rank([1, "x"], "score")
    with pytest.raises(ValueError, match="found bool True"):
        number_rank([True], "score")


@pytest.mark.parametrize(
    ("keep", "expected"),
    [
        ("first", ("first", None)),
        ("longest", ("longest", None)),
        ("none", ("none", None)),
        ("newest:date", ("newest", "date")),
        ("newest: published", ("newest", "published")),
        ("priority:score", ("priority", "score")),
    ],
)
def test_parse_keep(keep: str, expected: tuple[str, str | None]) -> None:
    assert parse_keep(keep) == expected


@pytest.mark.parametrize("keep", ["newest", "oldest", "first:x", "", "priority", "none:x"])
def test_parse_keep_rejects_unknown_rules(keep: str) -> None:
    with pytest.raises(
        ValueError, match="must be 'first', 'longest', 'newest:<field>', 'priority:<field>' or 'none'"
    ):
        parse_keep(keep)


def test_time_rank_reads_dates_zones_and_numbers() -> None:
    # 2023-12-31T23:00-02:00 is 2024-01-01T01:00 UTC: later than New Year's midnight, before Jan 2.
    dates = ["2024-01-02", None, "2023-12-31T23:00:00-02:00", " 2024-01-02 ", "2024-01-01"]
    assert time_rank(dates, "d").tolist() == [0, 3, 1, 0, 2]
    # python-dateutil's formats: 10:00 +01:00 is 09:00 UTC, before 09:30 UTC.
    assert time_rank(["Tue, 3 Mar 2026 10:00:00 +0100", "2026-03-03T09:30:00Z"], "d").tolist() == [1, 0]
    assert time_rank([3, None, 5.5], "v").tolist() == [1, 2, 0]  # numbers compare as numbers
    assert time_rank(["7", 8], "v").tolist() == [1, 0]  # a number written as JSON text is a number
    assert time_rank(['"2024-01-01"', "2023-01-01"], "d").tolist() == [0, 1]  # a JSON string is its text
    assert time_rank([None, None], "d").tolist() == [0, 0]


@pytest.mark.parametrize(
    ("values", "index", "message"),
    [
        (
            ["2024-01-01", 5],
            1,
            "field 'd' holds values that do not compare (int, str); keep: newest reads numbers, "
            "or dates and times written as text",
        ),
        (
            ["2024-01-01", "soon"],
            1,
            "field 'd': 'soon' is not a date or time (keep: newest reads numbers, ISO 8601 and common "
            "date formats)",
        ),
    ],
)
def test_time_rank_names_the_record_it_cannot_rank(values: list[object], index: int, message: str) -> None:
    with pytest.raises(RankError) as err:
        time_rank(values, "d")
    assert str(err.value) == message and err.value.index == index


@pytest.mark.parametrize(
    ("raw", "rank_of"),
    [
        (["-3", 1], [1, 0]),  # a negative number written as text
        (["1.5e1", 10], [0, 1]),
        (['"12"', 11], [0, 1]),  # a JSON string holding digits is still a number here
        (["007", 8], [1, 0]),  # not JSON, but a number
    ],
)
def test_number_rank_reads_numbers_written_as_text(raw: list[object], rank_of: list[int]) -> None:
    assert number_rank(raw, "score").tolist() == rank_of


@pytest.mark.parametrize("bad", ["true", "[1]", "-", '"x"', "NaN-ish"])
def test_number_rank_refuses_text_that_is_no_number(bad: str) -> None:
    with pytest.raises(RankError) as err:
        number_rank([1, bad], "score")
    assert err.value.index == 1 and "must hold numbers for keep: priority" in str(err.value)


def test_connect_of_no_records() -> None:
    assert connect(0, np.empty((0, 2), dtype=np.int64)).tolist() == []
    assert connect(3, np.empty((0, 2), dtype=np.int64)).tolist() == [0, 1, 2]


def test_keep_none_prefers_the_container_then_a_duplicate_both_ways() -> None:
    # 0 is inside 1; 1 and 2 are duplicates both ways; 3 holds nothing and nothing holds it.
    e = np.array([(0, 1), (1, 2)], dtype=np.int64)
    verdict = _verdict([A_IN, M], jaccard=[0.3, 0.9])
    out = settle(np.arange(4, dtype=np.int64), e, verdict, drop_all=True)
    assert out.duplicate_of.tolist() == [1, 2, 1, -1]
    assert out.pair.tolist() == [0, 1, 1, -1]
    assert out.contained.tolist() == [True, False, False, False]
    # Without a partner both ways, a container names the record inside it (not "contained").
    alone = settle(np.arange(2, dtype=np.int64), e[:1], _verdict([A_IN], jaccard=[0.3]), drop_all=True)
    assert alone.duplicate_of.tolist() == [1, 0] and alone.contained.tolist() == [True, False]


def test_the_keep_step_names_the_closest_then_the_most_inside_then_the_first() -> None:
    # 2 duplicates 0 and 1 both ways (both kept first); it names the higher Jaccard.
    e = np.array([(0, 2), (1, 2)], dtype=np.int64)
    assert _settle([0, 1, 2], [(0, 2), (1, 2)], [M, M], jaccard=[0.6, 0.7]) == [-1, -1, 1]
    # Equal Jaccard: the larger share of it inside the named record wins.
    share = lsh.Verdict(
        np.ones(2, dtype=bool),
        np.array([0.6, 0.6]),
        np.full(2, 0.9),
        np.ones(2, dtype=bool),
        np.array([0.7, 0.8]),  # share of 0 in 2, share of 1 in 2
        np.array([0.9, 0.8]),  # share of 2 in 0, share of 2 in 1
        np.array([M, M], dtype=np.int8),
    )
    assert settle(np.arange(3, dtype=np.int64), e, share).duplicate_of.tolist() == [-1, -1, 0]
    # Everything equal: the better-ranked record is named.
    assert _settle([1, 0, 2], [(0, 2), (1, 2)], [M, M], jaccard=[0.6, 0.6]) == [-1, -1, 1]
    # The second record of a pair inside the first: swapped so the inner one goes.
    assert _settle([0, 1], [(0, 1)], [B_IN], jaccard=[0.2]) == [-1, 0]


def test_ranks_are_int64() -> None:
    assert position_rank(["a", "b"], [2, 1], ["x", "y"]).dtype == np.int64
    assert position_rank([], [], []).tolist() == []
    assert rank(np.array([1, 0]), np.array([0, 1])).dtype == np.int64


def test_keep_none_names_the_partner_it_shares_most_with_then_the_first() -> None:
    # 2 duplicates 0 and 1 both ways at equal Jaccard; more of 2 is inside 1 than inside 0.
    e = np.array([(0, 2), (1, 2)], dtype=np.int64)
    verdict = lsh.Verdict(
        np.ones(2, dtype=bool),
        np.array([0.6, 0.6]),
        np.full(2, 0.9),
        np.ones(2, dtype=bool),
        np.array([0.9, 0.9]),  # share of 0 in 2, of 1 in 2
        np.array([0.7, 0.8]),  # share of 2 in 0, of 2 in 1
        np.array([M, M], dtype=np.int8),
    )
    out = settle(np.arange(3, dtype=np.int64), e, verdict, drop_all=True)
    assert out.duplicate_of.tolist() == [2, 2, 1]
    # Everything equal: the better-ranked partner.
    tied = settle(np.array([2, 0, 1], dtype=np.int64), e, _verdict([M, M]), drop_all=True)
    assert tied.duplicate_of.tolist() == [2, 2, 1]
    assert (
        settle(np.array([0, 2, 1], dtype=np.int64), e, _verdict([M, M]), drop_all=True).duplicate_of[2] == 0
    )


def test_value_rank_names_the_kinds_that_do_not_compare() -> None:
    with pytest.raises(ValueError) as err:
        value_rank(["2024", None, 2025, 3.5], "date")
    assert str(err.value) == "field 'date' holds values that do not compare (float, int, str)"


def test_a_time_without_a_zone_is_utc_whatever_the_machines_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        # 09:00 with no zone is 09:00 UTC, before 09:30 UTC (in New York it would be 14:00 UTC).
        assert time_rank(["2024-01-01T09:00:00", "2024-01-01T09:30:00+00:00"], "d").tolist() == [1, 0]
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_the_keep_step_and_components_give_their_documented_dtypes() -> None:
    assert connect(3, np.array([[0, 1]], dtype=np.int64)).dtype == np.int64
    assert connect(0, np.empty((0, 2), dtype=np.int64)).dtype == np.int64
    out = settle(np.arange(3, dtype=np.int64), np.array([(0, 1)], dtype=np.int64), _verdict([A_IN]))
    assert out.duplicate_of.dtype == np.int64 and out.pair.dtype == np.int64 and out.contained.dtype == bool
    none = settle(np.arange(2, dtype=np.int64), np.empty((0, 2), dtype=np.int64), _verdict([]))
    assert none.duplicate_of.tolist() == [-1, -1] and none.contained.dtype == bool


def _shares(
    inside: list[int], jaccard: list[float], share_a: list[float], share_b: list[float]
) -> lsh.Verdict:
    m = len(inside)
    return lsh.Verdict(
        np.ones(m, dtype=bool),
        np.array(jaccard),
        np.full(m, 0.9),
        np.ones(m, dtype=bool),
        np.array(share_a),  # share of each pair's first record inside its second
        np.array(share_b),  # share of the second inside the first
        np.array(inside, dtype=np.int8),
    )


def test_a_record_given_second_is_named_by_its_own_share_inside_the_others() -> None:
    # Record 2 is inside 0 and inside 1 (given second in both pairs), at equal Jaccard: it names the
    # one more of it is inside (95% in 1 against 85% in 0), not the better-ranked one.
    e = np.array([(0, 2), (1, 2)], dtype=np.int64)
    verdict = _shares([B_IN, B_IN], [0.4, 0.4], share_a=[0.3, 0.3], share_b=[0.85, 0.95])
    assert settle(np.arange(3, dtype=np.int64), e, verdict).duplicate_of.tolist() == [-1, -1, 1]


def test_keep_none_a_container_given_first_names_the_inner_record_holding_more_of_it() -> None:
    # 0 holds 1 and 2 (each given second, inside 0); equal Jaccard. Under keep: none 0 names the
    # inner record that holds more of it (40% of 0 is in 2, 30% in 1), though 1 ranks better.
    e = np.array([(0, 1), (0, 2)], dtype=np.int64)
    verdict = _shares([B_IN, B_IN], [0.3, 0.3], share_a=[0.3, 0.4], share_b=[0.9, 0.9])
    out = settle(np.arange(3, dtype=np.int64), e, verdict, drop_all=True)
    assert out.duplicate_of.tolist() == [2, 0, 0]
    assert out.contained.tolist() == [False, True, True]


def test_keep_none_names_the_container_whatever_the_jaccard_of_the_other_pair() -> None:
    # 0 (empty, so 0% Jaccard) is inside 1, and a duplicate both ways of 2 at Jaccard 1; 2 ranks
    # better, and the shares are equal. The container is still named: it comes before any Jaccard.
    e = np.array([(0, 1), (0, 2)], dtype=np.int64)
    verdict = _shares([A_IN, M], [0.0, 1.0], share_a=[1.0, 1.0], share_b=[0.0, 1.0])
    out = settle(np.array([2, 1, 0], dtype=np.int64), e, verdict, drop_all=True)
    assert out.duplicate_of[0] == 1 and bool(out.contained[0])


def test_keep_none_names_the_closest_partner_whichever_side_of_the_pair_it_was_given() -> None:
    # 1 is a duplicate both ways of 0 (given second, Jaccard 0.5) and of 2 (given first, Jaccard
    # 0.9), shares equal, 0 ranking best: it names 2, the closer one.
    e = np.array([(0, 1), (1, 2)], dtype=np.int64)
    verdict = _shares([M, M], [0.5, 0.9], share_a=[0.9, 0.9], share_b=[0.9, 0.9])
    out = settle(np.arange(3, dtype=np.int64), e, verdict, drop_all=True)
    assert out.duplicate_of.tolist() == [1, 2, 1]


def test_value_ranks_are_int64_even_for_no_values() -> None:
    assert value_rank([], "f").dtype == np.int64 and value_rank([None, 3], "f").tolist() == [1, 0]


@settings(max_examples=examples(200))
@given(
    st.integers(min_value=1, max_value=6).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.lists(
                st.tuples(
                    st.integers(0, n - 1),
                    st.integers(0, n - 1),
                    st.sampled_from([0.5, 0.6, 0.9]),
                    st.sampled_from([0.0, 0.8, 1.0]),
                ),
                max_size=10,
            ),
            st.permutations(range(n)),
        )
    )
)
def test_best_arc_is_each_records_strongest_arc_out(
    case: tuple[int, list[tuple[int, int, float, float]], list[int]],
) -> None:
    """Against a plain loop: highest Jaccard, then share, then the target's rank; -1 with no arc out."""
    from dedup.cluster import _best_arc

    n, arcs, ranks = case
    source = np.array([a[0] for a in arcs], dtype=np.int64)
    target = np.array([a[1] for a in arcs], dtype=np.int64)
    jaccard = np.array([a[2] for a in arcs], dtype=np.float64)
    share = np.array([a[3] for a in arcs], dtype=np.float64)
    via = _best_arc(n, source, target, jaccard, share, np.array(ranks, dtype=np.int64))
    assert via.dtype == np.int64 and via.shape == (n,)
    for record in range(n):
        out = [i for i, a in enumerate(arcs) if a[0] == record]
        if not out:
            assert via[record] == -1
            continue
        key = [(-arcs[i][2], -arcs[i][3], ranks[arcs[i][1]]) for i in out]
        best = min(key)
        assert key[out.index(int(via[record]))] == best


def _components_by_hand(pairs: list[tuple[int, int]]) -> dict[int, int]:
    """Each record's component, by union-find written here (an oracle sharing no code with `connect`)."""
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        parent[root(a)] = root(b)
    return {x: root(x) for x in parent}


@settings(max_examples=examples(150), deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60)), max_size=80),
    st.integers(1, 4),
)
def test_split_components_keeps_each_component_whole_and_every_pair_once(
    pairs: list[tuple[int, int]], count: int
) -> None:
    array = np.array(pairs, dtype=np.int64).reshape(-1, 2) * 1_000_003  # any record numbers
    parts = split_components(array, count)
    assert all(p.dtype == np.int64 and len(p) for p in parts) or not pairs
    assert len(parts) <= max(count, 1)
    taken = np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
    assert sorted(taken.tolist()) == list(range(len(pairs)))  # every pair, once
    assert all((np.diff(p) > 0).all() for p in parts)
    component = _components_by_hand(pairs)
    part_of: dict[int, int] = {}
    for number, part in enumerate(parts):
        for k in part.tolist():
            for record in pairs[k]:
                assert part_of.setdefault(component[record], number) == number  # a component, whole


def test_split_components_balances_records_between_parts() -> None:
    pairs = np.array([(3 * k, 3 * k + 1) for k in range(100)] + [(3 * k + 1, 3 * k + 2) for k in range(100)])
    parts = split_components(pairs, 2)
    records = [len(np.unique(pairs[p])) for p in parts]
    assert len(parts) == 2 and records == [150, 150]
    assert [len(p) for p in split_components(pairs, 1)] == [200]
    one = np.array([(0, 1), (1, 2), (2, 3)], dtype=np.int64)  # one component cannot be cut
    assert [p.tolist() for p in split_components(one, 3)] == [[0, 1, 2]]
    no_pairs = split_components(np.empty((0, 2), dtype=np.int64), 2)  # one part, holding no pair
    assert [(p.tolist(), p.dtype) for p in no_pairs] == [([], np.dtype(np.int64))]


@settings(max_examples=examples(200), deadline=None)
@given(_graphs(), st.data())
def test_deciding_again_only_the_groups_that_changed_decides_as_deciding_everything(
    graph: tuple[list[int], list[tuple[int, int, int, float]]], data: st.DataObject
) -> None:
    from dedup.resolve import _settle_again

    ranks, all_edges = graph
    rank = np.array(ranks, dtype=np.int64)
    start = [e for e in all_edges if data.draw(st.booleans())]
    later = [e for e in all_edges if e not in start]
    drop_all = data.draw(st.booleans())

    def arrays(edges: list[tuple[int, int, int, float]]) -> tuple[np.ndarray, lsh.Verdict]:
        e = np.array([(a, b) for a, b, _, _ in edges], dtype=np.int64).reshape(-1, 2)
        return e, _verdict([k for _, _, k, _ in edges], [j for *_, j in edges])

    # Groups of every pair the steps will ever hold, as the keep step's first grouping holds them.
    labels = connect(len(ranks), arrays(all_edges)[0])
    edges = start
    decided = settle(rank, *arrays(edges), drop_all)
    for _ in range(3):
        removed = [e for e in edges if data.draw(st.booleans())] if data.draw(st.booleans()) else []
        added = later[: data.draw(st.integers(0, len(later)))] if not removed else []
        later = later[len(added) :]
        kept = np.array([e not in removed for e in edges], dtype=bool)
        edges = [e for e in edges if e not in removed] + added
        e, verdict = arrays(edges)
        touched = labels[[a for a, *_ in removed + added]] if removed or added else np.empty(0, np.int64)
        decided = _settle_again(decided, kept, rank, e, verdict, labels, np.asarray(touched), drop_all)
        full = settle(rank, e, verdict, drop_all)
        assert decided.duplicate_of.tolist() == full.duplicate_of.tolist()
        assert decided.pair.tolist() == full.pair.tolist()
        assert decided.contained.tolist() == full.contained.tolist()
        assert decided.pair.dtype == np.int64


def test_deciding_again_renumbers_the_pairs_of_the_groups_left_alone() -> None:
    from dedup.resolve import _settle_again

    rank = np.arange(6, dtype=np.int64)
    # Two groups: records 0-2 (pairs 0, 1) and 3-5 (pairs 2, 3); the second group's pairs come later.
    edges = np.array([(0, 1), (1, 2), (3, 4), (4, 5)], dtype=np.int64)
    verdict = _verdict([M, M, M, M], [0.9, 0.8, 0.9, 0.8])
    labels = connect(6, edges)
    before = settle(rank, edges, verdict)
    assert before.pair.tolist() == [-1, 0, -1, -1, 2, -1]
    kept = np.array([False, True, True, True])  # the first group loses its first pair
    after = _settle_again(
        before, kept, rank, edges[kept], _verdict([M, M, M], [0.8, 0.9, 0.8]), labels, labels[[0]],
        False,
    )  # fmt: skip
    full = settle(rank, edges[kept], _verdict([M, M, M], [0.8, 0.9, 0.8]))
    assert after.pair.tolist() == full.pair.tolist() == [-1, -1, 0, -1, 1, -1]
    assert after.duplicate_of.tolist() == full.duplicate_of.tolist() == [-1, -1, 1, -1, 3, -1]
    # The second group gains a pair: decided again, its pairs named by their place among all.
    grown = np.r_[edges[kept], [(3, 5)]]
    more = _verdict([M, M, M, M], [0.8, 0.9, 0.8, 0.95])
    again = _settle_again(after, np.ones(3, dtype=bool), rank, grown, more, labels, labels[[3]], False)
    assert again.pair.tolist() == settle(rank, grown, more).pair.tolist()


def test_time_rank_takes_a_zone_it_does_not_know_as_utc_without_a_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # dateutil warns of a zone name it cannot read: not on the terminal
        ranks = time_rank(["27-MAR-1987 02:17:09.88", "27-MAR-1987 02:17:10 RM", "2024-01-01"], "d")
    assert ranks.tolist() == [2, 1, 0]  # 'RM' left out: the time itself, in UTC
