from __future__ import annotations

import random

from dedup.editgen import EditStrength, corpus, edit
from dedup.normalize import hashing_form
from tests.corpus import OTHER_ARTICLES, seed_paragraphs


def test_zero_strength_copies_are_identical() -> None:
    article = seed_paragraphs()
    assert edit(article, EditStrength(), random.Random(0)) == article


def test_each_edit_changes_what_it_names() -> None:
    article = seed_paragraphs()
    rng = random.Random(3)
    dropped = edit(article, EditStrength(drop_paragraphs=1.0), rng)
    assert len(dropped) < len(article) and all(p in article for p in dropped)
    truncated = edit(article, EditStrength(truncate=1.0), random.Random(1))
    assert truncated == article[: len(truncated)] and len(truncated) >= len(article) // 2
    framed = edit(article, EditStrength(boilerplate=1.0), rng)
    assert framed[1:-1] == article and len(framed) == len(article) + 2
    restyled = edit(article, EditStrength(quotes=1.0), rng)
    assert restyled != article and [hashing_form([p]) for p in restyled] == [
        hashing_form([p]) for p in article
    ]
    noisy = edit(article, EditStrength(typos=1.0), rng)
    changed = sum(a != b for a, b in zip(" ".join(noisy).split(), " ".join(article).split(), strict=True))
    assert 0 < changed < len(" ".join(article).split()) // 4
    ocr = edit(article, EditStrength(ocr=1.0), rng)
    assert ocr != article and len(ocr) == len(article)


def test_corpus_is_reproducible_and_labels_every_copy() -> None:
    articles = [seed_paragraphs(), *OTHER_ARTICLES]
    first = corpus(articles, copies=3, strength=EditStrength.uniform(0.3), seed=5)
    again = corpus(articles, copies=3, strength=EditStrength.uniform(0.3), seed=5)
    assert first == again
    assert len(first) == 3 * 4
    for record in first:
        assert record.id.startswith(f"src{record.cluster}")
