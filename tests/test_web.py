from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dedup import config_from_dict, run
from dedup.normalize import NormalizeConfig, clean, clean_batch
from dedup.web import PAGE_HEAD_CHARS, is_page, main_content
from tests.conftest import examples, write_jsonl
from tests.webdata import (
    MENU,
    boilerplate_of_the_site,
    http_request,
    http_response,
    site_page,
    warcinfo,
    write_warc,
)

TITLES = [
    "Storm closes the port",
    "Council backs new budget",
    "Rail strike called off",
    "Harvest falls short",
]
TITLES += ["Museum reopens its doors"]


def _site_pages() -> list[tuple[str, str]]:
    """The issue's case: six pages of one site, five articles, the third one published twice."""
    pages = [(f"https://site.example/{i}", site_page(100 + i, title)) for i, title in enumerate(TITLES)]
    pages.insert(3, (pages[2][0] + "?utm=share", pages[2][1]))
    return pages


def _check_site_run(tmp_path: Path) -> None:
    unique = pq.read_table(tmp_path / "out" / "unique.parquet").to_pylist()
    duplicates = pq.read_table(tmp_path / "out" / "duplicates.parquet").to_pylist()
    assert len(unique) == 5 and len(duplicates) == 1
    kept_text = "\n".join(row["text"] for row in unique)
    for furniture in boilerplate_of_the_site():
        assert furniture not in kept_text
    assert sorted(row["paragraphs"][0] for row in unique) == sorted(TITLES)
    assert all(len(row["paragraphs"]) == 9 for row in unique)  # the title and 8 paragraphs


def test_pages_of_one_site_are_told_apart_by_their_articles_jsonl(tmp_path: Path) -> None:
    rows = [{"id": f"p{i}", "url": url, "text": page} for i, (url, page) in enumerate(_site_pages())]
    write_jsonl(tmp_path / "pages.jsonl", rows)
    config = config_from_dict(
        {"input": {"paths": [str(tmp_path / "pages.jsonl")]}, "output": {"dir": str(tmp_path / "out")}}
    )
    report = run(config)
    assert (report.read, report.kept, report.exact_duplicates) == (6, 5, 1)
    _check_site_run(tmp_path)
    duplicate = pq.read_table(tmp_path / "out" / "duplicates.parquet").to_pylist()[0]
    assert (duplicate["id"], duplicate["duplicate_of"]) == ("p3", "p2")


def test_pages_of_one_site_are_told_apart_by_their_articles_warc(tmp_path: Path) -> None:
    records = [warcinfo()]
    for url, page in _site_pages():
        records += [http_request(url), http_response(url, page.encode())]
    write_warc(tmp_path / "crawl.warc.gz", records)
    config = config_from_dict(
        {"input": {"paths": [str(tmp_path / "crawl.warc.gz")]}, "output": {"dir": str(tmp_path / "out")}}
    )
    report = run(config)
    assert (report.read, report.kept, report.duplicates) == (6, 5, 1)
    _check_site_run(tmp_path)


def test_the_paragraph_rule_alone_keeps_the_menu() -> None:
    # What `content: html` did to such pages: every menu entry is a paragraph (`<li>`).
    paragraphs = clean(site_page(1, "A title"), NormalizeConfig(content="html"))
    assert all(entry in paragraphs for entry in MENU)
    web = clean(site_page(1, "A title"), NormalizeConfig(content="web"))
    assert not any(entry in web for entry in MENU)
    assert web == clean(site_page(1, "A title"), NormalizeConfig())  # auto: a whole page is `web`


@pytest.mark.parametrize(
    ("text", "page"),
    [
        ("<!DOCTYPE html><html><body><p>x</p></body></html>", True),
        ("  <html lang='th'><p>x</p></html>", True),
        ("<?xml version='1.0'?>\n<!doctype HTML>\n<p>x</p>", True),
        ("<body><p>x</p>", True),
        ("<p>Inside a gold-drenched palace</p><p>Hours later</p>", False),  # a news line of the seed
        ("Plain text mentioning html tags.", False),
    ],
)
def test_a_whole_page_is_told_from_a_fragment(text: str, page: bool) -> None:
    assert is_page(pa.array([text])).tolist() == [page]


_HEAD_PIECES = [
    "<html",
    "<HTML>",
    "<body ",
    "<head>",
    "<!DOCTYPE\thtml",
    "<!doctype html",
    "<p>",
    "x",
    " ",
    "é",
    "html",
]


@settings(max_examples=examples(200))
@given(
    st.lists(
        st.tuples(st.integers(0, 8200), st.lists(st.sampled_from(_HEAD_PIECES), max_size=6)).map(
            lambda r: "y" * r[0] + "".join(r[1])
        ),
        min_size=1,
        max_size=8,
    )
)
@example(["y" * (PAGE_HEAD_CHARS - 5) + "<htmlx"])  # a cut head ends at `\b`; the record goes on
@example(["y" * (PAGE_HEAD_CHARS - 5) + "<html>", "y" * (PAGE_HEAD_CHARS - 4) + "<html>", "<p>x"])
def test_a_page_is_told_by_its_head_alone(texts: list[str]) -> None:
    # The oracle: Python's re on the first `PAGE_HEAD_CHARS` characters of each record.
    pattern = re.compile(r"<(?:!doctype\s+html|html|head|body)\b", re.IGNORECASE | re.ASCII)
    expected = [pattern.search(t[:PAGE_HEAD_CHARS]) is not None for t in texts]
    assert is_page(pa.array(texts, pa.large_string())).tolist() == expected


def test_the_seed_keeps_the_paragraph_rule(seed_lines: list[str]) -> None:
    assert clean_batch(pa.array(seed_lines), NormalizeConfig()).equals(
        clean_batch(pa.array(seed_lines), NormalizeConfig(content="html"))
    )


def test_main_content_of_a_page_without_semantic_tags() -> None:
    menu = "".join(f"<li><a href='/{i}'>{m}</a></li>" for i, m in enumerate(MENU))
    body = "".join(
        f"<p>Paragraph {i} tells how the ferries stayed in port all week long.</p>" for i in range(5)
    )
    page = f"<html><body><div><ul>{menu}</ul></div><div><h1>Storm</h1>{body}</div></body></html>"
    assert main_content(page) == ["Storm"] + [
        f"Paragraph {i} tells how the ferries stayed in port all week long." for i in range(5)
    ]


@pytest.mark.parametrize("page", ["", "<html", "<html><body>\x00\ud7ff</body>", "<" * 10_000, "<p>" * 5000])
def test_main_content_never_fails(page: str) -> None:
    assert isinstance(main_content(page), list)
    clean_batch(pa.array([page]), NormalizeConfig(content="web"))
