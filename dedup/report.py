"""The run report: counts, timings, parameters and the accounting identity, checked.

`read = kept + duplicates + rejected` must hold for every run; `Report.check` raises
`AccountingError` when it does not, so a lost record is a failed run, never a quiet report line.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from dedup.display import masked
from dedup.errors import AccountingError


@dataclass(slots=True)
class Report:
    """What a run did.

    Attributes:
        read: records read, including those rejected while reading.
        kept: records written to `unique.parquet`.
        duplicates: records dropped as a duplicate of a kept record.
        exact_duplicates: of `duplicates`, those equal to the kept record in hashing form.
        near_duplicates: of `duplicates`, those similar to it (Jaccard or containment).
        present: of `duplicates`, records whose id an index already holds (`dedup index` only).
        matched_by: `duplicates` by the evidence that names their record: `exact`, `jaccard`,
            `containment`.
        rejected: records that could not be read or cleaned.
        clusters: clusters of two or more records (a kept record and the records dropped for it).
        groups: groups of two or more records joined by verified pairs or exact repeats; a group
            keeps every record that is not a duplicate of a kept one, so it may hold several clusters.
        candidate_pairs: pairs sharing a band key, before verification.
        verified_pairs: candidate pairs whose similarity reached the threshold.
        skipped_blank_lines: blank lines in line formats (they hold no record).
        skipped_records: records of WARC files that hold no document, by kind: their WARC type
            (`request`, `metadata`, `warcinfo`, `revisit`...) or, for a response, why
            (`response: image/png`, `response: HTTP 3xx`). They are not in `read`.
        input_bytes: bytes of record text read.
        bands: LSH bands used.
        rows: rows per band used.
        fingerprint: digest of everything that changes a signature.
        timings: seconds per stage.
        config: the full configuration of the run.
        output_dir: where the outputs are.
        inputs: each input file's path, size and content digest (xxh3-64).
        outputs: each output file's size and content digest, as published.
        shards: shards processed, how many of them a resumed run found already done, and how
            many processes made them (`workers`).
        memory_budget: the budget in bytes the run was sized for.
        spilled_bytes: bytes of shards and checkpoints the run kept on disk.
        peak_rss_bytes: the process's peak resident memory when the run finished.
        first_rejects: the first few rejects as `file:line: field 'x': reason`.
        warnings: what the run did otherwise than configured, and why (worker processes that
            could not start, so one process made the shards).
        paragraphs: under `granularity: paragraph`, what the paragraph index did: `paragraphs`
            read, `short` ones, `exact_groups`, `candidate_pairs` and `near_pairs` of paragraphs,
            `groups` (in two or more records), `boilerplate_groups` and
            `boilerplate_paragraphs` removed, `records_touched`, `emptied` (records left with no
            words: rejects with stage `boilerplate`, counted in `rejected`) and `record_pairs`
            (record candidates it proposed).
    """

    read: int = 0
    kept: int = 0
    duplicates: int = 0
    exact_duplicates: int = 0
    near_duplicates: int = 0
    present: int = 0
    rejected: int = 0
    matched_by: dict[str, int] = field(default_factory=dict)
    clusters: int = 0
    groups: int = 0
    candidate_pairs: int = 0
    verified_pairs: int = 0
    skipped_blank_lines: int = 0
    skipped_records: dict[str, int] = field(default_factory=dict)
    input_bytes: int = 0
    bands: int = 0
    rows: int = 0
    fingerprint: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    output_dir: str = ""
    inputs: list[dict[str, Any]] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    shards: dict[str, int] = field(default_factory=dict)
    memory_budget: int = 0
    spilled_bytes: int = 0
    peak_rss_bytes: int = 0
    first_rejects: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    paragraphs: dict[str, int] = field(default_factory=dict)

    def check(self) -> None:
        """Raise `AccountingError` unless `read = kept + duplicates + rejected` (and its parts add up)."""
        if self.read != self.kept + self.duplicates + self.rejected:
            raise AccountingError(
                f"accounting failed: read {self.read} != kept {self.kept} + duplicates "
                f"{self.duplicates} + rejected {self.rejected}; this is a bug in dedup"
            )
        if self.duplicates != self.exact_duplicates + self.near_duplicates + self.present:
            raise AccountingError(
                f"accounting failed: duplicates {self.duplicates} != exact {self.exact_duplicates} "
                f"+ near {self.near_duplicates} + present {self.present}; this is a bug in dedup"
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain data for `report.json`, with the identity spelled out and credentials masked."""
        data = asdict(self)
        data["config"] = masked(data["config"])
        data["accounting"] = {
            "identity": "read = kept + duplicates + rejected",
            "holds": self.read == self.kept + self.duplicates + self.rejected,
        }
        return data

    def summary(self, present: bool = False) -> str:
        """One line for the terminal; `present` adds the records an index already held by id."""
        held = f", {self.present:,} present" if present or self.present else ""
        paragraphs = ""
        if self.paragraphs:  # granularity: paragraph
            emptied = self.paragraphs.get("emptied", 0)
            groups = self.paragraphs.get("boilerplate_groups", 0)
            paragraphs = (f" ({emptied:,} emptied by boilerplate)" if emptied else "") + (
                f"; boilerplate: {groups:,} paragraph group{'' if groups == 1 else 's'} removed from "
                f"{self.paragraphs.get('records_touched', 0):,} records"
            )
        return (
            f"read {self.read:,}: kept {self.kept:,}, duplicates {self.duplicates:,} "
            f"({self.exact_duplicates:,} exact, {self.near_duplicates:,} near{held}), "
            f"rejected {self.rejected:,}{paragraphs}" + (f" -> {self.output_dir}" if self.output_dir else "")
        )
