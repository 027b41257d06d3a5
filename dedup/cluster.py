"""Groups and the keep step: which records stay, and which record each dropped one duplicates.

Verified pairs propose groups (connected components, `kernels.components`), but a group never decides a drop
on its own: a digest that reprints two unrelated stories links them, and a run of revisions
chains records that share nothing end to end. A record is dropped only for a *kept* record it
verifies against directly. The scheme (`settle`):

1. When exactly one record of a verified pair is inside the other (containment), the contained
   record is the redundant copy, whatever the keep rule. Otherwise the two are duplicates both
   ways, and the keep rule decides.
2. Records are taken in keep-rank order, except that a record inside another is taken only after
   it (containment runs from smaller to strictly larger shingle sets, so this order always
   exists). A record is dropped for the best kept record among those it is inside and those
   taken before it that it duplicates both ways (highest Jaccard, then the highest share of it
   inside that record, then that record's rank); it is kept when there is none.

The keep rank is the keep rule (`first`: lowest source position, i.e. file, then line, then id;
`longest`: most cleaned characters; `newest:<field>`: latest date or time, or greatest number;
`priority:<field>`: greatest number), ties broken by `first`. It depends only on the records, so
the result depends on no input order, file order, worker count, shard size or memory budget.
`none` drops every record that has a duplicate (benchmark-contamination removal), naming its best
verified partner (`matched_by: contains` where the dropped record holds the one it names).
"""

from __future__ import annotations

import datetime
import decimal
import json
import math
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from dedup import kernels, lsh
from dedup.settings import ClusterConfig as ClusterConfig
from dedup.settings import Rule as Rule
from dedup.settings import parse_keep as parse_keep


def connect(n: int, edges: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Connected components of `n` nodes joined by `edges` (`int64`, shape `(m, 2)`).

    Returns:
        `int64` component label per node, shape `(n,)`, components numbered in the order of their
        lowest node (`kernels.components`).
    """
    return kernels.components(n, edges)


def split_components(pairs: npt.NDArray[np.int64], count: int) -> list[npt.NDArray[np.int64]]:
    """Pairs split into at most `count` parts that share no record, each about as many records.

    A connected component of the pairs goes whole to one part, so a record's reading (the figures
    rule's `facts`) is needed by one part only. Components are dealt out in order of their labels,
    each to the part its first record falls in when the records are cut into `count` equal runs.

    Args:
        pairs: `int64 (m, 2)`, pairs of record numbers (any integers).
        count: parts wanted, at least 1.

    Returns:
        `int64` indices into `pairs`, ascending within a part; no part is empty, and every pair is
        in exactly one part (one part holding every pair when `count` is 1 or `pairs` is empty).
    """
    if count <= 1 or not len(pairs):
        return [np.arange(len(pairs), dtype=np.int64)]
    units, local = np.unique(pairs, return_inverse=True)
    local = local.reshape(-1, 2).astype(np.int64)
    labels = connect(len(units), local)
    sizes = np.bincount(labels)  # records per component
    first = np.cumsum(sizes) - sizes  # where each component starts among all records
    part = (first * count // len(units))[labels[local[:, 0]]]
    return [np.flatnonzero(part == p).astype(np.int64) for p in range(count) if (part == p).any()]


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


def _scalar(value: object) -> object:
    """A value as the input wrote it.

    A field whose JSON type varies between records arrives as JSON text (`9`, `"10"`), which is read
    back here; anything else is left as it is.
    """
    if isinstance(value, str) and value[:1] in '"-0123456789':
        try:
            decoded = json.loads(value)
        except ValueError:
            return value
        return decoded if isinstance(decoded, (str, int, float)) and not isinstance(decoded, bool) else value
    return value


def _number(value: object) -> object:
    """A value as it is, but a NaN decimal, which is missing (it compares with nothing)."""
    return None if isinstance(value, decimal.Decimal) and value.is_nan() else value


class RankError(ValueError):
    """A keep-rule field value that cannot be ranked; `index` is the record holding it."""

    def __init__(self, message: str, index: int) -> None:
        super().__init__(message)
        self.index = index


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


def number_rank(values: Sequence[object], field_name: str) -> npt.NDArray[np.int64]:
    """Rank of each number, greatest first (rank 0); missing values (None, NaN) rank last.

    Numbers written as text (`"9"`, `"2.5"`: a field whose type varies between records arrives as
    text) count as numbers. Numbers compare exactly, as Python compares them: an integer past
    2**53 (an epoch in nanoseconds) and a decimal keep every digit, which a float would not.

    Raises:
        ValueError: a value is not a number (booleans and other text are not).
    """
    numbers: list[int | float | decimal.Decimal | None] = []
    for i, raw in enumerate(values):
        v = _scalar(raw)
        if isinstance(v, decimal.Decimal):  # a decimal column: a number (a NaN one is missing)
            numbers.append(None if v.is_nan() else v)
            continue
        if v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)):
            numbers.append(None if v is None or (isinstance(v, float) and math.isnan(v)) else v)
            continue
        number = _text_number(v) if isinstance(v, str) else None
        if number is None:
            raise RankError(
                f"field '{field_name}' must hold numbers for keep: priority; found {type(v).__name__} {v!r}",
                i,
            )
        numbers.append(number)
    return value_rank(numbers, field_name)


def _text_number(text: str) -> int | decimal.Decimal | None:
    """A number written as text, exactly (an integer, else a decimal); None for other text and NaN."""
    try:
        float(text)  # what Python reads as a number (`1e3`, ` 2.5 `, `inf`), and nothing else
    except ValueError:
        return None
    try:
        return int(text)
    except ValueError:
        number = decimal.Decimal(text.strip())
    return None if number.is_nan() else number


def time_rank(values: Sequence[object], field_name: str) -> npt.NDArray[np.int64]:
    """Rank of each value as a point in time, latest first (rank 0); missing values rank last.

    Numbers compare as numbers (a Unix time, a version); dates and times as Arrow or pandas hold
    them (`datetime.datetime`, `datetime.date`: a Parquet or table column) as they are; text is
    read as a date or time: ISO 8601 first, then the formats python-dateutil's parser knows
    (`26-FEB-1987 15:01:01.79`, `Tue, 3 Mar 2026 10:00:00 +0100`, `2024-1-9`; `03/04/2024` is
    month first). A time with a zone is compared in UTC; one without (and a date, at midnight,
    and one whose zone name the parser does not know, such as Reuters' `RM`) is taken as UTC.

    Raises:
        ValueError: a value that is neither a number nor a date or time, or numbers mixed with dates.
    """
    values = [_number(_scalar(v)) for v in values]
    kinds = {type(v).__name__ for v in values if v is not None}
    if kinds and kinds <= {"int", "float", "Decimal"}:  # numbers compare exactly, decimals too
        return value_rank(values, field_name)
    seen: dict[str, int] = {}
    points: list[int | None] = []
    for i, v in enumerate(values):
        if v is None:
            points.append(None)
            continue
        if isinstance(v, datetime.date):  # a datetime is a date too
            points.append(utc_nanoseconds(v))
            continue
        if not isinstance(v, str):
            raise RankError(
                f"field '{field_name}' holds values that do not compare ({', '.join(sorted(kinds))}); "
                "keep: newest reads numbers, or dates and times written as text",
                i,
            )
        if v not in seen:
            try:
                seen[v] = moment(v)
            except (ValueError, OverflowError):
                raise RankError(
                    f"field '{field_name}': {v!r} is not a date or time (keep: newest reads numbers, "
                    "ISO 8601 and common date formats)",
                    i,
                ) from None
        points.append(seen[v])
    return value_rank(points, field_name)


def moment(text: str) -> int:
    """A date or time written as text, as nanoseconds since the Unix epoch (read as `time_rank` says).

    Raises:
        ValueError, OverflowError: the text is no date or time the parsers read.
    """
    from dateutil import parser as dateparser  # noqa: PLC0415 - only this keep rule reads dates

    text, nanoseconds = _sub_microsecond(text)
    try:
        when = datetime.datetime.fromisoformat(text.strip())
    except ValueError:
        with warnings.catch_warnings():  # a zone name it cannot read: the time, in UTC
            warnings.simplefilter("ignore", dateparser.UnknownTimezoneWarning)
            when = dateparser.parse(text)
    return utc_nanoseconds(when) + nanoseconds


#: Seconds with a fraction of 7 to 9 digits (the parsers read 6: microseconds).
_FINE_FRACTION = re.compile(r"(?<=[0-9]{2}[.,][0-9]{6})([0-9]{1,3})(?![0-9])")


def _sub_microsecond(text: str) -> tuple[str, int]:
    """`text` without the digits of its seconds past the sixth, and those digits as nanoseconds."""
    found = _FINE_FRACTION.search(text)
    if found is None:
        return text, 0
    digits = found.group(1)
    return text[: found.start()] + text[found.end() :], int(digits.ljust(3, "0"))


_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_MICROSECOND = datetime.timedelta(microseconds=1)


def utc_nanoseconds(moment: datetime.date) -> int:
    """Nanoseconds since the Unix epoch; a time without a zone, and a date (at midnight), in UTC.

    Whole integers: a float of seconds holds about a quarter of a microsecond today, and would
    tie times (a pandas `Timestamp`, an Arrow `timestamp[ns]`) that differ in their nanoseconds.
    """
    if not isinstance(moment, datetime.datetime):
        moment = datetime.datetime(moment.year, moment.month, moment.day)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    micro = (moment - _EPOCH) // _MICROSECOND
    return int(micro) * 1000 + int(getattr(moment, "nanosecond", 0))


def rank(*priorities: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """One total keep rank (0 is kept first) from rank arrays, most significant first.

    The last array must already be a total order (the source position), so no two records tie.
    """
    order = np.lexsort(tuple(reversed(priorities)))
    out = np.empty(len(order), dtype=np.int64)
    out[order] = np.arange(len(order), dtype=np.int64)
    return out


@dataclass(frozen=True, slots=True)
class Settled:
    """What the keep step decided for records joined by verified pairs.

    Attributes:
        duplicate_of: `int64 (n,)`, the record each dropped record is a duplicate of; -1 when kept.
        pair: `int64 (n,)`, the verified pair (index into the edges) that names it; -1 when kept.
        contained: `bool (n,)`, the drop rests on containment (the record is inside the other and
            not the other way round).
    """

    duplicate_of: npt.NDArray[np.int64]
    pair: npt.NDArray[np.int64]
    contained: npt.NDArray[np.bool_]


def settle(
    rank: npt.NDArray[np.int64],
    edges: npt.NDArray[np.int64],
    verdict: lsh.Verdict,
    drop_all: bool = False,
) -> Settled:
    """Decide which of `n` records are kept, joined by verified pairs (the module's scheme).

    Args:
        rank: `int64 (n,)`, each record's keep rank, a total order (lowest is kept first).
        edges: `int64 (m, 2)`, the verified pairs.
        verdict: the pairs' verdicts (only `inside`, `jaccard`, `share_a` and `share_b` are read;
            every pair is taken as verified).
        drop_all: `keep: none`: every record in a pair is dropped, naming its best partner (one it
            is inside, when there is one).

    Returns:
        `Settled`, record by record.
    """
    n, m = len(rank), len(edges)
    duplicate_of = np.full(n, -1, dtype=np.int64)
    pair = np.full(n, -1, dtype=np.int64)
    inside = np.zeros(n, dtype=bool)
    if m == 0:
        return Settled(duplicate_of, pair, inside)
    swap = verdict.inside == lsh.SECOND_INSIDE  # put the inner record first
    a = np.where(swap, edges[:, 1], edges[:, 0])
    b = np.where(swap, edges[:, 0], edges[:, 1])
    share_ab = np.nan_to_num(np.where(swap, verdict.share_b, verdict.share_a), nan=0.0)
    share_ba = np.nan_to_num(np.where(swap, verdict.share_a, verdict.share_b), nan=0.0)
    directed = verdict.inside != lsh.MUTUAL
    jaccard = np.asarray(verdict.jaccard, dtype=np.float64)
    if drop_all:
        # Every record in a pair goes; it names the record it is inside when there is one.
        source, target = np.r_[a, b], np.r_[b, a]
        # Preferred: the record it is inside (4), a duplicate both ways (2), one inside it (0).
        preferred = np.r_[np.where(directed, 4.0, 2.0), np.where(directed, 0.0, 2.0)]
        strength = preferred + np.r_[jaccard, jaccard]
        via = _best_arc(n, source, target, strength, np.r_[share_ab, share_ba], rank)
        dropped = np.flatnonzero(via >= 0)
        duplicate_of[dropped] = target[via[dropped]]
        pair[dropped] = via[dropped] % m
        inside[dropped] = directed[via[dropped] % m] & (via[dropped] < m)
        return Settled(duplicate_of, pair, inside)
    in_pair = np.zeros(n, dtype=bool)  # records in no pair are kept: leave them out
    in_pair[a] = True
    in_pair[b] = True
    nodes = np.flatnonzero(in_pair)
    node_of = np.cumsum(in_pair, dtype=np.int64) - 1  # a record's index among `nodes`
    local = np.empty(len(nodes), dtype=np.int64)
    local[np.argsort(rank[nodes], kind="stable")] = np.arange(len(nodes), dtype=np.int64)
    via_local = kernels.settle(
        local,
        node_of[a],
        node_of[b],
        directed,
        jaccard,
        share_ab,
        share_ba,
    )
    dropped = nodes[via_local >= 0]
    k = via_local[via_local >= 0]
    duplicate_of[dropped] = np.where(a[k] == dropped, b[k], a[k])
    pair[dropped] = k
    inside[dropped] = directed[k]
    return Settled(duplicate_of, pair, inside)


def _best_arc(
    n: int,
    source: npt.NDArray[np.int64],
    target: npt.NDArray[np.int64],
    jaccard: npt.NDArray[np.float64],
    share: npt.NDArray[np.float64],
    rank: npt.NDArray[np.int64],
) -> npt.NDArray[np.int64]:
    """For each record, its best arc out (highest `jaccard`, `share`, then target rank); -1 for none."""
    order = np.lexsort((rank[target], -share, -jaccard, source))
    ordered = source[order]
    first = np.ones(len(order), dtype=bool)  # each source's first arc in that order is its best
    first[1:] = ordered[1:] != ordered[:-1]
    via = np.full(n, -1, dtype=np.int64)
    via[ordered[first]] = order[first]
    return via
