"""A news-edit generator: copies of articles with the edits news goes through, in known clusters.

Real duplicate news differs by more than set overlap shows: a re-issue drops or adds paragraphs,
rewrites the headline, restyles quotes and dashes, picks up typos or OCR noise, gains a header or
footer, is truncated, or is syndicated under another byline. `edit` applies a random mix of these
to one article, each at a strength from 0 (never) to 1 (heavy); `corpus` makes a corpus of
originals and their copies with the cluster of every record known, for tests and benchmarks.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, fields

_HEADERS = (
    "BREAKING NEWS",
    "Updated 14:32 GMT",
    "Listen to this article",
    "Advertisement",
    "From our correspondent",
)
_FOOTERS = (
    "Copyright 2025 The Daily Ledger. All rights reserved.",
    "Sign up for our newsletter to get the day's top stories.",
    "Reporting by staff; editing by the news desk.",
    "This story has been corrected to fix a spelling error.",
    "Follow us on social media for updates.",
)
_BYLINES = ("By Jane Morgan", "By Ahmed Khan, Associated Press", "By Li Wei in Beijing", "By Staff Reporter")
_FILLER = (
    "Officials did not immediately respond to a request for comment.",
    "The announcement came as markets closed for the day.",
    "Analysts said further details were expected in the coming weeks.",
    "The company declined to comment further on the matter.",
)
_OCR = (("m", "rn"), ("rn", "m"), ("l", "1"), ("O", "0"), ("e", "c"), ("h", "b"), ("cl", "d"), ("i", "l"))
_QUOTES = {"“": '"', "”": '"', "’": "'", "‘": "'", "—": "--", "–": "-", '"': "“", "'": "’"}


@dataclass(frozen=True, slots=True)
class EditStrength:
    """How strongly each kind of edit applies, from 0 (never) to 1 (heavy).

    Attributes:
        drop_paragraphs: share of paragraphs dropped (up to half at 1).
        add_paragraphs: chance of added filler paragraphs (up to three at 1).
        reorder: chance and extent of swapped neighbouring paragraphs.
        headline: chance the first paragraph is rewritten.
        quotes: chance quotes and dashes are restyled.
        typos: typos per word (one in ten words at 1).
        ocr: OCR-like character confusions per word (one in ten words at 1).
        boilerplate: chance of a header and a footer.
        truncate: chance the copy is cut (keeping at least half at 1).
        byline: chance of a (different) byline paragraph.
    """

    drop_paragraphs: float = 0.0
    add_paragraphs: float = 0.0
    reorder: float = 0.0
    headline: float = 0.0
    quotes: float = 0.0
    typos: float = 0.0
    ocr: float = 0.0
    boilerplate: float = 0.0
    truncate: float = 0.0
    byline: float = 0.0

    @classmethod
    def uniform(cls, strength: float) -> EditStrength:
        """Every edit at the same strength."""
        return cls(**{f.name: strength for f in fields(cls)})


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 3:
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:  # swap two letters
        return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]
    if kind == 1:  # drop one
        return word[:i] + word[i + 1 :]
    if kind == 2:  # double one
        return word[:i] + word[i] + word[i:]
    return word[:i] + rng.choice("aeiourstnl") + word[i + 1 :]  # replace one


def _ocr(word: str, rng: random.Random) -> str:
    options = [(a, b) for a, b in _OCR if a in word]
    if not options:
        return word
    a, b = rng.choice(options)
    return word.replace(a, b, 1)


def _noisy(paragraph: str, rate: float, fn: object, rng: random.Random) -> str:
    words = paragraph.split(" ")
    for i, word in enumerate(words):
        if rng.random() < rate:
            words[i] = fn(word, rng)  # type: ignore[operator]
    return " ".join(words)


def edit(paragraphs: Sequence[str], strength: EditStrength, rng: random.Random) -> list[str]:
    """One edited copy of an article given as paragraphs (the first is its headline or lead)."""
    out = list(paragraphs)
    s = strength
    if s.headline and rng.random() < s.headline and out:
        words = out[0].split()
        rng.shuffle(words)
        out[0] = " ".join(words[: max(3, len(words) * 2 // 3)]).capitalize()
    if s.drop_paragraphs and len(out) > 2:
        count = int(len(out) * s.drop_paragraphs * 0.5 * rng.random() + 0.5)
        for _ in range(count):
            if len(out) > 2:
                del out[rng.randrange(1, len(out))]
    if s.add_paragraphs and rng.random() < s.add_paragraphs:
        for _ in range(1 + int(2 * s.add_paragraphs * rng.random())):
            out.insert(rng.randrange(1, len(out) + 1), rng.choice(_FILLER))
    if s.reorder and len(out) > 3 and rng.random() < s.reorder:
        for _ in range(1 + int(2 * s.reorder * rng.random())):
            i = rng.randrange(1, len(out) - 1)
            out[i], out[i + 1] = out[i + 1], out[i]
    if s.quotes and rng.random() < s.quotes:
        out = ["".join(_QUOTES.get(ch, ch) for ch in p) for p in out]
    if s.typos:
        out = [_noisy(p, s.typos * 0.1, _typo, rng) for p in out]
    if s.ocr:
        out = [_noisy(p, s.ocr * 0.1, _ocr, rng) for p in out]
    if s.truncate and rng.random() < s.truncate and len(out) > 2:
        keep = 1.0 - 0.5 * s.truncate * rng.random()
        out = out[: max(2, round(len(out) * keep))]
    if s.byline and rng.random() < s.byline:
        out.insert(1 if len(out) > 1 else 0, rng.choice(_BYLINES))
    if s.boilerplate and rng.random() < s.boilerplate:
        out = [rng.choice(_HEADERS), *out, rng.choice(_FOOTERS)]
    return out


@dataclass(frozen=True, slots=True)
class Generated:
    """A record of a generated corpus.

    Attributes:
        id: `src<k>` for an original, `src<k>-copy<j>` for its copies.
        paragraphs: its paragraphs.
        cluster: the index of the original it came from.
    """

    id: str
    paragraphs: list[str]
    cluster: int


def corpus(
    articles: Sequence[Sequence[str]], copies: int, strength: EditStrength, seed: int = 0
) -> list[Generated]:
    """Originals followed by `copies` edited copies of each, shuffled with a fixed seed.

    Args:
        articles: source articles as paragraphs; they should not be near-duplicates of each other.
        copies: edited copies per article.
        strength: how strong the edits are.
        seed: seeds every random choice.
    """
    rng = random.Random(seed)
    records: list[Generated] = []
    for k, article in enumerate(articles):
        records.append(Generated(f"src{k}", list(article), k))
        records.extend(Generated(f"src{k}-copy{j}", edit(article, strength, rng), k) for j in range(copies))
    rng.shuffle(records)
    return records
