"""The keep step end to end: every drop names a kept record it verifiably resembles.

Expected values come from an oracle written here (plain Python sets of lowercased `\\w+` word
3-grams taken inside paragraphs), not from the product's shingling.
"""

from __future__ import annotations

import dataclasses
import datetime
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dedup
from dedup import config_from_dict, resolve, run
from dedup.errors import ConfigError, InputError, VerificationError
from tests.conftest import article, examples, write_jsonl


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


@pytest.mark.parametrize("field", ["cluster_id", "source_line", "input_rank"])
def test_a_keep_rule_names_the_input_field_whatever_its_output_column(tmp_path: Path, field: str) -> None:
    """A field whose name the outputs reserve (or that starts with `input_`) keeps its input name."""
    rows = _rule_corpus()
    for row, value in zip(rows, [1, 9, 5, 3], strict=True):
        row[field] = value
    unique, _ = _run(tmp_path, rows, cluster={"keep": f"priority:{field}"})
    assert set(unique) == {"s2", "other"}
    assert unique["s2"][f"input_{field}"] == 9  # the column as the outputs name it


@pytest.mark.parametrize(
    ("sections", "field", "which"),
    [
        ({}, "text", "text"),
        ({"input": {"text_field": "body"}}, "body", "text"),
        ({}, "id", "id"),
        ({"input": {"id_field": "doc"}}, "doc", "id"),
    ],
)
def test_a_keep_rule_on_the_records_own_fields_is_a_config_error(
    tmp_path: Path, sections: dict[str, Any], field: str, which: str
) -> None:
    """A made-up id (`file:line`) ranks as no id would; a text is no date or number."""
    message = rf"cluster.keep: priority:{field} ranks by the records' own {which} field"
    with pytest.raises(ConfigError, match=message):
        config_from_dict({**sections, "cluster": {"keep": f"priority:{field}"}})
    built = dataclasses.replace(
        config_from_dict(
            {**sections, "input": {**sections.get("input", {}), "paths": [str(tmp_path / "in.jsonl")]}}
        ),
        cluster=dedup.settings.ClusterConfig(keep=f"priority:{field}"),
    )
    write_jsonl(tmp_path / "in.jsonl", [{**r, "body": r["text"], "doc": r["id"]} for r in _rule_corpus()])
    with pytest.raises(ConfigError, match=message):  # a Config built directly is asked at the run
        run(dataclasses.replace(built, output=dedup.settings.OutputConfig(dir=str(tmp_path / "out"))))
    assert not (tmp_path / "out").exists(), "refused before anything is created"
    with pytest.raises(ConfigError, match=message):
        dedup.dedup_table(pa.table({field: ["x"], "other": ["y"]}), built)


def test_a_config_built_with_one_field_for_id_and_text_is_refused_by_every_job(tmp_path: Path) -> None:
    """Every record's id would be its text: exact repeats rejected as repeated ids, not dropped."""
    from dedup.index import batch

    write_jsonl(tmp_path / "in.jsonl", _rule_corpus())
    loaded = config_from_dict(
        {"input": {"paths": [str(tmp_path / "in.jsonl")]}, "output": {"dir": str(tmp_path / "o")}}
    )
    built = dataclasses.replace(loaded, input=dataclasses.replace(loaded.input, id_field="text"))
    message = "input.id_field and input.text_field both name the field 'text'"
    bogus = dataclasses.replace(loaded, cluster=dedup.settings.ClusterConfig(keep="bogus"))
    for job in (
        run,
        lambda c: dedup.dedup_table(pa.table({"text": ["a b c"]}), c),
        lambda c: batch.run(c, True),
    ):
        with pytest.raises(ConfigError, match=message):
            job(built)
        with pytest.raises(ConfigError, match=r"cluster.keep must be 'first', .*; got 'bogus'"):
            job(bogus)  # a ConfigError (a DedupError), not a bare ValueError
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


def test_the_id_and_text_fields_must_be_two_fields() -> None:
    with pytest.raises(
        ConfigError, match=r"input\.id_field and input\.text_field both name the field .text."
    ):
        config_from_dict({"input": {"id_field": "text"}})


def test_priority_wants_numbers(tmp_path: Path) -> None:
    rows = _rule_corpus()
    rows[1]["score"] = "high"
    with pytest.raises(
        InputError,
        match=r"^record 's2': field 'score' must hold numbers for keep: priority; found str 'high' "
        r"\(cluster.keep: priority:score\)$",
    ) as caught:
        _run(tmp_path, rows, cluster={"keep": "priority:score"})
    assert caught.value.field == "score"


def test_priority_reads_numbers_written_as_text(tmp_path: Path) -> None:
    rows = _rule_corpus()
    rows[0]["score"], rows[1]["score"], rows[2]["score"] = 9, "10", 2.5  # one field, two JSON types
    unique, _ = _run(tmp_path, rows, cluster={"keep": "priority:score"})
    assert set(unique) == {"s2", "other"}


@pytest.mark.parametrize(
    ("dates", "winner"),
    [
        (["26-MAR-1987 15:01:01.79", "13-APR-1987 09:00:00.00", "2-APR-1987 10:00:00.00"], "s2"),  # Reuters
        (["2024-1-9", "2024-1-10", "2024-01-09T23:00:00"], "s2"),  # not zero-padded: a date, not text
        (["2024-01-01T10:00:00+02:00", "2024-01-01T09:00:00Z", "2024-01-01T08:30:00Z"], "s2"),  # in UTC
        ([1700000000, 1700000500, 1600000000], "s2"),  # numbers compare as numbers
    ],
)
def test_newest_reads_dates_and_times(tmp_path: Path, dates: list[object], winner: str) -> None:
    rows = _rule_corpus()
    for row, date in zip(rows, [*dates, dates[-1]], strict=True):
        row["date"] = date
    unique, _ = _run(tmp_path, rows, cluster={"keep": "newest:date"})
    assert set(unique) == {winner, "other"}


def test_newest_refuses_what_is_no_date(tmp_path: Path) -> None:
    rows = _rule_corpus()
    rows[2]["date"] = "yesterday"
    with pytest.raises(InputError, match=r"^record 's3': field 'date': 'yesterday' is not a date or time"):
        _run(tmp_path, rows, cluster={"keep": "newest:date"})


@pytest.mark.parametrize("nulls", [False, True])
@pytest.mark.parametrize("keep", ["newest:published", "priority:nosuch"])
def test_a_keep_field_no_record_has_is_an_error(tmp_path: Path, keep: str, nulls: bool) -> None:
    """The message holds for a field absent everywhere and for one that is null everywhere."""
    field = keep.split(":")[1]
    rows = _rule_corpus()
    if nulls:
        for row in rows:
            row[field] = None
    with pytest.raises(
        InputError, match=rf"^field '{field}' is missing or null in every record \(cluster.keep: {keep}\)$"
    ) as caught:
        _run(tmp_path, rows, cluster={"keep": keep})
    assert caught.value.field == field  # the error names the field, for a caller to act on


def test_keep_none_names_the_record_a_container_holds(tmp_path: Path) -> None:
    inner = article(12, paragraphs=4)
    rows = [
        {"id": "inner", "text": _text(inner)},
        {"id": "outer", "text": _text(inner + article(13, paragraphs=3))},
    ]
    unique, dups = _run(tmp_path, rows, cluster={"keep": "none"})
    assert unique == {}
    assert (dups["inner"]["duplicate_of"], dups["inner"]["matched_by"]) == ("outer", "containment")
    assert dups["inner"]["containment"] == 1.0
    # The container goes too (it holds the other); its evidence is the share of the named one in it.
    assert (dups["outer"]["duplicate_of"], dups["outer"]["matched_by"]) == ("inner", "contains")
    assert dups["outer"]["containment"] == pytest.approx(_inside(rows[0]["text"], rows[1]["text"]))
    assert dups["outer"]["containment"] == 1.0 and _inside(rows[1]["text"], rows[0]["text"]) < 0.8


def test_many_near_copies_leave_no_two_kept_records_that_verify(tmp_path: Path) -> None:
    import random

    rng = random.Random(5)
    base = [p.split() for p in article(14, paragraphs=6, words=30)]
    rows = []
    for k in range(150):
        paragraphs = [list(p) for p in base]
        for _ in range(3):
            paragraphs[rng.randrange(6)][rng.randrange(30)] = rng.choice(["alpha", "beta", "gamma", "delta"])
        rows.append({"id": f"near{k:03d}", "text": _text([" ".join(p) for p in paragraphs])})
    unique, dups = _run(tmp_path, rows)
    _assert_every_drop_verifies(rows, dups, set(unique))
    texts = [rows[int(k[4:])]["text"] for k in unique]
    for i, a in enumerate(texts):
        for b in texts[i + 1 :]:
            assert _jaccard(a, b) < 0.5 and _inside(a, b) < 0.8 and _inside(b, a) < 0.8


def test_weekly_reports_of_other_weeks_stay_apart(tmp_path: Path) -> None:
    filler = _text(article(15, paragraphs=2))
    rows = [
        {"id": "march", "text": "Exports in the week ended March 19 were 1,200 tonnes.\n\n" + filler},
        {"id": "april", "text": "Exports in the week ended April 19 were 1,200 tonnes.\n\n" + filler},
        {
            "id": "again",
            "text": "Exports in the week ended March 19 were 1,200 tonnes.\n\n" + filler + " Final.",
        },
    ]
    unique, dups = _run(tmp_path, rows)
    assert set(unique) == {"march", "april"} and dups["again"]["duplicate_of"] == "march"


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


def test_a_keep_step_that_keeps_both_records_of_a_verified_pair_stops_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dedup import cluster, resolve

    def keep_all(rank: Any, edges: Any, verdict: Any, drop_all: bool = False) -> cluster.Settled:
        n = len(rank)  # a keep step that drops nothing: a duplicate is left in
        return cluster.Settled(np.full(n, -1, np.int64), np.full(n, -1, np.int64), np.zeros(n, dtype=bool))

    monkeypatch.setattr(resolve.cluster, "settle", keep_all)
    story = article(10)
    rows = [
        {"id": "x", "text": _text(story)},
        {"id": "other", "text": _text(article(11))},
        {
            "id": "y",
            "text": _text([*story[:-1], "A closing line of its own that the first record does not have."]),
        },
    ]
    with pytest.raises(VerificationError) as caught:
        _run(tmp_path, rows)
    assert str(caught.value) == (
        "1 verified pair(s) join two kept records ('x' and 'y'); nothing was written. "
        "This is a bug in dedup (cluster.keep: first)"
    )
    assert not (tmp_path / "out" / "report.json").exists()


def _misnamed(monkeypatch: pytest.MonkeyPatch, wrong: dict[int, int], near: bool = False) -> None:
    """Make the keep step's expansion name another record for the rows in `wrong` (a planted bug).

    With `near`, the rows are marked near-duplicate (Jaccard) drops.
    """
    from dedup import resolve

    real = resolve._expand

    def expand(*args: Any, **kwargs: Any) -> Any:
        found = real(*args, **kwargs)
        for row, named in wrong.items():
            found.duplicate_of[row] = named
            if near:
                found.matched_by[row] = resolve.JACCARD
        return found

    monkeypatch.setattr(resolve, "_expand", expand)


def test_every_drop_that_does_not_verify_is_counted_exact_and_near_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    story = article(20)
    rows = [
        {"id": "a1", "text": _text(article(21))},
        {"id": "a2", "text": _text(article(21))},  # an exact repeat of a1
        {"id": "b", "text": _text(story)},
        {
            "id": "b-copy",
            "text": _text([*story[:-1], "A closing line of its own that the first record does not have."]),
        },
        {"id": "c1", "text": _text(article(22))},
        {"id": "c2", "text": _text(article(23))},
    ]
    _, dups = _run(tmp_path, rows)
    assert (dups["a2"]["duplicate_of"], dups["b-copy"]["duplicate_of"]) == ("a1", "b")  # the run as it is
    _misnamed(monkeypatch, {1: 4, 3: 5})  # a2 -> c1 (exact), b-copy -> c2 (near)
    with pytest.raises(VerificationError) as caught:
        _run(tmp_path, rows)
    assert str(caught.value) == (
        "2 dropped record(s) do not verify against the record they name ('a2' -> 'c1', 'b-copy' -> 'c2'); "
        "nothing was written. This is a bug in dedup (cluster.keep: first)"
    )


def test_a_long_list_of_drops_that_do_not_verify_names_the_first_five(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [{"id": f"e{k}", "text": _text(article(30))} for k in range(7)]  # seven repeats of one text
    rows.append({"id": "c", "text": _text(article(31))})
    _misnamed(monkeypatch, {k: 7 for k in range(1, 7)})
    with pytest.raises(VerificationError) as caught:
        _run(tmp_path, rows)
    listed = ", ".join(f"'e{k}' -> 'c'" for k in range(1, 6))
    assert str(caught.value).startswith(
        f"6 dropped record(s) do not verify against the record they name ({listed});"
    )


# The global resolve step on a corpus of stories, edited copies, excerpts, repeats and others --------


def _resolve_corpus() -> list[dict[str, Any]]:
    rng = random.Random(11)
    rows: list[dict[str, Any]] = []
    for k in range(8):
        story = article(100 + k, paragraphs=6)
        rows.append({"id": f"s{k}", "text": "\n\n".join(story)})
        for c in range(3):  # edited copies: a word changed in some paragraphs
            edited = [p.replace(" the ", " a ", 1) if rng.random() < 0.5 else p for p in story]
            rows.append({"id": f"s{k}-copy{c}", "text": "\n\n".join(edited)})
        rows.append({"id": f"s{k}-excerpt", "text": "\n\n".join(story[:4])})  # inside the story
        if k % 3 == 0:
            rows.append({"id": f"s{k}-again", "text": "\n\n".join(story)})  # an exact repeat
    rows += [{"id": f"other{k}", "text": "\n\n".join(article(900 + k))} for k in range(4)]
    rng.shuffle(rows)
    return rows


def _resolve_tables(
    rows: list[dict[str, Any]], **overrides: Any
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    result = dedup.dedup_table(pa.Table.from_pylist(rows), **overrides)
    return result.unique.to_pylist(), result.duplicates.to_pylist()


@pytest.mark.parametrize("keep", ["first", "longest", "none"])
def test_the_memory_knobs_change_nothing(keep: str, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = _resolve_corpus()
    expected = _resolve_tables(rows, cluster__keep=keep)
    monkeypatch.setattr(resolve, "PAIRS_HELD", 1)  # band pairs deduplicated after every band
    monkeypatch.setattr(resolve, "VERIFY_CHUNK", 3)  # three pairs verified at a time
    assert _resolve_tables(rows, cluster__keep=keep) == expected


def test_every_drop_verifies_against_the_oracle_and_names_a_kept_record() -> None:
    rows = _resolve_corpus()
    unique, dups = _resolve_tables(rows)
    kept = {r["id"] for r in unique}
    assert len(kept) + len(dups) == len(rows)
    _assert_every_drop_verifies(rows, {d["id"]: d for d in dups}, kept)
    by_id = {d["id"]: d for d in dups}
    texts = {r["id"]: r["text"] for r in rows}
    for k in range(8):
        assert by_id[f"s{k}-excerpt"]["matched_by"] == "containment"
    exact = [d for d in dups if d["matched_by"] == "exact"]
    assert exact and all(texts[d["duplicate_of"]] == texts[d["id"]] for d in exact)
    assert {f"other{k}" for k in range(4)} <= kept
    sizes = {r["id"]: r["cluster_size"] for r in unique}
    assert all(sizes[f"other{k}"] == 1 for k in range(4))
    assert sum(sizes.values()) == len(rows)


def test_keep_none_drops_every_record_with_a_duplicate_and_names_a_partner() -> None:
    rows = _resolve_corpus()
    unique, dups = _resolve_tables(rows, cluster__keep="none")
    assert {r["id"] for r in unique} == {f"other{k}" for k in range(4)}
    for d in dups:
        assert d["duplicate_of"] != d["id"] and d["duplicate_of"].split("-")[0] == d["id"].split("-")[0]
    excerpts = {d["id"]: d for d in dups if d["id"].endswith("-excerpt")}
    assert all(d["matched_by"] == "containment" for d in excerpts.values())


def _only_pairs(monkeypatch: pytest.MonkeyPatch, wanted: set[tuple[str, str]], ids: list[str]) -> None:
    """Make LSH propose exactly the record pairs `wanted` (by id), as band keys might."""

    def proposed(source: Any, rep: Any, bands: int, max_bucket: int) -> Any:
        import numpy as np

        unit = {int(r): k for k, r in enumerate(rep)}  # record row -> its exact group's unit
        pairs = sorted(tuple(sorted((unit[ids.index(a)], unit[ids.index(b)]))) for a, b in wanted)
        return np.array(pairs, dtype=np.int64).reshape(-1, 2)

    monkeypatch.setattr(resolve, "candidate_pairs", proposed)


@pytest.mark.parametrize(
    "order", [["lead", "half", "full"], ["full", "half", "lead"], ["half", "lead", "full"]]
)
def test_records_kept_side_by_side_that_lsh_never_paired_are_verified_against_each_other(
    monkeypatch: pytest.MonkeyPatch, order: list[str]
) -> None:
    # `half` is inside `full`, but their band keys never met: LSH proposed only `lead` with each.
    # `lead` (two paragraphs) is inside both; dropped, it leaves `half` and `full` kept side by
    # side in one group, so they are verified against each other and `half` goes for `full`.
    story = article(77, paragraphs=10)
    texts = {"lead": story[:2], "half": story[:6], "full": story}
    rows = [{"id": name, "text": "\n\n".join(texts[name])} for name in order]
    _only_pairs(monkeypatch, {("lead", "half"), ("lead", "full")}, order)
    unique, dups = _resolve_tables(rows)
    assert [r["id"] for r in unique] == ["full"]
    by_id = {d["id"]: d for d in dups}
    assert {k: (d["duplicate_of"], d["matched_by"]) for k, d in by_id.items()} == {
        "lead": ("full", "containment"),
        "half": ("full", "containment"),
    }
    # The oracle's share of each dropped record inside `full`: all of it.
    full = _shingles("\n\n".join(story))
    for name in ("lead", "half"):
        mine = _shingles("\n\n".join(texts[name]))
        assert len(mine & full) / len(mine) == 1.0
        assert by_id[name]["containment"] == pytest.approx(1.0)


def test_keep_none_does_not_look_for_more_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    # Under `keep: none` every record with a verified partner goes: `half` and `full` both go for
    # `lead`'s pairs, whatever LSH did not propose.
    story = article(78, paragraphs=10)
    order = ["lead", "half", "full"]
    texts = {"lead": story[:2], "half": story[:6], "full": story}
    rows = [{"id": name, "text": "\n\n".join(texts[name])} for name in order]
    _only_pairs(monkeypatch, {("lead", "half"), ("lead", "full")}, order)
    unique, dups = _resolve_tables(rows, cluster__keep="none")
    assert unique == [] and sorted(d["id"] for d in dups) == sorted(order)


def test_extra_candidate_pairs_join_the_bands_pairs_once_each_way_round() -> None:
    import numpy as np

    from dedup.resolve import _with_extra

    pairs = np.array([[0, 1], [2, 3]], dtype=np.int64)
    extra = np.array([[3, 2], [1, 1], [4, 0], [0, 4]], dtype=np.int64)  # a repeat, a self-pair
    out = _with_extra(pairs, extra, 5)
    assert out.dtype == np.int64
    assert out.tolist() == [[0, 1], [0, 4], [2, 3]]  # sorted, i < j, no self-pair, no repeat
    assert _with_extra(np.empty((0, 2), np.int64), np.array([[7, 6]]), 9).tolist() == [[6, 7]]


@pytest.mark.parametrize("was_on", [True, False])
def test_the_figures_step_leaves_the_garbage_collector_as_it_found_it(was_on: bool) -> None:
    import gc

    from dedup.resolve import collector_paused

    (gc.enable if was_on else gc.disable)()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert gc.isenabled() == was_on
        with pytest.raises(RuntimeError), collector_paused():
            raise RuntimeError("a failure inside")
        assert gc.isenabled() == was_on
    finally:
        gc.enable()


@settings(max_examples=examples(300))
@given(st.data())
def test_kept_pairs_are_every_unchecked_pair_of_kept_records_in_one_group(data: st.DataObject) -> None:
    import itertools
    from unittest import mock

    from dedup import resolve as module
    from dedup.cluster import Settled

    n = data.draw(st.integers(0, 40))
    labels = data.draw(st.lists(st.integers(0, 6), min_size=n, max_size=n))
    dropped = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    units = max(n, 1)
    every = [(a, b) for a, b in itertools.combinations(range(n), 2) if labels[a] == labels[b]]
    drawn = data.draw(st.lists(st.sampled_from(every))) if every else []
    checked = sorted({a * units + b for a, b in drawn})  # pairs verified already
    settled = Settled(
        np.array([0 if d else -1 for d in dropped], dtype=np.int64),
        np.zeros(n, dtype=np.int64),
        np.zeros(n, dtype=bool),
    )
    limit = data.draw(st.integers(2, 8))  # groups keeping more records side by side are left as they are
    with mock.patch.object(module, "GROUP_CHECK", limit):
        got = module._kept_pairs(np.array(labels, dtype=np.int64), settled, np.array(checked, dtype=np.int64))
    kept = [r for r in range(n) if not dropped[r]]
    size = {g: sum(1 for r in kept if labels[r] == g) for g in set(labels)}
    expected = sorted(
        (a, b)
        for a, b in itertools.combinations(kept, 2)
        if labels[a] == labels[b] and size[labels[a]] <= limit and a * units + b not in checked
    )
    assert sorted(map(tuple, got.tolist())) == expected
    assert got.dtype == np.int64 and got.shape[1:] == (2,)


def test_keep_none_drops_both_copies_of_a_text_repeated_twice_and_names_each_group() -> None:
    story = article(40, paragraphs=6)
    rows = [
        {"id": "t1", "text": _text(article(41))},
        {"id": "t2", "text": _text(article(41))},  # t1 exactly, once: the first group in order
        {"id": "n1", "text": _text(story)},
        {"id": "n2", "text": _text([p.replace(" the ", " a ", 1) for p in story])},
        {"id": "other", "text": _text(article(42))},
    ]
    assert _jaccard(rows[2]["text"], rows[3]["text"]) >= 0.5  # the oracle: n1 and n2 are near-duplicates
    result = dedup.dedup_table(pa.Table.from_pylist(rows), cluster__keep="none")
    assert result.unique.column("id").to_pylist() == ["other"]
    got = {d["id"]: (d["duplicate_of"], d["match"], d["cluster_id"]) for d in result.duplicates.to_pylist()}
    assert got == {
        "t1": ("t2", "exact", "t1"),
        "t2": ("t1", "exact", "t1"),
        "n1": ("n2", "near", "n1"),
        "n2": ("n1", "near", "n1"),
    }
    assert result.report.groups == 2  # {t1, t2} and {n1, n2}


def test_without_the_figures_rule_records_differing_in_a_figure_are_near_duplicates() -> None:
    story = article(43, paragraphs=6)
    rows = [
        {"id": "five", "text": _text([*story, "Sales rose 5 pct in March."])},
        {"id": "six", "text": _text([*story, "Sales rose 6 pct in March."])},
    ]
    with_rule = dedup.dedup_table(pa.Table.from_pylist(rows))
    assert with_rule.unique.column("id").to_pylist() == ["five", "six"]  # another figure, one frame
    without = dedup.dedup_table(pa.Table.from_pylist(rows), lsh__figures=False)
    assert without.unique.column("id").to_pylist() == ["five"]
    assert without.duplicates.column("duplicate_of").to_pylist() == ["five"]


def test_containment_holds_when_jaccard_is_estimated(monkeypatch: pytest.MonkeyPatch) -> None:
    story = article(44, paragraphs=9)
    rows = [{"id": "full", "text": _text(story)}, {"id": "lead", "text": _text(story[:2])}]
    # The oracle: lead is wholly inside full, and too short beside it to be similar by Jaccard.
    assert (
        _jaccard(rows[0]["text"], rows[1]["text"]) < 0.5 and _inside(rows[1]["text"], rows[0]["text"]) == 1.0
    )
    _only_pairs(monkeypatch, {("full", "lead")}, ["full", "lead"])
    unique, dups = _resolve_tables(rows, lsh__verify="estimate")
    assert [r["id"] for r in unique] == ["full"]
    assert [(d["id"], d["duplicate_of"], d["matched_by"]) for d in dups] == [("lead", "full", "containment")]


def test_pairs_the_paragraph_index_finds_are_verified_as_band_pairs_are(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    story = article(50, paragraphs=12)
    rows = [
        {"id": "story", "text": _text(story)},
        {"id": "excerpt", "text": _text(story[4:7])},  # three paragraphs of the story, nothing else
        {"id": "other", "text": _text(article(51))},
    ]
    assert _inside(rows[1]["text"], rows[0]["text"]) == 1.0
    _only_pairs(monkeypatch, set(), [r["id"] for r in rows])  # LSH proposes no pair at all
    unique, dups = _resolve_tables(rows, granularity="paragraph")
    assert [r["id"] for r in unique] == ["story", "other"]
    assert [(d["id"], d["duplicate_of"], d["matched_by"]) for d in dups] == [
        ("excerpt", "story", "containment")
    ]


def test_a_drop_on_a_pair_the_figures_rule_split_stops_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `six` resembles `five` by its shingles, but states another figure in one frame: the figures
    # rule split the pair, so no verified pair joins them and a drop of one for the other is a bug.
    story = article(45, paragraphs=6)
    rows = [
        {"id": "five", "text": _text([*story, "Sales rose 5 pct in March."])},
        {"id": "six", "text": _text([*story, "Sales rose 6 pct in March."])},
    ]
    assert _jaccard(rows[0]["text"], rows[1]["text"]) >= 0.5  # the oracle: similar by shingles
    unique, _ = _run(tmp_path, rows)
    assert set(unique) == {"five", "six"}
    _misnamed(monkeypatch, {1: 0}, near=True)
    with pytest.raises(VerificationError) as caught:
        _run(tmp_path, rows)
    assert str(caught.value).startswith(
        "1 dropped record(s) do not verify against the record they name ('six' -> 'five')"
    )


def test_keep_none_names_the_next_copy_of_a_repeated_text() -> None:
    rows = [{"id": f"e{k}", "text": _text(article(46))} for k in range(4)]  # one text, four times
    rows.append({"id": "other", "text": _text(article(47))})
    result = dedup.dedup_table(pa.Table.from_pylist(rows), cluster__keep="none")
    assert result.unique.column("id").to_pylist() == ["other"]
    got = {d["id"]: d["duplicate_of"] for d in result.duplicates.to_pylist()}
    # The first copy names the second; every other copy names the first (each names another copy).
    assert got == {"e0": "e1", "e1": "e0", "e2": "e0", "e3": "e0"}


@pytest.mark.parametrize("keep", ["none", "first"])
def test_a_notice_stating_other_figures_stays_under_every_rule(tmp_path: Path, keep: str) -> None:
    story = " ".join(article(31, paragraphs=2, words=40))
    rows = [
        {"id": "a", "text": f"{story} The board declared a dividend of 12 cents a share."},
        {"id": "b", "text": f"{story} The board declared a dividend of 12 cents a share, payable soon."},
        {"id": "c", "text": f"{story} The board declared a dividend of 20 cents a share."},
    ]
    for x in rows:
        for y in rows:
            assert x is y or _jaccard(x["text"], y["text"]) >= 0.5  # all three pair up on their words
    unique, dups = _run(tmp_path, rows, cluster={"keep": keep})
    # The figures rule splits `c` from both, then the keep step decides again over what is left.
    if keep == "none":  # every record with a duplicate goes: `a` and `b`, each naming the other
        assert set(unique) == {"c"}
        assert {k: d["duplicate_of"] for k, d in dups.items()} == {"a": "b", "b": "a"}
    else:
        assert set(unique) == {"a", "c"}
        assert {k: d["duplicate_of"] for k, d in dups.items()} == {"b": "a"}


def test_a_containment_the_figures_rule_splits_does_not_decide_which_record_is_taken_first(
    tmp_path: Path,
) -> None:
    # "first" and "second" are near-duplicates both ways (Jaccard only) stating the same rate;
    # "third" holds all of "first" but states another rate (the figures rule splits them). Under
    # keep: first, "first" is kept and "second" dropped for it, as without "third": a record is
    # taken after one it is inside only while that containment stands.
    body = article(77, paragraphs=4, words=40)
    rate = "Federal funds were trading at {} pct when the Fed began its supply of reserves."
    first = _text([*body, rate.format("6-1/4")])
    words = first.split(" ")
    second = _text(
        [
            " ".join(w if k % 10 != 5 else "edited" for k, w in enumerate(p.split(" ")))
            for p in first.split("\n\n")
        ]
    )
    third = _text([*body, rate.format("6-1/2"), *article(78, paragraphs=6, words=40)])
    assert _jaccard(first, second) >= 0.5 and max(_inside(first, second), _inside(second, first)) < 0.8
    assert _inside(first, third) >= 0.8 and _inside(second, third) < 0.8 and len(words) > 100
    rows = [{"id": "first", "text": first}, {"id": "second", "text": second}, {"id": "third", "text": third}]
    unique, dups = _run(tmp_path, rows)
    assert set(unique) == {"first", "third"} and dups["second"]["duplicate_of"] == "first"
    (tmp_path / "without-third").mkdir()
    alone, alone_dups = _run(tmp_path / "without-third", rows[:2])
    assert set(alone) == {"first"} and alone_dups["second"]["duplicate_of"] == "first"
    _assert_every_drop_verifies(rows, dups, set(unique))


@pytest.mark.parametrize("kind", ["timestamp", "timestamp-utc", "date", "pandas", "parquet"])
def test_newest_reads_native_dates_and_times(kind: str, tmp_path: Path) -> None:
    rows = _rule_corpus()
    days = [datetime.datetime(2025, 3, d, 12, 30) for d in (1, 3, 2, 4)]  # s2 is the newest of the three
    column: Any = {
        "timestamp": pa.array(days, pa.timestamp("us")),
        "timestamp-utc": pa.array(days, pa.timestamp("ms", tz="UTC")),
        "date": pa.array([d.date() for d in days], pa.date32()),
        "pandas": None,
        "parquet": pa.array(days, pa.timestamp("us")),
    }[kind]
    texts = {"id": [r["id"] for r in rows], "text": [r["text"] for r in rows]}
    config = config_from_dict({"cluster": {"keep": "newest:when"}, "output": {"dir": str(tmp_path / "out")}})
    if kind == "pandas":
        unique = dedup.dedup_table(pd.DataFrame({**texts, "when": pd.to_datetime(days)}), config).unique
    elif kind == "parquet":
        pq.write_table(pa.table({**texts, "when": column}), tmp_path / "in.parquet")
        data = {"cluster": {"keep": "newest:when"}, "output": {"dir": str(tmp_path / "out")}}
        dedup.run(config_from_dict({**data, "input": {"paths": [str(tmp_path / "in.parquet")]}}))
        unique = pq.read_table(tmp_path / "out" / "unique.parquet")
    else:
        unique = dedup.dedup_table(pa.table({**texts, "when": column}), config).unique
    assert set(unique["id"].to_pylist()) == {"s2", "other"}


@pytest.mark.parametrize("kind", ["pandas", "arrow", "parquet"])
def test_newest_tells_apart_times_a_nanosecond_apart(kind: str, tmp_path: Path) -> None:
    # A float of seconds since 1970 holds about a quarter of a microsecond: nanosecond stamps (a
    # pandas or Arrow timestamp[ns] column) must still rank by every digit they have.
    rows = _rule_corpus()
    base = 1_740_000_000_123_456_000  # ns since the epoch, 2025-02-19
    stamps = [base, base + 1, base - 1, base + 2]  # s2 (base + 1) is the newest of the three
    texts = {"id": [r["id"] for r in rows], "text": [r["text"] for r in rows]}
    config = config_from_dict({"cluster": {"keep": "newest:when"}, "output": {"dir": str(tmp_path / "out")}})
    if kind == "pandas":
        table: Any = pd.DataFrame({**texts, "when": pd.to_datetime(stamps, unit="ns")})
    else:
        table = pa.table({**texts, "when": pa.array(stamps, pa.timestamp("ns"))})
    if kind == "parquet":  # through `dedup run`, which writes the stamps back as they were
        pq.write_table(table, tmp_path / "in.parquet")
        data = {"cluster": {"keep": "newest:when"}, "output": {"dir": str(tmp_path / "out")}}
        dedup.run(config_from_dict({**data, "input": {"paths": [str(tmp_path / "in.parquet")]}}))
        unique = pq.read_table(tmp_path / "out" / "unique.parquet")
        assert unique.schema.field("when").type == pa.timestamp("ns")
        assert sorted(unique["when"].cast(pa.int64()).to_pylist()) == [base + 1, base + 2]
    else:
        unique = dedup.dedup_table(table, config).unique
    assert set(unique.column("id").to_pylist()) == {"s2", "other"}


def test_newest_ranks_an_object_column_of_times_by_every_digit(tmp_path: Path) -> None:
    # pandas keeps times of several zones (or times beside dates) as Python objects; Arrow's
    # inference would cut them to microseconds (or to the day). Such a column is kept as it
    # reads (JSON text of each value) and ranked by every digit it holds.
    rows = _rule_corpus()
    texts = {"id": [r["id"] for r in rows], "text": [r["text"] for r in rows]}
    utc = pd.Timestamp("2024-01-01", tz="UTC")
    at = [utc + pd.Timedelta(nanoseconds=k) for k in (1, 3, 2, 0)]
    at[1] = at[1].tz_convert("Europe/Paris")  # s2, the newest of the three, in another zone
    config = config_from_dict({"cluster": {"keep": "newest:when"}, "output": {"dir": str(tmp_path / "out")}})
    unique = dedup.dedup_table(pd.DataFrame({**texts, "when": pd.Series(at, dtype=object)}), config).unique
    assert set(unique.column("id").to_pylist()) == {"s2", "other"}
    # The same beside a column Arrow cannot read at all (read column by column).
    odd = pd.Series([1, "one", None, [1, 2]], dtype=object)
    frame = pd.DataFrame({**texts, "when": pd.Series(at, dtype=object), "odd": odd})
    assert set(dedup.dedup_table(frame, config).unique.column("id").to_pylist()) == {"s2", "other"}
    day, moment = datetime.date(2024, 1, 2), datetime.datetime(2024, 1, 2, 0, 0, 1)
    mixed = pd.Series([day, moment, day, day], dtype=object)  # s2 a second after midnight
    result = dedup.dedup_table(pd.DataFrame({**texts, "when": mixed}), config)
    assert set(result.unique.column("id").to_pylist()) == {"s2", "other"}
    kept = dict(
        zip(result.unique.column("id").to_pylist(), result.unique.column("when").to_pylist(), strict=True)
    )
    assert "00:00:01" in kept["s2"], "the time of day is kept, not cut to the date"


def test_newest_ranks_text_times_with_nanoseconds(tmp_path: Path) -> None:
    rows = _rule_corpus()
    for row, frac in zip(rows, ["000000001", "000000003", "000000002", "0"], strict=True):
        row["date"] = f"2024-01-01T00:00:00.{frac}Z"
    unique, _ = _run(tmp_path, rows, cluster={"keep": "newest:date"})
    assert set(unique) == {"s2", "other"}


def test_newest_refuses_numbers_beside_times_in_an_object_column(tmp_path: Path) -> None:
    rows = _rule_corpus()
    texts = {"id": [r["id"] for r in rows], "text": [r["text"] for r in rows]}
    stamp = pd.Timestamp("2024-01-01")
    when = pd.Series([stamp, 5, stamp, stamp], dtype=object)
    config = config_from_dict({"cluster": {"keep": "newest:when"}, "output": {"dir": str(tmp_path / "out")}})
    with pytest.raises(dedup.InputError, match="do not compare"):
        dedup.dedup_table(pd.DataFrame({**texts, "when": when}), config)


@pytest.mark.parametrize("keep", ["priority:score", "newest:score"])
def test_decimal_numbers_rank_as_numbers(keep: str, tmp_path: Path) -> None:
    # A Parquet (or pandas) decimal column holds numbers: both rules read it; null is missing.
    from decimal import Decimal

    rows = _rule_corpus()
    scores = [Decimal("0.20"), Decimal("0.90"), None, Decimal("0.5")]  # s2 ranks first
    table = pa.table({"id": [r["id"] for r in rows], "text": [r["text"] for r in rows]})
    pq.write_table(
        table.append_column("score", pa.array(scores, pa.decimal128(9, 2))), tmp_path / "in.parquet"
    )
    out = tmp_path / "out"
    run(
        config_from_dict(
            {
                "input": {"paths": [str(tmp_path / "in.parquet")]},
                "output": {"dir": str(out)},
                "cluster": {"keep": keep},
            }
        )
    )
    assert set(pq.read_table(out / "unique.parquet").column("id").to_pylist()) == {"s2", "other"}
    frame = pd.DataFrame({"id": table["id"].to_pylist(), "text": table["text"].to_pylist(), "score": scores})
    unique = dedup.dedup_table(frame, cluster__keep=keep).unique
    assert set(unique.column("id").to_pylist()) == {"s2", "other"}


def test_priority_compares_numbers_exactly(tmp_path: Path) -> None:
    # Past 2**53 a float ties neighbouring integers (an epoch in nanoseconds is one); a decimal's
    # last digit, or an integer written as text, counts too.
    from decimal import Decimal

    big = 2**53
    cases: list[list[object]] = [
        [big, big + 1, big - 1],
        [Decimal("0.1000000000000000000001"), Decimal("0.1000000000000000000002"), Decimal("0.1")],
        [str(big), str(big + 1), "1e3"],
    ]
    for scores in cases:
        rows = _rule_corpus()[:3]
        for row, score in zip(rows, scores, strict=True):
            row["score"] = score
        frame = pd.DataFrame(rows).astype({"score": object})
        unique = dedup.dedup_table(frame, cluster__keep="priority:score").unique
        assert unique.column("id").to_pylist() == ["s2"], scores
