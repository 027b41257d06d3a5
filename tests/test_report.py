"""The accounting identity: `Report.check` raises, and `outputs.count` calls it, whatever the imbalance."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dedup import outputs
from dedup.errors import AccountingError
from dedup.report import Report
from dedup.resolve import CONTAINMENT, CONTAINS, EXACT, JACCARD, KEPT, Duplicates


def _report(**counts: int) -> Report:
    base = {
        "read": 10,
        "kept": 6,
        "duplicates": 3,
        "rejected": 1,
        "exact_duplicates": 2,
        "near_duplicates": 1,
    }
    return Report(**{**base, **counts})  # type: ignore[arg-type]


def test_a_report_that_adds_up_passes() -> None:
    _report().check()
    _report(duplicates=4, near_duplicates=1, exact_duplicates=1, present=2, kept=5).check()
    Report().check()


@pytest.mark.parametrize(
    ("counts", "message"),
    [
        (
            {"read": 11},
            "accounting failed: read 11 != kept 6 + duplicates 3 + rejected 1; this is a bug in dedup",
        ),
        (
            {"read": 9},
            "accounting failed: read 9 != kept 6 + duplicates 3 + rejected 1; this is a bug in dedup",
        ),
        (
            {"kept": 7},
            "accounting failed: read 10 != kept 7 + duplicates 3 + rejected 1; this is a bug in dedup",
        ),
        (
            {"rejected": 0},
            "accounting failed: read 10 != kept 6 + duplicates 3 + rejected 0; this is a bug in dedup",
        ),
        (
            {"exact_duplicates": 3},
            "accounting failed: duplicates 3 != exact 3 + near 1 + present 0; this is a bug in dedup",
        ),
        (
            {"near_duplicates": 0},
            "accounting failed: duplicates 3 != exact 2 + near 0 + present 0; this is a bug in dedup",
        ),
        (
            {"present": 1},
            "accounting failed: duplicates 3 != exact 2 + near 1 + present 1; this is a bug in dedup",
        ),
    ],
)
def test_an_imbalance_either_way_is_an_accounting_error(counts: dict[str, int], message: str) -> None:
    with pytest.raises(AccountingError) as err:
        _report(**counts).check()
    assert str(err.value) == message
    assert err.value.exit_code == 1


def _found() -> Duplicates:
    """Six records: 0 kept with 1 (exact), 2 (jaccard) and 3 (containment) dropped for it; 4 kept
    alone; 5 dropped under keep: none for holding 4 (contains)."""
    n = 6
    return Duplicates(
        duplicate_of=np.array([-1, 0, 0, 0, -1, 4]),
        matched_by=np.array([KEPT, EXACT, JACCARD, CONTAINMENT, KEPT, CONTAINS], dtype=np.int8),
        exact_group=np.array([0, 0, 1, 2, 3, 4]),
        similarity=np.ones(n),
        containment=np.ones(n),
        cluster=np.array([0, 0, 0, 0, 4, 4]),
        cluster_size=np.array([4, 4, 4, 4, 2, 2]),
        candidate_pairs=7,
        verified_pairs=5,
        groups=2,
        bands=26,
        rows=3,
        edges=np.empty((0, 2), dtype=np.int64),
    )


def test_count_fills_the_report_from_what_was_found() -> None:
    report = Report(read=8)
    outputs.count(report, _found(), rejected=2)
    assert (report.kept, report.duplicates, report.rejected) == (2, 4, 2)
    assert (report.exact_duplicates, report.near_duplicates, report.present) == (1, 3, 0)
    assert report.matched_by == {"exact": 1, "jaccard": 1, "containment": 1, "contains": 1}
    assert (report.clusters, report.groups) == (2, 2)
    assert (report.candidate_pairs, report.verified_pairs, report.bands, report.rows) == (7, 5, 26, 3)
    assert report.to_dict()["accounting"] == {
        "identity": "read = kept + duplicates + rejected",
        "holds": True,
    }


@pytest.mark.parametrize("read", [7, 9])
def test_count_checks_the_identity(read: int) -> None:
    report = Report(read=read)
    with pytest.raises(AccountingError, match=f"read {read} != kept 2 \\+ duplicates 4 \\+ rejected 2"):
        outputs.count(report, _found(), rejected=2)


def test_the_summary_line() -> None:
    report = _report()
    report.output_dir = "out"
    assert report.summary() == "read 10: kept 6, duplicates 3 (2 exact, 1 near), rejected 1 -> out"
    assert _report(read=1234, kept=1230).summary(present=True) == (
        "read 1,234: kept 1,230, duplicates 3 (2 exact, 1 near, 0 present), rejected 1"
    )
    # An index run's `present` shows whenever it is not zero, asked or not.
    assert _report(duplicates=5, present=2, kept=4).summary() == (
        "read 10: kept 4, duplicates 5 (2 exact, 1 near, 2 present), rejected 1"
    )


@pytest.mark.parametrize(
    ("paragraphs", "tail"),
    [
        # Expected lines written out by hand from the README's description of the summary.
        (
            {"emptied": 1, "boilerplate_groups": 1, "records_touched": 3},
            " (1 emptied by boilerplate); boilerplate: 1 paragraph group removed from 3 records",
        ),
        (
            {"emptied": 0, "boilerplate_groups": 2, "records_touched": 1_500},
            "; boilerplate: 2 paragraph groups removed from 1,500 records",
        ),
        ({"paragraphs": 9}, "; boilerplate: 0 paragraph groups removed from 0 records"),
    ],
)
def test_the_summary_line_under_paragraph_granularity(paragraphs: dict[str, int], tail: str) -> None:
    report = _report()
    report.paragraphs = paragraphs
    report.output_dir = "out"
    assert report.summary() == f"read 10: kept 6, duplicates 3 (2 exact, 1 near), rejected 1{tail} -> out"


def test_report_json_masks_credentials_and_spells_out_the_identity() -> None:
    report = _report(read=11)
    report.config = {"index": {"path": "redis://:secret@host:6379/1"}, "input": {"paths": ["a"]}}
    data = report.to_dict()
    assert data["config"] == {"index": {"path": "redis://:***@host:6379/1"}, "input": {"paths": ["a"]}}
    assert "secret" not in json.dumps(data)
    assert data["accounting"] == {"identity": "read = kept + duplicates + rejected", "holds": False}
    assert report.config["index"]["path"] == "redis://:secret@host:6379/1", "the report itself keeps it"
