from __future__ import annotations

import itertools

import numpy as np
import pytest

from dedup.lsh import (
    LSHConfig,
    band,
    candidate_probability,
    candidates,
    estimate_pairs,
    exact_overlaps,
    optimal_params,
    resolve_params,
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
