"""Cleaning: raw record text to the paragraphs we keep, and to the hashing form we hash.

Two forms come out of a record. The *clean* form is what users get back: paragraphs taken from
HTML paragraph elements with a real HTML parser (selectolax/lexbor) or, for plain text, blocks
between blank lines; then, for the whole batch at once with pyarrow: Unicode NFKC, invisible
characters removed, whitespace collapsed. Curly quotes, dashes and accents stay.

The *hashing form* is harsher and never written out: each character is decomposed (NFD),
lowercased and stripped of its accents (the diacritics of Latin, Greek and Cyrillic, the optional
vowel points of Hebrew, Arabic and Syriac); marks that are letters (the vowel signs and viramas of
Thai, Devanagari, Khmer...) stay. Characters that only join, shape, elongate or direct text
(ZWNJ, ZWJ, direction marks, tatweel, variation selectors, Hangul fillers, every format character)
are dropped. Letters, digits and kept marks make tokens, each CJK ideograph or kana is a token
alone, and everything else separates tokens; runs of scripts written without spaces are first cut
into words (`dedup.segment`). Tokens are joined by spaces and paragraphs by newlines. Restyled
quotes, case or accents then do not hide a repeat, while figures (which tell this week's notice
from last week's) still count. `tokens` is the one-character-at-a-time definition (after
`segment`); `hashing_forms` computes the same for whole batches in a compiled kernel driven by a
per-code-point table built from that definition.
"""

from __future__ import annotations

import functools
import html
import os
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from selectolax.lexbor import LexborHTMLParser

from dedup import kernels, segment, web
from dedup.records import arrow_bytes
from dedup.settings import NORMALIZE_VERSION as NORMALIZE_VERSION
from dedup.settings import NormalizeConfig as NormalizeConfig

#: Elements whose text is a paragraph; text outside them (teasers, navigation) is boilerplate.
PARAGRAPH_TAGS = ("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "dd", "dt")
_PARAGRAPH_SELECTOR = ", ".join(PARAGRAPH_TAGS)
_DROP_TAGS = ["script", "style", "noscript", "template", "head", "svg", "iframe"]
_HTML_HINT = (
    r"<\s*/?\s*(?:p|div|br|span|a|li|ul|ol|h[1-6]|html|body|table|article|section|blockquote)\b[^>]*>"
)
_BLANK_LINE = r"\n[ \t\r\f\v]*\n"
_ENTITY = r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});"
# A leading block of mail or Usenet header lines ("Name: value", with folded continuation lines)
# ending at the first blank line. `auto` strips it only when every line carries a known header
# name (and there are at least two); `strip` takes any "Name:" lines.
_KNOWN_HEADERS = (
    "from|subject|newsgroups|path|xref|message-id|date|organization|lines|sender|reply-to|references|"
    "distribution|keywords|summary|nntp-posting-host|to|cc|bcc|x-[a-z0-9-]+|article-i\\.d\\.|expires|"
    "followup-to|approved|originator|in-reply-to|mime-version|content-type|content-transfer-encoding|"
    "return-path|received|status|supersedes|news-software"
)
_HEADER_LINE = r"[^\n]*\r?\n(?:[ \t][^\n]*\r?\n)*"
_MAIL_HEADERS = {
    "auto": rf"^(?:(?i:{_KNOWN_HEADERS})[ \t]*:{_HEADER_LINE}){{2,}}[ \t\r]*\n",
    "strip": rf"^(?:[A-Za-z][A-Za-z0-9-]*[ \t]*:{_HEADER_LINE})+[ \t\r]*\n",
}

# CJK ideographs and kana are written without spaces: each is a token of its own.
_CJK_RANGES = ((0x3040, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2FA1F))
# Past this code point the fold table is not stored: everything there is unassigned or private
# use (separators), except tags and variation selectors (E0000-E0FFF, all default-ignorable:
# dropped, as `segment.INVISIBLE` says).
_FOLD_LIMIT = 0x40000
_DROPPED_ABOVE_LIMIT = (0xE0000, 0xE0FFF)
# Marks that are accents (dropped): the combining diacritics blocks (Latin, Greek, Cyrillic
# accents; NFD yields them), Cyrillic titlo, and the optional vowel points and cantillation of
# Hebrew, Arabic and Syriac. Every other mark is part of its letter (Unicode General Category M).
_ACCENT_RANGES = (
    (0x0300, 0x036F),
    (0x0483, 0x0489),
    (0x0591, 0x05C7),
    (0x0610, 0x061A),
    (0x064B, 0x065F),
    (0x0670, 0x0670),
    (0x06D6, 0x06ED),
    (0x0730, 0x074A),
    (0x0898, 0x08FF),
    (0x1AB0, 0x1AFF),
    (0x1DC0, 0x1DFF),
    (0x20D0, 0x20FF),
    (0xFE20, 0xFE2F),
)


def is_html(texts: pa.Array[Any]) -> npt.NDArray[np.bool_]:
    """Which records look like HTML (hold at least one common block or inline tag)."""
    found = pc.match_substring_regex(texts, _HTML_HINT, ignore_case=True).fill_null(False)
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)


def _html_raw_paragraphs(html: str) -> list[str]:
    """Untidied paragraph texts of an HTML fragment or page.

    Innermost paragraph elements (`PARAGRAPH_TAGS`) are kept, one paragraph each; text outside
    them is boilerplate. A page with no paragraph elements keeps its visible text as one paragraph.
    """
    tree = LexborHTMLParser(html)
    tree.strip_tags(_DROP_TAGS)
    for br in tree.css("br"):
        br.replace_with(" ")
    nodes = tree.css(_PARAGRAPH_SELECTOR)
    if not nodes:
        root = tree.body if tree.body is not None else tree.root
        return [root.text(deep=True, separator=" ")] if root is not None else []
    # An outer element (one holding another paragraph element) is skipped: its inner paragraphs
    # are taken on their own.
    return [node.text(deep=True, separator="") for node in _innermost(nodes)]


def _innermost(nodes: list[Any]) -> list[Any]:
    """The paragraph elements (in document order) that hold no other paragraph element.

    Each element walks up to its nearest paragraph ancestor, which is then an outer one; every
    element passed on the way remembers the answer, so no element is walked through twice and the
    work is linear in the page however deep its elements nest (a query per element for the
    paragraphs inside it would be quadratic in the nesting depth).
    """
    paragraph = {node.mem_id for node in nodes}
    nearest: dict[int, int | None] = {}  # an element that is no paragraph -> its nearest paragraph ancestor
    outer: set[int] = set()
    for node in nodes:
        passed: list[int] = []
        found: int | None = None
        up = node.parent
        while up is not None:
            at = up.mem_id
            if at in paragraph or at in nearest:
                found = at if at in paragraph else nearest[at]
                break
            passed.append(at)
            up = up.parent
        for at in passed:
            nearest[at] = found
        if found is not None:
            outer.add(found)
    return [node for node in nodes if node.mem_id not in outer]


#: `nfkc_stable` marks characters below this code point (Latin to the symbols before CJK).
NFKC_TABLE_SIZE = 0x3000


@functools.cache
def nfkc_stable() -> npt.NDArray[np.uint8]:
    """`uint8 (NFKC_TABLE_SIZE,)`: 1 at the characters that NFKC leaves as they are in any text.

    A character is marked when it was assigned by Unicode 3.2 and NFKC leaves it alone in both
    3.2 and the running Python's Unicode, it is no mark (`M*`, which holds every character with a
    combining class and every second character of a canonical composition but Hangul's) and no
    Hangul jamo (U+1100-U+11FF). NFKC then leaves a text of ASCII and marked characters as it is:
    each stands for itself under compatibility decomposition and composes back to itself, and none
    can compose with its neighbour, since none is a second character of a composition. Unicode's
    normalization stability policy (UAX #15) keeps that true for characters assigned by 3.2 under
    any later Unicode, such as pyarrow's utf8proc's. `tests/test_normalize.py` checks the table
    against the composition pairs of Python's Unicode database. Built once, in about 5 ms.
    """
    old = unicodedata.ucd_3_2_0
    table = np.zeros(NFKC_TABLE_SIZE, dtype=np.uint8)
    for cp in range(0x80, NFKC_TABLE_SIZE):
        char = chr(cp)
        if 0x1100 <= cp < 0x1200 or old.category(char) == "Cn" or unicodedata.category(char).startswith("M"):
            continue
        if unicodedata.combining(char) == 0 and unicodedata.normalize("NFKC", char) == char == old.normalize(
            "NFKC", char
        ):
            table[cp] = 1
    return table


def _tidy(values: pa.Array[Any], workers: int = 1) -> pa.LargeStringArray:
    """NFKC (pyarrow), then invisible characters out and whitespace collapsed (kernel), whole arrays.

    NFKC leaves a text of ASCII and `nfkc_stable` characters as it is, so only the values that
    hold another character are normalized (on 5 copies of Reuters+BBC, whose curly quotes and
    pound signs are all stable, that spares 0.2 s of 0.46 s).
    """
    others = pa.array(kernels.outside_table(*arrow_bytes(values), nfkc_stable()))
    normalized = _changed_at(values, others, lambda held: pc.utf8_normalize(held, form="NFKC"))
    out, offsets = kernels.tidy_bytes(*arrow_bytes(normalized), workers=workers)
    return pa.LargeStringArray.from_buffers(len(values), pa.py_buffer(offsets), pa.py_buffer(out))


def _unescape(plain: pa.Array[Any]) -> pa.Array[Any]:
    """Decode HTML character references (`&amp;`, `&#39;`) in plain-text records that hold any."""
    return changed_where(
        plain, _ENTITY, lambda held: pa.array([html.unescape(t) for t in held.to_pylist()], pa.large_string())
    )


def changed_where(
    values: pa.Array[Any], pattern: str, change: Callable[[pa.Array[Any]], pa.Array[Any]]
) -> pa.Array[Any]:
    """`change(values)`, computed only for the values in which `pattern` finds a match.

    For a `change` that leaves every value without a match of `pattern` as it is (a replacement
    of that pattern, or of something that holds it), the result is `change(values)`. The search
    is RE2's (`pc.match_substring_regex`), which finds a pattern that starts with a literal at
    memchr's speed: on 109 MB of news it takes 7 ms where a replacement over every value takes
    40 ms and a conversion of every value to Python 120 ms.

    Args:
        values: an Arrow `large_string` array (no nulls).
        pattern: an RE2 pattern that each value `change` alters holds a match of.
        change: a function of an array of values to an array of as many, same type.

    Returns:
        A `large_string` array aligned with `values`.
    """
    return _changed_at(values, pc.match_substring_regex(values, pattern), change)


def _changed_at(
    values: pa.Array[Any], flagged: pa.BooleanArray, change: Callable[[pa.Array[Any]], pa.Array[Any]]
) -> pa.Array[Any]:
    """`values` with the `flagged` ones replaced by `change` of them (`change` reads only those)."""
    hits = pc.sum(flagged).as_py() or 0
    if hits == 0:
        return values
    if hits == len(values):
        return change(values)
    return pc.replace_with_mask(values, flagged, change(values.filter(flagged)).cast(values.type))


def clean_batch(texts: pa.Array[Any], cfg: NormalizeConfig, workers: int = 1) -> pa.LargeListArray:
    """Clean a batch of records into paragraphs.

    Args:
        texts: Arrow string array of raw record texts (no nulls).
        cfg: the normalize section.
        workers: threads for the cleaning kernel.

    Returns:
        `large_list<large_string>`, one list of cleaned, non-empty paragraphs per record (empty
        when nothing readable is left).
    """
    texts = texts.cast(pa.large_string())
    n = len(texts)
    if cfg.content == "auto":
        page = web.is_page(texts)
        html = is_html(texts) & ~page
    else:
        page = np.full(n, cfg.content == "web", dtype=bool)
        html = np.full(n, cfg.content == "html", dtype=bool)
    html_rows, page_rows = np.flatnonzero(html), np.flatnonzero(page)
    text_rows = np.flatnonzero(~html & ~page)
    parts: list[pa.Array[Any]] = []
    if len(text_rows):
        plain = texts if len(text_rows) == n else texts.take(pa.array(text_rows))
        plain = changed_where(plain, "\r\n", lambda held: pc.replace_substring(held, "\r\n", "\n"))
        if cfg.mail_headers != "keep":
            headers = _MAIL_HEADERS[cfg.mail_headers]
            plain = changed_where(
                plain, headers, lambda held: pc.replace_substring_regex(held, headers, "", max_replacements=1)
            )
        plain = _unescape(plain)
        parts.append(pc.split_pattern_regex(plain, _BLANK_LINE).cast(pa.large_list(pa.large_string())))
    if len(html_rows):
        raw = [_html_raw_paragraphs(t) for t in texts.take(pa.array(html_rows)).to_pylist()]
        parts.append(pa.array(raw, pa.large_list(pa.large_string())))
    if len(page_rows):
        pages = [web.main_content(t) for t in texts.take(pa.array(page_rows)).to_pylist()]
        parts.append(pa.array(pages, pa.large_list(pa.large_string())))
    if not parts:
        return pa.LargeListArray.from_arrays(pa.array([0], pa.int64()), pa.array([], pa.large_string()))
    combined = pa.concat_arrays(parts) if len(parts) > 1 else parts[0]
    if len(parts) > 1:  # back to the records' order (one kind of record alone is in order)
        order = np.empty(n, dtype=np.int64)
        order[np.r_[text_rows, html_rows, page_rows]] = np.arange(n)
        combined = combined.take(pa.array(order))
    tidy = _tidy(combined.flatten(), workers)
    keep = np.asarray(pc.greater(pc.binary_length(tidy), 0).to_numpy(zero_copy_only=False), dtype=bool)
    offsets = np.zeros(n + 1, dtype=np.int64)
    if keep.all():  # no paragraph left empty: the lists stand as they are
        lengths = pc.list_value_length(combined).fill_null(0).to_numpy(zero_copy_only=False)
        np.cumsum(lengths, out=offsets[1:])
        return pa.LargeListArray.from_arrays(pa.array(offsets), tidy)
    parent = np.asarray(pc.list_parent_indices(combined).to_numpy(), dtype=np.int64)
    np.cumsum(np.bincount(parent[keep], minlength=n), out=offsets[1:])
    return pa.LargeListArray.from_arrays(pa.array(offsets), tidy.filter(pa.array(keep)))


def join_paragraphs(paragraphs: pa.Array[Any], separator: str) -> pa.Array[Any]:
    """Each record's paragraphs joined by `separator`, as a `large_string` array."""
    lists = paragraphs.cast(pa.large_list(pa.large_string()))
    return pc.binary_join(lists, pa.scalar(separator, pa.large_string()))


def clean(text: str, cfg: NormalizeConfig) -> list[str]:
    """Clean one record's text into paragraphs (`clean_batch` on a batch of one)."""
    paragraphs: list[str] = clean_batch(pa.array([text], pa.large_string()), cfg)[0].as_py()
    return paragraphs


def _is_cjk(cp: int) -> bool:
    return any(lo <= cp <= hi for lo, hi in _CJK_RANGES)


def _codes(ranges: tuple[tuple[int, int], ...]) -> frozenset[int]:
    return frozenset(cp for lo, hi in ranges for cp in range(lo, hi + 1))


_ACCENTS, _INVISIBLE = _codes(_ACCENT_RANGES), _codes(segment.INVISIBLE)


def _dropped(ch: str) -> bool:
    """Whether a character leaves the hashing form: an accent, or one that only shapes text."""
    cp = ord(ch)
    if cp in _INVISIBLE:
        return True
    category = unicodedata.category(ch)
    return category == "Cf" or (category in ("Mn", "Me") and cp in _ACCENTS)


def fold_char(char: str) -> str:
    """The hashing form of one character: its folded letters and digits, with separators as spaces.

    NFD, then each part lowercased; accents and invisible characters vanish (`_dropped`); what is
    left is composed again (NFC: a kana keeps its voicing mark); a CJK ideograph or kana is wrapped
    in spaces so it stands alone; letters, digits and marks that belong to a letter stay; anything
    else becomes a space.
    """
    kept = [ch for part in unicodedata.normalize("NFD", char) for ch in part.lower() if not _dropped(ch)]
    out: list[str] = []
    for ch in unicodedata.normalize("NFC", "".join(kept)):
        major = unicodedata.category(ch)[0]
        if major == "M":
            out.append(ch)
        elif major in "LN":
            out.append(f" {ch} " if _is_cjk(ord(ch)) else ch)
        else:
            out.append(" ")
    return "".join(out)


def tokens(paragraph: str) -> list[str]:
    """The hashing-form tokens of one cleaned paragraph: the reference, one character at a time.

    Runs of scripts written without spaces are first cut into words by `segment.segment`.
    """
    return [t for t in "".join(fold_char(ch) for ch in segment.segment(paragraph)).split(" ") if t]


def hashing_form(paragraphs: list[str]) -> str:
    """The hashing form of one record: tokens joined by spaces, paragraphs with tokens by newlines."""
    lines = (" ".join(tokens(p)) for p in paragraphs)
    return "\n".join(line for line in lines if line)


def _cache_dir() -> Path:
    """Where derived tables live: `$DEDUP_CACHE_DIR`, else `$XDG_CACHE_HOME/dedup` or `~/.cache/dedup`."""
    if os.environ.get("DEDUP_CACHE_DIR"):
        return Path(os.environ["DEDUP_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "dedup"


def _build_fold_table() -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    pieces = [
        "\n" if cp == 0x0A else "" if 0xD800 <= cp <= 0xDFFF else fold_char(chr(cp))
        for cp in range(_FOLD_LIMIT)
    ]
    encoded = [p.encode("utf-8") for p in pieces]
    offsets = np.zeros(_FOLD_LIMIT + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    return np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets


@functools.cache
def fold_table() -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """`fold_char` for every code point below the table limit, as UTF-8 bytes and offsets.

    Code point `cp` folds to `data[offsets[cp]:offsets[cp + 1]]`; a newline stays a newline
    (paragraph break). Building it from `unicodedata` takes one to two seconds, so it is cached
    on disk, keyed by the normalization and Unicode versions; an unwritable cache only costs time.
    """
    path = _cache_dir() / f"fold-v{NORMALIZE_VERSION}-unicode{unicodedata.unidata_version}.npz"
    try:
        with np.load(path) as cached:
            return cached["data"], cached["offsets"]
    except (OSError, KeyError, ValueError):
        pass
    data, offsets = _build_fold_table()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(temp, data=data, offsets=offsets)
        os.replace(temp, path)
    except OSError:
        pass
    return data, offsets


def _segmented(joined: pa.Array[Any]) -> pa.Array[Any]:
    """`segment.segment` applied to the records that hold a script written without spaces."""
    rows = np.flatnonzero(segment.needs_segmenting(joined))
    if not len(rows):
        return joined
    values = joined.cast(pa.large_string()).to_pylist()
    for i in rows.tolist():
        values[i] = segment.segment(values[i])
    return pa.array(values, pa.large_string())


def hashing_forms(joined: pa.Array[Any], workers: int = 1) -> pa.LargeStringArray:
    """Hashing forms of a batch of records, in the compiled kernel.

    Args:
        joined: Arrow string array, per record its cleaned paragraphs joined by newlines.
        workers: threads for the kernel.

    Returns:
        `large_string` array equal, record by record, to `hashing_form` (property-tested).
    """
    data, offsets = arrow_bytes(_segmented(joined))
    table, table_offsets = fold_table()
    out, out_offsets = kernels.fold_bytes(
        data, offsets, table, table_offsets, _FOLD_LIMIT, _DROPPED_ABOVE_LIMIT, workers
    )
    return pa.LargeStringArray.from_buffers(len(joined), pa.py_buffer(out_offsets), pa.py_buffer(out))
