"""Words for scripts written without spaces between them (Thai, Lao, Khmer, Myanmar and others).

The hashing form takes words from the spaces between them; Thai, Lao, Khmer and Myanmar put
spaces between phrases or sentences, not words, so a whole phrase would be one token and two
articles differing in two words would share few shingles. `segment` puts a space between the
words of every run of such a script before the text is folded:

- Thai, Lao, Khmer and Myanmar: ICU's dictionary-based word break (UAX #29 with ICU's word
  dictionaries), through icu4py, a maintained, typed binding that ships ICU in its wheels.
- Scripts without spaces for which ICU has no dictionary (Tai Tham, New Tai Lue, Tai Le, Tai
  Viet, Balinese, Javanese, Buginese, Batak, Makasar): each grapheme cluster (a letter with its
  vowel signs and marks, ICU's character break) is a token, as each CJK character is a token in
  `dedup.normalize`; shingles of `ngram` clusters then play the part of words.

Characters that only join, shape, elongate or direct text (`INVISIBLE`: ZWNJ, ZWJ, direction
marks, variation selectors, soft hyphens...) are removed from such a run before it is segmented,
so a copy sprinkled with them is cut into the same words (the fold drops them everywhere). A
segmented run is set apart from what surrounds it by spaces, so `ราคา100บาท` gives three tokens.
Text in any other script passes through unchanged. The choice of ICU over character shingles and
PyThaiNLP is measured in `benchmarks/reports/segment.md`.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from icu4py.breakers import CharacterBreaker, WordBreaker

#: Blocks segmented by ICU's word dictionaries: Thai, Lao, Myanmar (with Extended-A/B), Khmer (with
#: Khmer Symbols).
DICTIONARY_BLOCKS = (
    (0x0E00, 0x0E7F),
    (0x0E80, 0x0EFF),
    (0x1000, 0x109F),
    (0xA9E0, 0xA9FF),
    (0xAA60, 0xAA7F),
    (0x1780, 0x17FF),
    (0x19E0, 0x19FF),
)
#: Blocks of scripts written without spaces that ICU has no dictionary for: cut into clusters.
CLUSTER_BLOCKS = (
    (0x1A20, 0x1AAF),  # Tai Tham
    (0x1980, 0x19DF),  # New Tai Lue
    (0x1950, 0x197F),  # Tai Le
    (0xAA80, 0xAADF),  # Tai Viet
    (0x1B00, 0x1B7F),  # Balinese
    (0xA980, 0xA9DF),  # Javanese
    (0x1A00, 0x1A1F),  # Buginese
    (0x1BC0, 0x1BFF),  # Batak
    (0x11EE0, 0x11EFF),  # Makasar
)
#: Characters that only join, shape, elongate or direct text: every format character (Unicode
#: General Category Cf, as of Unicode 15.1), variation selectors, the other default-ignorable
#: characters (Hangul fillers, Khmer inherent vowels, tags), and the elongation marks Arabic tatweel
#: and N'Ko lajanyalan. `dedup.normalize.fold_char` drops them all from the hashing form (and any
#: other Cf character a later Unicode adds); a run is segmented without them.
INVISIBLE = (
    (0x00AD, 0x00AD),  # soft hyphen
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x0600, 0x0605),  # Arabic number signs
    (0x061C, 0x061C),  # Arabic letter mark
    (0x0640, 0x0640),  # Arabic tatweel
    (0x06DD, 0x06DD),  # Arabic end of ayah
    (0x070F, 0x070F),  # Syriac abbreviation mark
    (0x07FA, 0x07FA),  # N'Ko lajanyalan
    (0x0890, 0x0891),  # Arabic pound and piastre marks above
    (0x08E2, 0x08E2),  # Arabic disputed end of ayah
    (0x115F, 0x1160),  # Hangul fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian variation selectors and vowel separator
    (0x200B, 0x200F),  # zero-width space, non-joiner, joiner; LRM, RLM
    (0x202A, 0x202E),  # bidirectional embeddings and overrides
    (0x2060, 0x206F),  # word joiner, invisible operators, isolates, deprecated format characters
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFEFF, 0xFEFF),  # zero-width no-break space (byte-order mark)
    (0xFFA0, 0xFFA0),  # halfwidth Hangul filler
    (0xFFF9, 0xFFFB),  # interlinear annotation
    (0x110BD, 0x110BD),  # Kaithi number sign
    (0x110CD, 0x110CD),  # Kaithi number sign above
    (0x13430, 0x1343F),  # Egyptian hieroglyph format controls
    (0x1BCA0, 0x1BCA3),  # shorthand format controls
    (0x1D173, 0x1D17A),  # musical symbol format controls
    (0xE0000, 0xE0FFF),  # tags, variation selectors supplement, reserved default-ignorables
)


def _char_class(blocks: tuple[tuple[int, int], ...]) -> str:
    return "".join(f"{chr(lo)}-{chr(hi)}" if lo != hi else chr(lo) for lo, hi in blocks)


_DICTIONARY = _char_class(DICTIONARY_BLOCKS)
_CLUSTER = _char_class(CLUSTER_BLOCKS)
_INVISIBLE = _char_class(INVISIBLE)
# A run starts with a letter of a segmented script and goes on through invisible characters.
_RUN = re.compile(f"[{_DICTIONARY}{_CLUSTER}][{_DICTIONARY}{_CLUSTER}{_INVISIBLE}]*")
_STRIP = re.compile(f"[{_INVISIBLE}]+")
_CLUSTER_START = re.compile(f"[{_CLUSTER}]")
# The same test for pyarrow's RE2, which spells a code point \x{...}.
_ANY_RE2 = (
    "[" + "".join(f"\\x{{{lo:x}}}-\\x{{{hi:x}}}" for lo, hi in DICTIONARY_BLOCKS + CLUSTER_BLOCKS) + "]"
)


def _words(run: str) -> str:
    run = _STRIP.sub("", run)
    breaker = CharacterBreaker if _CLUSTER_START.match(run) else WordBreaker
    return " " + " ".join(run[a:b] for a, b in breaker(run, "root").segments()) + " "


def segment(text: str) -> str:
    """`text` with a space between the words of every run of a script written without spaces.

    Runs of one of `DICTIONARY_BLOCKS` are cut by ICU's word break; runs of `CLUSTER_BLOCKS`
    into grapheme clusters. Each run is also set apart by spaces from its neighbours. Other text
    is returned unchanged (the same object when there is no such run).
    """
    if not _RUN.search(text):
        return text
    return _RUN.sub(lambda match: _words(match.group()), text)


def needs_segmenting(texts: pa.Array[Any]) -> npt.NDArray[np.bool_]:
    """Which records hold a letter of a script `segment` cuts (`bool (n,)`), found without Python."""
    out = np.zeros(len(texts), dtype=bool)
    ascii_only = pc.string_is_ascii(texts).fill_null(True)  # the common case, and a quick test
    rows = np.flatnonzero(~np.asarray(ascii_only.to_numpy(zero_copy_only=False), dtype=bool))
    if len(rows):
        found = pc.match_substring_regex(texts.take(pa.array(rows)), _ANY_RE2).fill_null(False)
        out[rows] = np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)
    return out
