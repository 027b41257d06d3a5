"""The keep step end to end: every drop names a kept record it verifiably resembles.

Expected values come from an oracle written here (plain Python sets of lowercased `\\w+` word
3-grams taken inside paragraphs), not from the product's shingling.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from dedup import config_from_dict, run
from dedup.errors import VerificationError
from tests.conftest import article, write_jsonl


def _shingles(text: str) -> set[tuple[str, ...]]:
    out: set[tuple[str, ...]] = set()
    for paragraph in re.split(r"\n\s*\n", text):
        words = re.findall(r"\w+", paragraph.lower())
        if 0 < len(words) < 3:
            out.add(tuple(words))
        out.update(tuple(words[i : i + 3]) for i in range(len(words) - 2))
    return out


def _jaccard(a: str, b: str) -> float:
    x, y = _shingles(a), _shingles(b)
    return len(x & y) / len(x | y)


def _inside(a: str, b: str) -> float:
    x, y = _shingles(a), _shingles(b)
    return len(x & y) / len(x)


def _run(tmp: Path, rows: list[dict[str, Any]], **sections: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    write_jsonl(tmp / "in.jsonl", rows)
    out = tmp / "out"
    run(
        config_from_dict(
            {
                "input": {"paths": [str(tmp / "in.jsonl")]},
                "output": {"dir": str(out), "overwrite": True},
                **sections,
            }
        )
    )
    unique = {r["id"]: r for r in pq.read_table(out / "unique.parquet").to_pylist()}
    dups = {r["id"]: r for r in pq.read_table(out / "duplicates.parquet").to_pylist()}
    return unique, dups


def _text(paragraphs: list[str]) -> str:
    return "\n\n".join(paragraphs)


def _assert_every_drop_verifies(rows: list[dict[str, Any]], dups: dict[str, Any], kept: set[str]) -> None:
    texts = {r["id"]: r["text"] for r in rows}
    for rid, row in dups.items():
        named = row["duplicate_of"]
        assert named in kept, f"{rid} names {named}, which was dropped too"
        if row["matched_by"] == "exact":
            continue
        j, c = _jaccard(texts[rid], texts[named]), _inside(texts[rid], texts[named])
        assert j >= 0.5 or c >= 0.8, f"{rid} -> {named}: Jaccard {j:.3f}, inside {c:.3f}"
        assert row["similarity"] == pytest.approx(j, abs=1e-9)
        assert row["containment"] == pytest.approx(c, abs=1e-9)
        assert row["matched_by"] == (
            "containment" if c >= 0.8 and _inside(texts[named], texts[rid]) < 0.8 else "jaccard"
        )


def test_a_run_of_revisions_keeps_the_revisions_that_share_too_little(tmp_path: Path) -> None:
    # Each revision replaces one paragraph of the one before: neighbours share 7 of 8 paragraphs,
    # the first and the last share none.
    base = article(1, paragraphs=8)
    revisions = [base]
    for k in range(8):
        revisions.append([*revisions[-1][:k], article(100 + k, paragraphs=1)[0], *revisions[-1][k + 1 :]])
    rows = [{"id": f"r{k}", "text": _text(p)} for k, p in enumerate(revisions)]
    text = [r["text"] for r in rows]
    assert _jaccard(text[0], text[8]) < 0.05
    # Two steps apart still verifies (6 of 10 paragraphs), three do not (5 of 11).
    assert _jaccard(text[0], text[2]) >= 0.5 > _jaccard(text[0], text[3])
    unique, dups = _run(tmp_path, rows)
    _assert_every_drop_verifies(rows, dups, set(unique))
    assert set(unique) == {"r0", "r3", "r6"}
    assert {k: d["duplicate_of"] for k, d in dups.items()} == {
        "r1": "r0",
        "r2": "r0",
        "r4": "r3",
        "r5": "r3",
        "r7": "r6",
        "r8": "r6",
    }


def test_a_digest_of_two_stories_drops_each_story_for_the_digest_not_for_the_other(tmp_path: Path) -> None:
    a, c = article(2), article(3)
    rows = [
        {"id": "a", "text": _text(a)},
        {"id": "c", "text": _text(c)},
        {"id": "digest", "text": _text(a + c)},
    ]
    unique, dups = _run(tmp_path, rows)
    _assert_every_drop_verifies(rows, dups, set(unique))
    assert set(unique) == {"digest"}
    assert {k: (d["duplicate_of"], d["matched_by"]) for k, d in dups.items()} == {
        "a": ("digest", "containment"),
        "c": ("digest", "containment"),
    }


@pytest.mark.parametrize("keep", ["first", "longest", "newest:date", "priority:score"])
def test_a_quoting_reply_is_kept_and_the_post_it_quotes_goes_whatever_the_rule(
    tmp_path: Path, keep: str
) -> None:
    post = article(4, paragraphs=4)
    reply = [f"> {p}" for p in post] + article(5, paragraphs=2)
    rows = [
        {"id": "post", "text": _text(post), "date": "2025-01-02", "score": 9},
        {"id": "reply", "text": _text(reply), "date": "2025-01-01", "score": 1},
    ]
    assert _jaccard(rows[0]["text"], rows[1]["text"]) >= 0.5  # duplicates by Jaccard too
    assert _inside(rows[1]["text"], rows[0]["text"]) < 0.8
    unique, dups = _run(tmp_path, rows, cluster={"keep": keep})
    assert set(unique) == {"reply"}
    assert dups["post"]["duplicate_of"] == "reply" and dups["post"]["matched_by"] == "containment"
    _assert_every_drop_verifies(rows, dups, set(unique))


def test_an_excerpt_goes_and_the_full_interview_stays(tmp_path: Path) -> None:
    interview = article(6, paragraphs=10)
    rows = [{"id": "excerpt", "text": _text(interview[2:8])}, {"id": "full", "text": _text(interview)}]
    unique, dups = _run(tmp_path, rows)  # the excerpt comes first, and still goes
    assert set(unique) == {"full"} and dups["excerpt"]["duplicate_of"] == "full"
    assert dups["excerpt"]["containment"] == 1.0 and dups["excerpt"]["matched_by"] == "containment"


def _rule_corpus() -> list[dict[str, Any]]:
    story = article(7, paragraphs=6)
    edited = [p.replace(" the ", " a ", 1) for p in story]
    return [
        {"id": "s1", "text": _text(story), "date": "2025-03-01", "score": 0.2},
        {"id": "s2", "text": _text(edited), "date": "2025-03-03", "score": 0.9},
        {"id": "s3", "text": _text([*story, article(8, paragraphs=1)[0][:60]]), "date": "2025-03-02"},
        {"id": "other", "text": _text(article(9)), "date": "2025-03-04", "score": 0.5},
    ]


@pytest.mark.parametrize(
    ("keep", "kept"),
    [
        ("first", {"s1", "other"}),
        ("longest", {"s3", "other"}),
        ("newest:date", {"s2", "other"}),
        ("priority:score", {"s2", "other"}),
        ("none", {"other"}),
    ],
)
def test_keep_rules(tmp_path: Path, keep: str, kept: set[str]) -> None:
    rows = _rule_corpus()
    for r in rows[:3]:  # duplicates of each other both ways: the rule decides
        for o in rows[:3]:
            assert r is o or (_jaccard(r["text"], o["text"]) >= 0.5 and _inside(r["text"], o["text"]) >= 0.8)
    unique, dups = _run(tmp_path, rows, cluster={"keep": keep})
    assert set(unique) == kept
    if keep != "none":
        _assert_every_drop_verifies(rows, dups, set(unique))
        (winner,) = kept - {"other"}
        assert {d["duplicate_of"] for d in dups.values()} == {winner}
        assert unique[winner]["cluster_size"] == 3 and unique["other"]["cluster_size"] == 1
    else:
        assert set(dups) == {"s1", "s2", "s3"}
        for rid, d in dups.items():
            assert d["duplicate_of"] != rid and d["duplicate_of"] in {"s1", "s2", "s3"}
            assert d["cluster_id"] == "s1"  # the group's first record names the group


def test_priority_wants_numbers(tmp_path: Path) -> None:
    from dedup.errors import InputError

    rows = _rule_corpus()
    rows[1]["score"] = "high"
    with pytest.raises(InputError, match=r"field 'score' must hold numbers for keep: priority; found str"):
        _run(tmp_path, rows, cluster={"keep": "priority:score"})


NOTICE = (
    "Japanese crushers bought {} tonnes of Canadian rapeseed in export business overnight for {} shipment, "
    "trade sources said."
)
CRAWL = [
    "Storm Ciaran closed the port of Dover on Thursday, stranding 2,000 lorries on the M20 motorway "
    "as ferry operators waited for the wind to drop.",
    "The port said 14 ferries were cancelled and that crossings would resume once the harbour master "
    "judged the sea safe for the larger vessels.",
    "Officials said the backlog could take three days to clear and asked drivers to avoid the area "
    "until the weekend.",
    "Hauliers said the closure would cost the industry millions and called for a second route.",
]


def test_same_template_notices_with_other_amounts_stay_apart(tmp_path: Path) -> None:
    rows = [
        {"id": "april", "text": NOTICE.format("8,000", "April")},
        {"id": "may-range", "text": NOTICE.format("4,000 to 5,000", "May")},
        {"id": "may", "text": NOTICE.format("2,000", "May")},
        {"id": "reissue", "text": NOTICE.format("8,000", "April") + " Prices were not disclosed."},
    ]
    unique, dups = _run(tmp_path, rows)
    assert set(unique) == {"april", "may-range", "may"}
    assert dups["reissue"]["duplicate_of"] == "april"


def test_crawls_differing_in_a_volatile_line_are_one_page_and_the_verdict_is_pairwise(tmp_path: Path) -> None:
    one = [*CRAWL, "Updated 09:15, 4 comments, 120 shares"]
    two = [*CRAWL, "Updated 11:40, 7 comments, 310 shares"]
    rows = [{"id": "one", "text": _text(one)}, {"id": "two", "text": _text(two)}]
    unique, dups = _run(tmp_path, rows)
    assert set(unique) == {"one"} and dups["two"]["duplicate_of"] == "one"
    # A third copy without the line changes nothing about the pair.
    rows.append({"id": "three", "text": _text(CRAWL)})
    unique, dups = _run(tmp_path, rows)
    assert set(unique) == {"one"} and dups["two"]["duplicate_of"] == "one"
    # Another amount in the body splits them, with or without the third copy.
    rows[1]["text"] = _text([CRAWL[0].replace("2,000", "3,500"), *two[1:]])
    unique, dups = _run(tmp_path, rows)
    assert "two" in unique and "one" in unique


def test_a_drop_that_does_not_verify_stops_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    from dedup import cluster, resolve

    real = cluster.settle

    def wrong(*args: Any, **kwargs: Any) -> cluster.Settled:
        settled = real(*args, **kwargs)
        names = settled.duplicate_of.copy()
        names[0] = len(names) - 1  # drop the first group for the last, which it does not resemble
        return cluster.Settled(names, settled.pair, np.zeros_like(settled.contained))

    monkeypatch.setattr(resolve.cluster, "settle", wrong)
    rows = [{"id": "x", "text": _text(article(10))}, {"id": "y", "text": _text(article(11))}]
    with pytest.raises(
        VerificationError,
        match=r"1 dropped record\(s\) do not verify against the record they name \('x' -> 'y'\)",
    ):
        _run(tmp_path, rows)
    assert not (tmp_path / "out" / "report.json").exists()
