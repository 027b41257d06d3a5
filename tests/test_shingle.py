from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.kernels import shingle_bytes
from dedup.records import arrow_bytes
from dedup.shingle import ShingleConfig, shingle_batch, shingle_hash, shingles, token_hash
from tests.conftest import examples

words = st.lists(st.sampled_from(["a", "b", "c", "dé", "日", "x1", "longerword"]), max_size=12)
records = st.lists(st.lists(words, max_size=4), max_size=6)


def _form(doc: list[list[str]]) -> str:
    return "\n".join(" ".join(p) for p in doc if p)


def test_shingles_stay_inside_paragraphs() -> None:
    doc = [["a", "b", "c", "d"], ["e", "f", "g"]]
    assert shingles(doc, ShingleConfig(ngram=3)) == [["a", "b", "c"], ["b", "c", "d"], ["e", "f", "g"]]


def test_short_paragraph_gives_one_shingle_and_empty_gives_none() -> None:
    assert shingles([["a", "b"], [], ["c"]], ShingleConfig(ngram=5)) == [["a", "b"], ["c"]]


def test_order_matters_inside_a_shingle() -> None:
    assert shingle_hash(["a", "b"]) != shingle_hash(["b", "a"])
    assert shingle_hash(["a", "b"]) != shingle_hash(["ab"])
    assert token_hash("a") != token_hash("b") and token_hash("") != token_hash("a")


@settings(max_examples=examples(200))
@given(records, st.integers(1, 6), st.integers(0, 2))
def test_numpy_and_kernel_hashes_equal_the_definition(
    docs: list[list[list[str]]], ngram: int, skip: int
) -> None:
    cfg = ShingleConfig(ngram=ngram)
    forms = pa.array(["pad"] * skip + [_form(d) for d in docs], pa.large_string()).slice(
        skip
    )  # offset arrays too
    hashes, offsets = shingle_batch(forms, cfg)
    assert hashes.dtype == np.uint32 and offsets.dtype == np.int64
    assert len(offsets) == len(docs) + 1 and offsets[0] == 0 and offsets[-1] == len(hashes)
    for i, doc in enumerate(docs):
        expected = [shingle_hash(s) for s in shingles(doc, cfg)]
        assert hashes[offsets[i] : offsets[i + 1]].tolist() == expected
    kernel_hashes, kernel_offsets = shingle_bytes(*arrow_bytes(forms), ngram)
    assert np.array_equal(kernel_hashes, hashes) and np.array_equal(kernel_offsets, offsets)
