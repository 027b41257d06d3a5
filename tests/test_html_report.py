from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from dedup import config_from_dict, run
from dedup.io.html import render
from tests.conftest import write_jsonl
from tests.corpus import news_rows

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def finished_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    write_jsonl(tmp_path / "news.jsonl", news_rows())
    run(config_from_dict({"input": {"paths": ["news.jsonl"]}, "output": {"dir": "out"}}))
    return tmp_path / "out"


def test_the_page_holds_counts_identity_clusters_and_highlighted_pairs(finished_run: Path) -> None:
    page = render(finished_run).read_text(encoding="utf-8")
    assert "read = kept + duplicates + rejected: 7 = 3 + 4 + 0 <span class='ok'>holds</span>" in page
    assert "<td>original</td><td class='num'>5</td>" in page  # the largest cluster
    assert "dropped <b>words-changed</b> as a duplicate of <b>original</b>" in page
    assert "<ins>reportedly</ins>" in page  # the changed words are highlighted
    assert "<script" not in page and "http" not in page.split("</style>")[0]


def test_report_command_writes_the_page(finished_run: Path) -> None:
    from click.testing import CliRunner

    from dedup.cli import main

    result = CliRunner().invoke(main, ["report", str(finished_run)])
    assert result.exit_code == 0 and result.stdout.strip().endswith("report.html")
    missing = CliRunner().invoke(main, ["report", str(finished_run.parent / "nothing")])
    assert missing.exit_code == 1 and "no complete run to report on" in missing.stderr


@pytest.mark.skipif(
    CHROMIUM is None,
    reason="needs Chromium: apt-get install chromium (.ci/run does), or set CHROMIUM to a Chromium binary",
)
def test_headless_chromium_shows_what_a_person_reads(finished_run: Path) -> None:
    page = render(finished_run)
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={finished_run / 'profile'}",
    ]
    dom = subprocess.run(
        [str(CHROMIUM), *flags, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert "dedup run: out" in dom and "holds" in dom
    assert "<ins>reportedly</ins>" in dom
    shot = finished_run / "page.png"
    subprocess.run(
        [str(CHROMIUM), *flags, f"--screenshot={shot}", "--window-size=1200,1600", page.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.stat().st_size > 10_000  # a rendered page, not a blank one
