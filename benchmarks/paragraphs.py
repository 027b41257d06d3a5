"""Paragraph granularity: truncated copies, false merges, boilerplate found, defaults, speed and memory.

    .venv/bin/python benchmarks/paragraphs.py                 # about 20 minutes on two cores
    .venv/bin/python benchmarks/paragraphs.py --only speed --records 20000  # one part, smaller
    .venv/bin/python benchmarks/paragraphs.py --render        # rewrite the pages from paragraphs.json

What it measures, each at `granularity: document` (the default) and `granularity: paragraph`:

1. Truncated copies: 25 records of 200 words, each followed by a copy of its first 20/30/40/50%
   (generated five-paragraph records, and the first 200 words of 25 distinct BBC articles with
   their own paragraph breaks): how many copies are dropped as contained in their record.
2. The news corpora (Reuters-21578, BBC News, 20 Newsgroups, AG News) and the Common Crawl sample
   through `dedup run` with `configs/news.yaml`: records dropped at paragraph granularity and not at
   document granularity (and the reverse), each checked by an oracle that shares no code with dedup
   (plain Python sets of lowercased `\\w+` word 3-grams inside paragraphs), and the boilerplate
   groups found.
3. The defaults: boilerplate groups and paragraphs removed on each corpus at `paragraphs.min_records`
   2, 3, 5, 10, 20 and `paragraphs.min_words` 1, 2, 3, 4, 6, 8, with the groups each step adds.
4. The labeled Reuters pairs and the edit-generator copies (`accuracy.py`'s checks) at both
   granularities.
5. Speed and memory: a generated corpus (records of 3-6 paragraphs; 5% carry one of 40 site
   footers, 5% are truncated copies, 5% exact copies) through the CLI in a child process, peak
   RSS from wait4, stage times from report.json, and how many planted copies were dropped; and
   `scale.py`'s corpus of 5,000,000 short records in a 2GB budget at paragraph granularity.

Writes benchmarks/reports/paragraphs.md (ending with paragraphs_notes.md, what a person read by
eye) and paragraphs.json; `accuracy.py --render` shows a summary as its section 5.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import gen_eval  # noqa: E402
import labeled  # noqa: E402
from corpus import DATA  # noqa: E402

import dedup  # noqa: E402
from dedup import editgen, paragraphs  # noqa: E402
from dedup.engines import memory  # noqa: E402
from dedup.featurize import featurize  # noqa: E402

ROOT = HERE.parent
REPORTS = HERE / "reports"
NEWS = {
    "Reuters-21578": DATA / "news" / "reuters21578.jsonl.gz",
    "BBC News": DATA / "news" / "bbc.jsonl.gz",
    "20 Newsgroups (mini)": DATA / "news" / "mini_newsgroups.jsonl.gz",
    "AG News (test)": DATA / "news" / "agnews_test.jsonl.gz",
}
CC = {
    "Common Crawl (dolma sample)": DATA / "web" / "dolma_CC-MAIN-20190717121559-20190717143559-00140.jsonl.gz"
}
SHARES = (0.2, 0.3, 0.4, 0.5)
MIN_RECORDS = (2, 3, 5, 10, 20)
MIN_WORDS = (1, 2, 3, 4, 6, 8)
PARAGRAPH = ["granularity=paragraph"]


# The oracle -----------------------------------------------------------------------------------------


def _shingles(paragraph_list: list[str]) -> set[tuple[str, ...]]:
    out: set[tuple[str, ...]] = set()
    for paragraph in paragraph_list:
        words = re.findall(r"\w+", paragraph.lower())
        if 0 < len(words) < 3:
            out.add(tuple(words))
        out.update(tuple(words[i : i + 3]) for i in range(len(words) - 2))
    return out


def _oracle(a: list[str], b: list[str]) -> dict[str, float]:
    x, y = _shingles(a), _shingles(b)
    common = len(x & y)
    return {"jaccard": common / max(1, len(x | y)), "inside": common / max(1, len(x))}


# 1. Truncated copies ------------------------------------------------------------------------------------


def _generated_records() -> list[list[str]]:
    from random import Random

    words = (  # noqa: SIM905
        "the of and to in a is that for on was with he as it by at said from his an be have has but are "
        "not were they which this or who had been their its more than also after one two government "
        "minister president officials market shares percent year week company bank police court report "
        "election party leaders talks trade deal prices oil city state people country economy budget tax"
    ).split()
    out = []
    for i in range(25):
        rng = Random(3000 + i)
        out.append([" ".join(rng.choice(words) for _ in range(40)).capitalize() + "." for _ in range(5)])
    return out


def _bbc_records() -> list[list[str]]:
    """The first 200 words of 25 distinct BBC articles, with their paragraph breaks."""
    articles = gen_eval.distinct_articles(NEWS["BBC News"], 60)
    out = []
    for paragraph_list in articles:
        left, cut = 200, []
        for paragraph in paragraph_list[1:]:  # the title line is a paragraph of its own: skip it
            words = paragraph.split()
            cut.append(" ".join(words[:left]))
            left -= len(words)
            if left <= 0:
                break
        if left <= 0 and len(cut) >= 3:
            out.append(cut)
        if len(out) == 25:
            break
    return out


def _cut(paragraph_list: list[str], share: float) -> list[str]:
    total = sum(len(p.split()) for p in paragraph_list)
    left, cut = round(total * share), []
    for paragraph in paragraph_list:
        if left <= 0:
            break
        words = paragraph.split()
        cut.append(" ".join(words[:left]))
        left -= len(words)
    return cut


def truncation() -> list[dict[str, Any]]:
    rows = []
    for source, records in (("generated", _generated_records()), ("BBC News", _bbc_records())):
        for share in SHARES:
            table = []
            for i, paragraph_list in enumerate(records):
                table.append({"id": f"r{i:02d}", "text": "\n\n".join(paragraph_list)})
                table.append({"id": f"r{i:02d}-cut", "text": "\n\n".join(_cut(paragraph_list, share))})
            texts = {r["id"]: r["text"].split("\n\n") for r in table}
            row: dict[str, Any] = {"source": source, "share": share, "records": len(records)}
            for granularity in ("document", "paragraph"):
                result = dedup.dedup_table(pa.Table.from_pylist(table), granularity=granularity)
                drops = result.duplicates.to_pylist()
                row[granularity] = sum(
                    d["id"] == d["duplicate_of"] + "-cut" and d["matched_by"] == "containment" for d in drops
                )
                row[f"{granularity}_other_drops"] = sum(d["id"] != d["duplicate_of"] + "-cut" for d in drops)
            row["oracle_inside"] = min(
                _oracle(texts[f"r{i:02d}-cut"], texts[f"r{i:02d}"])["inside"] for i in range(len(records))
            )
            rows.append(row)
            print(row, flush=True)
    return rows


# 2. Corpora -------------------------------------------------------------------------------------------


def _run(path: Path, out: Path, overrides: list[str]) -> tuple[dict[str, Any], float]:
    config = dedup.load_config(
        ROOT / "configs" / "news.yaml",
        [f"input.paths=[{path}]", f"output.dir={out}", "output.overwrite=true", "workers=1", *overrides],
    )
    start = time.perf_counter()
    report = dedup.run(config)
    return report.to_dict(), time.perf_counter() - start


def _outputs(out: Path) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    unique = {r["id"]: r for r in pq.read_table(out / "unique.parquet").to_pylist()}
    dups = {r["id"]: r for r in pq.read_table(out / "duplicates.parquet").to_pylist()}
    return unique, dups


def corpora() -> dict[str, Any]:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in {**NEWS, **CC}.items():
            doc_out, par_out = Path(tmp) / "document", Path(tmp) / "paragraph"
            _, doc_s = _run(path, doc_out, [])
            par_report, par_s = _run(path, par_out, PARAGRAPH)
            u_doc, d_doc = _outputs(doc_out)
            u_par, d_par = _outputs(par_out)
            texts = {k: r["paragraphs"] for k, r in {**u_doc, **u_par}.items()}
            texts.update({k: r["text"].split("\n\n") for k, r in {**d_doc, **d_par}.items()})
            new, lost = sorted(set(d_par) - set(d_doc)), sorted(set(d_doc) - set(d_par))
            rejected_par = {r["id"]: r for r in pq.read_table(par_out / "rejects.parquet").to_pylist()}
            examples = []
            for rid in new:
                row = d_par[rid]
                examples.append(
                    {
                        "id": rid,
                        "named": row["duplicate_of"],
                        "matched_by": row["matched_by"],
                        "similarity": round(row["similarity"], 3),
                        "containment": round(row["containment"] or 0.0, 3),
                        **{
                            k: round(v, 3) for k, v in _oracle(texts[rid], texts[row["duplicate_of"]]).items()
                        },
                        "text": textwrap.shorten(" / ".join(texts[rid]), 240),
                        "named_text": textwrap.shorten(" / ".join(texts[row["duplicate_of"]]), 240),
                    }
                )
            groups = pq.read_table(par_out / "paragraphs.parquet").to_pylist()
            results[name] = {
                "document": {"kept": len(u_doc), "dropped": len(d_doc), "seconds": doc_s},
                "paragraph": {
                    "kept": len(u_par),
                    "dropped": len(d_par),
                    "seconds": par_s,
                    "stats": par_report["paragraphs"],
                },
                "new_drops": examples,
                "no_longer_dropped": [
                    {"id": rid, "now": "rejected (emptied)" if rid in rejected_par else "kept"}
                    for rid in lost
                ],
                "below_oracle": [e["id"] for e in examples if e["jaccard"] < 0.5 and e["inside"] < 0.8],
                "groups": [
                    {k: g[k] for k in ("records", "paragraphs", "variants", "words", "first_record", "text")}
                    for g in groups
                ],
            }
            print(
                name, {k: v for k, v in results[name].items() if k in ("document", "paragraph")}, flush=True
            )
    return results


# 3. Defaults ------------------------------------------------------------------------------------------


def sweeps() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, path in {**NEWS, **CC}.items():
        base = dedup.load_config(
            ROOT / "configs" / "news.yaml", [f"input.paths=[{path}]", "workers=1", *PARAGRAPH]
        )
        records, _, _ = memory.read_all(base)
        features = featurize(records, base)
        entry: dict[str, Any] = {"min_records": [], "min_words": []}
        for key, values, fixed in (
            ("min_records", MIN_RECORDS, "paragraphs.min_words=4"),
            ("min_words", MIN_WORDS, "paragraphs.min_records=5"),
        ):
            previous: set[str] = set()
            for value in sorted(values, reverse=key == "min_records"):
                config = dedup.config_from_dict(
                    {"input": {"paths": [str(path)]}, "workers": 1},
                    overrides=[*PARAGRAPH, fixed, f"paragraphs.{key}={value}"],
                )
                stripped, found = paragraphs.apply(features, config)
                groups = found.groups.to_pylist()
                texts = {g["text"]: g["records"] for g in groups}
                added = sorted((t for t in texts if t not in previous), key=lambda t: (-texts[t], t))
                entry[key].append(
                    {
                        key: value,
                        "groups": len(groups),
                        "paragraphs_removed": found.stats["boilerplate_paragraphs"],
                        "emptied": len(stripped.rejects) - len(features.rejects),
                        "short": found.stats["short"],
                        "added": [{"records": texts[t], "text": textwrap.shorten(t, 110)} for t in added[:8]],
                        "added_count": len(added),
                    }
                )
                previous = set(texts)
        out[name] = entry
        print("sweep", name, flush=True)
    return out


# 4. Labeled and generated ------------------------------------------------------------------------------


def labeled_checks() -> dict[str, Any]:
    out: dict[str, Any] = {"reuters": {}, "generated": []}
    for granularity, overrides in (("document", []), ("paragraph", PARAGRAPH)):
        out["reuters"][granularity] = labeled.reuters_by_hand(overrides)
        print("reuters", granularity, out["reuters"][granularity], flush=True)
    articles = gen_eval.distinct_articles(NEWS["BBC News"], 500)
    for strength in (0.1, 0.2, 0.3):
        for granularity, overrides in (("document", []), ("paragraph", PARAGRAPH)):
            row = gen_eval.score_generated(articles, editgen.EditStrength.uniform(strength), overrides)
            out["generated"].append({"strength": strength, "granularity": granularity, **row})
            print("generated", strength, granularity, row, flush=True)
    return out


# 5. Speed and memory ---------------------------------------------------------------------------------------


def _vocabulary() -> list[str]:
    counts: dict[str, int] = {}
    with gzip.open(NEWS["AG News (test)"], "rt", encoding="utf-8") as handle:
        for line in handle:
            for word in re.findall(r"[A-Za-z][a-z']+", json.loads(line)["text"]):
                counts[word.lower()] = counts.get(word.lower(), 0) + 1
    return sorted(counts, key=lambda w: (-counts[w], w))[:20_000]


def generate(path: Path, records: int, seed: int = 5) -> dict[str, Any]:
    """Records of 3-6 paragraphs of 20-60 Zipf-drawn words; 5% with a site footer, 5% cut, 5% exact copies.

    Returns the counts planted, and `copies`: the id of each cut or exact copy with its kind.
    """
    rng = np.random.default_rng(seed)
    words = _vocabulary()
    weights = 1.0 / np.arange(1, len(words) + 1) ** 1.05
    weights /= weights.sum()
    pool: list[int] = []

    def paragraph() -> str:
        size = int(rng.integers(20, 61))
        if len(pool) < size:  # word ranks drawn a million at a time
            pool[:0] = rng.choice(len(words), size=1 << 20, p=weights).tolist()
        drawn = [words[pool.pop()] for _ in range(size)]
        return " ".join(drawn).capitalize() + "."

    footers = [paragraph() + " " + paragraph() for _ in range(40)]  # one paragraph of 40-120 words
    texts: list[list[str]] = []
    copies: dict[str, str] = {}
    planted: dict[str, Any] = {"footer": 0, "cut": 0, "exact": 0, "paragraphs": 0, "copies": copies}
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as handle:
        for i in range(records):
            kind = rng.random()
            if texts and kind < 0.05:
                body = list(texts[int(rng.integers(len(texts)))])
                planted["exact"] += 1
                copies[f"g{i}"] = "exact"
            elif texts and kind < 0.10:
                source = texts[int(rng.integers(len(texts)))]
                body = source[: max(1, len(source) // 3)]
                planted["cut"] += 1
                copies[f"g{i}"] = "cut"
            else:
                body = [paragraph() for _ in range(int(rng.integers(3, 7)))]
                if kind < 0.15:
                    body.append(footers[int(rng.integers(len(footers)))])
                    planted["footer"] += 1
                texts.append(body)
            planted["paragraphs"] += len(body)
            handle.write(json.dumps({"id": f"g{i}", "text": "\n\n".join(body)}) + "\n")
    return planted


def run_cli(corpus: Path, out: Path, budget: str, granularity: str) -> dict[str, Any]:
    config = out.with_suffix(".yaml")
    data = {
        "input": {"paths": [str(corpus)]},
        "output": {"dir": str(out), "overwrite": True},
        "memory_budget": budget,
        "granularity": granularity,
        "progress": "never",
    }
    config.write_text(json.dumps(data), encoding="utf-8")
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "dedup", "run", str(config), "--quiet"], cwd=ROOT)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"dedup run failed with status {status}")
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return {"wall_s": wall, "peak_rss": usage.ru_maxrss * 1024, "report": report}


def speed(records: list[int], budget: str) -> list[dict[str, Any]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in records:
            corpus = Path(tmp) / f"gen-{n}.jsonl.gz"
            planted = generate(corpus, n)
            for granularity in ("document", "paragraph"):
                done = run_cli(corpus, Path(tmp) / f"out-{n}-{granularity}", budget, granularity)
                report = done["report"]
                timings = report["timings"]
                dropped = set(
                    pq.read_table(
                        Path(tmp) / f"out-{n}-{granularity}" / "duplicates.parquet", columns=["id"]
                    )["id"].to_pylist()
                )
                copies = planted["copies"]
                found = {
                    kind: sum(copies[c] == kind and c in dropped for c in copies) for kind in ("cut", "exact")
                }
                paragraph_s = sum(
                    timings.get(k, 0.0) for k in ("paragraphs", "paragraph groups", "boilerplate", "strip")
                )
                rows.append(
                    {
                        "records": n,
                        "paragraphs": planted["paragraphs"],
                        "planted": {k: v for k, v in planted.items() if k != "copies"},
                        "found": found,
                        "non_copies_dropped": len(dropped - set(copies)),
                        "granularity": granularity,
                        "budget": budget,
                        "wall_s": done["wall_s"],
                        "peak_rss": done["peak_rss"],
                        "shards": report["shards"]["total"],
                        "kept": report["kept"],
                        "duplicates": report["duplicates"],
                        "rejected": report["rejected"],
                        "paragraph_s": paragraph_s,
                        "timings": timings,
                        "stats": report.get("paragraphs", {}),
                    }
                )
                print(rows[-1], flush=True)
    return rows


def at_scale(records: int, budget: str) -> dict[str, Any]:
    """`benchmarks/scale.py`'s corpus (short single-paragraph records) at paragraph granularity."""
    import scale

    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / f"scale-{records}.jsonl"
        scale.generate(corpus, records)
        done = run_cli(corpus, Path(tmp) / "out", budget, "paragraph")
    report = done["report"]
    timings = report["timings"]
    paragraph_s = sum(timings.get(k, 0.0) for k in ("paragraphs", "paragraph groups", "boilerplate", "strip"))
    row = {
        "records": records,
        "budget": budget,
        "wall_s": done["wall_s"],
        "peak_rss": done["peak_rss"],
        "shards": report["shards"]["total"],
        "kept": report["kept"],
        "duplicates": report["duplicates"],
        "paragraph_s": paragraph_s,
        "timings": timings,
        "stats": report.get("paragraphs", {}),
        "spilled_bytes": report["spilled_bytes"],
    }
    print(row, flush=True)
    return row


# Rendering -------------------------------------------------------------------------------------------------


def _pct(x: float) -> str:
    return f"{x:.0%}"


def render(results: dict[str, Any], out: Path) -> None:
    lines = [
        "# Paragraph granularity",
        "",
        "Regenerate: `.venv/bin/python benchmarks/paragraphs.py` (about 6 minutes on two cores; `--render` "
        "rewrites this page from `paragraphs.json`). Every run uses `configs/news.yaml`; *paragraph* is the "
        "same with `granularity: paragraph` (defaults `paragraphs.min_words: 4`, `paragraphs.min_records: 5`).",
        "",
        "## 1. Truncated copies",
        "",
        "25 records of 200 words, each followed by a copy of its first 20/30/40/50% (cut at a word, paragraph "
        "breaks kept): copies dropped as contained in their record. *generated*: five paragraphs of 40 words, "
        "so 20% is exactly the first paragraph; *BBC News*: the first 200 words of 25 distinct articles with "
        "their own paragraphs (18-60 words), so most cuts end inside a paragraph. *oracle inside*: the least "
        "share of a copy's word 3-grams found in its record (plain Python). No other record was dropped.",
        "",
        "| source | copy of the first | document | paragraph | oracle inside |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in results["truncation"]:
        lines.append(
            f"| {r['source']} | {_pct(r['share'])} | {r['document']}/{r['records']} | {r['paragraph']}/{r['records']} "
            f"| {r['oracle_inside']:.2f} |"
        )
    lines += [
        "",
        "## 2. Real corpora: what paragraph granularity changes",
        "",
        "Records dropped at paragraph granularity and not at document granularity are *new drops*; each is "
        "checked by the oracle (word 3-gram Jaccard and the share of the dropped record inside the one it "
        "names, from the texts the runs wrote). *below oracle*: new drops under both Jaccard 0.5 and "
        "containment 0.8.",
        "",
        "| corpus | kept (doc / par) | dropped (doc / par) | new drops | below oracle | no longer dropped | "
        "boilerplate groups | paragraphs removed | emptied | seconds (doc / par) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, c in results["corpora"].items():
        s = c["paragraph"]["stats"]
        lines.append(
            f"| {name} | {c['document']['kept']:,} / {c['paragraph']['kept']:,} | {c['document']['dropped']:,} / "
            f"{c['paragraph']['dropped']:,} | {len(c['new_drops'])} | {len(c['below_oracle'])} | "
            f"{len(c['no_longer_dropped'])} | {s['boilerplate_groups']} | {s['boilerplate_paragraphs']} | "
            f"{s['emptied']} | {c['document']['seconds']:.1f} / {c['paragraph']['seconds']:.1f} |"
        )
    lines += ["", "### New drops", ""]
    for name, c in results["corpora"].items():
        for e in c["new_drops"]:
            lines.append(
                f"- {name}: `{e['id']}` -> `{e['named']}` ({e['matched_by']}; Jaccard {e['similarity']:.2f}, "
                f"inside {e['containment']:.2f}; oracle {e['jaccard']:.2f} / {e['inside']:.2f}): {e['text']}"
            )
        for e in c["no_longer_dropped"]:
            lines.append(f"- {name}: `{e['id']}` no longer dropped: {e['now']}")
    lines += ["", "### Boilerplate groups found", ""]
    for name, c in results["corpora"].items():
        if not c["groups"]:
            lines.append(f"- {name}: none.")
            continue
        lines.append(f"- {name} ({len(c['groups'])} groups):")
        for g in c["groups"]:
            lines.append(
                f"  - {g['records']} records, {g['words']} words, {g['variants']} variant(s), first in "
                f"`{g['first_record']}`: {textwrap.shorten(g['text'], 150)}"
            )
    lines += [
        "",
        "## 3. The defaults",
        "",
        "Boilerplate groups (and paragraphs removed) at each `paragraphs.min_records` (with `min_words: 4`) and "
        "each `paragraphs.min_words` (with `min_records: 5`); the lines under each table are the groups a "
        "step adds (records, text), the most frequent first.",
        "",
    ]
    for key in ("min_records", "min_words"):
        values = [r[key] for r in next(iter(results["sweeps"].values()))[key]]
        lines += [
            "| corpus | " + " | ".join(f"{key} {v}" for v in values) + " |",
            "|---|" + "---:|" * len(values),
        ]
        for name, entry in results["sweeps"].items():
            cells = [f"{r['groups']} ({r['paragraphs_removed']})" for r in entry[key]]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
        for name, entry in results["sweeps"].items():
            for r in entry[key][1:]:
                if r["added"]:
                    shown = "; ".join(f'{a["records"]}x "{a["text"]}"' for a in r["added"][:6])
                    more = f" (+{r['added_count'] - 6} more)" if r["added_count"] > 6 else ""
                    lines.append(f"- {name}, {key} {r[key]} adds: {shown}{more}")
        lines.append("")
    lab = results["labeled"]
    lines += [
        "## 4. Labeled pairs and generated copies at both granularities",
        "",
        "| check | document | paragraph |",
        "|---|---|---|",
    ]
    d, p = lab["reuters"]["document"], lab["reuters"]["paragraph"]
    lines.append(
        f"| Reuters pairs by hand ({d['pairs']}, {d['duplicates']} duplicates): precision / recall / F1 | "
        f"{d['precision']:.3f} / {d['recall']:.3f} / {d['f1']:.3f} | {p['precision']:.3f} / {p['recall']:.3f} / {p['f1']:.3f} |"
    )
    by = {(r["strength"], r["granularity"]): r for r in lab["generated"]}
    for strength in sorted({r["strength"] for r in lab["generated"]}):
        d, p = by[strength, "document"], by[strength, "paragraph"]
        lines.append(
            f"| generated copies at strength {strength}: precision / recall / F1 | {d['precision']:.3f} / "
            f"{d['recall']:.3f} / {d['f1']:.3f} | {p['precision']:.3f} / {p['recall']:.3f} / {p['f1']:.3f} |"
        )
    lines += [
        "",
        "## 5. Speed and memory",
        "",
        "A generated corpus (records of 3-6 paragraphs of 20-60 words drawn from AG News's vocabulary; 5% carry "
        "one of 40 footer paragraphs of 40-120 words, 5% are the first third of an earlier record's "
        "paragraphs, 5% exact copies) "
        "through `dedup run` in a child process, `workers: 0` on a shared two-core machine; peak RSS from "
        "wait4. *paragraph stages*: featurizing paragraphs, the paragraph index and stripping boilerplate; "
        "*paragraphs/s*: paragraphs over the paragraph stages' seconds.",
        "",
        "| records | paragraphs | budget | granularity | shards | wall | records/s | paragraph stages | "
        "paragraphs/s | peak RSS | kept | duplicates | cut copies found | exact copies found | "
        "non-copies dropped | emptied | boilerplate groups |",
        "|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results["speed"]:
        s = r["stats"]
        par = r["granularity"] == "paragraph"
        lines.append(
            f"| {r['records']:,} | {r['paragraphs']:,} | {r['budget']} | {r['granularity']} | {r['shards']} | "
            f"{r['wall_s']:.1f} s | {r['records'] / r['wall_s']:,.0f} | "
            + (
                f"{r['paragraph_s']:.1f} s | {r['paragraphs'] / max(r['paragraph_s'], 1e-9):,.0f} | "
                if par
                else "| | "
            )
            + f"{r['peak_rss'] / 1e6:,.0f} MB | {r['kept']:,} | {r['duplicates']:,} | "
            + f"{r['found']['cut']:,} / {r['planted']['cut']:,} | {r['found']['exact']:,} / {r['planted']['exact']:,} | "
            + f"{r['non_copies_dropped']} | "
            + (f"{s.get('emptied', 0)} | {s.get('boilerplate_groups', 0)} |" if par else " | |")
        )
    big, doc = results.get("scale"), results.get("scale_document")
    if big:
        s = big["stats"]
        lines += [
            "",
            f"At the document path's scale: `benchmarks/scale.py`'s corpus ({big['records']:,} short records of "
            "24-36 words, one paragraph each, 10% exact and 10% near copies) in a "
            f"`memory_budget: {big['budget']}`. The paragraph row is this run's; the "
            "document row (`scale_document` in paragraphs.json) was measured in an earlier sitting, when the "
            "machine was shared with a Spark benchmark: compare the walls with care, the memory and "
            "counts as they are. At paragraph granularity the "
            f"paragraph stages took {big['paragraph_s']:.0f} s ({s['paragraphs'] / max(big['paragraph_s'], 1e-9):,.0f} "
            f"paragraphs/s) and {big['spilled_bytes'] / 1e9:.2f} GB were spilled; no boilerplate "
            "(no paragraph repeats in 5 records with text of their own), "
            f"{s['record_pairs']:,} record pairs proposed.",
            "",
            "| granularity | records | budget | shards | peak RSS | wall | kept | duplicates |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name, row in (("document", doc), ("paragraph", big)):
            if row:
                lines.append(
                    f"| {name} | {row['records']:,} | {row['budget']} | {row['shards']} | "
                    f"{row['peak_rss'] / 1e9:.2f} GB | {row['wall_s']:.0f} s | {row['kept']:,} | {row['duplicates']:,} |"
                )
        stages = list(dict.fromkeys([*(doc or {}).get("timings", {}), *big["timings"]]))
        lines += [
            "",
            "| stage (seconds) | document | paragraph |",
            "|---|---:|---:|",
            *[
                f"| {k} | {(doc or {}).get('timings', {}).get(k, 0.0):.1f} | {big['timings'].get(k, 0.0):.1f} |"
                for k in stages
            ],
        ]
    notes = REPORTS / "paragraphs_notes.md"
    if notes.exists():
        lines += ["", notes.read_text(encoding="utf-8").strip()]
    (out / "paragraphs.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, nargs="+", default=[25_000, 100_000, 400_000])
    parser.add_argument("--budget", default="1GB")
    parser.add_argument(
        "--only", nargs="+", choices=["truncation", "corpora", "sweeps", "labeled", "speed", "scale"]
    )
    parser.add_argument("--scale", type=int, default=5_000_000, help="records of the scale run")
    parser.add_argument("--scale-budget", default="2GB")
    args = parser.parse_args()
    path = REPORTS / "paragraphs.json"
    results: dict[str, Any] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    steps = args.only or ["truncation", "corpora", "sweeps", "labeled", "speed", "scale"]
    if "truncation" in steps:
        results["truncation"] = truncation()
    if "corpora" in steps:
        results["corpora"] = corpora()
    if "sweeps" in steps:
        results["sweeps"] = sweeps()
    if "labeled" in steps:
        results["labeled"] = labeled_checks()
    if "speed" in steps:
        results["speed"] = speed(args.records, args.budget)
    if "scale" in steps:
        results["scale"] = at_scale(args.scale, args.scale_budget)
    path.write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
    if all(k in results for k in ("truncation", "corpora", "sweeps", "labeled", "speed")):
        render(results, REPORTS)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--render":
        render(json.loads((REPORTS / "paragraphs.json").read_text(encoding="utf-8")), REPORTS)
    else:
        main()
