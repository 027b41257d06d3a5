"""Exact digests and groups, against oracles that share no code with `dedup.exact`.

The expected digests come from xxhash itself, one string at a time (`xxh3_128_digest` of the
UTF-8 bytes, read as two big-endian words); the expected groups from a plain Python dict.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import xxhash
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup import exact
from tests.conftest import examples


def _oracle(text: str) -> list[int]:
    raw = xxhash.xxh3_128_digest(text.encode("utf-8"))
    return [int.from_bytes(raw[:8], "big"), int.from_bytes(raw[8:], "big")]


def test_a_digest_is_xxh3_128_of_the_whole_text() -> None:
    forms = ["storm closes the port", "storm closes the por", "torm closes the port", "", "ü 東京"]
    got = exact.digest(pa.array(forms, pa.large_string()))
    assert got.dtype == np.uint64 and got.shape == (5, 2)
    assert got.tolist() == [_oracle(f) for f in forms]
    assert len({tuple(row) for row in got.tolist()}) == 5, "the last and the first byte both count"


def test_a_sliced_array_digests_its_own_texts() -> None:
    forms = pa.array(["a", "bb", "ccc", "dddd"], pa.string()).slice(1, 2)
    assert exact.digest(forms).tolist() == [_oracle("bb"), _oracle("ccc")]
    assert exact.digest(pa.array([], pa.string())).shape == (0, 2)


@settings(max_examples=examples(100))
@given(st.lists(st.text(max_size=20), max_size=12))
def test_groups_join_equal_digests_and_name_the_first_record(texts: list[str]) -> None:
    forms = pa.array(texts, pa.large_string())
    group, representative = exact.groups(exact.digest(forms))
    first: dict[str, int] = {}
    for i, t in enumerate(texts):
        first.setdefault(t, i)
    assert len(representative) == len(first)
    assert [int(representative[g]) for g in group] == [first[t] for t in texts]
    assert group.dtype == np.int64 and representative.dtype == np.int64


def test_groups_of_no_records() -> None:
    group, representative = exact.groups(np.empty((0, 2), dtype=np.uint64))
    assert group.shape == (0,) and representative.shape == (0,)
    assert group.dtype == np.int64 and representative.dtype == np.int64
