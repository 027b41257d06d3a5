"""Deciding which records are duplicates of which, wherever the records are held.

The global steps of a run (exact groups, band-key candidates, verification, clusters, the keep
rule, each dropped record's similarity to its kept one) read the records through a `Source`: the
in-memory one the notebook API builds, or the spilled shards of the local engine. `resolve` asks a
source only for what it needs, one band of keys at a time and only the candidate records' texts,
so the engine's memory stays bounded by the number of records, not by their size.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from concurrent.futures import BrokenExecutor, Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from dedup import cluster, figures, kernels, lsh
from dedup.config import Config, size_bytes
from dedup.errors import InputError, VerificationError
from dedup.records import passthrough_name
from dedup.settings import parse_keep

#: Band-key pairs held before repeats across bands are dropped (8 bytes each).
PAIRS_HELD = 1 << 22
#: Candidate pairs verified at once; bounds the texts and shingle sets held during verification.
VERIFY_CHUNK = 1 << 18
#: A group of verified pairs that keeps at most this many records side by side has them verified
#: against each other (pairs LSH did not propose); rounds of that, at most `GROUP_ROUNDS`.
GROUP_CHECK = 64
GROUP_ROUNDS = 8
#: The figures rule hands pairs to other processes (a `Farm`) only when it reads at least this many
#: pairs at once: handing over a few costs more than reading them (on the 5-copies news corpus the
#: first round reads 12,450 pairs of 20,519 records, 1.5 s in one process; later rounds read < 300).
FARM_PAIRS = 2_000
#: The keep step shares its groups with another process (a `Farm`) from this many verified pairs
#: on (as verification first finds them, before the figures rule splits any). Whole runs at 2
#: workers, sharing against not (medians of 11 pairs of runs, 2 cores), by report.json's
#: `verified_pairs`: at 573 (Reuters+BBC) 0.999x, nothing to gain; at 17,916 (Reuters+BBC and one
#: edited copy of each record) 1.04x; at 157,923 (five copies; 160,569 as first verified) 1.084x.
SHARE_PAIRS = 5_000
#: The share of the verified pairs (whole groups) decided in another process when the keep step
#: is shared. Less than half: that process maps the shards cold (on the 5-copies news corpus, at
#: half the pairs it took 0.33-0.47 s against this process's 0.29-0.30 s). Tuned on 2 cores,
#: whole runs side by side (9-11 pairs of runs each, the median ratio to the run without
#: sharing): 0.38 gave 1.076x, 0.42 1.084x, 0.45 1.054x, 0.5 1.036x.
SHARED = 0.42
#: What sharing costs the run's own process on top of the keep step it replaces, in bytes: per record
#: of the run (the rows travel with the part) and per candidate pair (the part, kept for a fallback,
#: its copy handed over, the verdicts split between the two). Fitted on 5,000,000 short records
#: (2,649,099 candidate pairs): the process peaked 0.27-0.36 GB higher sharing than not, 1.68 GB
#: against 2.04 GB in a 2GB `memory_budget`, for no gain in time (43.2 s against 43.4 s).
SHARE_BYTES_PER_RECORD, SHARE_BYTES_PER_PAIR = 8, 100
#: Sharing goes ahead only while that cost stays within this share of `memory_budget`.
SHARE_BUDGET = 1 / 16


class Farm(Protocol):
    """Other processes that can read the figures rule's pairs (`dedup.engines.shards.Featurizers`)."""

    @property
    def count(self) -> int:
        """How many processes share the work, this one included."""
        ...

    def conflicts(
        self, texts: list[str], pairs: npt.NDArray[np.int64]
    ) -> Future[npt.NDArray[np.bool_]] | None:
        """`figures.conflicts(texts, pairs)` in another process, as `bool (len(pairs),)`.

        None when no process can take it (none started, or stopped); the future may also fail
        (a process died): the caller then reads the pairs itself.
        """
        ...

    def decide(self, part: Part) -> Future[Duplicates] | None:
        """`part.decide()` in another process (a share of the keep step's groups).

        None when no process can take it; the future may also fail (a process died): the caller
        then decides the part itself.
        """
        ...


class Keyed(Protocol):
    """Band keys by row: all `candidate_pairs` reads (a `Source`, or the paragraph index's paragraphs)."""

    def band_keys(self, rows: npt.NDArray[np.int64], band: int) -> npt.NDArray[np.uint64]:
        """`uint64 (len(rows),)`: the rows' keys in one band."""
        ...


class Source(Protocol):
    """Read access to `n` cleaned records by row (`int64` row arrays, any order, repeats allowed)."""

    def __len__(self) -> int: ...

    def band_keys(self, rows: npt.NDArray[np.int64], band: int) -> npt.NDArray[np.uint64]:
        """`uint64 (len(rows),)`: the rows' keys in one band."""
        ...

    def signatures(self, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.uint32]:
        """`uint32 (len(rows), num_perm)`: the rows' MinHash signatures."""
        ...

    def sets(self, rows: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]]:
        """The rows' distinct shingle hashes, sorted: `(uint32 hashes, int64 offsets (len(rows) + 1,))`."""
        ...

    def texts(self, rows: npt.NDArray[np.int64]) -> list[str]:
        """The rows' cleaned paragraphs joined by newlines (what the figures rule reads)."""
        ...

    def figure_digests(self, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.uint64] | None:
        """`uint64 (len(rows), 2)`: the rows' `figures.digests`; None when the source keeps none.

        Without them the figures rule makes the digests from `texts`.
        """
        ...

    def lengths(self) -> npt.NDArray[np.int64]:
        """`int64 (n,)`: each record's cleaned length in characters (for `keep: longest`)."""
        ...

    def values(self, field_name: str) -> list[object]:
        """Each record's value of a pass-through field (None where missing), for the keep rules."""
        ...

    def record_ids(self, rows: npt.NDArray[np.int64]) -> list[str]:
        """The rows' ids (for messages)."""
        ...


#: `Duplicates.matched_by` codes, and the names `duplicates.parquet` writes for them.
KEPT, EXACT, JACCARD, CONTAINMENT, CONTAINS = 0, 1, 2, 3, 4
MATCHED_BY = ("", "exact", "jaccard", "containment", "contains")


@dataclass(slots=True)
class Duplicates:
    """What the dedup stages found.

    Attributes:
        duplicate_of: `int64 (n,)`, the record each dropped record duplicates (it verifies against
            it directly, and it is kept unless `keep: none`); -1 for a kept record.
        matched_by: `int8 (n,)`, the evidence for the drop: `EXACT`, `JACCARD` or `CONTAINMENT`
            (the record is inside the one it names), or, under `keep: none` only, `CONTAINS` (the
            record holds the one it names); `KEPT` for a kept record.
        exact_group: `int64 (n,)`, exact-repeat group of each record.
        similarity: `float64 (n,)`, each dropped record's Jaccard similarity to the record it
            names (1.0 for kept records and exact repeats).
        containment: `float64 (n,)`, the share of each dropped record's distinct shingles found in
            the record it names; for `CONTAINS`, the share of the named record's found in the
            dropped one (NaN when not counted: `verify: estimate` without containment).
        cluster: `int64 (n,)`, the record whose id is each record's cluster id: a kept record and
            the records dropped as its duplicates form a cluster (under `keep: none`, the
            best-ranked record of the group).
        cluster_size: `int64 (n,)`, the size of each record's cluster.
        candidate_pairs: pairs that shared a band key.
        verified_pairs: candidates that verified (an edge).
        groups: groups of two or more records that the verified pairs and exact repeats propose
            (connected components); a group may keep several records.
        bands: bands used.
        rows: rows per band used.
        edges: `int64 (m, 2)`, the verified near-duplicate edges between exact groups (group
            numbers, as in `exact_group`).
    """

    duplicate_of: npt.NDArray[np.int64]
    matched_by: npt.NDArray[np.int8]
    exact_group: npt.NDArray[np.int64]
    similarity: npt.NDArray[np.float64]
    containment: npt.NDArray[np.float64]
    cluster: npt.NDArray[np.int64]
    cluster_size: npt.NDArray[np.int64]
    candidate_pairs: int
    verified_pairs: int
    groups: int
    bands: int
    rows: int
    edges: npt.NDArray[np.int64]

    @property
    def kept(self) -> npt.NDArray[np.bool_]:
        """`bool (n,)`: which records are kept."""
        return self.duplicate_of < 0


@dataclass(slots=True)
class Clock:
    """Adds each stage's seconds into `timings` (stages may run many times, once per shard)."""

    timings: dict[str, float] = field(default_factory=dict)
    on_stage: Any = None

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the block under `name` (and tell the progress display)."""
        if self.on_stage is not None:
            self.on_stage(name)
        with self.more(name):
            yield

    @contextmanager
    def more(self, name: str) -> Iterator[None]:
        """Add the block's seconds to `name`, a stage already told, without telling it again."""
        start = time.perf_counter()
        try:
            yield
        finally:
            spent = time.perf_counter() - start
            self.timings[name] = round(self.timings.get(name, 0.0) + spent, 6)


def candidate_pairs(
    source: Keyed, rep: npt.NDArray[np.int64], bands: int, max_bucket: int
) -> npt.NDArray[np.int64]:
    """Pairs of representatives (indices into `rep`) sharing a key in some band, one band at a time.

    Returns:
        `int64 (m, 2)`, each row `(i, j)` with `i < j`, unique, sorted.
    """
    k = max(len(rep), 1)
    held: list[npt.NDArray[np.int64]] = []
    size = 0
    for b in range(bands):
        keys = np.ascontiguousarray(source.band_keys(rep, b).reshape(-1, 1))
        found = kernels.bucket_pairs(keys, max_bucket)
        held.append(found[:, 0] * k + found[:, 1])
        size += len(found)
        if size > PAIRS_HELD:  # repeats across bands out, so memory follows the distinct pairs
            held = [kernels.distinct(np.concatenate(held))]
            size = len(held[0])
    codes = kernels.distinct(np.concatenate(held)) if held else np.empty(0, dtype=np.int64)
    return np.stack([codes // k, codes % k], axis=1).astype(np.int64)


class _Verifier:
    """Verifies pairs of representatives in chunks, fetching only the chunk's records."""

    def __init__(
        self,
        source: Source,
        rep: npt.NDArray[np.int64],
        config: Config,
        workers: int,
        farm: Farm | None = None,
    ) -> None:
        self.source, self.rep, self.config, self.workers, self.farm = source, rep, config, workers, farm
        self.sequences: dict[int, tuple[int, int]] = {}  # digests made from texts, when the source has none

    def __call__(self, pairs: npt.NDArray[np.int64]) -> lsh.Verdict:
        """The shingle evidence of each pair (Jaccard, containment, the short-record rule)."""
        parts = [self._chunk(pairs[s : s + VERIFY_CHUNK]) for s in range(0, len(pairs), VERIFY_CHUNK)]
        return lsh.Verdict.concat(parts)

    def _chunk(self, pairs: npt.NDArray[np.int64]) -> lsh.Verdict:
        cfg = self.config.lsh
        involved = kernels.distinct(pairs.ravel())
        local = np.searchsorted(involved, pairs)
        rows = self.rep[involved]
        needs_sets = cfg.verify == "exact" or cfg.containment is not None
        signatures = (
            self.source.signatures(rows)
            if cfg.verify == "estimate"
            else np.empty((len(rows), 0), dtype=np.uint32)
        )
        sets = self.source.sets(rows) if needs_sets else None
        return lsh.verify(local, signatures, sets, cfg, self.workers)

    def clashes(self, pairs: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """`bool (m,)`: which pairs the figures rule splits.

        A pair whose records state the same figures in the same order (`figures.sequence`, as a
        128-bit digest per record: `Source.figure_digests`, or made here from the texts) does not
        clash; only the others have their sentence frames read (`figures.Packer`, compiled) and
        compared (`figures.clashes`, on the run's threads).
        """
        if not self.config.lsh.figures or not len(pairs):
            return np.zeros(len(pairs), dtype=bool)
        with collector_paused():
            return self._clashes(pairs)

    def _clashes(self, pairs: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        units = kernels.distinct(pairs.ravel())
        digests = self._digests(units)
        at = np.searchsorted(units, pairs)
        differ = np.flatnonzero((digests[at[:, 0]] != digests[at[:, 1]]).any(axis=1)).tolist()
        out = np.zeros(len(pairs), dtype=bool)
        if not differ:
            return out
        parts, count = [np.array(differ, dtype=np.int64)], 1
        if self.farm is not None and self.farm.count > 1 and len(differ) >= FARM_PAIRS:
            # Waves of `count` parts, one read here: each part holds about `VERIFY_CHUNK` records
            # at most, as this process's own reading does.
            count = self.farm.count
            waves = -(-len(kernels.distinct(pairs[parts[0]].ravel())) // (count * VERIFY_CHUNK))
            parts = [parts[0][p] for p in cluster.split_components(pairs[parts[0]], count * waves)]
        for start in range(0, len(parts), count):
            wave = parts[start : start + count]
            handed = [(part, self._hand_over(pairs[part])) for part in wave[1:]]
            for part in [wave[0]] + [part for part, future in handed if future is None]:
                out[part] = self._conflicts(pairs[part])
            for part, future in handed:
                if future is not None:
                    out[part] = self._answer(future, pairs[part])
        return out

    def _conflicts(self, pairs: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """`bool (m,)`: the figures rule on each pair, read in this process.

        The texts come `VERIFY_CHUNK` records at a time; only their packed facts are held.
        """
        units = kernels.distinct(pairs.ravel())
        packer = figures.Packer()
        for start in range(0, len(units), VERIFY_CHUNK):
            for text in self.source.texts(self.rep[units[start : start + VERIFY_CHUNK]]):
                packer.add(text)
        return figures.clashes(packer.finish(), np.searchsorted(units, pairs), self.workers)

    def _hand_over(self, pairs: npt.NDArray[np.int64]) -> Future[npt.NDArray[np.bool_]] | None:
        """The figures rule on `pairs` handed to another process with the texts it reads."""
        assert self.farm is not None
        units, local = np.unique(pairs, return_inverse=True)
        texts = self.source.texts(self.rep[units])
        return self.farm.conflicts(texts, local.reshape(-1, 2).astype(np.int64))

    def _answer(
        self, future: Future[npt.NDArray[np.bool_]], pairs: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.bool_]:
        """What another process found; read here instead when it failed (the same answer)."""
        try:
            return future.result()
        except (BrokenExecutor, OSError, EOFError, MemoryError):
            return self._conflicts(pairs)

    def _digests(self, units: npt.NDArray[np.int64]) -> npt.NDArray[np.uint64]:
        """`uint64 (len(units), 2)`: the figure digests of the representatives of `units`."""
        kept = self.source.figure_digests(self.rep[units])
        if kept is not None:
            return kept
        self._read(units, self.sequences, _figure_digests)  # made a chunk of texts at a time
        return np.array([self.sequences[u] for u in units.tolist()], dtype=np.uint64).reshape(-1, 2)

    def forget(self) -> None:
        """Let go of what the figures rule read (digests made from texts, statements kept for reuse).

        Called before the garbage collector runs again: the first collection after a pause walks
        every object made during it, and the rule's reads are most of them (0.5 s of a run of
        106,340 records when they were still held).
        """
        self.sequences.clear()
        figures.forget()

    def _read(
        self, units: npt.NDArray[np.int64], into: dict[int, Any], read: Callable[[list[str]], list[Any]]
    ) -> None:
        """Fill `into` with `read`'s values for the texts of `units`' representatives not there yet.

        `read` takes `VERIFY_CHUNK` texts at a time and gives one value per text, in order.
        """
        missing = [int(u) for u in units.tolist() if int(u) not in into]
        for start in range(0, len(missing), VERIFY_CHUNK):
            chunk = missing[start : start + VERIFY_CHUNK]
            texts = self.source.texts(self.rep[np.array(chunk, dtype=np.int64)])
            into.update(zip(chunk, read(texts), strict=True))


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off inside, and after it as it was before.

    The keep step's figures rule makes many small acyclic objects (tokens, frozensets,
    statements), which reference counting frees; the collector's passes over every live object
    are pure cost there (half of the figures step in a micro-benchmark on 3,000 Reuters+BBC
    records, CPU time).
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _figure_digests(texts: list[str]) -> list[tuple[int, int]]:
    """`figures.digests` of texts, each as its two 64-bit halves."""
    return [(high, low) for high, low in figures.digests(texts).tolist()]


def keep_rank(source: Source, position: npt.NDArray[np.int64], config: Config) -> npt.NDArray[np.int64]:
    """`int64 (n,)`: each record's keep rank under `cluster.keep` (0 is kept first; ties by position).

    Raises:
        InputError: the keep rule's field holds values it cannot rank, or none at all.
    """
    rule, field_name = parse_keep(config.cluster.keep)
    if rule in ("first", "none"):
        return cluster.rank(position)
    if rule == "longest":
        return cluster.rank(-source.lengths(), position)
    assert field_name is not None
    values = source.values(passthrough_name(field_name))  # the input's field, as the outputs name it
    if values and all(v is None for v in values):
        raise InputError(
            f"field '{field_name}' is missing or null in every record (cluster.keep: {config.cluster.keep})",
            field=field_name,
        )
    try:
        ranks = (cluster.time_rank if rule == "newest" else cluster.number_rank)(values, field_name)
    except cluster.RankError as err:
        (rid,) = source.record_ids(np.array([err.index], dtype=np.int64))
        raise InputError(
            f"record '{rid}': {err} (cluster.keep: {config.cluster.keep})", field=field_name
        ) from None
    return cluster.rank(ranks, position)


def resolve(
    source: Source,
    group: npt.NDArray[np.int64],
    rep: npt.NDArray[np.int64],
    position: npt.NDArray[np.int64],
    config: Config,
    clock: Clock,
    workers: int = 1,
    extra: npt.NDArray[np.int64] | None = None,
    farm: Farm | None = None,
) -> Duplicates:
    """Near-duplicates among one representative per exact group; groups; the keep step; its check.

    Every dropped record is then verified again, from the records themselves, against the record
    it names; a drop that does not verify is a bug and stops the run.

    Args:
        source: the cleaned records.
        group: `int64 (n,)`, each record's exact group (from `exact.groups`).
        rep: `int64 (groups,)`, each group's representative record.
        position: `int64 (n,)`, each record's rank by source position (file, line, id).
        config: the run's config.
        clock: collects the stage timings (`candidates`, `verify`, `cluster`, `similarity`).
        workers: threads for exact counting.
        extra: `int64 (m, 2)`, more candidate pairs of records (rows), verified like those that
            share a band key: the paragraph index's (`dedup.boilerplate`).
        farm: other processes that read part of the figures rule's pairs (`Farm`); the
            decisions are the same without them.

    Raises:
        InputError: the keep rule's field cannot rank the records.
        VerificationError: a dropped record does not verify against the record it names.
    """
    check = _Verifier(source, rep, config, workers)
    bands, rows = lsh.resolve_params(config.lsh, config.minhash.num_perm)
    with clock.stage("candidates"):
        pairs = candidate_pairs(source, rep, bands, config.lsh.max_bucket)
        if extra is not None and len(extra):
            pairs = _with_extra(pairs, group[extra], len(rep))
    with clock.stage("verify"):
        verdict = check(pairs)
    with clock.stage("cluster"):
        rank = keep_rank(source, position, config)
    found = _decide_shared(source, group, rep, rank, pairs, verdict, config, clock, workers, farm)
    found.bands, found.rows = bands, rows
    return found


def decide(
    source: Source,
    group: npt.NDArray[np.int64],
    rep: npt.NDArray[np.int64],
    rank: npt.NDArray[np.int64],
    pairs: npt.NDArray[np.int64],
    verdict: lsh.Verdict,
    config: Config,
    clock: Clock,
    workers: int = 1,
    farm: Farm | None = None,
) -> Duplicates:
    """From verified candidate pairs: groups, the keep step (figures rule included) and its check.

    What `resolve` does after verification; a distributed engine calls it on each group of
    verified pairs alone (the decisions of one group never depend on another's).

    Args:
        source: the cleaned records.
        group: `int64 (n,)`, each record's exact group.
        rep: `int64 (groups,)`, each group's representative record.
        rank: `int64 (n,)`, each record's keep rank (`keep_rank`), a total order.
        pairs: `int64 (m, 2)`, the candidate pairs of groups (indices into `rep`), `i < j`, unique, sorted.
        verdict: the pairs' verdicts (`lsh.verify`).
        config: the run's config.
        clock: collects the stage timings (`cluster`, `figures`, `similarity`).
        workers: threads for exact counting.
        farm: other processes that read part of the figures rule's pairs (see `resolve`).

    Raises:
        VerificationError: a dropped record does not verify against the record it names.
    """
    check = _Verifier(source, rep, config, workers, farm)
    edges = pairs[verdict.keep]
    verdict = _subset(verdict, verdict.keep)
    with clock.stage("cluster"), collector_paused():
        try:
            drop_all = parse_keep(config.cluster.keep)[0] == "none"
            leader = _leaders(group, len(rep), rank)
            labels = cluster.connect(len(rep), edges)
            checked = kernels.distinct(pairs[:, 0] * len(rep) + pairs[:, 1])
            judged = np.zeros(len(edges), dtype=bool)
            rounds = 0
            ranks = rank[leader]  # each exact group's keep rank, as its leader's
            settled = cluster.settle(ranks, edges, verdict, drop_all)
            while True:
                # The figures rule reads text: it is applied to the pairs the keep step drops on (and,
                # but with keep: none, to the containments that made a dropped record wait), not to
                # every verified pair. A pair it splits goes, and the step decides again.
                used = settled.pair[settled.pair >= 0]
                if not drop_all:
                    used = np.r_[used, _delaying(edges, verdict, settled)]
                used = kernels.distinct(used)
                unjudged = used[~judged[used]]
                if len(unjudged):
                    with clock.stage("figures"):
                        clash = check.clashes(edges[unjudged])
                    judged[unjudged] = True
                    if clash.any():
                        keep = np.ones(len(edges), dtype=bool)
                        keep[unjudged[clash]] = False
                        touched = labels[edges[unjudged[clash], 0]]
                        edges, verdict, judged = edges[keep], _subset(verdict, keep), judged[keep]
                        settled = _settle_again(
                            settled, keep, ranks, edges, verdict, labels, touched, drop_all
                        )
                    continue
                extra = np.empty((0, 2), np.int64)
                if not drop_all and rounds < GROUP_ROUNDS:
                    extra = _kept_pairs(labels, settled, checked)
                if not len(extra):
                    break
                # Records a group keeps side by side that were never a candidate pair (a copy inside
                # another whose band keys differ): verify them, and decide again with what verifies.
                rounds += 1
                more = check(extra)
                checked = kernels.distinct(np.r_[checked, extra[:, 0] * len(rep) + extra[:, 1]])
                added = extra[more.keep]
                edges = np.concatenate([edges, added])
                verdict = lsh.Verdict.concat([verdict, _subset(more, more.keep)])
                judged = np.r_[judged, np.zeros(len(added), dtype=bool)]
                kept_all = np.ones(len(edges) - len(added), dtype=bool)
                touched = labels[added[:, 0]]
                settled = _settle_again(settled, kept_all, ranks, edges, verdict, labels, touched, drop_all)
            found = _expand(group, leader, rank, edges, settled, cluster.connect(len(rep), edges), drop_all)
        finally:  # what the figures rule read goes before the collector runs again, a failure too
            check.forget()
    with clock.stage("similarity"):
        _check_drops(found, check, source, group, config, drop_all)
    found.candidate_pairs, found.verified_pairs = len(pairs), len(edges)
    return found


@dataclass(frozen=True)
class Part:
    """A share of the keep step's groups, to decide on its own (in another process: `Farm.decide`).

    Its records and exact groups are numbered from 0 in the run's order, so every tie breaks as it
    does in the run (`decide` reads only the order of group numbers and ranks).

    Attributes:
        source: the run's records, all of them (it travels to another process as its files).
        rows: `int64 (k,)`, the part's records (rows of `source`), ascending: whole exact groups.
        group: `int64 (k,)`, each record's exact group among the part's `u` groups.
        rep: `int64 (u,)`, each group's representative (index into `rows`).
        rank: `int64 (k,)`, each record's keep rank, `0..k-1`, in the order of the run's ranks.
        pairs: `int64 (m, 2)`, the candidate pairs among the part's groups, `i < j`, unique, sorted.
        verdict: their verdicts.
        config: the run's config.
    """

    source: Source
    rows: npt.NDArray[np.int64]
    group: npt.NDArray[np.int64]
    rep: npt.NDArray[np.int64]
    rank: npt.NDArray[np.int64]
    pairs: npt.NDArray[np.int64]
    verdict: lsh.Verdict
    config: Config

    def decide(self) -> Duplicates:
        """`decide` on the part alone, on one thread, its figures rule read here.

        Raises:
            VerificationError: a dropped record does not verify against the record it names.
        """
        records = _Rows(self.source, self.rows)
        verdict, config = self.verdict, self.config
        return decide(records, self.group, self.rep, self.rank, self.pairs, verdict, config, Clock())


class _Rows:
    """The records `rows` of another `Source`, numbered from 0 (what a `Part` reads)."""

    def __init__(self, source: Source, rows: npt.NDArray[np.int64]) -> None:
        self.source, self.rows = source, rows

    def __len__(self) -> int:
        return len(self.rows)

    def band_keys(self, rows: npt.NDArray[np.int64], band: int) -> npt.NDArray[np.uint64]:
        """See `Source`."""
        return self.source.band_keys(self.rows[rows], band)

    def signatures(self, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.uint32]:
        """See `Source`."""
        return self.source.signatures(self.rows[rows])

    def sets(self, rows: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]]:
        """See `Source`."""
        return self.source.sets(self.rows[rows])

    def texts(self, rows: npt.NDArray[np.int64]) -> list[str]:
        """See `Source`."""
        return self.source.texts(self.rows[rows])

    def figure_digests(self, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.uint64] | None:
        """See `Source`."""
        return self.source.figure_digests(self.rows[rows])

    def lengths(self) -> npt.NDArray[np.int64]:
        """See `Source`."""
        return self.source.lengths()[self.rows]

    def values(self, field_name: str) -> list[object]:
        """See `Source`."""
        every = self.source.values(field_name)
        return [every[i] for i in self.rows.tolist()]

    def record_ids(self, rows: npt.NDArray[np.int64]) -> list[str]:
        """See `Source`."""
        return self.source.record_ids(self.rows[rows])


def _decide_shared(
    source: Source,
    group: npt.NDArray[np.int64],
    rep: npt.NDArray[np.int64],
    rank: npt.NDArray[np.int64],
    pairs: npt.NDArray[np.int64],
    verdict: lsh.Verdict,
    config: Config,
    clock: Clock,
    workers: int,
    farm: Farm | None,
) -> Duplicates:
    """`decide`, a share of its groups decided in another process when there are enough to pay.

    Shared from `SHARE_PAIRS` verified pairs on, while the memory it costs this process stays
    within `SHARE_BUDGET` of `memory_budget` (`SHARE_BYTES_PER_RECORD`, `SHARE_BYTES_PER_PAIR`).

    The decisions of one group of verified pairs never depend on another's (the Spark engine
    decides them group by group too), so whole groups holding about `SHARED` of the verified pairs
    go to a `Farm` process as a `Part`, and this process decides the rest meanwhile; the two are
    put together (`_merged`). A part whose process fails is decided here: the same decisions.
    """
    cost = SHARE_BYTES_PER_RECORD * len(group) + SHARE_BYTES_PER_PAIR * len(pairs)
    if (
        farm is None
        or farm.count < 2
        or int(np.count_nonzero(verdict.keep)) < SHARE_PAIRS
        or cost > SHARE_BUDGET * size_bytes(config.memory_budget)
    ):
        return decide(source, group, rep, rank, pairs, verdict, config, clock, workers, farm)
    units = len(rep)
    edges = pairs[verdict.keep]
    labels = cluster.connect(units, edges)
    weight = np.bincount(labels[edges[:, 0]], minlength=units)
    apart = (np.cumsum(weight) <= SHARED * len(edges))[labels]  # groups in order of their lowest unit
    first, second = apart[pairs[:, 0]], apart[pairs[:, 1]]  # a pair across the parts verified no edge
    part = _part(source, group, rep, rank, pairs, verdict, config, apart, first & second)
    future = farm.decide(part)
    if future is None:
        return decide(source, group, rep, rank, pairs, verdict, config, clock, workers, farm)
    here = ~first & ~second
    mine = _subset(verdict, here)
    # With two processes the other one is busy with the share: handing this part's figures to it
    # as well makes three processes compete for two cores (5 copies, 0.45 of the pairs shared:
    # 1.004x that way, 1.054x without; `SHARED`).
    helper = farm if farm.count > 2 else None
    found = decide(source, group, rep, rank, pairs[here], mine, config, clock, workers, helper)
    with clock.more("cluster"):  # waiting for the share: the keep step's seconds in this process
        try:
            there = future.result()
        except (BrokenExecutor, OSError, EOFError, MemoryError):  # the process failed: decided here
            there = part.decide()
    return _merged(found, there, part, np.flatnonzero(apart), len(pairs), units)


def _part(
    source: Source,
    group: npt.NDArray[np.int64],
    rep: npt.NDArray[np.int64],
    rank: npt.NDArray[np.int64],
    pairs: npt.NDArray[np.int64],
    verdict: lsh.Verdict,
    config: Config,
    apart: npt.NDArray[np.bool_],
    taken: npt.NDArray[np.bool_],
) -> Part:
    """The `Part` of the exact groups `apart` (`bool (units,)`) and the candidate pairs `taken`."""
    units = np.flatnonzero(apart)
    rows = np.flatnonzero(apart[group])
    order = np.argsort(rank[rows], kind="stable")
    local_rank = np.empty(len(rows), dtype=np.int64)
    local_rank[order] = np.arange(len(rows), dtype=np.int64)
    return Part(
        source,
        rows,
        np.searchsorted(units, group[rows]).astype(np.int64),
        np.searchsorted(rows, rep[units]).astype(np.int64),
        local_rank,
        np.searchsorted(units, pairs[taken]).astype(np.int64),
        _subset(verdict, taken),
        config,
    )


def _merged(
    here: Duplicates,
    there: Duplicates,
    part: Part,
    units: npt.NDArray[np.int64],
    candidates: int,
    count: int,
) -> Duplicates:
    """The decisions of a shared keep step: `there`'s on `part`'s records, `here`'s on the rest.

    `here` is updated in place (no copy of its per-record arrays) and returned.

    Args:
        here: `decide` on every record, with the part's pairs left out (its records stand alone).
        there: `part.decide()`, numbered as the part numbers its records and groups.
        part: the part.
        units: `int64 (u,)`, the run's exact groups that are the part's, ascending.
        candidates: the run's candidate pairs (those across the parts included).
        count: the run's exact groups.
    """
    rows = part.rows
    named = there.duplicate_of >= 0
    here.duplicate_of[rows] = np.where(named, rows[np.where(named, there.duplicate_of, 0)], -1)
    here.matched_by[rows] = there.matched_by
    here.similarity[rows] = there.similarity
    here.containment[rows] = there.containment
    here.cluster[rows] = rows[there.cluster]
    here.cluster_size[rows] = there.cluster_size
    here.edges = np.concatenate([here.edges, units[there.edges]])
    here.candidate_pairs, here.verified_pairs = candidates, len(here.edges)
    labels = cluster.connect(count, here.edges)
    sizes = np.bincount(labels[here.exact_group]) if len(here.exact_group) else np.empty(0, np.int64)
    here.groups = int(np.sum(sizes > 1))
    return here


def _delaying(
    edges: npt.NDArray[np.int64], verdict: lsh.Verdict, settled: cluster.Settled
) -> npt.NDArray[np.int64]:
    """`int64`: the pairs (indices into `edges`) whose containment made a dropped record wait.

    A record inside another is taken only after it (`cluster.settle`), so such a pair decides
    which records were taken before the inner one, and with that which record it was dropped for,
    even when the drop names another pair. The figures rule judges these pairs as well as the ones
    drops name: a containment it splits must not decide the order.
    """
    inner = np.where(verdict.inside == lsh.FIRST_INSIDE, edges[:, 0], edges[:, 1])
    waits = (verdict.inside != lsh.MUTUAL) & (settled.duplicate_of[inner] >= 0)
    return np.flatnonzero(waits).astype(np.int64)


def _settle_again(
    before: cluster.Settled,
    kept: npt.NDArray[np.bool_],
    rank: npt.NDArray[np.int64],
    edges: npt.NDArray[np.int64],
    verdict: lsh.Verdict,
    labels: npt.NDArray[np.int64],
    touched: npt.NDArray[np.int64],
    drop_all: bool,
) -> cluster.Settled:
    """`cluster.settle(rank, edges, verdict, drop_all)`, deciding again only the groups `touched`.

    The keep step's decisions in one group of verified pairs never depend on another's
    (`dedup.cluster`), so after pairs are removed from or added to some groups, only those are
    decided again; the others keep `before`, their pair indices renumbered.

    Args:
        before: the decisions on the edges before the change.
        kept: `bool`, which of those edges are still there (in order, at the start of `edges`;
            edges after them are new).
        rank: `int64 (n,)`, each record's keep rank.
        edges: `int64 (m, 2)`, the verified pairs now.
        verdict: their verdicts.
        labels: `int64 (n,)`, each record's group (components of a set of pairs that holds every
            pair of `edges`: removing pairs splits groups, adding pairs inside one joins none).
        touched: the groups that lost or gained pairs.
        drop_all: `keep: none`.
    """
    again = np.isin(labels[edges[:, 0]], touched)  # the edges of the groups decided again
    part = cluster.settle(rank, edges[again], _subset(verdict, again), drop_all)
    renumber = np.cumsum(kept, dtype=np.int64) - 1  # an edge's index among those still there
    pair = before.pair.copy()
    named = pair >= 0
    pair[named] = renumber[pair[named]]
    duplicate_of, contained = before.duplicate_of.copy(), before.contained.copy()
    units = np.flatnonzero(np.isin(labels, touched))
    duplicate_of[units] = part.duplicate_of[units]
    contained[units] = part.contained[units]
    pair[units] = part.pair[units]
    anew = units[part.pair[units] >= 0]
    pair[anew] = np.flatnonzero(again)[part.pair[anew]]  # the part's edge indices, as indices of `edges`
    return cluster.Settled(duplicate_of, pair, contained)


def _with_extra(
    pairs: npt.NDArray[np.int64], extra: npt.NDArray[np.int64], units: int
) -> npt.NDArray[np.int64]:
    """Candidate pairs of representatives with `extra` ones added: `(i, j)`, `i < j`, unique, sorted."""
    extra = np.sort(extra, axis=1)
    extra = extra[extra[:, 0] != extra[:, 1]]
    codes = kernels.distinct(np.r_[pairs[:, 0] * units + pairs[:, 1], extra[:, 0] * units + extra[:, 1]])
    return np.stack([codes // units, codes % units], axis=1).astype(np.int64)


def _subset(verdict: lsh.Verdict, mask: npt.NDArray[np.bool_]) -> lsh.Verdict:
    """The verdicts of the pairs `mask` selects."""
    return lsh.Verdict(*(getattr(verdict, f)[mask] for f in lsh.Verdict.__slots__))


def _leaders(group: npt.NDArray[np.int64], units: int, rank: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """`int64 (units,)`: each exact group's best-ranked record, which stands for it in the keep step."""
    order = np.lexsort((rank, group))
    leads = np.r_[True, group[order][1:] != group[order][:-1]] if len(group) else np.empty(0, dtype=bool)
    leader = np.empty(units, dtype=np.int64)
    leader[group[order][leads]] = order[leads]
    return leader


def _kept_pairs(
    labels: npt.NDArray[np.int64], settled: cluster.Settled, checked: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """Pairs of kept exact groups in one group of verified pairs, not in `checked` (sorted pair codes).

    Groups keeping more than `GROUP_CHECK` records side by side (long runs of template notices)
    are left as they are: their records were each verified against their neighbours already.
    """
    units = len(labels)
    kept = np.flatnonzero(settled.duplicate_of < 0)
    counts = np.bincount(labels[kept], minlength=int(labels.max()) + 1 if units else 0)
    kept = kept[(counts[labels[kept]] >= 2) & (counts[labels[kept]] <= GROUP_CHECK)]
    if not len(kept):
        return np.empty((0, 2), dtype=np.int64)
    kept = kept[np.argsort(labels[kept], kind="stable")]  # by group, each group's records ascending
    ends = np.flatnonzero(np.r_[labels[kept][1:] != labels[kept][:-1], True]) + 1
    end_of = np.repeat(ends, np.diff(np.r_[0, ends]))  # where each record's group ends
    later = end_of - np.arange(len(kept)) - 1  # each record pairs with the records after it in its group
    first = np.repeat(np.arange(len(kept)), later)
    step = np.arange(len(first)) - np.repeat(np.cumsum(later) - later, later)
    pairs = np.stack([kept[first], kept[first + 1 + step]], axis=1).astype(np.int64)
    return pairs[~kernels.among(pairs[:, 0] * units + pairs[:, 1], checked)]


def _expand(
    group: npt.NDArray[np.int64],
    leader: npt.NDArray[np.int64],
    rank: npt.NDArray[np.int64],
    edges: npt.NDArray[np.int64],
    settled: cluster.Settled,
    unit_labels: npt.NDArray[np.int64],
    drop_all: bool,
) -> Duplicates:
    """The keep step's decisions on exact groups, expanded to their records."""
    n, units = len(group), len(leader)
    rows = np.arange(n, dtype=np.int64)
    is_leader = leader[group] == rows
    unit_of = settled.duplicate_of[group]  # the group each record's group is dropped for, or -1
    duplicate_of = np.full(n, -1, dtype=np.int64)
    matched_by = np.zeros(n, dtype=np.int8)
    near = unit_of >= 0
    duplicate_of[near] = leader[unit_of[near]]
    matched_by[near] = np.where(settled.contained[group[near]], CONTAINMENT, JACCARD)
    sizes = np.bincount(group, minlength=units)
    if drop_all:
        twin = sizes[group] > 1  # a repeated text: every copy goes, each naming another copy
        order = np.lexsort((rank, group))
        leads = np.r_[True, group[order][1:] != group[order][:-1]] if n else np.empty(0, dtype=bool)
        after = ~leads & np.r_[False, leads[:-1]] if n else leads
        second = np.full(units, -1, dtype=np.int64)
        second[group[order][after]] = order[after]
        duplicate_of[twin] = np.where(is_leader[twin], second[group[twin]], leader[group[twin]])
        matched_by[twin] = EXACT
    else:
        twin = ~is_leader & ~near
        duplicate_of[twin] = leader[group[twin]]
        matched_by[twin] = EXACT
    labels = unit_labels[group] if n else np.empty(0, dtype=np.int64)
    group_sizes = np.bincount(labels, minlength=int(labels.max()) + 1 if n else 0)
    if drop_all:
        by_label = np.lexsort((rank, labels))
        heads = np.r_[True, labels[by_label][1:] != labels[by_label][:-1]] if n else np.empty(0, bool)
        best = np.empty(len(group_sizes), dtype=np.int64)
        best[labels[by_label][heads]] = by_label[heads]
        cluster_of = np.where(duplicate_of >= 0, best[labels], rows)
    else:
        cluster_of = np.where(duplicate_of >= 0, duplicate_of, rows)
    cluster_size = np.bincount(cluster_of, minlength=n)[cluster_of] if n else np.empty(0, np.int64)
    ones = np.ones(n, dtype=np.float64)
    return Duplicates(
        duplicate_of,
        matched_by,
        group,
        ones,
        ones.copy(),
        cluster_of,
        cluster_size.astype(np.int64),
        0,
        0,
        int(np.sum(group_sizes > 1)),
        0,
        0,
        edges,
    )


def _check_drops(
    found: Duplicates,
    check: _Verifier,
    source: Source,
    group: npt.NDArray[np.int64],
    config: Config,
    drop_all: bool,
) -> None:
    """Verify every near-duplicate drop again against the record it names; fill in the evidence.

    Raises:
        VerificationError: a drop whose pair does not verify (or verifies the other way round).
    """
    near = np.flatnonzero((found.matched_by == JACCARD) | (found.matched_by == CONTAINMENT))
    exact_rows = np.flatnonzero(found.matched_by == EXACT)
    wrong = exact_rows[group[exact_rows] != group[found.duplicate_of[exact_rows]]].tolist()
    if not drop_all and len(found.edges):
        # No verified pair may join two kept records: one of them would be a duplicate left in.
        kept_groups = np.zeros(max(int(group.max()) + 1, 1), dtype=bool)
        kept_groups[group[found.kept]] = True
        both = kept_groups[found.edges[:, 0]] & kept_groups[found.edges[:, 1]]
        if both.any():
            a, b = found.edges[np.argmax(both)]
            first = np.flatnonzero(found.kept & ((group == a) | (group == b)))[:2]
            ids = source.record_ids(first)
            raise VerificationError(
                f"{int(both.sum())} verified pair(s) join two kept records ('{ids[0]}' and '{ids[-1]}'); "
                f"nothing was written. This is a bug in dedup (cluster.keep: {config.cluster.keep})"
            )
    if len(near):
        # Signatures and shingle sets are those of each exact group's representative. The shingle
        # evidence is counted again from the records; the figures rule, which reads the texts, is
        # not run twice: the pair must be one that passed it (a verified edge).
        named = found.duplicate_of[near]
        pairs = np.stack([group[near], group[named]], axis=1)
        again = check(pairs)
        found.similarity[near] = again.jaccard
        units = max(int(group.max()) + 1, 1)
        edge_codes = kernels.distinct(found.edges.min(axis=1) * units + found.edges.max(axis=1))
        verified = kernels.among(pairs.min(axis=1) * units + pairs.max(axis=1), edge_codes)
        contained = found.matched_by[near] == CONTAINMENT
        fails = ~again.keep | ~verified
        if not drop_all:  # inside it and not the other way round, or duplicates both ways
            fails |= np.where(contained, again.inside != lsh.FIRST_INSIDE, again.inside != lsh.MUTUAL)
        # The evidence, named by what holds: the record inside the named one (and not the other way
        # round); or (`keep: none` only) the named one inside it; else Jaccard both ways, or each
        # inside the other (containment).
        holds = again.inside == lsh.SECOND_INSIDE
        by_jaccard = again.similar & (again.inside == lsh.MUTUAL)
        found.matched_by[near] = np.where(by_jaccard, JACCARD, np.where(holds, CONTAINS, CONTAINMENT))
        found.containment[near] = np.where(holds, again.share_b, again.share_a)
        wrong += near[fails].tolist()
    if wrong:
        rows = np.array(sorted(wrong)[:5], dtype=np.int64)
        ids = source.record_ids(rows)
        named_ids = source.record_ids(found.duplicate_of[rows])
        listed = ", ".join(f"'{a}' -> '{b}'" for a, b in zip(ids, named_ids, strict=True))
        raise VerificationError(
            f"{len(wrong)} dropped record(s) do not verify against the record they name "
            f"({listed}); nothing was written. This is a bug in dedup (cluster.keep: {config.cluster.keep})"
        )
