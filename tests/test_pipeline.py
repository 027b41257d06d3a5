from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from dedup import config_from_dict, run
from dedup.config import Config
from dedup.errors import InputError, OutputError
from tests.conftest import write_jsonl
from tests.corpus import SEED, news_rows

SEED_ID_1 = "seeds/000_ec95721e910ce05b.txt:1"
SEED_ID_2 = "seeds/000_ec95721e910ce05b.txt:2"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _cfg(**sections: object) -> Config:
    return config_from_dict({"output": {"dir": "out"}, **sections})


def _read(name: str) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = pq.read_table(Path("out") / name).to_pylist()
    return rows


def test_seed_gives_one_clean_record_and_one_exact_duplicate(workdir: Path) -> None:
    (workdir / "seeds").mkdir()
    shutil.copy(SEED, workdir / "seeds")
    report = run(_cfg(input={"paths": ["seeds"]}))
    unique, dups, rejects = _read("unique.parquet"), _read("duplicates.parquet"), _read("rejects.parquet")
    assert len(unique) == 1 and len(dups) == 1 and rejects == []
    kept = unique[0]
    assert kept["id"] == SEED_ID_1 and kept["cluster_id"] == SEED_ID_1 and kept["cluster_size"] == 2
    paragraphs = kept["paragraphs"]
    assert isinstance(paragraphs, list) and len(paragraphs) == 28
    text = kept["text"]
    assert isinstance(text, str) and text == "\n\n".join(paragraphs)
    assert "Kim Jong Un" not in text  # the stray teaser is gone
    assert "“allies at the strongest level”" in text and "Japan’s" in text  # curly quotes kept
    assert dups[0].pop("text") == text  # the dropped record's cleaned text, for auditing
    assert dups[0] == {
        "id": SEED_ID_2,
        "duplicate_of": SEED_ID_1,
        "cluster_id": SEED_ID_1,
        "similarity": 1.0,
        "containment": 1.0,
        "matched_by": "exact",
        "match": "exact",
        "source_file": "seeds/000_ec95721e910ce05b.txt",
        "source_line": 2,
    }
    on_disk = json.loads((workdir / "out" / "report.json").read_text())
    assert on_disk["read"] == 2 == on_disk["kept"] + on_disk["duplicates"] + on_disk["rejected"]
    assert on_disk["accounting"]["holds"] is True
    assert on_disk["fingerprint"] == report.fingerprint and len(report.fingerprint) == 16
    assert on_disk["config"]["lsh"]["threshold"] == 0.5 and on_disk["bands"] * on_disk["rows"] <= 128
    assert set(on_disk["timings"]) >= {
        "read",
        "clean",
        "exact",
        "sign",
        "candidates",
        "verify",
        "cluster",
        "total",
    }
    assert sorted(os.listdir(workdir / "out")) == [
        "duplicates.parquet",
        "rejects.parquet",
        "report.json",
        "unique.parquet",
    ]


@pytest.mark.parametrize("verify", ["estimate", "exact"])
def test_edited_copies_are_near_duplicates_and_other_articles_are_kept(workdir: Path, verify: str) -> None:
    write_jsonl(workdir / "news.jsonl", news_rows())
    report = run(_cfg(input={"paths": ["news.jsonl"]}, lsh={"verify": verify}))
    unique = {r["id"]: r for r in _read("unique.parquet")}
    dups = {r["id"]: r for r in _read("duplicates.parquet")}
    assert set(unique) == {"original", "other-0", "other-1"}
    assert unique["original"]["cluster_size"] == 5 and unique["other-0"]["cluster_size"] == 1
    assert unique["original"]["date"] == "2025-10-28"  # pass-through field kept
    assert {k: (d["duplicate_of"], d["match"]) for k, d in dups.items()} == {
        "paragraph-dropped": ("original", "near"),
        "words-changed": ("original", "near"),
        "all-three-edits": ("original", "near"),
        "quotes-restyled": ("original", "exact"),
    }
    for rid in ("paragraph-dropped", "words-changed", "all-three-edits"):
        similarity = dups[rid]["similarity"]
        assert isinstance(similarity, float) and 0.85 <= similarity <= 1.0
        if verify == "exact":  # an estimate from 128 slots may round a 0.99 pair up to 1.0
            assert similarity < 1.0
    assert report.exact_duplicates == 1 and report.near_duplicates == 3 and report.clusters == 1


def _word_ngrams(paragraphs: list[str], n: int) -> set[tuple[str, ...]]:
    """The oracle: lowercased `\\w+` word n-grams inside each paragraph (a shorter paragraph is one
    shingle), as a plain Python set. It shares no code with dedup's hashing form or shingler."""
    out: set[tuple[str, ...]] = set()
    for paragraph in paragraphs:
        words = re.findall(r"\w+", paragraph.lower())
        if 0 < len(words) < n:
            out.add(tuple(words))
        out.update(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
    return out


def _jaccard(a: set[tuple[str, ...]], b: set[tuple[str, ...]]) -> float:
    return len(a & b) / len(a | b)


def test_exact_similarity_is_the_true_jaccard(workdir: Path) -> None:
    write_jsonl(workdir / "news.jsonl", news_rows())
    run(_cfg(input={"paths": ["news.jsonl"]}, lsh={"verify": "exact"}, shingle={"ngram": 5}))
    dups = {r["id"]: r for r in _read("duplicates.parquet")}
    kept = {r["id"]: r for r in _read("unique.parquet")}
    original = _word_ngrams(kept["original"]["paragraphs"], 5)
    for rid in ("paragraph-dropped", "words-changed", "all-three-edits"):
        row = dups[rid]
        oracle = _jaccard(_word_ngrams(str(row["text"]).split("\n\n"), 5), original)
        assert row["similarity"] == pytest.approx(oracle, abs=1e-9), rid
    # The oracle's counts on the seed article and its copies (tests/corpus.py), pinned so that a
    # change to the corpus or the cleaner shows here: 1,100 of 1,112 distinct 5-grams shared when a
    # paragraph is dropped, 1,082 of 1,146 when six words are swapped and a sentence added.
    assert dups["paragraph-dropped"]["similarity"] == pytest.approx(1100 / 1112, abs=1e-9)
    assert dups["words-changed"]["similarity"] == pytest.approx(1082 / 1146, abs=1e-9)


@pytest.mark.parametrize(
    ("keep", "winner"),
    [("first", "original"), ("longest", "words-changed"), ("newest:date", "all-three-edits")],
)
def test_keep_rules(workdir: Path, keep: str, winner: str) -> None:
    rows = [r for r in news_rows() if r["id"] != "quotes-restyled"]
    write_jsonl(workdir / "news.jsonl", rows)
    run(_cfg(input={"paths": ["news.jsonl"]}, cluster={"keep": keep}))
    kept = {r["id"] for r in _read("unique.parquet")}
    assert kept == {winner, "other-0", "other-1"}
    assert {r["duplicate_of"] for r in _read("duplicates.parquet")} == {winner}


def test_output_does_not_depend_on_input_order(workdir: Path) -> None:
    rows = news_rows()
    write_jsonl(workdir / "a.jsonl", rows)
    run(_cfg(input={"paths": ["a.jsonl"]}, cluster={"keep": "longest"}))
    first = (_read("unique.parquet"), _read("duplicates.parquet"))
    write_jsonl(workdir / "a.jsonl", rows[::-1])
    run(
        _cfg(
            input={"paths": ["a.jsonl"]},
            cluster={"keep": "longest"},
            output={"dir": "out", "overwrite": True},
        )
    )
    again = (_read("unique.parquet"), _read("duplicates.parquet"))

    def strip(rows: list[dict[str, object]]) -> list[dict[str, object]]:  # positions differ, by design
        return sorted(
            ({k: v for k, v in r.items() if k != "source_line"} for r in rows), key=lambda r: str(r["id"])
        )

    assert strip(first[0]) == strip(again[0]) and strip(first[1]) == strip(again[1])


def test_file_order_in_the_config_does_not_change_the_output(workdir: Path) -> None:
    rows = news_rows()
    write_jsonl(workdir / "a.jsonl", rows[::2])
    write_jsonl(workdir / "b.jsonl", rows[1::2])
    outputs = []
    for paths in (["a.jsonl", "b.jsonl"], ["b.jsonl", "a.jsonl"]):
        run(_cfg(input={"paths": paths}, output={"dir": "out", "overwrite": True}))
        outputs.append(
            [(Path("out") / name).read_bytes() for name in ("unique.parquet", "duplicates.parquet")]
        )
    assert outputs[0] == outputs[1]


def test_every_record_is_accounted_for(workdir: Path) -> None:
    good = news_rows()[:2]
    lines = [
        json.dumps(good[0]),
        "{broken json",
        json.dumps({"id": "e", "text": "   "}),
        json.dumps({"id": "m", "text": "<p><br></p><script>x()</script>"}),
        json.dumps({"id": "p", "text": "-- !!"}),
        json.dumps({"id": "nt", "body": "x"}),
        json.dumps(good[1]),
        json.dumps(good[0]),
    ]
    (workdir / "in.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = run(_cfg(input={"paths": ["in.jsonl"]}))
    rejects = [(r["source_line"], r["stage"], r["reason"]) for r in _read("rejects.parquet")]
    assert rejects == [
        (2, "read", "malformed JSON (Expecting property name enclosed in double quotes, column 2)"),
        (3, "clean", "no text left after cleaning (empty, whitespace or markup only)"),
        (4, "clean", "no text left after cleaning (empty, whitespace or markup only)"),
        (5, "clean", "no words left after cleaning (only punctuation or symbols)"),
        (6, "read", "no field 'text'; fields present: body, id (set input.text_field)"),
        (8, "read", "duplicate id 'original'; first seen at in.jsonl:1"),
    ]
    assert _read("rejects.parquet")[0]["raw"] == "{broken json"
    assert (report.read, report.kept, report.duplicates, report.rejected) == (8, 1, 1, 6)


def test_on_error_fail_stops_at_the_first_bad_record(workdir: Path) -> None:
    (workdir / "in.jsonl").write_text('{"text": "fine"}\n{"txt": "x"}\n', encoding="utf-8")
    with pytest.raises(InputError) as err:
        run(_cfg(input={"paths": ["in.jsonl"]}, on_error="fail"))
    assert (
        str(err.value)
        == "in.jsonl:2: no field 'text'; fields present: txt (set input.text_field) (on_error: fail)"
    )
    assert (err.value.path, err.value.line, err.value.field) == ("in.jsonl", 2, "text")
    assert not (workdir / "out").exists() or not (workdir / "out" / "report.json").exists()


def test_an_earlier_run_is_not_overwritten_unless_asked(workdir: Path) -> None:
    write_jsonl(workdir / "in.jsonl", news_rows()[:1])
    run(_cfg(input={"paths": ["in.jsonl"]}))
    with pytest.raises(OutputError) as err:
        run(_cfg(input={"paths": ["in.jsonl"]}))
    assert str(err.value) == (
        "out: the output folder holds an earlier run (unique.parquet, duplicates.parquet, rejects.parquet, "
        "report.json); set output.overwrite: true or choose another output.dir"
    )
    run(_cfg(input={"paths": ["in.jsonl"]}, output={"dir": "out", "overwrite": True}))


def test_mixed_formats_in_one_folder(workdir: Path) -> None:
    (workdir / "in").mkdir()
    rows = news_rows()
    write_jsonl(workdir / "in" / "a.jsonl", rows[:3])
    (workdir / "in" / "b.txt").write_text(rows[0]["text"] + "\n", encoding="utf-8")
    report = run(_cfg(input={"paths": ["in"]}))
    dups = {r["id"]: r for r in _read("duplicates.parquet")}
    assert dups["in/b.txt:1"]["duplicate_of"] == "original" and dups["in/b.txt:1"]["match"] == "exact"
    assert report.read == 4 and report.kept == 1


def test_workers_do_not_change_the_output(workdir: Path) -> None:
    write_jsonl(workdir / "news.jsonl", news_rows())
    outputs = []
    for workers in (1, 2):
        run(_cfg(input={"paths": ["news.jsonl"]}, workers=workers, output={"dir": "out", "overwrite": True}))
        outputs.append(
            [(Path("out") / name).read_bytes() for name in ("unique.parquet", "duplicates.parquet")]
        )
    assert outputs[0] == outputs[1]


def test_containment_joins_a_truncated_copy_and_figures_split_template_notices(workdir: Path) -> None:
    from tests.corpus import seed_paragraphs

    article = seed_paragraphs()
    notice = "The Federal Reserve entered the government securities market to arrange {} billion dlrs of customer repurchase agreements, a spokesman said. Dealers said federal funds were trading at {} pct when the Fed began its temporary and indirect supply of reserves to the banking system."
    rows = [
        {"id": "full", "text": "\n\n".join(article)},
        {"id": "first-half", "text": "\n\n".join(article[:14])},
        {"id": "week-1", "text": notice.format("1.5", "6-1/8")},
        {"id": "week-2", "text": notice.format("2.0", "6-3/16")},
    ]
    write_jsonl(workdir / "in.jsonl", rows)
    plain = ["shingle.ngram=5", "lsh.threshold=0.8", "lsh.containment=null", "lsh.figures=false"]
    tuned: list[str] = []  # the defaults
    kept = {}
    for name, overrides in (("plain", plain), ("tuned", tuned)):
        config = config_from_dict(
            {"input": {"paths": ["in.jsonl"]}, "output": {"dir": name}}, overrides=overrides
        )
        run(config)
        kept[name] = {r["id"] for r in pq.read_table(Path(name) / "unique.parquet").to_pylist()}
        dups = {r["id"]: r for r in pq.read_table(Path(name) / "duplicates.parquet").to_pylist()}
        if name == "tuned":
            assert dups["first-half"]["containment"] == 1.0 and dups["first-half"]["similarity"] < 0.7
    assert "first-half" in kept["plain"]  # Jaccard about 0.5: not a duplicate at 0.8
    assert kept["tuned"] == {"full", "week-1", "week-2"}  # contained copy dropped; notices kept apart


def test_the_report_times_each_stage_under_its_documented_name(workdir: Path) -> None:
    write_jsonl(workdir / "news.jsonl", news_rows())
    report = run(_cfg(input={"paths": ["news.jsonl"]}))
    assert report.duplicates > 0  # near-duplicates were dropped: the keep step read their figures
    on_disk = json.loads((workdir / "out" / "report.json").read_text())
    # The stage names the README's outputs table lists, each in seconds.
    assert set(on_disk["timings"]) == {
        "fingerprint", "read", "clean", "exact", "sign", "band", "shingle", "ids",
        "candidates", "verify", "cluster", "figures", "similarity", "write", "total",
    }  # fmt: skip
    assert all(isinstance(v, float) and v >= 0 for v in on_disk["timings"].values())
