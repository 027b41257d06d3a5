"""The peers' whole pipelines as their users write them: read JSONL.gz, sketch, LSH, keep, write Parquet.

    python benchmarks/peers.py rensa SOURCE OUT_DIR --tokens words --threshold 0.8
    python benchmarks/peers.py datasketch SOURCE OUT_DIR --tokens ngrams --ngram 3 --threshold 0.5

`benchmarks/speed.py` runs each of these as a process of its own and times all of it (interpreter
start, imports, reading, sketching, LSH, writing). The script uses no dedup code: each library's
own documented API, as its README shows it.

- rensa: `RMinHashDeduplicator(threshold, num_perm=128, use_lsh=True)` with `add_pairs`, which keeps
  an index of the kept records and checks each LSH candidate's estimated similarity against the
  threshold (rensa's documented way to keep unique documents).
- datasketch: `MinHash.bulk` (its default hash, sha1, and seed), `MinHashLSH(threshold,
  num_perm=128)`; a record whose LSH candidates among the kept ones include one at the threshold
  (estimated Jaccard) is a duplicate, else it is kept and inserted: the same rule as rensa's.

Tokens: `words` (the text split on whitespace, as both READMEs do) or `ngrams` (lowercased `\\w+`
word n-grams inside each paragraph, a shorter paragraph one shingle: dedup's shingles). Prints one
JSON line: records read and kept.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
from pathlib import Path

_WORD = re.compile(r"\w+")
NUM_PERM = 128


def tokens(text: str, kind: str, ngram: int) -> list[str]:
    """A record's tokens: whitespace-split words, or word n-grams inside paragraphs."""
    if kind == "words":
        return text.split()
    out: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        words = _WORD.findall(paragraph.lower())
        if 0 < len(words) < ngram:
            out.append(" ".join(words))
        out.extend(" ".join(words[i : i + ngram]) for i in range(len(words) - ngram + 1))
    return out


def rensa(token_lists: list[list[str]], threshold: float) -> list[bool]:
    """Which records rensa's deduplicator keeps."""
    from rensa import RMinHashDeduplicator

    dedup = RMinHashDeduplicator(threshold=threshold, num_perm=NUM_PERM, use_lsh=True)
    return list(dedup.add_pairs((str(i), t) for i, t in enumerate(token_lists)))


def datasketch(token_lists: list[list[str]], threshold: float) -> list[bool]:
    """Which records a datasketch MinHashLSH script keeps."""
    from datasketch import MinHash, MinHashLSH

    sketches = MinHash.bulk([[t.encode("utf-8") for t in toks] for toks in token_lists], num_perm=NUM_PERM)
    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    keep = []
    for i, m in enumerate(sketches):
        duplicate = any(sketches[j].jaccard(m) >= threshold for j in lsh.query(m))
        keep.append(not duplicate)
        if not duplicate:
            lsh.insert(i, m)
    return keep


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("library", choices=["rensa", "datasketch"])
    parser.add_argument("source", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--tokens", choices=["words", "ngrams"], default="words")
    parser.add_argument("--ngram", type=int, default=3)
    parser.add_argument("--threshold", type=float, required=True)
    args = parser.parse_args()
    with gzip.open(args.source, "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    token_lists = [tokens(r["text"], args.tokens, args.ngram) for r in rows]
    keep = (rensa if args.library == "rensa" else datasketch)(token_lists, args.threshold)
    import pyarrow as pa
    import pyarrow.parquet as pq

    kept = [r for r, k in zip(rows, keep, strict=True) if k]
    args.out.mkdir(parents=True, exist_ok=True)
    table = pa.table({"id": [str(r["id"]) for r in kept], "text": [r["text"] for r in kept]})
    pq.write_table(table, args.out / "unique.parquet")
    print(json.dumps({"read": len(rows), "kept": len(kept)}))


if __name__ == "__main__":
    main()
