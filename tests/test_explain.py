"""`dedup explain OUT_DIR ID`: why a record is kept, dropped or rejected, from the output folder alone."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import Result

from dedup import config_from_dict, run
from dedup.explain import evidence, explain, paragraphs_of, word_diff
from tests.conftest import write_jsonl
from tests.corpus import news_rows

NOTICE = (
    "The agency bought 8,000 tonnes of wheat on March 19, 1987 for shipment {}. Traders said prices rose."
)


@pytest.fixture
def finished_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    rows = [
        *news_rows(),
        {"id": "empty", "text": "<p> </p>"},
        {"id": "notice-a", "text": NOTICE.format("in April") + " " + " ".join(f"w{i}" for i in range(30))},
        {"id": "notice-b", "text": NOTICE.format("in May") + " " + " ".join(f"w{i}" for i in range(30))},
        {"id": "tricky\x1b[2Jid", "text": "Short and alone."},
    ]
    path = write_jsonl(tmp_path / "news.jsonl", rows)
    with path.open("a", encoding="utf-8") as out:
        out.write('{"id": "broken", "text": \n')  # malformed JSON: rejected before it has an id
    run(config_from_dict({"input": {"paths": ["news.jsonl"]}, "output": {"dir": "out"}}))
    shutil.move(tmp_path / "out", tmp_path / "moved")  # the folder alone, wherever it is
    return tmp_path / "moved"


def test_a_dropped_record_names_its_kept_record_and_the_evidence_matches_the_run(finished_run: Path) -> None:
    found = explain(finished_run, "words-changed")
    assert found.status == "dropped" and found.named is not None and found.named["id"] == "original"
    row = found.record
    assert found.evidence is not None
    assert found.evidence.jaccard == pytest.approx(row["similarity"], abs=1e-12)  # what the run measured
    assert found.evidence.inside == pytest.approx(row["containment"], abs=1e-12)
    assert any("reportedly" in s for s in found.evidence.only_first)
    assert not any("reportedly" in s for s in found.evidence.only_second + found.evidence.shared_examples)
    mine, theirs = found.evidence.shingles
    assert found.evidence.shared < min(mine, theirs)


def test_the_figures_compared_are_shown(finished_run: Path) -> None:
    found = explain(finished_run, "notice-b")
    assert found.status == "dropped" and found.evidence is not None
    frames = {check.frame: check for check in found.evidence.frames}
    assert frames[("bought", "tonnes")].dropped == ("8000",) and not frames[("bought", "tonnes")].clash


def test_evidence_uses_the_verifiers_shingles() -> None:
    proof = evidence(["a b c d"], ["a b c e"], ngram=3)
    assert (proof.shingles, proof.shared) == ((2, 2), 1)
    assert proof.jaccard == pytest.approx(1 / 3) and proof.only_first == ["b c d"]
    assert proof.only_second == ["b c e"] and proof.shared_examples == ["a b c"]


def test_word_diff_marks_each_side() -> None:
    assert word_diff("a b c", "a x c") == [("same", "a"), ("first", "b"), ("second", "x"), ("same", "c")]


def test_paragraphs_come_back_from_the_written_text() -> None:
    assert paragraphs_of({"text": "one.\n\ntwo."}) == ["one.", "two."]
    assert paragraphs_of({"text": "x", "paragraphs": ["p"]}) == ["p"]


def test_cli_explains_a_drop_with_a_word_diff(cli: Callable[..., Result], finished_run: Path) -> None:
    result = cli("explain", str(finished_run), "words-changed")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("words-changed: dropped as a duplicate of 'original' (matched_by jaccard)\n")
    similarity = pq.read_table(finished_run / "duplicates.parquet").to_pylist()
    jaccard = next(r["similarity"] for r in similarity if r["id"] == "words-changed")
    assert f"why: Jaccard similarity {jaccard:.3f} to 'original' reaches lsh.threshold 0.5" in out
    assert "shingles (word 3-grams, distinct):" in out and "only in the dropped record:" in out
    assert (
        "[-reportedly-]" in out
        and "word diff ([-only in the dropped record-] {+only in the kept record+})" in out
    )


def test_cli_explains_a_kept_record_with_its_cluster(cli: Callable[..., Result], finished_run: Path) -> None:
    out = cli("explain", str(finished_run), "original").stdout
    assert out.startswith("original: kept (written to unique.parquet)\n")
    assert "the record kept for its cluster of 5 records (cluster.keep: first); the 4 dropped for it:" in out
    for member in ("paragraph-dropped", "words-changed", "all-three-edits", "quotes-restyled"):
        assert f"    {member}  matched_by " in out
    alone = cli("explain", str(finished_run), "other-0").stdout
    assert "no other record verified as its duplicate: it is a cluster of one" in alone


def test_cli_explains_rejects_by_id_and_by_position(cli: Callable[..., Result], finished_run: Path) -> None:
    out = cli("explain", str(finished_run), "empty").stdout
    assert out.splitlines()[:3] == [
        "empty: rejected at the clean stage, field 'text'",
        "  where: news.jsonl:8",
        "  reason: no text left after cleaning (empty, whitespace or markup only)",
    ]
    broken = cli("explain", str(finished_run), "news.jsonl:12").stdout
    assert broken.startswith("news.jsonl:12: rejected at the read stage") and "reason:" in broken


def test_input_in_the_output_is_escaped(cli: Callable[..., Result], finished_run: Path) -> None:
    out = cli("explain", str(finished_run), "tricky\x1b[2Jid").stdout
    assert "\x1b" not in out and out.startswith("tricky\\x1b[2Jid: kept")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["moved", "orignal"],
            "Error: moved: no record of this run has the id 'orignal'; did you mean 'original'?\n",
        ),
        (
            ["nowhere", "original"],
            "Error: nowhere: no complete run to report on (no report.json; a folder holds a complete run "
            "when it holds report.json; name the output.dir of a run)\n",
        ),
        (
            ["broken-report", "original"],
            "Error: broken-report/report.json: not the report of a dedup run: no 'kept'\n",
        ),
    ],
    ids=["unknown id", "not a run", "not a run's report"],
)
def test_mistakes_get_one_line_and_exit_1(
    args: list[str], message: str, cli: Callable[..., Result], finished_run: Path
) -> None:
    broken = finished_run.parent / "broken-report"
    broken.mkdir()
    (broken / "report.json").write_text(json.dumps({"read": 1}), encoding="utf-8")
    result = cli("explain", *args)
    assert (result.exit_code, result.stderr) == (1, message)
