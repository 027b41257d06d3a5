from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dedup.normalize import (
    NormalizeConfig,
    changed_where,
    clean,
    clean_batch,
    fold_char,
    hashing_form,
    hashing_forms,
    is_html,
    nfkc_stable,
    tokens,
)
from tests.conftest import examples

HTML = NormalizeConfig(content="html")
TEXT = NormalizeConfig(content="text")


def html_paragraphs(html: str) -> list[str]:
    return clean(html, HTML)


def text_paragraphs(text: str) -> list[str]:
    return clean(text, TEXT)


TEASER = "Trump would 'love' to meet Kim Jong Un again"


def test_seed_line_cleans_to_28_paragraphs_without_the_teaser(seed_lines: list[str]) -> None:
    paragraphs = clean(seed_lines[0], NormalizeConfig())
    assert len(paragraphs) == 28
    assert not any(TEASER in p for p in paragraphs)
    assert TEASER in seed_lines[0]  # the teaser really is in the raw line
    assert paragraphs[0].startswith("Inside a gold-drenched palace in Tokyo")
    assert "Japan’s new prime minister" in paragraphs[0]  # curly apostrophe kept
    assert "“allies at the strongest level”" in paragraphs[0]  # curly quotes kept
    assert any("protégé" in p for p in paragraphs)  # accents kept


def test_entities_are_decoded_and_whitespace_collapsed() -> None:
    assert html_paragraphs("<p>Fish &amp; chips&nbsp;&nbsp; at\n\t<b>5</b>&#8364;</p>") == [
        "Fish & chips at 5€"
    ]


def test_br_separates_words_and_inline_tags_do_not() -> None:
    assert html_paragraphs("<p>one<br>two Tr<b>um</b>p</p>") == ["one two Trump"]


def test_script_style_and_text_outside_paragraphs_are_dropped() -> None:
    html = "<div>Menu</div><script>var x = 1;</script><p>Body text.</p><style>p{}</style>Read more ."
    assert html_paragraphs(html) == ["Body text."]


def test_nested_paragraph_elements_are_taken_once() -> None:
    assert html_paragraphs("<blockquote><p>Quoted.</p></blockquote><ul><li>Item</li></ul>") == [
        "Quoted.",
        "Item",
    ]


def test_html_without_paragraph_elements_keeps_its_visible_text() -> None:
    assert html_paragraphs("<div>Only <span>divs</span> here</div>") == ["Only divs here"]


def test_broken_html_is_parsed_leniently() -> None:
    assert html_paragraphs("<p>Unclosed <b>bold<p>Second & third") == ["Unclosed bold", "Second & third"]


def test_nfkc_and_invisible_characters() -> None:
    # Full-width letters and the "ﬁ" ligature fold under NFKC; zero-width space and soft hyphen go.
    assert text_paragraphs("Ｆｕｌｌ ﬁsh\u200bing co\u00adop") == ["Full fishing coop"]


def test_plain_text_paragraphs_split_on_blank_lines() -> None:
    assert text_paragraphs("First line\ncontinues.\n\n  \nSecond.\r\n\r\nThird.") == [
        "First line continues.",
        "Second.",
        "Third.",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<p>x</p>", True),
        ("<P class='a'>x</P>", True),
        ("a < b and c > d", False),
        ("plain text", False),
    ],
)
def test_is_html(text: str, expected: bool) -> None:
    assert is_html(pa.array([text])).tolist() == [expected]


def test_auto_content_decides_per_record() -> None:
    cfg = NormalizeConfig(content="auto")
    assert clean("<p>a</p><p>b</p>", cfg) == ["a", "b"]
    assert clean("a\n\nb", cfg) == ["a", "b"]
    assert clean("<p>a</p>", NormalizeConfig(content="text")) == ["<p>a</p>"]


def test_hashing_form_folds_case_punctuation_quote_style_and_accents() -> None:
    curly = hashing_form(["“This woman is a winner,” Trump’s protégé said — twice."])
    straight = hashing_form(['"THIS woman is a winner," Trump\'s protege said -- twice.'])
    assert curly == straight == "this woman is a winner trump s protege said twice"


def test_hashing_form_keeps_paragraph_boundaries_and_digits() -> None:
    assert hashing_form(["Rate 4.5%", "!!", "Up 15"]) == "rate 4 5\nup 15"


def test_tokens_are_unicode_aware() -> None:
    assert tokens("Café NAÏVE über") == ["cafe", "naive", "uber"]
    assert tokens("e\u0301te\u0301") == ["ete"]  # combining marks vanish, the word stays whole
    assert tokens("日本語です") == ["日", "本", "語", "で", "す"]  # each a token; voicing is no accent
    assert tokens("snake_case 😀 x\u00a0y") == ["snake", "case", "x", "y"]
    assert tokens("İSTANBUL ΟΔΟΣ") == ["istanbul", "οδοσ"]  # no locale or final-sigma rules
    assert fold_char("\u0301") == "" and fold_char("-") == " " and fold_char("中") == " 中 "


def test_clean_batch_keeps_records_aligned() -> None:
    texts = pa.array(["<p>a</p><p> </p><p>b</p>", "", "x\n\ny", "<p></p>"])
    assert clean_batch(texts, NormalizeConfig()).to_pylist() == [["a", "b"], [], ["x", "y"], []]


# Text a user might feed: letters of many scripts, marks, CJK, emoji, Unicode spaces and
# punctuation, newlines. Surrogates cannot occur in valid UTF-8.
unicode_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=60)
mixed_text = st.lists(
    st.sampled_from(
        [
            "a",
            "É",
            "e\u0301",
            "ß",
            "İ",
            "Σ",
            "中",
            "で",
            "한",
            "😀",
            "\u00a0",
            "\u2003",
            " ",
            "\n",
            "-",
            "’",
            "_",
            "٣",
            "\U000e0100",
            "\U00020000",
            "\u200b",
            "x1",
            # scripts written without spaces, letters that are marks, and what only shapes text
            "ภาษาไทย",
            "ที่",
            "ກ",
            "ຽ",
            "ខ្មែរ",
            "\u17b4",
            "မြန်",
            "ᨠᩣ",
            "ꦲꦤ",
            "किताब",
            "ـ",
            "مُ",
            "שָׁ",
            "が",
            "\u200c",
            "\u200e",
            "\u2066",
            "\U000e0020",
        ]
    ),
    max_size=30,
).map("".join)


@settings(max_examples=examples(300))
@given(st.lists(st.one_of(unicode_text, mixed_text), min_size=1, max_size=8))
@example(["a\n\nb", " \n", "x\U000e0100y\U000f0000z"])
@example(["ภา\u200cษา100ไทย\nक्या", "مُحَمَّد عـربي", "ですが\u200eข"])
def test_the_kernel_hashing_form_equals_the_reference(records: list[str]) -> None:
    forms = hashing_forms(pa.array(records, pa.large_string())).to_pylist()
    assert forms == [hashing_form(r.split("\n")) for r in records]
    for form, record in zip(forms, records, strict=True):
        assert form.split() == [t for line in record.split("\n") for t in tokens(line)]


@settings(max_examples=examples(150))
@given(st.lists(unicode_text, max_size=6))
def test_cleaning_never_fails_and_gives_tidy_paragraphs(records: list[str]) -> None:
    out = clean_batch(pa.array(records, pa.large_string()), NormalizeConfig()).to_pylist()
    assert len(out) == len(records)
    for paragraphs in out:
        for p in paragraphs:
            assert p and p == p.strip() and "  " not in p and "\n" not in p


@settings(max_examples=examples(60))
@given(st.lists(st.one_of(unicode_text, mixed_text), min_size=4, max_size=40))
def test_threads_do_not_change_cleaning_or_hashing_forms(records: list[str]) -> None:
    texts = pa.array(records, pa.large_string())
    one = clean_batch(texts, NormalizeConfig(), workers=1)
    assert clean_batch(texts, NormalizeConfig(), workers=2).equals(one)
    assert clean_batch(texts, NormalizeConfig(), workers=3).equals(one)
    assert hashing_forms(texts, workers=2).equals(hashing_forms(texts, workers=1))


USENET = (
    "Xref: cantaloupe.srv.cs.cmu.edu alt.atheism:51121 soc.motss:139944\n"
    "Newsgroups: alt.atheism,soc.motss\n"
    "Path: cantaloupe.srv.cs.cmu.edu!crabapple\n"
    "From: strom@Watson.Ibm.Com (Rob Strom)\n"
    "Subject: Re: matching funds\n"
    "References: <C47EFs.3q47@austin.ibm.com>\n"
    "\t<1993Mar22.033150.17345@cbnewsl.cb.att.com>\n"
    "Lines: 12\n"
    "\n"
    "The body of the post.\n\nSecond paragraph."
)


def test_mail_headers_are_dropped_when_they_are_headers() -> None:
    assert clean(USENET, TEXT) == ["The body of the post.", "Second paragraph."]
    assert clean(USENET, NormalizeConfig(content="text", mail_headers="keep"))[0].startswith("Xref:")
    prose = "Note: this is prose.\nWarning: still prose.\n\nBody."
    assert clean(prose, TEXT) == ["Note: this is prose. Warning: still prose.", "Body."]  # unknown names stay
    assert clean(prose, NormalizeConfig(content="text", mail_headers="strip")) == ["Body."]
    assert clean("Subject: only one line\n\nBody.", TEXT)[0] == "Subject: only one line"


def test_nfkc_leaves_the_stable_characters_alone_in_any_text() -> None:
    import unicodedata

    table = nfkc_stable()
    marked = [chr(c) for c in np.flatnonzero(table).tolist()]
    assert "’" in marked and "£" in marked and "é" in marked and "\u00a0" not in marked  # NBSP -> space
    # No marked character composes with the character before it: none is the second of a
    # canonical decomposition into two (Python's Unicode database), or a Hangul vowel or final.
    seconds = set()
    for c in range(0x110000):
        parts = unicodedata.decomposition(chr(c)).split()
        if len(parts) == 2 and not parts[0].startswith("<"):
            seconds.add(int(parts[1], 16))
    seconds |= set(range(0x1161, 0x1176)) | set(range(0x11A8, 0x11C3))
    assert not seconds & set(np.flatnonzero(table).tolist())
    # Each alone, and texts of them side by side, as Python's NFKC and pyarrow's (utf8proc) read them.
    rng = np.random.default_rng(7)
    texts = ["".join(rng.choice(marked + list("aZ 1.e"), size=12).tolist()) for _ in range(3000)] + marked
    assert all(unicodedata.normalize("NFKC", t) == t for t in texts)
    assert pc.utf8_normalize(pa.array(texts, pa.large_string()), form="NFKC").to_pylist() == texts


def test_outside_table_flags_bytes_that_are_no_utf8() -> None:
    from dedup import kernels

    cases = [
        b"\xc3A",
        b"\xed\xa0\x80",
        b"\xc0\xaf",
        b"\xf4\x90\x80\x80",
        b"\x80",
        b"a\xf0\x9f",
        b"\xc3\xa9",
        b"ab",
    ]
    data = b"".join(cases)
    offsets = np.r_[0, np.cumsum([len(c) for c in cases])].astype(np.int64)
    found = kernels.outside_table(np.frombuffer(data, np.uint8), offsets, nfkc_stable())
    assert found.tolist() == [True] * 6 + [False, False]  # `é` is stable, `ab` ASCII


@settings(max_examples=examples(200))
@given(
    st.lists(st.text(alphabet="a é’£\u00a0\ufb01\u0301e\u1100\u1161½²", max_size=10), min_size=1, max_size=8)
)
def test_tidy_normalizes_what_nfkc_changes(values: list[str]) -> None:
    import unicodedata

    from dedup.normalize import _tidy

    expected = [" ".join(unicodedata.normalize("NFKC", v).split()) for v in values]
    assert _tidy(pa.array(values, pa.large_string())).to_pylist() == expected


# Pieces of plain-text records that each step of plain-text cleaning acts on: line ends, character
# references, mail headers (a record begins with them or not).
_PIECES = ["word", " ", "\n", "\r\n", "\n\n", "&amp;", "&#8364;", "&bogus", "Subject: x\n", "Note: y\n", "é"]
_PLAIN_RECORDS = st.lists(
    st.tuples(
        st.sampled_from(["", USENET, "From: a\nSubject: b\n\n"]),
        st.lists(st.sampled_from(_PIECES), max_size=12),
    ).map(lambda r: r[0] + "".join(r[1])),
    min_size=1,
    max_size=12,
)


@settings(max_examples=examples(150))
@given(_PLAIN_RECORDS, st.sampled_from(["auto", "strip", "keep"]))
def test_a_batch_cleans_each_record_as_it_cleans_alone(records: list[str], headers: str) -> None:
    # The steps of plain-text cleaning change only the records that hold what they change: a
    # batch mixing such records with others must clean each as that record alone.
    cfg = NormalizeConfig(content="text", mail_headers=headers)
    batch = clean_batch(pa.array(records, pa.large_string()), cfg).to_pylist()
    assert batch == [clean_batch(pa.array([r], pa.large_string()), cfg).to_pylist()[0] for r in records]
    assert batch == [clean(r, cfg) for r in records]


@settings(max_examples=examples(150))
@given(st.lists(st.text(alphabet="ab&;#1x\r\n", max_size=10), min_size=1, max_size=10))
def test_a_change_made_where_its_pattern_matches_is_the_change_made_everywhere(values: list[str]) -> None:
    array = pa.array(values, pa.large_string())
    for pattern, change in [
        ("\r\n", lambda v: pc.replace_substring(v, "\r\n", "\n")),
        ("&#1;", lambda v: pc.replace_substring(v, "&#1;", "<one>")),
        ("a+", lambda v: pc.replace_substring_regex(v, "a+", "A", max_replacements=1)),
        ("b", lambda v: pa.array([x[::-1] if "b" in x else x for x in v.to_pylist()], pa.large_string())),
    ]:
        assert changed_where(array, pattern, change).to_pylist() == change(array).to_pylist()


@settings(max_examples=examples(200))
@given(st.lists(st.text(alphabet="ab\x00é", max_size=6), max_size=8), st.integers(0, 8), st.integers(0, 8))
def test_nul_characters_are_found_in_any_slice_of_records(texts: list[str], start: int, stop: int) -> None:
    from dedup.featurize import _holds_nul

    array = pa.array(texts, pa.large_string())[start:stop]
    assert _holds_nul(array).tolist() == ["\x00" in t for t in texts[start:stop]]


@settings(max_examples=examples(200))
@given(
    st.lists(
        st.sampled_from(["plain words", "ﬁve ①", "Ａｂｃ  x", "e\u0301t\u00e9", "tab\there", "", "x\u200by"]),
        max_size=8,
    )
)
def test_only_text_beyond_ascii_is_normalized_and_the_batch_changes_nothing(values: list[str]) -> None:
    import unicodedata

    from dedup.normalize import _tidy

    batch = _tidy(pa.array(values, pa.large_string())).to_pylist()
    assert batch == [_tidy(pa.array([v], pa.large_string())).to_pylist()[0] for v in values]
    for value, got in zip(values, batch, strict=True):
        if value and not any(c.isspace() or unicodedata.category(c) == "Cf" for c in value):
            assert got == unicodedata.normalize(
                "NFKC", value
            )  # the oracle where tidying changes nothing else
