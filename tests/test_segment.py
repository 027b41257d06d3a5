from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup import config_from_dict
from dedup.engines.memory import find_duplicates
from dedup.featurize import featurize
from dedup.normalize import hashing_form, hashing_forms, tokens
from dedup.segment import segment
from tests.conftest import examples, record_table
from tests.scripts import SAMPLES, THAI_RAIN, Sample


def _kept(texts: list[str]) -> list[bool]:
    config = config_from_dict({"output": {"dir": "unused"}})
    features = featurize(record_table(texts), config)
    rejects = features.rejects
    assert not rejects
    return [bool(k) for k in find_duplicates(features, config).kept]


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.script)
def test_an_edited_copy_is_found_and_an_unrelated_text_kept(sample: Sample) -> None:
    assert sample.edited != sample.original
    assert _kept([sample.original, sample.edited, sample.unrelated]) == [True, False, True]


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.script)
def test_a_script_without_spaces_makes_many_tokens(sample: Sample) -> None:
    # One token per space-separated phrase is what made two Thai articles differing in two words
    # look unrelated; words (or letter clusters) are several to a phrase.
    assert len(tokens(sample.original)) > 2 * len(sample.original.split())


def test_thai_words_are_cut_by_the_dictionary() -> None:
    assert tokens("ภาษาไทยเป็นภาษาที่ไม่มีการเว้นวรรค") == [
        "ภาษา",
        "ไทย",
        "เป็น",
        "ภาษา",
        "ที่",
        "ไม่มี",
        "การ",
        "เว้น",
        "วรรค",
    ]
    assert tokens("ราคา100บาท") == ["ราคา", "100", "บาท"]  # a run is set apart from its neighbours
    assert segment("plain English text") == "plain English text"


@pytest.mark.parametrize(
    ("left", "right", "same"),
    [
        ("café NAÏVE", "cafe naive", True),  # Latin accents are accents
        ("ἀρχή", "αρχη", True),  # so are Greek ones
        ("مُحَمَّد", "محمد", True),  # Arabic vowel points are optional
        ("שָׁלוֹם", "שלום", True),  # so are Hebrew ones
        ("عـــربي", "عربي", True),  # tatweel only stretches a word
        ("กิน", "กน", False),  # a Thai vowel sign is a letter
        ("किताब", "कताब", False),  # so is a Devanagari one
        ("क्या", "कया", False),  # and a virama
        ("ですが", "てすか", False),  # kana voicing marks are not accents
    ],
)
def test_marks_are_stripped_only_where_they_are_accents(left: str, right: str, same: bool) -> None:
    assert (tokens(left) == tokens(right)) is same


INVISIBLE = ["\u200c", "\u200d", "\u200e", "\u200f", "\u061c", "\u2066", "\u2069", "\u202a", "\u202c"]
INVISIBLE += [
    "\u00ad",
    "\u200b",
    "\u2060",
    "\ufeff",
    "\ufe0f",
    "\u180e",
    "\u034f",
    "\U000e0020",
    "\U000e0101",
]
WORDS = [
    "Storm closes the port",
    "می‌خواهم بروم",
    "कल बारिश होगी",
    "Привет мир",
    "東京都に住んでいます",
    "한국어 문장",
    *(sample.original[:80] for sample in SAMPLES),
]


@settings(max_examples=examples(200))
@given(
    st.sampled_from(WORDS),
    st.lists(st.tuples(st.integers(0, 200), st.sampled_from(INVISIBLE)), min_size=1, max_size=6),
)
def test_characters_that_only_join_or_direct_text_leave_the_hashing_form_unchanged(
    text: str, inserts: list[tuple[int, str]]
) -> None:
    sprinkled = text
    for at, char in inserts:
        cut = at % (len(sprinkled) + 1)
        sprinkled = sprinkled[:cut] + char + sprinkled[cut:]
    assert hashing_form([sprinkled]) == hashing_form([text])
    assert hashing_forms(pa.array([sprinkled, text])).to_pylist() == [hashing_form([text])] * 2


def test_zwnj_and_lrm_inside_thai_words_change_nothing() -> None:
    sprinkled = "".join(
        ch + ("\u200c" if i % 3 == 0 else "\u200e" if i % 5 == 0 else "") for i, ch in enumerate(THAI_RAIN)
    )
    assert hashing_form([sprinkled]) == hashing_form([THAI_RAIN])
    assert _kept([THAI_RAIN, sprinkled]) == [True, False]


def test_an_index_of_the_old_hashing_form_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dedup import Index, IndexMismatchError
    from dedup.index import core

    config = config_from_dict({"output": {"dir": str(tmp_path / "out")}})
    with monkeypatch.context() as patch:
        patch.setattr(core, "NORMALIZE_VERSION", 3)  # as made before the hashing form changed
        with Index.open(str(tmp_path / "old.sqlite"), config) as index:
            index.add([("a", THAI_RAIN)])
    with pytest.raises(IndexMismatchError, match=r"normalize_version '3' \(this config: '4'\)"):
        Index.open(str(tmp_path / "old.sqlite"), config)
