from __future__ import annotations

import math
import random

import numpy as np
import pyarrow as pa
import pytest
from datasketch import MinHash
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.minhash import EMPTY, MinHashConfig, jaccard, permutations, sign, sign_forms
from dedup.shingle import ShingleConfig, shingle_batch, shingle_hash, shingles
from tests.conftest import article, examples


def _datasketch(shingle_list: list[list[str]], cfg: MinHashConfig) -> MinHash:
    m = MinHash(num_perm=cfg.num_perm, seed=cfg.seed, hashfunc=lambda s: shingle_hash(s.split(" ")))
    for s in shingle_list:
        m.update(" ".join(s))
    return m


def _forms(docs: list[list[list[str]]]) -> pa.Array:
    return pa.array(["\n".join(" ".join(p) for p in d) for d in docs], pa.large_string())


def _docs(seed: int) -> list[list[list[str]]]:
    base = [p.lower().rstrip(".").split() for p in article(seed, paragraphs=6, words=30)]
    rng = random.Random(seed)
    docs = [base]
    for keep in (5, 4, 3, 2):  # copies sharing fewer and fewer paragraphs, plus edits
        copy = [list(p) for p in base[:keep]] + [p.lower().split() for p in article(seed + 100 + keep)]
        for p in copy:
            p[rng.randrange(len(p))] = "edited"
        docs.append(copy)
    return docs


@pytest.mark.parametrize("cfg", [MinHashConfig(), MinHashConfig(num_perm=256, seed=7)])
def test_signatures_equal_datasketch_bit_for_bit(cfg: MinHashConfig) -> None:
    docs = _docs(1)
    hashes, offsets = shingle_batch(_forms(docs), ShingleConfig(ngram=5))
    signatures = sign(hashes, offsets, cfg)
    assert np.array_equal(sign_forms(_forms(docs), 5, cfg), signatures)
    assert signatures.shape == (len(docs), cfg.num_perm) and signatures.dtype == np.uint32
    for i, doc in enumerate(docs):
        reference = _datasketch(shingles(doc, ShingleConfig(ngram=5)), cfg)
        assert np.array_equal(signatures[i], reference.hashvalues)


def test_permutations_match_datasketch_draws() -> None:
    a, b = permutations(128, 1)
    ref_a, ref_b = MinHash(num_perm=128, seed=1).permutations
    assert np.array_equal(a, ref_a) and np.array_equal(b, ref_b)
    assert np.all(a % 2 == 1)  # odd multipliers make each map a bijection


def test_estimates_track_exact_jaccard_within_the_expected_error() -> None:
    # Tolerance: 4 standard errors sqrt(J(1-J)/num_perm), pinned seeds; 20 pairs over 4 corpora.
    cfg = MinHashConfig(num_perm=256)
    checked = 0
    for seed in range(4):
        docs = _docs(seed)
        hashes, offsets = shingle_batch(_forms(docs), ShingleConfig(ngram=3))
        signatures = sign(hashes, offsets, cfg)
        sets = [set(hashes[offsets[i] : offsets[i + 1]].tolist()) for i in range(len(docs))]
        for j in range(1, len(docs)):
            true = len(sets[0] & sets[j]) / len(sets[0] | sets[j])
            estimate = float(jaccard(signatures[0], signatures[j]))
            ds = _datasketch(shingles(docs[0], ShingleConfig(ngram=3)), cfg).jaccard(
                _datasketch(shingles(docs[j], ShingleConfig(ngram=3)), cfg)
            )
            assert estimate == pytest.approx(ds, abs=1e-12)
            assert abs(estimate - true) <= 4 * math.sqrt(true * (1 - true) / cfg.num_perm) + 1e-9
            checked += 1
    assert checked == 16


def test_identical_sets_estimate_one_and_empty_sets_are_marked() -> None:
    hashes = np.array([5, 6, 7, 5, 6, 7], dtype=np.uint32)
    offsets = np.array([0, 3, 3, 6], dtype=np.int64)
    signatures = sign(hashes, offsets, MinHashConfig(num_perm=16))
    assert jaccard(signatures[0], signatures[2]) == 1.0
    assert np.all(signatures[1] == EMPTY)


def test_blocks_do_not_change_the_result() -> None:
    rng = np.random.default_rng(0)
    sizes = rng.integers(1, 40_000, size=8)
    offsets = np.r_[0, np.cumsum(sizes)].astype(np.int64)
    hashes = rng.integers(0, 2**32, size=int(offsets[-1]), dtype=np.uint32)
    cfg = MinHashConfig(num_perm=8)
    whole = sign(hashes, offsets, cfg)
    for i in range(len(sizes)):
        alone = sign(hashes[offsets[i] : offsets[i + 1]], np.array([0, sizes[i]], dtype=np.int64), cfg)
        assert np.array_equal(whole[i], alone[0])


@settings(max_examples=examples(100))
@given(
    st.lists(st.text(st.sampled_from("ab c\n"), max_size=40), max_size=8),
    st.integers(1, 5),
    st.sampled_from([2, 16, 128]),
    st.integers(1, 2),
)
def test_kernel_signatures_equal_the_numpy_reference(
    forms: list[str], ngram: int, num_perm: int, workers: int
) -> None:
    # Normalize the way hashing forms are: single spaces, newlines between non-empty paragraphs.
    clean = ["\n".join(" ".join(line.split()) for line in f.split("\n") if line.split()) for f in forms]
    array = pa.array(clean, pa.large_string())
    cfg = MinHashConfig(num_perm=num_perm, seed=3)
    reference = sign(*shingle_batch(array, ShingleConfig(ngram=ngram)), cfg)
    assert np.array_equal(sign_forms(array, ngram, cfg, workers=workers), reference)
