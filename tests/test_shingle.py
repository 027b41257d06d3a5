from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.shingle import ShingleConfig, shingle_batch, shingle_hash, shingles

words = st.lists(st.sampled_from(["a", "b", "c", "dé", "日", "x1"]), max_size=12)


def test_shingles_stay_inside_paragraphs() -> None:
    doc = [["a", "b", "c", "d"], ["e", "f", "g"]]
    assert shingles(doc, ShingleConfig(ngram=3)) == [["a", "b", "c"], ["b", "c", "d"], ["e", "f", "g"]]


def test_short_paragraph_gives_one_shingle_and_empty_gives_none() -> None:
    assert shingles([["a", "b"], [], ["c"]], ShingleConfig(ngram=5)) == [["a", "b"], ["c"]]


def test_order_matters_inside_a_shingle() -> None:
    assert shingle_hash(["a", "b"]) != shingle_hash(["b", "a"])
    assert shingle_hash(["a", "b"]) != shingle_hash(["ab"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(words, max_size=4), max_size=6), st.integers(1, 6))
def test_batch_hashes_equal_the_reference(docs: list[list[list[str]]], ngram: int) -> None:
    cfg = ShingleConfig(ngram=ngram)
    hashes, offsets = shingle_batch(docs, cfg)
    assert hashes.dtype == np.uint32 and offsets.dtype == np.int64
    assert len(offsets) == len(docs) + 1 and offsets[0] == 0 and offsets[-1] == len(hashes)
    for i, doc in enumerate(docs):
        expected = [shingle_hash(s) for s in shingles(doc, cfg)]
        assert hashes[offsets[i] : offsets[i + 1]].tolist() == expected
