from __future__ import annotations

import pytest

from dedup.normalize import (
    NormalizeConfig,
    clean,
    hashing_form,
    html_paragraphs,
    is_html,
    text_paragraphs,
    tokens,
)

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
    assert is_html(text) is expected


def test_auto_content_decides_per_record() -> None:
    cfg = NormalizeConfig(content="auto")
    assert clean("<p>a</p><p>b</p>", cfg) == ["a", "b"]
    assert clean("a\n\nb", cfg) == ["a", "b"]
    assert clean("<p>a</p>", NormalizeConfig(content="text")) == ["<p>a</p>"]


def test_hashing_form_folds_case_punctuation_and_quote_style() -> None:
    curly = hashing_form(["“This woman is a winner,” Trump’s aide said — twice."])
    straight = hashing_form(['"THIS woman is a winner," Trump\'s aide said -- twice.'])
    assert curly == straight == "this woman is a winner trump s aide said twice"


def test_hashing_form_keeps_paragraph_boundaries_and_digits() -> None:
    assert hashing_form(["Rate 4.5%", "Up 15"]) == "rate 4 5\nup 15"


def test_tokens_are_unicode_aware() -> None:
    assert tokens("Café naïve über") == ["café", "naïve", "über"]
    assert tokens("e\u0301te\u0301") == ["e\u0301te\u0301"]  # combining marks stay inside the word
    assert tokens("日本語です") == ["日", "本", "語", "で", "す"]  # each CJK character is a token
    assert tokens("한국어 문장") == ["한국어", "문장"]
    assert tokens("snake_case 😀 x") == ["snake", "case", "x"]
