from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dedup import config_from_dict, run
from dedup.io.html import render
from tests.browser import CHROMIUM, Browser
from tests.conftest import write_jsonl
from tests.corpus import news_rows

EVIL = "<img src=x onerror=alert(1)>\x1b[2J"


@pytest.fixture
def finished_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    rows = [*news_rows(), {"id": EVIL, "text": "<p></p>"}, {"id": "empty-2", "text": " "}]
    path = write_jsonl(tmp_path / "news.jsonl", rows)
    with path.open("a", encoding="utf-8") as out:
        out.write('{"id": "broken", \n')
    run(config_from_dict({"input": {"paths": ["news.jsonl"]}, "output": {"dir": "out"}}))
    return tmp_path / "out"


def test_the_page_holds_every_section(finished_run: Path) -> None:
    page = render(finished_run).read_text(encoding="utf-8")
    assert "read = kept + duplicates + rejected: 10 = 3 + 4 + 3 <span class='ok'>holds</span>" in page
    assert "<h2 id='timings'>Stage timings</h2>" in page and "<th>verify</th>" in page
    assert "threshold 0.5</text>" in page and "<svg" in page  # the histogram with the threshold marked
    assert "kept <span class='id'>original</span> · 5 records (3 near, 1 exact)" in page
    for member in ("paragraph-dropped", "words-changed", "all-three-edits", "quotes-restyled"):
        assert f"<tr><td class='id'>{member}</td><td class='id'>original</td>" in page
    assert "dropped <b>words-changed</b> as a duplicate of <b>original</b>: matched_by <b>jaccard</b>" in page
    assert (
        "<h4>dropped: <span class='id'>words-changed</span>" in page
        and "<h4>kept: <span class='id'>original" in page
    )
    assert "<del>reportedly</del>" in page  # the words only in the dropped record
    assert "2 × clean stage, field &#x27;text&#x27;: no text left after cleaning" in page  # rejects by reason
    assert "1 × read stage" in page
    assert "None: this run wrote no paragraphs.parquet" in page
    assert "<input id='search'" in page


def test_everything_from_the_input_is_escaped_and_nothing_is_fetched(finished_run: Path) -> None:
    page = render(finished_run).read_text(encoding="utf-8")
    assert EVIL not in page and "<img" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page  # shown, as text
    index = page.split("<script type='application/json' id='index'>")[1].split("</script>")[0]
    assert "<" not in index and "\\u003cimg" in index
    assert "http:" not in page and "https:" not in page and " src=" not in page.replace("img src=x", "")


def test_paragraph_boilerplate_is_shown_when_the_run_has_it(finished_run: Path) -> None:
    table = pa.table({"paragraph": ["Sign up for our newsletter <b>now</b>"], "records": [1234]})
    pq.write_table(table, finished_run / "paragraphs.parquet")
    page = render(finished_run).read_text(encoding="utf-8")
    assert "1 rows in paragraphs.parquet" in page
    assert "<td>Sign up for our newsletter &lt;b&gt;now&lt;/b&gt;</td><td>1234</td>" in page


def test_a_large_run_is_sampled_and_says_so(finished_run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dedup.io import html

    monkeypatch.setattr(html, "LARGEST_CLUSTERS", 0)
    monkeypatch.setattr(html, "BORDERLINE_CLUSTERS", 0)
    monkeypatch.setattr(html, "SEARCH_IDS", 2)
    page = render(finished_run).read_text(encoding="utf-8")
    assert "The search box knows the first 2 ids." in page
    assert "No record was dropped" not in page


def test_report_command_writes_the_page(finished_run: Path) -> None:
    from click.testing import CliRunner

    from dedup.cli import main

    result = CliRunner().invoke(main, ["report", str(finished_run)])
    assert result.exit_code == 0 and result.stdout.strip().endswith("report.html")
    missing = CliRunner().invoke(main, ["report", str(finished_run.parent / "nothing")])
    assert missing.exit_code == 1 and "no complete run to report on" in missing.stderr


@pytest.mark.skipif(
    CHROMIUM is None,
    reason="needs Chromium on PATH: apt-get install chromium (.ci/run installs it)",
)
def test_headless_chromium_search_clicks_and_escaping(finished_run: Path) -> None:
    page = render(finished_run)
    with Browser(1280, 1000) as browser:
        browser.open(page.as_uri())
        assert browser.run("document.querySelectorAll('img, script[src], link, iframe').length") == 0
        assert browser.run("document.title") == "dedup run report: out"
        # search: a dropped record, then a rejected one whose id is markup, then a near miss
        search = "(s => {{ s.value = {}; s.dispatchEvent(new Event('input')); }})(document.getElementById('search'))"
        browser.run(search.format(json.dumps("words-changed")))
        found = browser.run("document.getElementById('found').innerText")
        assert found.startswith(
            "words-changed: dropped as a duplicate of original (matched_by jaccard, similarity"
        )
        assert "dedup explain out words-changed" in found
        browser.run(search.format(json.dumps(EVIL)))
        found = browser.run("document.getElementById('found').innerText")
        assert found.startswith(EVIL + ": rejected: clean stage")
        assert browser.run("document.querySelectorAll('#found img').length") == 0  # text, never markup
        browser.run(search.format(json.dumps("changed")))
        assert "words-changed" in browser.run("document.getElementById('found').innerText")
        # click: the cluster opens from its summary, and from the search result's link
        cluster = "document.querySelector('details.cluster')"
        assert browser.run(f"{cluster}.open") is False
        browser.run(f"{cluster}.querySelector('summary').click()")
        assert browser.run(f"{cluster}.open") is True
        browser.run(f"{cluster}.open = false")
        browser.run(search.format(json.dumps("words-changed")))
        browser.run("document.querySelector('#found a').click()")
        browser.run("new Promise(r => setTimeout(r, 100))")
        assert browser.run(f"{cluster}.open") is True
        assert browser.run(f"{cluster}.querySelector('.dropped h4').innerText").startswith("dropped: ")
        shot = Path(os.environ.get("DEDUP_SCREENSHOT_DIR", finished_run)) / "report.png"
        browser.screenshot(shot)
    assert shot.stat().st_size > 10_000  # a rendered page, not a blank one
