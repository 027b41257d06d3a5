"""Types of the compiled kernels (`_kernels.pyx`); `dedup.kernels` is their public face.

Every array is C-contiguous with the dtype given; `workers` is at least 1.
"""

from typing import Any

import numpy as np
import numpy.typing as npt

HASH_CONSTANTS: tuple[int, int, int, int]

def shingle_records(
    data: npt.NDArray[np.uint8], offsets: npt.NDArray[np.int64], ngram: int
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]]: ...
def shingle_set_records(
    data: npt.NDArray[np.uint8], offsets: npt.NDArray[np.int64], ngram: int, workers: int
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]]: ...
def sign_sets(
    sets: npt.NDArray[np.uint32],
    set_offsets: npt.NDArray[np.int64],
    rows: npt.NDArray[np.int64],
    a: npt.NDArray[np.uint32],
    b: npt.NDArray[np.uint32],
    out: npt.NDArray[np.uint32],
    workers: int,
) -> None: ...
def fold_parts(
    data: npt.NDArray[np.uint8],
    offsets: npt.NDArray[np.int64],
    cuts: npt.NDArray[np.int64],
    bases: npt.NDArray[np.int64],
    table: npt.NDArray[np.uint8],
    table_offsets: npt.NDArray[np.int64],
    limit: int,
    dropped_lo: int,
    dropped_hi: int,
    out: npt.NDArray[np.uint8],
    part_offsets: npt.NDArray[np.int64],
    used: npt.NDArray[np.int64],
    workers: int,
) -> None: ...
def tidy_parts(
    data: npt.NDArray[np.uint8],
    offsets: npt.NDArray[np.int64],
    cuts: npt.NDArray[np.int64],
    bases: npt.NDArray[np.int64],
    out: npt.NDArray[np.uint8],
    part_offsets: npt.NDArray[np.int64],
    used: npt.NDArray[np.int64],
    workers: int,
) -> None: ...
def band_keys(signatures: npt.NDArray[np.uint32], bands: int, rows: int) -> npt.NDArray[np.uint64]: ...
def bucket_pairs(keys: npt.NDArray[np.uint64], max_bucket: int) -> npt.NDArray[np.int64]: ...
def sort_i64(values: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]: ...
def are_sets(hashes: npt.NDArray[np.uint32], offsets: npt.NDArray[np.int64]) -> bool: ...
def sorted_sets(hashes: npt.NDArray[np.uint32], offsets: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]: ...
def intersections(
    hashes: npt.NDArray[np.uint32],
    offsets: npt.NDArray[np.int64],
    sizes: npt.NDArray[np.int64],
    pairs: npt.NDArray[np.int64],
    out: npt.NDArray[np.int64],
    workers: int,
) -> None: ...
def settle(
    rank: npt.NDArray[np.int64],
    a: npt.NDArray[np.int64],
    b: npt.NDArray[np.int64],
    directed: npt.NDArray[np.uint8],
    jaccard: npt.NDArray[np.float64],
    share_ab: npt.NDArray[np.float64],
    share_ba: npt.NDArray[np.float64],
) -> npt.NDArray[np.int64]: ...
def figure_tokens(text: str, words: frozenset[str], every_word: bool) -> list[str]: ...
def figure_context(text: str, words: frozenset[str]) -> tuple[list[str], int]: ...
def figure_sequences(
    data: npt.NDArray[np.uint8], offsets: npt.NDArray[np.int64], words: frozenset[str]
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64], npt.NDArray[np.bool_]]: ...
def outside_table(
    data: npt.NDArray[np.uint8], offsets: npt.NDArray[np.int64], table: npt.NDArray[np.uint8]
) -> npt.NDArray[np.bool_]: ...
def copy_ranges(
    source: npt.NDArray[np.uint32],
    source_starts: npt.NDArray[np.int64],
    target: npt.NDArray[np.uint32],
    target_starts: npt.NDArray[np.int64],
    lengths: npt.NDArray[np.int64],
) -> None: ...

class FactsPacker:
    def __init__(
        self, vocabulary: dict[str, tuple[int, float]], date: str, volatile_words: int, scale_digits: int
    ) -> None: ...
    def add_text(self, lowered: str) -> bool: ...
    def add_facts(self, body: dict[Any, Any]) -> None: ...
    def finish(
        self,
    ) -> tuple[
        npt.NDArray[np.int64],
        npt.NDArray[np.uint64],
        npt.NDArray[np.float64],
        npt.NDArray[np.int64],
        npt.NDArray[np.int64],
        npt.NDArray[np.float64],
        npt.NDArray[np.int64],
        npt.NDArray[np.int64],
        npt.NDArray[np.int64],
        npt.NDArray[np.uint32],
    ]: ...

def figure_clashes(
    records: npt.NDArray[np.int64],
    entries: npt.NDArray[np.uint64],
    spans: npt.NDArray[np.float64],
    values_at: npt.NDArray[np.int64],
    written_at: npt.NDArray[np.int64],
    numbers: npt.NDArray[np.float64],
    strings_of: npt.NDArray[np.int64],
    written: npt.NDArray[np.int64],
    string_at: npt.NDArray[np.int64],
    chars: npt.NDArray[np.uint32],
    correction: npt.NDArray[np.uint8],
    pairs: npt.NDArray[np.int64],
    workers: int,
) -> npt.NDArray[np.bool_]: ...
def figure_body(found: list[Any]) -> dict[Any, tuple[Any, ...]]: ...
def figure_statements(
    tokens: list[str],
    number_words: dict[str, float],
    months: dict[str, str],
    hedges: frozenset[str],
    range_words: frozenset[str],
    list_words: frozenset[str],
    value: Any,
    written_of: Any,
    statement: Any,
    date: str,
    made: dict[Any, Any],
    room: int,
    longest: int,
) -> list[Any]: ...
def components(n: int, edges: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]: ...
