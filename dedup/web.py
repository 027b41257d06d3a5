"""Web pages: the main content of a whole HTML page, without the page's furniture.

On a web page, the header, navigation menus, footers, sidebars, cookie banners, share bars and
lists of links to other pages are boilerplate: the same on every page of a site, they would make
every page of the site look alike. `main_content` keeps the page's main text with Resiliparse's
main-content extractor (Bevendorff et al., ChatNoir; Apache-2.0), which drops those elements by
their tags, roles, class names and link density. It was chosen over trafilatura, jusText and the
paragraph rule on the Common Crawl samples in `../shared/data/web` for leaving as little
site-template text (about 1%) at some 25 times trafilatura's speed (`benchmarks/reports/web.md`).

`is_page` tells a whole page (a doctype, `<html>`, `<head>` or `<body>`) from an HTML fragment
such as the news lines of `seeds/`, which keep the paragraph rule of `dedup.normalize`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.html import HTMLTree

#: How far into a record `is_page` looks for the tags of a whole page.
PAGE_HEAD_CHARS = 8192
_PAGE = r"(?i)<(?:!doctype\s+html|html|head|body)\b"
_PAGE_ANYWHERE = r"(?i)<(?:!doctype\s+html|html|head|body)"


def is_page(texts: pa.Array[Any]) -> npt.NDArray[np.bool_]:
    """Which records are whole HTML pages: a doctype, `<html>`, `<head>` or `<body>` near the start.

    Args:
        texts: Arrow string array of raw record texts.

    Returns:
        `bool (n,)`.
    """
    # The page's tags anywhere first (found at memchr's speed by RE2, and no head is copied): a
    # record that holds none has none in its head. The pattern there ends before `\b`, which a
    # cut head can meet where the whole record goes on with a letter.
    anywhere = pc.match_substring_regex(texts, _PAGE_ANYWHERE).fill_null(False)
    rows = np.flatnonzero(np.asarray(anywhere.to_numpy(zero_copy_only=False), dtype=bool))
    out = np.zeros(len(texts), dtype=bool)
    if len(rows):
        head = pc.utf8_slice_codeunits(texts.take(pa.array(rows)), 0, PAGE_HEAD_CHARS)
        found = pc.match_substring_regex(head, _PAGE).fill_null(False)
        out[rows] = np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)
    return out


def main_content(html: str) -> list[str]:
    """The main content of one web page as untidied paragraphs (one per block element), in order.

    Resiliparse's `extract_plain_text` with `main_content=True`; comment sections and post meta
    data (bylines, dates, "posted in" lines, which differ between two crawls of one page) are left
    out, as are alt texts and form fields. Parsing is lenient: any string gives a result.
    """
    tree = HTMLTree.parse(html)
    text = extract_plain_text(
        tree,
        preserve_formatting=True,
        main_content=True,
        list_bullets=False,
        alt_texts=False,
        comments=False,
        post_meta=False,
    )
    return [line for line in text.split("\n") if line.strip()]
