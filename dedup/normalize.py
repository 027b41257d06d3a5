"""Cleaning: raw record text to the paragraphs we keep, and to the hashing form we hash.

Two forms come out of a record. The *clean* form is what users get back: paragraphs taken from
HTML paragraph elements with a real HTML parser (selectolax/lexbor), entities decoded, Unicode
NFKC, invisible characters removed and whitespace collapsed; curly quotes, dashes and accents stay.
The *hashing form* is harsher and never written out: casefolded, punctuation folded to spaces,
each CJK ideograph or kana its own token, so that restyled quotes or case do not hide a repeat.
Digits are kept on purpose: in news the figures are what tells this week's notice from last week's.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Literal

from selectolax.lexbor import LexborHTMLParser

#: Bumped whenever cleaning or the hashing form changes; part of the signature fingerprint.
NORMALIZE_VERSION = 1

#: Elements whose text is a paragraph; text outside them (teasers, navigation) is boilerplate.
PARAGRAPH_TAGS = ("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "dd", "dt")
_PARAGRAPH_SELECTOR = ", ".join(PARAGRAPH_TAGS)
_DROP_TAGS = ["script", "style", "noscript", "template", "head", "svg", "iframe"]

_HTML_HINT = re.compile(
    r"<\s*/?\s*(?:p|div|br|span|a|li|ul|ol|h[1-6]|html|body|table|article|section|blockquote)\b[^>]*>",
    re.IGNORECASE,
)
_BLANK_LINE = re.compile(r"\n[ \t\r\f\v]*\n")
# Invisible characters that only get in the way of comparison: zero-width space, word joiner,
# byte-order mark, soft hyphen, and C0/C1 controls other than whitespace.
_INVISIBLE = dict.fromkeys(
    [0x200B, 0x2060, 0xFEFF, 0x00AD]
    + [c for c in range(0x20) if chr(c) not in "\t\n\r\f\v"]
    + list(range(0x7F, 0xA0)),
    None,
)
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
_MARKS = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
# A token is one CJK character, or a run of letters, digits and combining marks.
_TOKEN = re.compile(rf"[{_CJK}]|(?:[^\W_{_CJK}]|[{_MARKS}])+")


def _check_max_chars(value: object) -> str | None:
    if not isinstance(value, int) or value < 1:
        return "must be a positive integer"
    return None


@dataclass(frozen=True, slots=True)
class NormalizeConfig:
    """How record text is cleaned.

    Attributes:
        content: `html` parses paragraph elements, `text` splits on blank lines, `auto` looks for
            HTML tags in each record.
        max_chars: records longer than this (in characters, before cleaning) are rejected.
    """

    content: Literal["auto", "html", "text"] = "auto"
    max_chars: int = field(default=20_000_000, metadata={"check": _check_max_chars})


def is_html(text: str) -> bool:
    """Whether `text` looks like HTML (has at least one common block or inline tag)."""
    return _HTML_HINT.search(text) is not None


def _tidy(text: str) -> str:
    """NFKC, invisible characters out, whitespace collapsed to single spaces."""
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    return " ".join(text.split())


def html_paragraphs(html: str) -> list[str]:
    """The cleaned paragraphs of an HTML fragment or page.

    Text inside paragraph elements (`PARAGRAPH_TAGS`) is kept, one paragraph per innermost such
    element; text outside them is dropped as boilerplate. A page with no paragraph elements at all
    keeps its whole visible text as one paragraph, so tag-poor pages are not emptied.
    """
    tree = LexborHTMLParser(html)
    tree.strip_tags(_DROP_TAGS)
    for br in tree.css("br"):
        br.replace_with(" ")
    nodes = tree.css(_PARAGRAPH_SELECTOR)
    if not nodes:
        root = tree.body if tree.body is not None else tree.root
        whole = _tidy(root.text(deep=True, separator=" ")) if root is not None else ""
        return [whole] if whole else []
    paragraphs = []
    for node in nodes:
        if len(node.css(_PARAGRAPH_SELECTOR)) > 1:  # the match list includes the node itself
            continue  # an outer element: its inner paragraphs are taken on their own
        text = _tidy(node.text(deep=True, separator=""))
        if text:
            paragraphs.append(text)
    return paragraphs


def text_paragraphs(text: str) -> list[str]:
    """The cleaned paragraphs of plain text: blocks separated by blank lines."""
    blocks = (_tidy(block) for block in _BLANK_LINE.split(text.replace("\r\n", "\n")))
    return [block for block in blocks if block]


def clean(text: str, cfg: NormalizeConfig) -> list[str]:
    """Clean one record's text into paragraphs, as `cfg.content` says.

    Returns:
        The cleaned paragraphs; empty when nothing readable is left.
    """
    if cfg.content == "html" or (cfg.content == "auto" and is_html(text)):
        return html_paragraphs(text)
    return text_paragraphs(text)


def tokens(paragraph: str) -> list[str]:
    """The hashing-form tokens of one cleaned paragraph (casefolded, punctuation folded)."""
    return _TOKEN.findall(paragraph.casefold())


def hashing_form(paragraphs: list[str]) -> str:
    """The hashing form of a record: each paragraph's tokens joined by spaces, paragraphs by newlines."""
    return "\n".join(" ".join(tokens(p)) for p in paragraphs)
