"""How long the HTML report of a 100,000-record run takes to render and to open in a browser.

The corpus: every real news record in ../shared/data (Reuters-21578, BBC News, AG News, 20
Newsgroups), edited copies of Reuters stories (`dedup.editgen`, moderate strength) up to 100,000
records, a few hundred of which are unreadable or empty (rejects). `dedup run`, then `dedup report`
(timed), then the page is opened in headless Chromium (`tests/browser.py`) several times: the
figure is the time from navigation to the load event, and to the first search answered.

    .venv/bin/python benchmarks/report_open.py            # writes benchmarks/reports/report_open.json
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import dedup
from dedup import editgen
from dedup.io import html

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.corpus import DATA  # noqa: E402
from tests.browser import Browser  # noqa: E402 - the DevTools driver the tests use

REPORTS = ROOT / "benchmarks" / "reports"
FILES = ("reuters21578", "bbc", "agnews_test", "mini_newsgroups")


def build(folder: Path, records: int, rejects: int) -> Path:
    rows: list[dict[str, str]] = []
    for name in FILES:
        with gzip.open(DATA / "news" / f"{name}.jsonl.gz", "rt", encoding="utf-8") as lines:
            rows += [{"id": f"{name}-{r['id']}", "text": r["text"]} for r in map(json.loads, lines)]
    reuters = [r for r in rows if r["id"].startswith("reuters") and len(r["text"]) > 400]
    rng = random.Random(7)
    strength = editgen.EditStrength.uniform(0.3)
    k = 0
    while len(rows) < records - rejects:
        source = reuters[k % len(reuters)]
        paragraphs = [p for p in source["text"].split("\n") if p.strip()] or [source["text"]]
        copy = editgen.edit(paragraphs, strength, rng)
        rows.append({"id": f"{source['id']}-copy{k // len(reuters)}", "text": "\n\n".join(copy)})
        k += 1
    path = folder / "corpus.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        for j in range(rejects):
            out.write(
                f'{{"id": "bad-{j}", "text": ' if j % 2 else json.dumps({"id": f"empty-{j}", "text": " "})
            )
            out.write("\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--opens", type=int, default=5)
    parser.add_argument("--keep", help="a folder to keep the run in (default: a temporary one)")
    parser.add_argument("--reuse", action="store_true", help="render and open the run already in --keep")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        out = folder / "out"
        if args.reuse:
            report = dedup.Report(
                **{
                    k: v
                    for k, v in json.loads((out / "report.json").read_text()).items()
                    if k != "accounting"
                }
            )
        else:
            corpus = build(folder, args.records, rejects=300)
            config = dedup.config_from_dict(
                {"input": {"paths": [str(corpus)]}, "output": {"dir": str(out), "overwrite": True}}
            )
            report = dedup.run(config)
        print(report.summary(), flush=True)
        started = time.perf_counter()
        page = html.render(out)
        rendered = time.perf_counter() - started
        page_bytes = page.stat().st_size
        loads, searches = [], []
        with Browser(1280, 1000) as browser:
            target = report_id(out)
            for k in range(args.opens):
                started = time.perf_counter()  # a new query string: a new load, not a jump within the page
                loads.append(browser.open(f"{page.as_uri()}?open={k}#id={target}"))
                assert browser.run("document.getElementById('found').innerText.length > 0")
                searches.append(time.perf_counter() - started)
            browser.open(page.as_uri())
            browser.screenshot(folder / "report_open.png")
    result = {
        "records": report.read,
        "kept": report.kept,
        "duplicates": report.duplicates,
        "rejected": report.rejected,
        "clusters": report.clusters,
        "page_bytes": page_bytes,
        "render_s": round(rendered, 3),
        "load_event_s": [round(x, 3) for x in loads],
        "load_and_first_search_s": [round(x, 3) for x in searches],
        "median_load_event_s": round(statistics.median(loads), 3),
        "median_load_and_first_search_s": round(statistics.median(searches), 3),
    }
    print(json.dumps(result, indent=2))
    (REPORTS / "report_open.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


def report_id(out: Path) -> str:
    """A dropped record's id, for the search the page answers on opening."""
    import pyarrow.parquet as pq

    return str(pq.read_table(out / "duplicates.parquet", columns=["id"])["id"][0].as_py())


if __name__ == "__main__":
    main()
