from __future__ import annotations

import itertools

import numpy as np
import pytest

from dedup.lsh import (
    FIRST_INSIDE,
    MUTUAL,
    SECOND_INSIDE,
    LSHConfig,
    Verdict,
    band,
    candidate_probability,
    candidates,
    estimate_pairs,
    exact_overlaps,
    optimal_params,
    resolve_params,
    verify,
)


def _brute_force(keys: np.ndarray) -> set[tuple[int, int]]:
    n = keys.shape[0]
    return {(i, j) for i, j in itertools.combinations(range(n), 2) if np.any(keys[i] == keys[j])}


def test_candidates_equal_all_pairs_sharing_a_band_key() -> None:
    rng = np.random.default_rng(3)
    signatures = rng.integers(0, 4, size=(60, 12), dtype=np.uint32)  # few values: many collisions
    keys = band(signatures, bands=4, rows=3)
    found = {tuple(p) for p in candidates(keys).tolist()}
    assert found == _brute_force(keys)
    assert len(found) > 100


def test_band_keys_depend_on_the_band_and_its_rows_only() -> None:
    signatures = np.array([[1, 2, 3, 4], [1, 2, 9, 9], [3, 4, 1, 2]], dtype=np.uint32)
    keys = band(signatures, bands=2, rows=2)
    assert keys.dtype == np.uint64 and keys.shape == (3, 2)
    assert keys[0, 0] == keys[1, 0] and keys[0, 1] != keys[1, 1]
    assert keys[2, 1] != keys[0, 0]  # the same rows in another band give another key


def test_huge_buckets_are_windowed_but_stay_connected() -> None:
    keys = np.zeros((50, 1), dtype=np.uint64)
    pairs = candidates(keys, max_bucket=3)
    assert len(pairs) == 49 + 48 + 47
    assert np.all(pairs[:, 1] - pairs[:, 0] <= 3)


def test_no_candidates_without_shared_keys() -> None:
    keys = np.arange(20, dtype=np.uint64).reshape(10, 2)
    assert candidates(keys).shape == (0, 2)


@pytest.mark.parametrize("threshold", [0.5, 0.7, 0.8, 0.9])
def test_optimal_params_fit_the_signature_and_put_the_threshold_on_the_slope(threshold: float) -> None:
    bands, rows = optimal_params(threshold, 128)
    assert bands * rows <= 128
    # Recall-leaning weights: well above the threshold nearly every pair is a candidate,
    # well below it few are.
    assert candidate_probability(min(threshold + 0.1, 0.99), bands, rows) > 0.95
    assert candidate_probability(threshold - 0.3, bands, rows) < 0.2


def test_equal_weights_reproduce_datasketchs_choice() -> None:
    # datasketch's MinHashLSH(threshold=0.8, num_perm=128) picks 9 bands of 13 rows.
    assert optimal_params(0.8, 128, 0.5, 0.5) == (9, 13)


def test_resolve_params_prefers_configured_values() -> None:
    assert resolve_params(LSHConfig(bands=8, rows=16), 128) == (8, 16)
    assert resolve_params(LSHConfig(bands=32), 128) == (32, 4)
    assert resolve_params(LSHConfig(threshold=0.8), 128) == optimal_params(0.8, 128)


def test_estimate_and_exact_pair_similarities() -> None:
    signatures = np.array([[1, 2, 3, 4], [1, 2, 3, 5], [9, 9, 9, 9]], dtype=np.uint32)
    pairs = np.array([[0, 1], [0, 2]], dtype=np.int64)
    assert estimate_pairs(signatures, pairs).tolist() == [0.75, 0.0]
    hashes = np.array([1, 2, 3, 2, 3, 4, 3, 3], dtype=np.uint32)
    offsets = np.array([0, 3, 6, 8], dtype=np.int64)
    common, size_a, size_b = exact_overlaps(hashes, offsets, pairs)
    assert (common.tolist(), size_a.tolist(), size_b.tolist()) == (
        [2, 1],
        [3, 3],
        [3, 1],
    )  # repeats count once


def _sets(*records: list[int]) -> tuple[np.ndarray, np.ndarray]:
    hashes = np.array([h for r in records for h in r], dtype=np.uint32)
    offsets = np.cumsum([0] + [len(r) for r in records]).astype(np.int64)
    return hashes, offsets


def _verdict(a: list[int], b: list[int], **cfg: object) -> dict[str, object]:
    v = verify(np.array([[0, 1]], dtype=np.int64), np.empty((2, 0), np.uint32), _sets(a, b), LSHConfig(**cfg))  # type: ignore[arg-type]
    return {
        f: getattr(v, f)[0].item() for f in ("keep", "jaccard", "similar", "share_a", "share_b", "inside")
    }


def test_verify_at_the_threshold_boundary() -> None:
    # 30 shared of 60 distinct: Jaccard exactly 0.5 (counted by hand).
    a, b = list(range(45)), list(range(15, 60))
    assert _verdict(a, b, containment=None)["jaccard"] == 0.5
    assert _verdict(a, b, containment=None, threshold=0.5)["keep"] is True
    assert _verdict(a, b, containment=None, threshold=0.51)["keep"] is False


def test_verify_short_records_need_the_short_threshold() -> None:
    # 10 shingles each (under min_shingles 20), 8 shared: Jaccard 8/12.
    a, b = list(range(10)), [*range(8), 100, 101]
    got = _verdict(a, b, threshold=0.5, short_threshold=0.8)
    assert got["jaccard"] == pytest.approx(8 / 12) and got["keep"] is False and got["similar"] is False
    assert _verdict(a, b, threshold=0.5, short_threshold=0.6)["keep"] is True
    assert _verdict(a, b, threshold=0.5, min_shingles=5)["keep"] is True  # not short at 5


def test_verify_containment_has_a_direction() -> None:
    inner, outer = list(range(40)), list(range(100))  # inner wholly inside outer; Jaccard 0.4
    got = _verdict(inner, outer, containment=0.8)
    assert got == {
        "keep": True,
        "jaccard": 0.4,
        "similar": False,
        "share_a": 1.0,
        "share_b": 0.4,
        "inside": FIRST_INSIDE,
    }
    assert _verdict(outer, inner, containment=0.8)["inside"] == SECOND_INSIDE
    exactly = _verdict(list(range(40)), [*range(32), *range(200, 300)], containment=0.8)
    assert exactly["share_a"] == 0.8 and exactly["keep"] is True  # 32 of 40: at the share, in
    under = _verdict(list(range(40)), [*range(31), *range(200, 300)], containment=0.8)
    assert under["keep"] is False
    both = _verdict(list(range(50)), [*range(45), 300, 301, 302, 303, 304], containment=0.8)
    assert both["inside"] == MUTUAL and both["similar"] is True  # each 90% inside the other
    small = _verdict(list(range(10)), list(range(100)), containment=0.8, min_shingles=20)
    assert small["keep"] is False  # too short for containment to count


def test_resolve_params_fills_in_the_missing_half() -> None:
    assert resolve_params(LSHConfig(rows=4), 128) == (32, 4)
    assert resolve_params(LSHConfig(rows=200), 128) == (1, 200)  # at least one band
    assert resolve_params(LSHConfig(bands=200), 128) == (200, 1)  # at least one row
    # Slots that do not divide evenly: whole bands and rows, the rest of the signature unused.
    assert resolve_params(LSHConfig(bands=3), 128) == (3, 42)
    assert resolve_params(LSHConfig(rows=5), 128) == (25, 5)
    assert all(isinstance(v, int) for v in resolve_params(LSHConfig(bands=16), 128))
    # datasketch's MinHashLSH(threshold=0.8, num_perm=128) picks 9 bands of 13 rows at equal weights.
    equal = LSHConfig(threshold=0.8, false_positive_weight=0.5, false_negative_weight=0.5)
    assert resolve_params(equal, 128) == (9, 13)


def test_band_refuses_more_slots_than_the_signature_has() -> None:
    signatures = np.zeros((2, 8), dtype=np.uint32)
    assert band(signatures, 2, 4).shape == (2, 2)  # every slot used: allowed
    with pytest.raises(ValueError, match=r"^bands \* rows = 9 exceeds the signature length 8$"):
        band(signatures, 3, 3)


def test_candidates_of_few_records_and_pairs_in_order() -> None:
    keys = np.array([[5, 1], [7, 1], [5, 2], [9, 9]], dtype=np.uint64)
    assert candidates(keys).tolist() == [[0, 1], [0, 2]]  # (i, j) with i < j, sorted, each once
    assert candidates(keys).dtype == np.int64
    assert candidates(np.empty((0, 3), dtype=np.uint64)).shape == (0, 2)
    wide = np.zeros((250, 1), dtype=np.uint64)  # one bucket of 250: each joins the 200 before it
    assert len(candidates(wide)) == sum(min(k, 200) for k in range(250))


def test_verify_by_estimate_reads_the_signatures() -> None:
    signatures = np.array([[1, 2, 3, 4], [1, 2, 3, 5], [1, 9, 9, 9]], dtype=np.uint32)
    pairs = np.array([[0, 1], [0, 2]], dtype=np.int64)
    # Estimates counted by hand: 3 of 4 slots equal, then 1 of 4.
    got = verify(pairs, signatures, None, LSHConfig(verify="estimate", containment=None, threshold=0.75))
    assert got.jaccard.tolist() == [0.75, 0.25] and got.keep.tolist() == [True, False]
    assert got.similar.tolist() == [True, False] and got.inside.tolist() == [MUTUAL, MUTUAL]
    assert np.isnan(got.containment).all() and np.isnan(got.share_a).all() and np.isnan(got.share_b).all()
    # Containment needs the sets even when Jaccard is estimated: record 0 holds all of record 2's one
    # shingle, record 1 shares one of its three with record 0.
    sets = _sets([1, 2, 3], [3, 4, 5], [1])
    both = verify(
        pairs, signatures, sets, LSHConfig(verify="estimate", containment=0.8, min_shingles=1, threshold=0.75)
    )
    assert both.jaccard.tolist() == [0.75, 0.25], "Jaccard still from the signatures"
    assert both.share_a.tolist() == [1 / 3, 1 / 3] and both.share_b.tolist() == [1 / 3, 1.0]
    assert both.containment.tolist() == [1 / 3, 1.0] and both.inside.tolist() == [MUTUAL, SECOND_INSIDE]
    assert both.keep.tolist() == [True, True]


def test_verify_exact_counts_shares_without_containment() -> None:
    got = _verdict(list(range(10)), list(range(5, 20)), containment=None, min_shingles=1)
    # 5 shared; 10 and 15 distinct; union 20.
    assert (got["jaccard"], got["share_a"], got["share_b"]) == (0.25, 0.5, 1 / 3)
    assert got["inside"] == MUTUAL and got["keep"] is False


def test_the_short_rule_and_containment_start_at_min_shingles() -> None:
    # Both records have exactly min_shingles (20) shingles: not short, so the threshold alone counts.
    a, b = list(range(20)), [*range(14), *range(100, 106)]  # 14 shared, union 26: Jaccard 0.538
    got = _verdict(a, b, threshold=0.5, short_threshold=0.8, min_shingles=20, containment=None)
    assert got["similar"] is True and got["keep"] is True
    assert (
        _verdict(a, b, threshold=0.5, short_threshold=0.8, min_shingles=21, containment=None)["keep"] is False
    )
    # A record of exactly min_shingles shingles, all inside another, counts as contained.
    inner = _verdict(list(range(20)), list(range(60)), containment=0.8, min_shingles=20)
    assert inner["inside"] == FIRST_INSIDE and inner["keep"] is True
    assert _verdict(list(range(20)), list(range(60)), containment=0.8, min_shingles=21)["keep"] is False


def test_records_without_shingles_verify_as_equal() -> None:
    got = _verdict([], [], containment=0.8, min_shingles=0)
    assert (got["jaccard"], got["share_a"], got["share_b"]) == (1.0, 1.0, 1.0)
    one_empty = _verdict([], [1, 2], containment=None, min_shingles=0)
    assert (one_empty["jaccard"], one_empty["share_a"], one_empty["share_b"]) == (0.0, 1.0, 0.0)


def test_verdicts_of_chunks_concatenate_in_order() -> None:
    first = _raw_verdict([1, 2, 3], [1, 2, 3])
    second = _raw_verdict([1, 2], [3, 4])
    joined = Verdict.concat([first, second])
    assert joined.jaccard.tolist() == [1.0, 0.0] and joined.keep.tolist() == [True, False]
    assert Verdict.concat([]).keep.shape == (0,) and Verdict.concat([]).inside.dtype == np.int8
    empty = Verdict.empty()
    assert all(len(getattr(empty, f)) == 0 for f in Verdict.__slots__)


def _raw_verdict(a: list[int], b: list[int]) -> Verdict:
    return verify(np.array([[0, 1]], dtype=np.int64), np.empty((2, 0), np.uint32), _sets(a, b), LSHConfig())


def test_candidates_of_exactly_one_pair_and_of_none_are_int64() -> None:
    one = candidates(np.array([[4], [4], [5]], dtype=np.uint64))
    assert one.tolist() == [[0, 1]] and one.dtype == np.int64
    none = candidates(np.array([[1], [2]], dtype=np.uint64))
    assert none.shape == (0, 2) and none.dtype == np.int64


def test_verify_at_the_edges_of_tiny_records() -> None:
    # One shingle each, none shared: nothing is inside anything (a divide guard must not say 1).
    apart = _verdict([1], [2], containment=0.8, min_shingles=0)
    assert (apart["jaccard"], apart["share_a"], apart["share_b"], apart["keep"]) == (0.0, 0.0, 0.0, False)
    v = verify(np.array([[0, 1]], dtype=np.int64), np.empty((2, 0), np.uint32), _sets([1], [2]), LSHConfig())
    assert v.containment.tolist() == [0.0] and v.inside.dtype == np.int8
    # One shingle against none: union 1, nothing shared.
    lone = _verdict([1], [], containment=None, min_shingles=0)
    assert (lone["jaccard"], lone["share_a"], lone["share_b"]) == (0.0, 0.0, 1.0)
    empty = verify(
        np.array([[0, 1]], dtype=np.int64), np.empty((2, 0), np.uint32), _sets([], [1]), LSHConfig()
    )
    assert empty.containment.tolist() == [1.0], "the smaller set is empty: wholly inside"


def test_the_short_threshold_is_reached_at_equality() -> None:
    # 9 shingles each, 8 shared, union 10: Jaccard exactly 0.8 (counted by hand), short records.
    got = _verdict(list(range(9)), [*range(8), 100], threshold=0.5, short_threshold=0.8, containment=None)
    assert got["jaccard"] == 0.8 and got["similar"] is True and got["keep"] is True


def test_the_second_record_inside_the_first_at_exactly_the_share() -> None:
    got = _verdict([*range(32), *range(200, 300)], list(range(40)), containment=0.8)  # 32 of 40 inside
    assert got["share_b"] == 0.8 and got["inside"] == SECOND_INSIDE and got["keep"] is True


def test_without_shingle_sets_containment_is_not_counted() -> None:
    signatures = np.array([[1, 2, 3, 4], [1, 2, 3, 5]], dtype=np.uint32)
    got = verify(np.array([[0, 1]], dtype=np.int64), signatures, None, LSHConfig(verify="estimate"))
    assert got.jaccard.tolist() == [0.75] and np.isnan(got.containment).all() and got.keep.tolist() == [True]


def test_estimate_pairs_covers_every_block() -> None:
    """Signatures this wide are estimated two pairs per block (4,000,000 // 2,000,000): five pairs
    span three blocks, and each must be filled. Expected: row 0 is all zeros, row `k` differs from it
    in its first `k` quarter-million entries, so `(0, k)` agrees on (8 - k) / 8."""
    width, part = 2_000_000, 250_000
    signatures = np.zeros((5, width), dtype=np.uint32)
    for k in range(1, 5):
        signatures[k, : k * part] = 7
    pairs = np.array([[0, 1], [0, 2], [0, 3], [0, 4], [1, 1]], dtype=np.int64)
    assert estimate_pairs(signatures, pairs).tolist() == [7 / 8, 6 / 8, 5 / 8, 4 / 8, 1.0]
