"""Benchmark corpora: the real ones in ../shared/data when present, a generated one otherwise."""

from __future__ import annotations

import gzip
import json
import os
import random
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("DEDUP_DATA", ROOT.parent / "shared" / "data"))
REUTERS = DATA / "news" / "reuters21578.jsonl.gz"

_WORDS = (  # noqa: SIM905
    "the of and to in a is that for on was with he as it by at said from his an be have has but are not were "
    "they which this or who had been their its more than also after one two three government minister "
    "president officials market shares percent year week company bank police court report election party "
    "leaders talks trade deal prices oil city state people country economy budget tax workers union strike "
    "plan policy growth quarter profit loss investors analysts statement spokesman agency capital region "
    "border troops vote dollar yen rate rates interest inflation output exports imports billion million"
).split()


@dataclass(frozen=True)
class Corpus:
    """Records to benchmark on, and where they came from."""

    name: str
    path: Path | None
    ids: list[str]
    texts: list[str]

    @property
    def bytes(self) -> int:
        return sum(len(t.encode("utf-8")) for t in self.texts)


def generated(docs: int = 20_000, seed: int = 7) -> Corpus:
    """News-like documents of 1-4 KB in 3-8 paragraphs, 5% of them near copies of others."""
    rng = random.Random(seed)
    texts: list[str] = []
    for _ in range(docs):
        if texts and rng.random() < 0.05:
            words = rng.choice(texts).split(" ")
            for _ in range(3):
                words[rng.randrange(len(words))] = rng.choice(_WORDS)
            texts.append(" ".join(words))
            continue
        target = rng.randint(1000, 4000)
        paragraphs = []
        while sum(len(p) for p in paragraphs) < target:
            paragraphs.append(
                " ".join(rng.choice(_WORDS) for _ in range(rng.randint(20, 60))).capitalize() + "."
            )
        texts.append("\n\n".join(paragraphs))
    return Corpus(f"generated ({docs:,} docs, seed {seed})", None, [f"g{i}" for i in range(docs)], texts)


def load(path: str | None = None, limit: int | None = None) -> Corpus:
    """The corpus at `path` (JSONL with `id` and `text`), Reuters-21578 by default, else generated."""
    source = Path(path) if path else REUTERS
    if not source.exists():
        corpus = generated()
    else:
        opener = gzip.open if source.suffix == ".gz" else open
        ids, texts = [], []
        with opener(source, "rt", encoding="utf-8") as handle:
            for line in handle:
                row = json.loads(line)
                ids.append(str(row["id"]))
                texts.append(row["text"])
        name = source.name.split(".")[0]
        corpus = Corpus(name, source, ids, texts)
    if limit is not None:
        corpus = Corpus(
            f"{corpus.name} (first {limit:,})", corpus.path, corpus.ids[:limit], corpus.texts[:limit]
        )
    return corpus
