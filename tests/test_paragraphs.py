"""`granularity: paragraph`: boilerplate out of records, contained copies found at any length.

Expected outcomes come from an oracle that shares no code with dedup: plain Python sets of
lowercased `\\w+` word 3-grams taken inside each paragraph (a paragraph of one or two words is one
shingle), written below.
"""

from __future__ import annotations

import random
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

import dedup
from dedup import InputError, config_from_dict, dedup_table
from dedup.featurize import featurize
from dedup.paragraphs import paragraph_features, strip
from dedup.records import ID, SOURCE_FILE, SOURCE_LINE, TEXT
from tests.conftest import article, write_jsonl
from tests.corpus import ROOT

PARAGRAPH = {"granularity": "paragraph"}


# The oracle -----------------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def _shingles(paragraphs: list[str]) -> set[tuple[str, ...]]:
    out: set[tuple[str, ...]] = set()
    for paragraph in paragraphs:
        words = _words(paragraph)
        if 0 < len(words) < 3:
            out.add(tuple(words))
        out.update(tuple(words[i : i + 3]) for i in range(len(words) - 2))
    return out


def _jaccard(a: list[str], b: list[str]) -> float:
    x, y = _shingles(a), _shingles(b)
    return len(x & y) / len(x | y)


def _inside(a: list[str], b: list[str]) -> float:
    """The share of `a`'s shingles found in `b`."""
    x = _shingles(a)
    return len(x & _shingles(b)) / len(x)


# Corpora ----------------------------------------------------------------------------------------------

_VOCABULARY = (  # noqa: SIM905
    "kettle lamp chair copper garden window silver cotton linen wooden ceramic glass heavy light "
    "small large soft warm cool fresh classic modern vintage rustic elegant simple durable compact "
    "portable sturdy smooth polished natural organic blue green orange grey black white red brass "
    "oak walnut pine bamboo wool leather marble steel"
).split()

DELIVERY = (
    "Delivery and returns: we deliver to every address in the country within three to five working days, "
    "and orders placed before noon leave our warehouse the same day. Delivery is free on orders over fifty "
    "pounds. If you are not completely happy with your purchase you can return it within thirty days for a "
    "full refund, provided the item is unused and in its original packaging. Returns are free: print the "
    "prepaid label from your account page and drop the parcel at any post office. Refunds reach your "
    "original payment method within five days."
)


def product_pages() -> list[dict[str, str]]:
    """Twelve product pages: a title, a different ~30-word description, the same ~90-word delivery paragraph."""
    rng = random.Random(11)
    rows = []
    for i in range(12):
        title = f"The {' '.join(rng.sample(_VOCABULARY, 4))}"
        description = " ".join(rng.choice(_VOCABULARY) for _ in range(30)).capitalize() + "."
        rows.append({"id": f"p{i:02d}", "text": f"<h1>{title}</h1><p>{description}</p><p>{DELIVERY}</p>"})
    return rows


def truncated(share: float) -> list[dict[str, str]]:
    """25 records of 200 words in five paragraphs, each followed by a copy of its first `share` of words."""
    rows = []
    for i in range(25):
        paragraphs = article(3000 + i, paragraphs=5, words=40)
        left, cut = round(200 * share), []
        for paragraph in paragraphs:
            if left <= 0:
                break
            words = paragraph.split()
            cut.append(" ".join(words[:left]))
            left -= len(words)
        rows.append({"id": f"r{i:02d}", "text": "\n\n".join(paragraphs)})
        rows.append({"id": f"r{i:02d}-cut", "text": "\n\n".join(cut)})
    return rows


def _run(tmp_path: Path, rows: list[dict[str, Any]], name: str = "out", **more: Any) -> Path:
    source = tmp_path / "in"
    source.mkdir(exist_ok=True)
    write_jsonl(source / "records.jsonl", rows)
    out = tmp_path / name
    data = {"input": {"paths": [str(source)]}, "output": {"dir": str(out), "overwrite": True}, **more}
    dedup.run(config_from_dict(data))
    return out


def _texts(table: pa.Table) -> dict[str, list[str]]:
    return dict(zip(table[ID].to_pylist(), table["paragraphs"].to_pylist(), strict=True))


# Boilerplate -----------------------------------------------------------------------------------------


def test_twelve_product_pages_are_kept_each_without_the_delivery_paragraph(tmp_path: Path) -> None:
    rows = product_pages()
    pages = {r["id"]: [p for p in re.split(r"</?\w+>", r["text"]) if p] for r in rows}
    # Why document granularity merges them: the shared paragraph is most of each page.
    assert min(_jaccard(pages["p00"], pages[k]) for k in pages if k != "p00") >= 0.5
    assert max(_jaccard(pages["p00"][:2], pages[k][:2]) for k in pages if k != "p00") < 0.1
    assert dedup_table(pa.Table.from_pylist(rows)).report.kept == 1

    result = dedup_table(pa.Table.from_pylist(rows), **PARAGRAPH)
    assert result.report.kept == 12 and result.report.duplicates == 0 and result.report.rejected == 0
    kept = _texts(result.unique)
    assert kept == {k: v[:2] for k, v in pages.items()}
    assert result.paragraphs is not None
    (group,) = result.paragraphs.to_pylist()
    assert group["text"] == DELIVERY and group["records"] == 12 and group["paragraphs"] == 12
    assert (
        group["first_record"] == "p00" and group["variants"] == 1 and group["words"] == len(_words(DELIVERY))
    )
    assert result.report.paragraphs["boilerplate_groups"] == 1

    out = _run(tmp_path, rows, **PARAGRAPH, memory_budget="1MB")
    assert _texts(pq.read_table(out / "unique.parquet")) == kept
    assert pq.read_table(out / "paragraphs.parquet").to_pylist()[0]["records"] == 12
    assert not any("DELIVERY" in t.upper() for t in pq.read_table(out / "unique.parquet")[TEXT].to_pylist())


def _pages_with(shared: str, count: int, seed: int) -> list[dict[str, str]]:
    return [
        {"id": f"s{seed}-{i}", "text": "\n\n".join([*article(seed * 100 + i, 1, 40), shared])}
        for i in range(count)
    ]


@pytest.mark.parametrize("own", [5, 15, 25, 40, 60])
def test_a_paragraph_running_boilerplate_on_with_its_own_words_is_removed_only_when_mostly_boilerplate(
    own: int,
) -> None:
    footer = article(7, 1, 90)[0]
    mine = article(900 + own, 1, own)[0]
    run_on = {"id": "run-on", "text": "\n\n".join([*article(901, 1, 30), f"{footer} {mine}"])}
    result = dedup_table(pa.Table.from_pylist([*_pages_with(footer, 8, 2), run_on]), **PARAGRAPH)
    assert result.paragraphs is not None and result.paragraphs.num_rows == 1
    kept = _texts(result.unique)
    assert all(footer not in p for rid, ps in kept.items() if rid != "run-on" for p in ps)
    # The oracle: removed exactly when the footer is at least lsh.containment (0.8) of the paragraph.
    mostly = _inside([f"{footer} {mine}"], [footer]) >= 0.8
    assert (f"{footer} {mine}" not in kept["run-on"]) is mostly
    assert not mostly or own <= 20  # a paragraph with more than a fifth of its own stays whole


@pytest.mark.parametrize(("words", "removed"), [(3, False), (4, True)])
def test_a_short_paragraph_is_never_boilerplate(words: int, removed: bool) -> None:
    line = " ".join(["Thanks", "in", "advance", "everyone"][:words]) + "."
    rows = _pages_with(line, 8, 1)
    result = dedup_table(pa.Table.from_pylist(rows), **PARAGRAPH)
    assert result.report.kept == 8
    assert all((line in p) != removed for p in _texts(result.unique).values())
    assert result.report.paragraphs["short"] == (0 if removed else 8)
    assert result.report.paragraphs["record_pairs"] == 0  # sharing a short line pairs no records
    looser = dedup_table(pa.Table.from_pylist(rows), **PARAGRAPH, paragraphs__min_words=words)
    assert not any(line in p for p in _texts(looser.unique).values())


def test_a_story_copied_whole_into_many_records_is_not_boilerplate() -> None:
    story = article(77, paragraphs=3, words=40)
    rows = [{"id": f"copy{i}", "text": "\n\n".join(story)} for i in range(8)]
    rows += [{"id": f"other{i}", "text": "\n\n".join(article(90 + i, 2, 40))} for i in range(4)]
    result = dedup_table(pa.Table.from_pylist(rows), **PARAGRAPH)
    assert result.paragraphs is not None and result.paragraphs.num_rows == 0
    assert sorted(result.unique[ID].to_pylist()) == ["copy0", "other0", "other1", "other2", "other3"]
    assert set(result.duplicates["matched_by"].to_pylist()) == {"exact"}


def test_records_that_are_copies_of_one_story_count_once() -> None:
    background = article(60, 1, 45)[0]
    stories = [[*article(61 + k, 2, 40), background] for k in range(2)]
    rows = []
    for k, story in enumerate(stories):  # two stories sharing a paragraph, each issued three times
        for copy in range(3):
            edited = list(story)
            if copy:  # a re-issue: one word of its first paragraph changed
                words = edited[0].split()
                words[copy] = "revised"
                edited[0] = " ".join(words)
            rows.append({"id": f"story{k}-{copy}", "text": "\n\n".join(edited)})
    for i in range(2):
        ours = [f"story{i}-0", f"story{i}-1"]
        texts = {r["id"]: r["text"].split("\n\n") for r in rows}
        assert _jaccard(texts[ours[0]], texts[ours[1]]) >= 0.5
    result = dedup_table(pa.Table.from_pylist(rows), **PARAGRAPH)
    assert result.paragraphs is not None and result.paragraphs.num_rows == 0  # 6 records, 2 stories
    assert sorted(result.unique[ID].to_pylist()) == ["story0-0", "story1-0"]
    more = rows + [
        {"id": f"more{k}", "text": "\n\n".join([*article(70 + k, 2, 40), background])} for k in range(3)
    ]
    result = dedup_table(pa.Table.from_pylist(more), **PARAGRAPH)  # 5 stories now
    assert result.paragraphs is not None and result.paragraphs["records"].to_pylist() == [9]
    assert result.report.kept == 5


def test_boilerplate_needs_records_with_text_of_their_own_and_an_emptied_record_is_a_reject(
    tmp_path: Path,
) -> None:
    footer = " ".join(article(5, 1, 50))
    bare = [{"id": f"bare{i}", "text": footer} for i in range(3)]  # the footer alone: no text of their own
    rows = _pages_with(footer, 4, 2) + bare
    # 4 records with text of their own hold it: below min_records (5), so nothing is boilerplate.
    few = dedup_table(pa.Table.from_pylist(rows), **PARAGRAPH)
    assert few.paragraphs is not None and few.paragraphs.num_rows == 0
    # The bare footers are inside the pages: dropped as contained in one.
    assert few.report.kept == 4 and few.report.matched_by["containment"] == 3

    rows += _pages_with(footer, 1, 3)
    result = dedup_table(pa.Table.from_pylist(rows), **PARAGRAPH)
    assert result.paragraphs is not None and result.paragraphs["records"].to_pylist() == [8]
    report = result.report
    assert (report.read, report.kept, report.duplicates, report.rejected) == (8, 5, 0, 3)
    assert report.paragraphs["emptied"] == 3
    assert report.summary() == (
        "read 8: kept 5, duplicates 0 (0 exact, 0 near), rejected 3 (3 emptied by boilerplate); "
        "boilerplate: 1 paragraph group removed from 8 records"
    )
    rejects = result.rejects.to_pylist()
    assert [(r[ID], r["stage"]) for r in rejects] == [(f"bare{i}", "boilerplate") for i in range(3)]
    assert rejects[0]["reason"] == (
        "no words left once boilerplate is removed (boilerplate paragraphs: 1; their groups are listed "
        "in paragraphs.parquet)"
    )
    assert rejects[0]["raw"] == footer
    assert all(footer not in p for p in _texts(result.unique).values())

    out = _run(tmp_path, rows, **PARAGRAPH)
    on_disk = pq.read_table(out / "rejects.parquet").to_pylist()
    assert [(r[ID], r["stage"], r["reason"]) for r in on_disk] == [
        (r[ID], r["stage"], r["reason"]) for r in rejects
    ]
    with pytest.raises(InputError, match="no words left once boilerplate is removed"):
        dedup_table(pa.Table.from_pylist(rows), **PARAGRAPH, on_error="fail")
    # The local engine stops as the table API does, and publishes nothing.
    with pytest.raises(InputError, match="no words left once boilerplate is removed"):
        _run(tmp_path, rows, name="failed", **PARAGRAPH, on_error="fail")
    assert not (tmp_path / "failed" / "report.json").exists()


def test_near_copies_of_a_paragraph_and_pieces_of_it_are_one_group() -> None:
    footer = article(6, 1, 60)[0]
    words = footer.split()
    variant = " ".join([*words[:30], "altered", *words[31:]])
    piece = " ".join(words[:45])
    assert _jaccard([footer], [variant]) >= 0.5 and _inside([piece], [footer]) == 1.0
    rows = _pages_with(footer, 4, 4) + _pages_with(variant, 3, 5) + _pages_with(piece, 1, 6)
    result = dedup_table(pa.Table.from_pylist(rows), **PARAGRAPH)
    assert result.paragraphs is not None
    (group,) = result.paragraphs.to_pylist()
    assert (group["records"], group["variants"], group["text"]) == (8, 3, footer)
    assert group["first_record"] == "s4-0"
    assert all(len(p) == 1 for p in _texts(result.unique).values())
    assert result.report.kept == 8 and result.report.paragraphs["near_pairs"] >= 2


# Containment at any length ------------------------------------------------------------------------------


@pytest.mark.parametrize("share", [0.2, 0.3, 0.4, 0.5])
def test_truncated_copies_are_found_at_every_length(tmp_path: Path, share: float) -> None:
    rows = truncated(share)
    texts = {r["id"]: r["text"].split("\n\n") for r in rows}
    assert all(_inside(texts[f"r{i:02d}-cut"], texts[f"r{i:02d}"]) == 1.0 for i in range(25))
    assert all(_jaccard(texts[f"r{i:02d}-cut"], texts[f"r{i:02d}"]) <= share + 0.02 for i in range(25))

    out = _run(tmp_path, rows, **PARAGRAPH, memory_budget="1MB")
    drops = pq.read_table(out / "duplicates.parquet").to_pylist()
    found = [d for d in drops if d[ID] == d["duplicate_of"] + "-cut" and d["matched_by"] == "containment"]
    assert len(found) >= 24
    for d in drops:  # every drop is a copy inside the record it names, by the oracle too
        assert _inside(texts[d[ID]], texts[d["duplicate_of"]]) >= 0.8
    assert pq.read_table(out / "unique.parquet").num_rows == 50 - len(drops)
    if share == 0.2:  # what document granularity finds: the bands are tuned for Jaccard 0.5
        document = dedup_table(pa.Table.from_pylist(rows))
        assert document.report.duplicates < 24


def test_a_near_copy_of_a_paragraph_also_pairs_records() -> None:
    rows = truncated(0.2)
    for row in rows:  # one word of every cut copy changed: no exact paragraph shared
        if row["id"].endswith("-cut"):
            words = row["text"].split()
            words[20] = "changed"
            row["text"] = " ".join(words)
    result = dedup_table(pa.Table.from_pylist(rows), **PARAGRAPH)
    texts = {r["id"]: r["text"].split("\n\n") for r in rows}
    assert all(_inside(texts[f"r{i:02d}-cut"], texts[f"r{i:02d}"]) >= 0.8 for i in range(25))
    assert result.report.duplicates >= 24
    assert set(result.duplicates["matched_by"].to_pylist()) == {"containment"}


# The features ------------------------------------------------------------------------------------------


def _table(texts: list[str]) -> pa.Table:
    n = len(texts)
    return pa.table(
        {
            ID: [f"t{i}" for i in range(n)],
            TEXT: texts,
            SOURCE_FILE: ["f"] * n,
            SOURCE_LINE: list(range(1, n + 1)),
        }
    )


def test_each_paragraph_is_hashed_as_a_record_of_that_paragraph_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("dedup.paragraphs.SIGN_CHUNK", 2)  # signed two distinct paragraphs at a time
    config = config_from_dict(PARAGRAPH)
    paragraphs = [*article(8, 3, 25), "Only two.", "—"]
    whole = featurize(_table(["\n\n".join(paragraphs)]), config)
    assert whole.paragraph is not None and len(whole.paragraph) == 5
    one = featurize(_table(paragraphs[:4]), config)
    ours = paragraph_features(whole.records["paragraphs"], config)
    assert np.array_equal(ours.digests[:4], one.digests)
    assert np.array_equal(ours.keys[:, :4], one.keys)
    assert np.array_equal(ours.sets, np.concatenate([one.sets, np.empty(0, np.uint32)]))
    assert ours.words.tolist() == [len(_words(p)) for p in paragraphs]
    assert ours.offsets.tolist() == [0, 5]


def test_records_without_their_boilerplate_are_featurized_as_their_remaining_text() -> None:
    config = config_from_dict(PARAGRAPH)
    records = [article(20 + i, 3, 25) for i in range(4)]
    features = featurize(_table(["\n\n".join(r) for r in records]), config)
    removed = np.zeros(12, dtype=bool)
    removed[[1, 6, 7, 8]] = True  # the second of record 0; the whole of record 2
    before = {name: array.copy() for name, array in features.arrays().items()}
    done = strip(features.records["paragraphs"], features.arrays(), removed, config)
    left = [[p for k, p in enumerate(r) if not removed[3 * i + k]] for i, r in enumerate(records)]
    assert done.paragraphs.to_pylist() == left
    assert done.removed.tolist() == [1, 0, 3, 0] and done.emptied.tolist() == [False, False, True, False]
    again = featurize(_table(["\n\n".join(p) for p in left if p]), config)
    rows = [0, 1, 3]
    for name in ("digests", "signatures", "lengths"):
        assert np.array_equal(done.arrays[name][rows], getattr(again, name)), name
    assert np.array_equal(done.arrays["keys"][:, rows], again.keys)
    offsets = done.arrays["set_offsets"]
    assert np.array_equal(
        np.concatenate([done.arrays["sets"][offsets[i] : offsets[i + 1]] for i in rows]), again.sets
    )
    for name, array in features.arrays().items():  # the input arrays are not modified
        assert np.array_equal(array, before[name]), name


# The local engine ----------------------------------------------------------------------------------------


def _mixed() -> list[dict[str, str]]:
    return product_pages() + truncated(0.3) + _pages_with(" ".join(article(9, 1, 50)), 6, 7)


def test_the_local_engine_writes_the_same_bytes_whatever_the_budget_and_workers(tmp_path: Path) -> None:
    rows = _mixed()
    small = _run(tmp_path, rows, "small", **PARAGRAPH, memory_budget="1MB", workers=1)
    large = _run(tmp_path, rows, "large", **PARAGRAPH, memory_budget="4GB", workers=2)
    for name in ("unique.parquet", "duplicates.parquet", "rejects.parquet", "paragraphs.parquet"):
        assert (small / name).read_bytes() == (large / name).read_bytes(), name
    in_memory = dedup_table(pa.Table.from_pylist(rows), **PARAGRAPH)
    assert _texts(pq.read_table(small / "unique.parquet")) == _texts(in_memory.unique)
    assert in_memory.paragraphs is not None
    assert (
        pq.read_table(small / "paragraphs.parquet")
        .drop_columns([SOURCE_FILE, SOURCE_LINE])
        .equals(in_memory.paragraphs.drop_columns([SOURCE_FILE, SOURCE_LINE]))
    )
    # A document run in the same folder leaves no paragraphs.parquet behind.
    _run(tmp_path, rows, "small")
    assert not (small / "paragraphs.parquet").exists()


def test_a_run_killed_after_the_paragraph_step_resumes_to_the_same_bytes(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "records.jsonl", _mixed())
    data = {
        "input": {"paths": ["records.jsonl"]},
        "output": {"dir": "out", "overwrite": True},
        "memory_budget": "1MB",
        **PARAGRAPH,
    }
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")

    def cli(crash_at: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
        if crash_at:
            env["DEDUP_CRASH_AT"] = crash_at
        command = [sys.executable, "-m", "dedup", "run", "c.yaml", "--quiet"]
        return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, check=False)

    assert cli().returncode == 0
    names = ("unique.parquet", "duplicates.parquet", "rejects.parquet", "paragraphs.parquet")
    reference = {n: (tmp_path / "out" / n).read_bytes() for n in names}
    assert cli("paragraphs").returncode == -9
    assert (tmp_path / "out" / ".dedup-work").exists()
    assert cli("resolve").returncode == -9  # resumed past the paragraph step, killed again
    done = cli()
    assert done.returncode == 0, done.stderr
    assert {n: (tmp_path / "out" / n).read_bytes() for n in names} == reference
