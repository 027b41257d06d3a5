"""The compiled kernels at their edges: thread counts, empty inputs, long records, sorting, growth."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup import _kernels, kernels
from dedup.minhash import MinHashConfig, permutations, sign
from dedup.normalize import NormalizeConfig, clean_batch, hashing_forms
from dedup.records import arrow_bytes
from dedup.shingle import CHAIN_MIX, CHAIN_MUL, FNV_OFFSET, FNV_PRIME, ShingleConfig, shingle_batch
from tests.conftest import examples

WORKERS = [2, 3, 64]  # 64: more than the machine has, capped to its cores


def _corpus() -> list[str]:
    """Records of very different lengths: one far longer than a thread's share of all the others."""
    rng = np.random.default_rng(11)
    words = ["a", "bb", "Ünïcode", "日本", "x1", "déjà", "word", "the", "\u00ad", "\u200b", "\u0301"]
    records = [
        "\n".join(
            " ".join(rng.choice(words, size=int(rng.integers(0, 12)))) for _ in range(rng.integers(0, 4))
        )
        for _ in range(300)
    ]
    long = " ".join(rng.choice(words, size=60_000))  # longer than the sign kernel's first scratch
    return [*records[:150], long, "", "  \t ", *records[150:]]


def _forms(records: list[str]) -> pa.LargeStringArray:
    return hashing_forms(pa.array(records, pa.large_string()))


def test_the_compiled_hash_constants_are_the_reference_ones() -> None:
    assert _kernels.HASH_CONSTANTS == (FNV_OFFSET, FNV_PRIME, CHAIN_MUL, CHAIN_MIX)


@pytest.mark.parametrize("workers", WORKERS)
def test_threads_do_not_change_tidy_or_fold(workers: int) -> None:
    texts = pa.array(_corpus(), pa.large_string())
    data, offsets = arrow_bytes(texts)
    one = kernels.tidy_bytes(data, offsets, workers=1)
    many = kernels.tidy_bytes(data, offsets, workers=workers)
    assert np.array_equal(one[0], many[0]) and np.array_equal(one[1], many[1])
    assert hashing_forms(texts, workers=workers).equals(hashing_forms(texts, workers=1))
    assert clean_batch(texts, NormalizeConfig(), workers=workers).equals(
        clean_batch(texts, NormalizeConfig())
    )


@pytest.mark.parametrize("workers", WORKERS)
@pytest.mark.parametrize("ngram", [1, 3, 5])
def test_threads_do_not_change_signatures_and_a_long_record_signs_as_the_reference(
    workers: int, ngram: int
) -> None:
    forms = _forms(_corpus())
    a, b = permutations(64, 5)
    data, offsets = arrow_bytes(forms)
    one = kernels.sign_bytes(data, offsets, ngram, a, b, workers=1)
    assert np.array_equal(kernels.sign_bytes(data, offsets, ngram, a, b, workers=workers), one)
    assert np.array_equal(
        one, sign(*shingle_batch(forms, ShingleConfig(ngram=ngram)), MinHashConfig(64, seed=5))
    )


@pytest.mark.parametrize("workers", [1, *WORKERS])
@pytest.mark.parametrize("ngram", [1, 3, 5])
def test_shingle_sets_in_one_pass_are_the_reference_shingles_and_sign_as_the_text(
    workers: int, ngram: int
) -> None:
    forms = _forms(_corpus())
    sets, set_offsets = kernels.shingle_set_bytes(*arrow_bytes(forms), ngram, workers)
    hashes, offsets = shingle_batch(forms, ShingleConfig(ngram=ngram))  # the NumPy reference path
    assert set_offsets[0] == 0 and set_offsets[-1] == len(sets) and len(set_offsets) == len(offsets)
    for i in range(len(offsets) - 1):
        expected = sorted(set(hashes[offsets[i] : offsets[i + 1]].tolist()))
        assert sets[set_offsets[i] : set_offsets[i + 1]].tolist() == expected
    a, b = permutations(64, 5)
    rows = np.random.default_rng(ngram).integers(0, len(offsets) - 1, size=500).astype(np.int64)
    reference = sign(hashes, offsets, MinHashConfig(64, seed=5))
    assert np.array_equal(kernels.sign_sets(sets, set_offsets, rows, a, b, workers), reference[rows])


@pytest.mark.parametrize("workers", [1, *WORKERS])
@pytest.mark.parametrize("ngram", [1, 2, 3])
def test_shingle_sets_fit_the_densest_records(workers: int, ngram: int) -> None:
    # One-letter words and one-word paragraphs: a shingle for almost every other byte, the most a
    # record's region holds; a region overrun would corrupt the record after it.
    dense = ["a b c d e f g", "a\nb\nc\nd", "a", "", "x y", "\n\n", "p q\nr s\nt", "a b " * 50, "z"]
    data = _forms(dense * 40)
    sets, set_offsets = kernels.shingle_set_bytes(*arrow_bytes(data), ngram, workers)
    hashes, offsets = shingle_batch(data, ShingleConfig(ngram=ngram))
    for i in range(len(offsets) - 1):
        expected = sorted(set(hashes[offsets[i] : offsets[i + 1]].tolist()))
        assert sets[set_offsets[i] : set_offsets[i + 1]].tolist() == expected


def test_sign_sets_of_nothing_and_of_rows_that_name_no_set() -> None:
    a, b = permutations(8, 1)
    sets, set_offsets = kernels.shingle_set_bytes(np.empty(0, np.uint8), np.zeros(4, np.int64), 3)
    assert len(sets) == 0 and set_offsets.tolist() == [0, 0, 0, 0]
    rows = np.array([2, 0], dtype=np.int64)
    assert np.array_equal(kernels.sign_sets(sets, set_offsets, rows, a, b), np.full((2, 8), 0xFFFFFFFF))
    assert kernels.sign_sets(sets, set_offsets, rows[:0], a, b).shape == (0, 8)
    for bad in (3, -1):
        with pytest.raises(IndexError):
            kernels.sign_sets(sets, set_offsets, np.array([0, bad], dtype=np.int64), a, b)
    with pytest.raises(ValueError, match="ngram"):
        kernels.shingle_set_bytes(np.empty(0, np.uint8), np.zeros(1, np.int64), 0)


@pytest.mark.parametrize("workers", WORKERS)
def test_threads_do_not_change_pair_overlaps(workers: int) -> None:
    hashes, offsets = kernels.shingle_bytes(*arrow_bytes(_forms(_corpus())), 2)
    sets, sizes = kernels.shingle_sets(hashes, offsets)
    n = len(offsets) - 1
    rng = np.random.default_rng(2)
    pairs = np.sort(rng.integers(0, n, size=(5_000, 2)), axis=1).astype(np.int64)
    one = kernels.pair_overlaps(sets, offsets, sizes, pairs, workers=1)
    assert np.array_equal(kernels.pair_overlaps(sets, offsets, sizes, pairs, workers=workers), one)
    for (i, j), common in zip(pairs[:200].tolist(), one[:200].tolist(), strict=True):
        left = set(hashes[offsets[i] : offsets[i + 1]].tolist())
        assert common == len(left & set(hashes[offsets[j] : offsets[j + 1]].tolist()))


@pytest.mark.parametrize("workers", [1, 2])
def test_no_records_and_empty_records(workers: int) -> None:
    none = np.zeros(1, dtype=np.int64)
    blank = np.zeros(4, dtype=np.int64)  # three empty records
    nothing = np.empty(0, dtype=np.uint8)
    a, b = permutations(8, 1)
    assert kernels.sign_bytes(nothing, none, 3, a, b, workers).shape == (0, 8)
    assert np.array_equal(kernels.sign_bytes(nothing, blank, 3, a, b, workers), np.full((3, 8), 0xFFFFFFFF))
    for offsets in (none, blank):
        out, out_offsets = kernels.tidy_bytes(nothing, offsets, workers)
        assert len(out) == 0 and np.array_equal(out_offsets, offsets)
        hashes, counts = kernels.shingle_bytes(nothing, offsets, 3)
        assert len(hashes) == 0 and np.array_equal(counts, offsets)
        sets, sizes = kernels.shingle_sets(hashes, counts)
        assert len(sets) == 0 and np.array_equal(sizes, np.zeros(len(offsets) - 1))
    assert hashing_forms(pa.array([], pa.large_string()), workers).to_pylist() == []
    assert hashing_forms(pa.array(["", " \n "], pa.large_string()), workers).to_pylist() == ["", ""]
    no_pairs = np.empty((0, 2), dtype=np.int64)
    assert (
        len(kernels.pair_overlaps(np.empty(0, np.uint32), blank, np.zeros(3, np.int64), no_pairs, workers))
        == 0
    )
    assert kernels.band_keys(np.empty((0, 8), dtype=np.uint32), 4, 2).shape == (0, 4)
    assert kernels.bucket_pairs(np.empty((0, 4), dtype=np.uint64), 10).shape == (0, 2)
    empty_i, empty_f = np.empty(0, np.int64), np.empty(0, np.float64)
    assert len(kernels.settle(empty_i, empty_i, empty_i, np.empty(0, bool), empty_f, empty_f, empty_f)) == 0
    kept = kernels.settle(np.arange(3), empty_i, empty_i, np.empty(0, bool), empty_f, empty_f, empty_f)
    assert np.array_equal(kept, [-1, -1, -1])


def _patterns(rng: np.random.Generator) -> list[npt.NDArray[np.uint32]]:
    big = rng.integers(0, 2**32, size=50_000, dtype=np.uint32)
    return [
        big,
        np.sort(big),
        np.sort(big)[::-1].copy(),
        np.full(20_000, 7, dtype=np.uint32),
        rng.integers(0, 3, size=20_000).astype(np.uint32),
        np.r_[np.arange(10_000), np.arange(10_000)[::-1]].astype(np.uint32),  # organ pipe
        np.array([2**32 - 1, 0, 2**32 - 1], dtype=np.uint32),
        *(rng.integers(0, 20, size=k).astype(np.uint32) for k in range(40)),
    ]


def test_shingle_sets_sort_and_drop_repeats_per_record() -> None:
    parts = _patterns(np.random.default_rng(4))
    offsets = np.r_[0, np.cumsum([len(p) for p in parts])].astype(np.int64)
    hashes = np.concatenate(parts)
    sets, sizes = kernels.shingle_sets(hashes, offsets)
    assert np.array_equal(hashes, np.concatenate(parts))  # the input is left alone
    for i, part in enumerate(parts):
        expected = np.unique(part)
        assert sizes[i] == len(expected)
        assert np.array_equal(sets[offsets[i] : offsets[i] + sizes[i]], expected)


@pytest.mark.parametrize(
    "records",
    [
        [[1, 2, 9], [2, 3], [], [0, 2**32 - 1]],  # sets already, equal values across a boundary
        [[1, 2, 9], [3, 3], [4]],  # one repeat
        [[1, 2, 9], [2, 3], [7, 5]],  # the last record falls
        [[5]] * 3 + [[8, 8, 8]],
    ],
)
def test_shingle_sets_take_sets_as_they_are_and_sort_the_rest(records: list[list[int]]) -> None:
    hashes = np.array([h for r in records for h in r], dtype=np.uint32)
    offsets = np.r_[0, np.cumsum([len(r) for r in records])].astype(np.int64)
    sets, sizes = kernels.shingle_sets(hashes, offsets)
    for i, record in enumerate(records):
        expected = sorted(set(record))
        assert int(sizes[i]) == len(expected)
        assert sets[offsets[i] : offsets[i] + sizes[i]].tolist() == expected


def _band_reference(signatures: npt.NDArray[np.uint32], bands: int, rows: int) -> list[list[int]]:
    mask = (1 << 64) - 1
    keys = []
    for row in signatures.tolist():
        record = []
        for j in range(bands):
            h = ((j + 1) * 0xBF58476D1CE4E5B9) & mask
            for r in range(rows):
                h = ((h ^ row[j * rows + r]) * 0x9E3779B97F4A7C15) & mask
                h ^= h >> 31
            record.append(h)
        keys.append(record)
    return keys


def _pairs_reference(keys: npt.NDArray[np.uint64], max_bucket: int) -> list[list[int]]:
    pairs = []
    for j in range(keys.shape[1]):
        buckets: dict[int, list[int]] = {}
        for i, key in enumerate(keys[:, j].tolist()):
            bucket = buckets.setdefault(key, [])
            pairs += [[other, i] for other in bucket[::-1][:max_bucket]]
            bucket.append(i)
    return pairs


@pytest.mark.parametrize("max_bucket", [1, 3, 1000])
def test_band_keys_and_bucket_pairs_match_plain_references(max_bucket: int) -> None:
    rng = np.random.default_rng(max_bucket)
    signatures = rng.integers(0, 3, size=(80, 12), dtype=np.uint32)  # few values: big buckets
    signatures[:, :2] = rng.integers(0, 2**32, size=(80, 2), dtype=np.uint32)
    keys = kernels.band_keys(signatures, 5, 2)
    assert keys.tolist() == _band_reference(signatures, 5, 2)
    pairs = kernels.bucket_pairs(keys, max_bucket)
    assert pairs.dtype == np.int64 and pairs.shape[1] == 2
    assert pairs.tolist() == _pairs_reference(keys, max_bucket)
    assert len(pairs) > 80 or max_bucket == 1  # past the first output buffer


def test_bad_arguments_are_refused() -> None:
    data, offsets = arrow_bytes(pa.array(["a b"], pa.large_string()))
    a, b = permutations(4, 1)
    with pytest.raises(ValueError, match="ngram must be at least 1; got 0"):
        kernels.sign_bytes(data, offsets, 0, a, b)
    with pytest.raises(ValueError, match="ngram must be at least 1; got 0"):
        kernels.shingle_bytes(data, offsets, 0)
    with pytest.raises(ValueError, match="a and b differ in length: 4 and 3"):
        kernels.sign_bytes(data, offsets, 3, a, b[:3])
    table, table_offsets = np.zeros(200, dtype=np.uint8), np.arange(201, dtype=np.int64)
    with pytest.raises(ValueError, match="table_offsets has 201 entries for limit 100; expected limit"):
        kernels.fold_bytes(data, offsets, table, table_offsets, 100, (0, 0))
    with pytest.raises(ValueError, match="table_offsets has 200 entries for limit 200; expected limit"):
        kernels.fold_bytes(data, offsets, table, table_offsets[:200], 200, (0, 0))
    with pytest.raises(ValueError, match=r"bands \* rows = 10 exceeds the signature length 8"):
        kernels.band_keys(np.zeros((2, 8), dtype=np.uint32), 5, 2)


@settings(max_examples=examples(300))
@given(st.lists(st.integers(-(2**62), 2**62), max_size=60))
def test_distinct_is_the_sorted_set(values: list[int]) -> None:
    from dedup import kernels

    array = np.array(values, dtype=np.int64)
    kept = array.copy()
    got = kernels.distinct(array)
    assert got.tolist() == sorted(set(values))
    assert got.dtype == np.int64
    assert (array == kept).all()  # the input is left as it is


@settings(max_examples=examples(300))
@given(
    st.lists(
        st.integers(-(2**63), 2**63 - 1) | st.integers(-3, 3) | st.integers(2**40, 2**40 + 5), max_size=80
    )
)
def test_distinct_by_radix_is_the_sorted_set(values: list[int]) -> None:
    from dedup import kernels

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kernels, "RADIX_FROM", 1)  # every array by radix
        assert kernels.distinct(np.array(values, dtype=np.int64)).tolist() == sorted(set(values))


@pytest.mark.parametrize("n", [4095, 4096, 50_000])
def test_distinct_of_long_arrays_is_the_sorted_set(n: int) -> None:
    from dedup import kernels

    rng = np.random.default_rng(n)
    for array in (
        rng.integers(-(2**63), 2**63 - 1, size=n, dtype=np.int64),
        rng.integers(0, 106_000**2, size=n),  # pair codes
        rng.integers(0, 7, size=n),
        np.full(n, -5, dtype=np.int64),
        np.arange(n, dtype=np.int64)[::-1],
    ):
        assert kernels.distinct(array).tolist() == sorted(set(array.tolist()))


@settings(max_examples=examples(300))
@given(st.lists(st.integers(-50, 50), max_size=40), st.lists(st.integers(-50, 50), max_size=40))
def test_among_is_set_membership(values: list[int], members: list[int]) -> None:
    from dedup import kernels

    table = np.array(sorted(set(members)), dtype=np.int64)
    got = kernels.among(np.array(values, dtype=np.int64), table)
    assert got.tolist() == [v in set(members) for v in values]


@settings(max_examples=examples(300))
@given(st.lists(st.lists(st.integers(0, 2**32 - 1), max_size=6), max_size=8), st.data())
def test_packed_sets_are_gathered_in_the_order_asked(sets: list[list[int]], data: st.DataObject) -> None:
    from dedup.featurize import gather_sets

    offsets = np.zeros(len(sets) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(s) for s in sets])
    flat = np.array([v for s in sets for v in s], dtype=np.uint32)
    rows = data.draw(st.lists(st.integers(0, len(sets) - 1), max_size=10)) if sets else []
    out, packed = gather_sets(flat, offsets, np.array(rows, dtype=np.int64))
    assert [out[packed[k] : packed[k + 1]].tolist() for k in range(len(rows))] == [sets[r] for r in rows]
    assert packed[0] == 0 and packed[-1] == len(out)


def test_a_range_that_does_not_fit_is_refused_and_nothing_is_copied() -> None:
    source, target = np.arange(5, dtype=np.uint32), np.zeros(4, dtype=np.uint32)
    one = np.array([1], dtype=np.int64)
    for starts, at, lengths in [
        ([0, 3], [0, 0], [2, 3]),
        ([0, 0], [0, 3], [2, 2]),
        ([0, -1], [0, 0], [1, 1]),
    ]:
        with pytest.raises(IndexError):
            kernels.copy_ranges(source, np.array(starts), target, np.array(at), np.array(lengths))
        assert target.tolist() == [0, 0, 0, 0]
    kernels.copy_ranges(source, one * 4, target, one * 3, one)  # the last value, to the last place
    assert target.tolist() == [0, 0, 0, 4]
    with pytest.raises(TypeError):
        kernels.copy_ranges(source, one, target.astype(np.int64), one, one)


def _components_by_search(n: int, edges: list[tuple[int, int]]) -> list[int]:
    """Component labels by breadth-first search from each unlabelled node in order (the oracle)."""
    near: list[list[int]] = [[] for _ in range(n)]
    for a, b in edges:
        near[a].append(b)
        near[b].append(a)
    labels = [-1] * n
    count = 0
    for start in range(n):
        if labels[start] >= 0:
            continue
        labels[start], queue = count, [start]
        while queue:
            node = queue.pop()
            for other in near[node]:
                if labels[other] < 0:
                    labels[other] = count
                    queue.append(other)
        count += 1
    return labels


@st.composite
def _graphs(draw: st.DrawFn) -> tuple[int, list[tuple[int, int]]]:
    n = draw(st.integers(0, 40))
    node = st.integers(0, max(n - 1, 0))
    return n, draw(st.lists(st.tuples(node, node), max_size=60 if n else 0))


@settings(max_examples=examples(300))
@given(_graphs())
def test_components_label_in_order_of_each_components_lowest_node(
    case: tuple[int, list[tuple[int, int]]],
) -> None:
    n, edges = case
    got = kernels.components(n, np.array(edges, dtype=np.int64).reshape(-1, 2))
    assert got.dtype == np.int64
    assert got.tolist() == _components_by_search(n, edges)


def test_components_of_a_long_chain_given_backwards_and_edges_outside_refused() -> None:
    n = 200_000  # a path given from its far end: one component, labels all 0, no deep recursion
    edges = np.stack([np.arange(n - 1, 0, -1), np.arange(n - 2, -1, -1)], axis=1).astype(np.int64)
    assert not kernels.components(n, edges).any()
    scipy_sparse = pytest.importorskip("scipy.sparse")
    csgraph = pytest.importorskip("scipy.sparse.csgraph")
    rng = np.random.default_rng(5)
    random_edges = rng.integers(0, 5_000, size=(3_000, 2)).astype(np.int64)
    graph = scipy_sparse.coo_matrix(
        (np.ones(3_000), (random_edges[:, 0], random_edges[:, 1])), shape=(5_000, 5_000)
    )
    assert (
        kernels.components(5_000, random_edges).tolist()
        == csgraph.connected_components(graph, directed=False)[1].tolist()
    )
    for bad in ([[0, 3]], [[-1, 0]]):
        with pytest.raises(IndexError):
            kernels.components(3, np.array(bad, dtype=np.int64))


def test_offsets_outside_the_data_a_huge_ngram_and_malformed_edges_are_refused() -> None:
    data = np.frombuffer(b"a b c d", dtype=np.uint8)
    a, b = permutations(4, 1)
    for offsets in ([], [0, 100], [-5, 3], [0, 5, 2]):
        bad = np.array(offsets, dtype=np.int64)
        with pytest.raises(ValueError, match="offsets"):
            kernels.shingle_set_bytes(data, bad, 2)
        with pytest.raises(ValueError, match="offsets"):
            kernels.shingle_bytes(data, bad, 2)
        with pytest.raises(ValueError, match="offsets"):
            kernels.sign_bytes(data, bad, 2, a, b)
        with pytest.raises(ValueError, match="set_offsets"):
            kernels.sign_sets(np.arange(4, dtype=np.uint32), bad, np.zeros(0, np.int64), a, b)
    with pytest.raises(ValueError, match="ngram"):
        kernels.shingle_set_bytes(data, np.array([0, 7]), 2**61)
    for edges in (np.zeros((2, 3), dtype=np.int64), np.array([[0.5, 1.7]]), np.arange(4)):
        with pytest.raises(ValueError, match="edges"):
            kernels.components(3, edges)
    sets, set_offsets = kernels.shingle_set_bytes(data, np.array([2, 7]), 2)  # a slice: offsets from 2
    assert len(set_offsets) == 2 and set_offsets[-1] == len(sets) == 2
