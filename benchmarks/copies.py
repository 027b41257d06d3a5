"""The speed benchmark's corpora: Reuters-21578 + BBC News, and five edited copies of it.

    .venv/bin/python benchmarks/copies.py /tmp/corpora     # writes news-1x.jsonl.gz, news-5x.jsonl.gz

`news-1x` is every record of the two corpora (21,268 records, about 21.6 MB of text). `news-5x` is
five copies of each record: the original and four copies with word edits from `dedup.editgen`
(a typo in about one word in fifty, a dropped or restyled paragraph now and then), so the copies
are near-duplicates of their original and of each other: dense groups of five, the shape that
makes all-pairs verification grow faster than the data.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
from pathlib import Path

from corpus import DATA

from dedup import editgen

SOURCES = (DATA / "news" / "reuters21578.jsonl.gz", DATA / "news" / "bbc.jsonl.gz")
EDITS = editgen.EditStrength(typos=0.2, drop_paragraphs=0.1, quotes=0.2, reorder=0.1)


def records() -> list[dict[str, str]]:
    """Every record of Reuters-21578 and BBC News, as `{id, text}`."""
    out = []
    for path in SOURCES:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for line in handle:
                row = json.loads(line)
                out.append({"id": row["id"], "text": row["text"]})
    return out


def write(folder: Path, copies: int = 5, seed: int = 0, limit: int | None = None) -> tuple[Path, Path]:
    """Write `news-1x.jsonl.gz` and `news-<copies>x.jsonl.gz` into `folder` (once); return their paths.

    With `limit`, only the first `limit` records (and their copies), in `<folder>/first-<limit>/`.
    """
    if limit is not None:
        folder = folder / f"first-{limit}"
    folder.mkdir(parents=True, exist_ok=True)
    one, many = folder / "news-1x.jsonl.gz", folder / f"news-{copies}x.jsonl.gz"
    rows = records()[:limit]
    if not one.exists():
        with gzip.open(one, "wt", encoding="utf-8", compresslevel=1) as handle:
            handle.writelines(json.dumps(r) + "\n" for r in rows)
    if not many.exists():
        rng = random.Random(seed)
        with gzip.open(many, "wt", encoding="utf-8", compresslevel=1) as handle:
            for row in rows:
                paragraphs = [p for p in row["text"].split("\n\n") if p.strip()] or [row["text"]]
                handle.write(json.dumps(row) + "\n")
                for k in range(1, copies):
                    text = "\n\n".join(editgen.edit(paragraphs, EDITS, rng))
                    handle.write(json.dumps({"id": f"{row['id']}-copy{k}", "text": text}) + "\n")
    return one, many


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    for path in write(parser.parse_args().folder):
        print(path)
