"""Clusters and the keep rule: connected components over duplicate edges, one record kept each.

Components come from scipy's `connected_components` over a sparse graph of the verified edges.
The kept record of a cluster is chosen by a rule that depends only on the records, never on the
order they were read in: `first` (lowest source position: file, then line, then id), `longest`
(most cleaned characters), or `newest:<field>` (greatest value of a pass-through field; records
without it count as oldest). Ties always fall back to `first`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

Rule = Literal["first", "longest", "newest"]


def parse_keep(keep: str) -> tuple[Rule, str | None]:
    """Split a keep rule into `(rule, field)`.

    Raises:
        ValueError: the rule is not `first`, `longest` or `newest:<field>`.
    """
    name, _, rest = keep.partition(":")
    name, rest = name.strip(), rest.strip()
    if name in ("first", "longest") and not rest:
        return ("first" if name == "first" else "longest"), None
    if name == "newest" and rest:
        return "newest", rest
    raise ValueError("must be 'first', 'longest' or 'newest:<field>'")


def _check_keep(value: object) -> str | None:
    if not isinstance(value, str):
        return "must be 'first', 'longest' or 'newest:<field>'"
    try:
        parse_keep(value)
    except ValueError as err:
        return str(err)
    return None


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    """How clusters keep one record.

    Attributes:
        keep: `first`, `longest` or `newest:<field>`.
    """

    keep: str = field(default="first", metadata={"check": _check_keep})


def connect(n: int, edges: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Connected components of `n` nodes joined by `edges` (`int64`, shape `(m, 2)`).

    Returns:
        `int64` component label per node, shape `(n,)`.
    """
    if n == 0:
        return np.empty(0, dtype=np.int64)
    graph = coo_matrix((np.ones(len(edges), dtype=np.int8), (edges[:, 0], edges[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return np.asarray(labels, dtype=np.int64)


def position_rank(files: Sequence[str], lines: Sequence[int], ids: Sequence[str]) -> npt.NDArray[np.int64]:
    """Each record's rank by source position (file, line, id); 0 is the first."""
    table = pa.table(
        {"f": pa.array(files, pa.string()), "l": pa.array(lines, pa.int64()), "i": pa.array(ids, pa.string())}
    )
    order = np.asarray(
        pc.sort_indices(table, sort_keys=[("f", "ascending"), ("l", "ascending"), ("i", "ascending")])
    )
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order), dtype=np.int64)
    return rank


def value_rank(values: Sequence[object], field_name: str) -> npt.NDArray[np.int64]:
    """Rank of each value, greatest first (rank 0); missing values (None) rank last.

    Raises:
        ValueError: the values are of kinds that do not compare (numbers mixed with strings).
    """
    try:
        present = sorted({v for v in values if v is not None}, reverse=True)  # type: ignore[type-var]
    except TypeError:
        kinds = ", ".join(sorted({type(v).__name__ for v in values if v is not None}))
        raise ValueError(f"field '{field_name}' holds values that do not compare ({kinds})") from None
    index = {v: i for i, v in enumerate(present)}
    return np.array([index[v] if v is not None else len(present) for v in values], dtype=np.int64)


def choose(labels: npt.NDArray[np.int64], *priorities: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The kept record of each record's cluster.

    Args:
        labels: component label per record.
        priorities: rank arrays, most significant first; the lowest rank wins.

    Returns:
        `int64`, shape `(n,)`: for each record, the index of the record its cluster keeps.
    """
    if len(labels) == 0:
        return np.empty(0, dtype=np.int64)
    order = np.lexsort((*reversed(priorities), labels))
    sorted_labels = labels[order]
    first = np.r_[True, sorted_labels[1:] != sorted_labels[:-1]]
    winner_of_label = np.empty(int(labels.max()) + 1, dtype=np.int64)
    winner_of_label[sorted_labels[first]] = order[first]
    return winner_of_label[labels]
