"""The run report as one self-contained HTML page: what a reviewer reads before trusting a run.

`render(folder)` reads a run's `report.json` and Parquet outputs and writes `report.html` beside
them: the counts and the accounting identity, the stage timings, a histogram of the dropped
records' similarity with the threshold marked, the clusters (every member, each drop with its
evidence and a side-by-side diff against the kept record), the rejects grouped by reason with
examples, paragraph boilerplate when the run wrote `paragraphs.parquet`, the parameters, and a
search box that finds any record by id. Everything from the input is escaped; the style and
script are inline, so the page needs no network. What cannot be shown whole on a large run
(clusters, members, long texts) is sampled, and the page says how.
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dedup.errors import OutputError
from dedup.explain import paragraphs_of, reason, word_diff
from dedup.io import rundir
from dedup.io.html_assets import SCRIPT, STYLE

#: Clusters shown: the largest ones, then those of the drops nearest the threshold.
LARGEST_CLUSTERS = 60
BORDERLINE_CLUSTERS = 30
#: Per cluster: drops shown with a diff, and drops listed at all.
DIFFS_PER_CLUSTER = 6
MEMBERS_PER_CLUSTER = 200
#: Words of each text in a diff.
DIFF_WORDS = 600
#: Reject groups shown, and examples of each.
REJECT_GROUPS = 40
REJECT_EXAMPLES = 3
#: Ids the search box knows (the page embeds them).
SEARCH_IDS = 1_000_000
BINS = 20


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _num(value: float | int) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:,.3f}"


def _rows(items: list[tuple[str, Any]]) -> str:
    return "".join(f"<tr><th>{_esc(k)}</th><td class='num'>{_esc(v)}</td></tr>" for k, v in items)


def render(folder: str | Path) -> Path:
    """Write `report.html` for the run in `folder` and return its path.

    Raises:
        OutputError: the folder holds no complete run, or the page cannot be written.
    """
    folder = Path(folder)
    report = rundir.load_report(folder)
    rundir.read_table(folder, "unique", ["id", "text", "cluster_size"])  # the columns the page reads
    unique = rundir.read_table(folder, "unique", ["id", "cluster_size"])
    dups = rundir.read_table(
        folder,
        "duplicates",
        ["id", "duplicate_of", "cluster_id", "matched_by", "match", "similarity", "containment"],
    )
    rejects = rundir.read_table(
        folder, "rejects", ["id", "source_file", "source_line", "stage", "field", "reason", "raw"]
    )
    groups = _reject_groups(rejects)
    counts = Counter(groups)
    kinds = sorted(counts, key=lambda g: (-counts[g], g))  # commonest first; numbered in this order
    shown = _chosen_clusters(unique, dups, report)
    anchors = {cluster: f"c{k}" for k, cluster in enumerate(shown)}
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "script-src 'unsafe-inline'; img-src data:\">",
        f"<title>dedup run report: {_esc(report['output_dir'])}</title><style>{STYLE}</style></head><body>",
        f"<h1>dedup run: {_esc(report['output_dir'])}</h1>",
        "<nav><a href='#counts'>counts</a><a href='#timings'>timings</a><a href='#similarity'>similarity</a>"
        "<a href='#clusters'>clusters</a><a href='#rejects'>rejects</a><a href='#boilerplate'>boilerplate</a>"
        "<a href='#parameters'>parameters</a> <label>find a record by id: "
        "<input id='search' type='search' placeholder='record id' autocomplete='off'></label>"
        "<div id='found' aria-live='polite'></div></nav>",
        _counts(report),
        _timings(report),
        _histogram(dups, report),
        _clusters(folder, report, unique, dups, shown, anchors),
        _rejects(rejects, groups, kinds),
        _boilerplate(folder),
        _parameters(report),
        _index(report, unique, dups, rejects, groups, kinds, anchors),
        f"<script>{SCRIPT}</script></body></html>",
    ]
    path = folder / "report.html"
    try:
        path.write_text("\n".join(parts), encoding="utf-8")
    except OSError as err:
        raise OutputError(f"{path}: cannot write: {err.strerror or err}") from None
    return path


def _counts(report: dict[str, Any]) -> str:
    holds = report["read"] == report["kept"] + report["duplicates"] + report["rejected"]
    matched = report.get("matched_by") or {}
    return "".join(
        [
            "<h2 id='counts'>Counts</h2><table>",
            _rows(
                [
                    ("read", f"{report['read']:,}"),
                    ("kept", f"{report['kept']:,}"),
                    ("duplicates", f"{report['duplicates']:,}"),
                    *((f"  matched_by {k}", f"{v:,}") for k, v in matched.items() if isinstance(v, int)),
                    ("exact duplicates", f"{report['exact_duplicates']:,}"),
                    ("near duplicates", f"{report['near_duplicates']:,}"),
                    *([("present (id already indexed)", report["present"])] if report.get("present") else []),
                    ("rejected", f"{report['rejected']:,}"),
                    ("clusters (2 or more records)", f"{report['clusters']:,}"),
                ]
            ),
            "</table><p id='identity'>read = kept + duplicates + rejected: "
            f"{report['read']} = {report['kept']} + {report['duplicates']} + {report['rejected']} ",
            "<span class='ok'>holds</span>" if holds else "<span class='bad'>DOES NOT HOLD</span>",
            "</p>",
        ]
    )


def _timings(report: dict[str, Any]) -> str:
    timings = {k: v for k, v in (report.get("timings") or {}).items() if isinstance(v, (int, float))}
    total = timings.pop("total", None)
    if not timings:
        return "<h2 id='timings'>Stage timings</h2><p>This run recorded no timings.</p>"
    widest = max(*timings.values(), 1e-9)
    rows = "".join(
        f"<tr><th>{_esc(name)}</th><td class='num'>{seconds:,.3f}</td>"
        f"<td><span class='bar' style='width:{max(1, round(300 * seconds / widest))}px'></span></td></tr>"
        for name, seconds in timings.items()
    )
    whole = (
        f"<p>Whole run: {total or 0:,.3f} s; the stages above add up to {sum(timings.values()):,.3f} s "
        "(the rest: finding the inputs, checkpoints, publishing).</p>"
    )
    return (
        "<h2 id='timings'>Stage timings</h2><table><tr><th>stage</th><th>seconds</th><th></th></tr>"
        f"{rows}</table>{whole if total is not None else ''}"
    )


def _histogram(dups: pa.Table, report: dict[str, Any]) -> str:
    """An SVG histogram of the near-duplicate drops' Jaccard similarity, the threshold marked."""
    threshold = float(report["config"]["lsh"]["threshold"])
    near = dups.filter(pc.equal(dups["match"], "near")) if dups.num_rows else dups
    values = (
        np.asarray(near["similarity"].to_numpy(zero_copy_only=False), dtype=float)
        if near.num_rows
        else np.empty(0)
    )
    head = "<h2 id='similarity'>Similarity of the near-duplicate drops</h2>"
    exact = report["exact_duplicates"]
    if not len(values):
        return f"{head}<p>No near duplicates in this run ({exact:,} exact repeats).</p>"
    counts, _ = np.histogram(np.clip(values, 0, 1), bins=BINS, range=(0.0, 1.0))
    width, height, left, bottom = 640, 240, 50, 44
    step = (width - left - 10) / BINS
    top = max(int(counts.max()), 1)
    bars = []
    for k, n in enumerate(counts.tolist()):
        h = (height - bottom - 10) * n / top
        x = left + k * step
        bars.append(
            f"<rect x='{x:.1f}' y='{height - bottom - h:.1f}' width='{step - 2:.1f}' height='{h:.1f}' "
            "fill='#6a8dd6'>"
            f"<title>{k / BINS:.2f} to {(k + 1) / BINS:.2f}: {n:,} drops</title></rect>"
        )
    ticks = "".join(
        f"<text x='{left + t * BINS * step:.1f}' y='{height - bottom + 14}' font-size='11' "
        f"text-anchor='middle'>{t:.1f}</text>"
        for t in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    )
    tx = left + threshold * BINS * step
    svg = (
        f"<svg width='{width}' height='{height}' role='img' aria-label='histogram of similarity'>"
        f"<text x='4' y='14' font-size='11'>drops</text>"
        f"<text x='4' y='{height - bottom}' font-size='11'>0</text>"
        f"<text x='4' y='24' font-size='11' dy='12'>{top:,}</text>{''.join(bars)}{ticks}"
        f"<line x1='{tx:.1f}' x2='{tx:.1f}' y1='6' y2='{height - bottom}' stroke='#c00' "
        "stroke-dasharray='4 3'/>"
        f"<text x='{tx + 4:.1f}' y='16' font-size='11' fill='#c00'>threshold {threshold}</text>"
        f"<text x='{width / 2:.0f}' y='{height - 6}' font-size='11' text-anchor='middle'>"
        "Jaccard similarity to the record named (word shingles)</text></svg>"
    )
    below = int(np.sum(values < threshold))
    note = (
        f"<p class='note'>{len(values):,} near-duplicate drops; {below:,} below the threshold were "
        f"dropped by containment (a record inside another). {exact:,} exact repeats are not shown.</p>"
    )
    return head + svg + note


def _chosen_clusters(unique: pa.Table, dups: pa.Table, report: dict[str, Any]) -> list[str]:
    """The clusters the page shows: the largest, then those of the drops nearest the threshold."""
    if not dups.num_rows:
        return []
    sizes = Counter(dups["cluster_id"].to_pylist())
    largest = sorted(sizes, key=lambda c: (-sizes[c], c))[:LARGEST_CLUSTERS]
    threshold = float(report["config"]["lsh"]["threshold"])
    near = dups.filter(pc.equal(dups["match"], "near"))
    margin = np.abs(np.asarray(near["similarity"].to_numpy(zero_copy_only=False), dtype=float) - threshold)
    order = np.argsort(margin, kind="stable")
    near_clusters = near["cluster_id"].to_pylist()
    chosen = dict.fromkeys(largest)
    for k in order.tolist():
        if len(chosen) >= LARGEST_CLUSTERS + BORDERLINE_CLUSTERS:
            break
        chosen.setdefault(near_clusters[k])
    return list(chosen)


def _texts(folder: Path, name: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The rows (id, text, position; paragraphs for kept records) of the given records."""
    if not ids:
        return {}
    columns = ["id", "text", "source_file", "source_line"] + (["paragraphs"] if name == "unique" else [])
    path = folder / f"{name}.parquet"
    try:
        table = pq.read_table(path, columns=columns, filters=[("id", "in", ids)])
    except (OSError, ValueError, pa.ArrowException) as err:
        raise OutputError(f"{path}: cannot read the run's output ({' '.join(str(err).split())})") from None
    return {row["id"]: row for row in table.to_pylist()}


def _clusters(
    folder: Path,
    report: dict[str, Any],
    unique: pa.Table,
    dups: pa.Table,
    shown: list[str],
    anchors: dict[str, str],
) -> str:
    head = "<h2 id='clusters'>Clusters</h2>"
    total = int(report["clusters"])
    if not shown and not report["duplicates"]:
        return f"{head}<p>No record was dropped: every cluster is a single record.</p>"
    note = (
        f"<p class='note'>Showing {len(shown):,} of {total:,} clusters: the {LARGEST_CLUSTERS} largest, "
        f"then those of the drops nearest the threshold. Each shows at most {MEMBERS_PER_CLUSTER} members, "
        f"the first {DIFFS_PER_CLUSTER} drops side by side with the record they duplicate (the first "
        f"{DIFF_WORDS} words of each). Words only in the dropped record are red, words only in the kept "
        "one green. Any record: the search box above, or <code>dedup explain OUT_DIR ID</code>.</p>"
        if len(shown) < total
        else f"<p class='note'>All {total:,} clusters. Words only in the dropped record are red, words "
        "only in the kept one green.</p>"
    )
    members: dict[str, list[dict[str, Any]]] = {c: [] for c in shown}
    picked = dups.filter(pc.is_in(dups["cluster_id"], pa.array(shown, pa.string())))
    for row in picked.to_pylist():
        members[row["cluster_id"]].append(row)
    for rows in members.values():
        rows.sort(key=lambda r: (r["match"] == "exact", -(r["similarity"] or 0.0), r["id"]))
    wanted_dropped = [r["id"] for rows in members.values() for r in rows[:DIFFS_PER_CLUSTER]]
    named = {r["duplicate_of"] for rows in members.values() for r in rows[:DIFFS_PER_CLUSTER]} | set(shown)
    dropped_rows = _texts(folder, "duplicates", wanted_dropped + sorted(named))
    kept_rows = _texts(folder, "unique", sorted(named))
    lsh_config = report["config"]["lsh"]
    out = [head, note]
    for cluster in shown:
        rows = members[cluster]
        size = len(rows) + 1
        out.append(
            f"<details class='cluster' id='{anchors[cluster]}'><summary>kept "
            f"<span class='id'>{_esc(cluster)}</span>"
            f" · {size:,} records ({sum(r['match'] == 'near' for r in rows):,} near, "
            f"{sum(r['match'] == 'exact' for r in rows):,} exact)</summary>"
        )
        out.append(
            "<table><tr><th>dropped record</th><th>duplicate of</th><th>matched_by</th>"
            "<th>similarity</th><th>containment</th></tr>"
        )
        for row in rows[:MEMBERS_PER_CLUSTER]:
            contained = row["containment"]
            shown_containment = "" if contained is None or np.isnan(contained) else f"{contained:.3f}"
            out.append(
                f"<tr><td class='id'>{_esc(row['id'])}</td><td class='id'>{_esc(row['duplicate_of'])}</td>"
                f"<td>{_esc(row['matched_by'])}</td><td class='num'>{row['similarity']:.3f}</td>"
                f"<td class='num'>{shown_containment}</td></tr>"
            )
        out.append("</table>")
        if len(rows) > MEMBERS_PER_CLUSTER:
            out.append(f"<p class='note'>... and {len(rows) - MEMBERS_PER_CLUSTER:,} more drops.</p>")
        for row in rows[:DIFFS_PER_CLUSTER]:
            dropped = dropped_rows.get(row["id"])
            other = kept_rows.get(row["duplicate_of"]) or dropped_rows.get(row["duplicate_of"])
            out.append(_pair(row, dropped, other, lsh_config))
        out.append("</details>")
    return "".join(out)


def _pair(
    row: dict[str, Any],
    dropped: dict[str, Any] | None,
    kept: dict[str, Any] | None,
    lsh_config: dict[str, Any],
) -> str:
    """One drop: its evidence, then the two texts side by side, headed `dropped` and `kept`."""
    evidence = (
        f"<div class='evidence'>dropped <b>{_esc(row['id'])}</b> as a duplicate of "
        f"<b>{_esc(row['duplicate_of'])}</b>: matched_by <b>{_esc(row['matched_by'])}</b>; "
        f"{_esc(reason(row, lsh_config))}</div>"
    )
    if dropped is None or kept is None:
        return evidence
    a = " ".join(" ".join(paragraphs_of(dropped)).split()[:DIFF_WORDS])
    b = " ".join(" ".join(paragraphs_of(kept)).split()[:DIFF_WORDS])
    left: list[str] = []
    right: list[str] = []
    for kind, text in word_diff(a, b):
        if kind == "same":
            left.append(_esc(text))
            right.append(_esc(text))
        elif kind == "first":
            left.append(f"<del>{_esc(text)}</del>")
        else:
            right.append(f"<ins>{_esc(text)}</ins>")
    return (
        f"{evidence}<div class='pair'><div class='side dropped'><h4>dropped: <span class='id'>"
        f"{_esc(row['id'])}</span> ({_esc(_where(dropped))})</h4>{' '.join(left)}</div>"
        f"<div class='side kept'><h4>kept: <span class='id'>{_esc(kept['id'])}</span> ({_esc(_where(kept))})"
        f"</h4>{' '.join(right)}</div></div>"
    )


def _where(row: dict[str, Any]) -> str:
    line = row.get("source_line")
    return str(row.get("source_file")) if line is None else f"{row.get('source_file')}:{line}"


_NUMBER = re.compile(r"\d[\d,.]*")
_QUOTED = re.compile(r"'[^']*'")


def _reject_groups(rejects: pa.Table) -> list[str]:
    """Each reject's group key: stage, field and reason with its numbers and quoted names blanked."""
    if not rejects.num_rows:
        return []
    keys = []
    for stage, field, text in zip(
        rejects["stage"].to_pylist(), rejects["field"].to_pylist(), rejects["reason"].to_pylist(), strict=True
    ):
        general = _NUMBER.sub("N", _QUOTED.sub("'…'", text or ""))
        keys.append(f"{stage} stage{f', field {field!r}' if field else ''}: {general}")
    return keys


def _rejects(rejects: pa.Table, groups: list[str], order: list[str]) -> str:
    head = "<h2 id='rejects'>Rejects</h2>"
    if not rejects.num_rows:
        return f"{head}<p>No record was rejected.</p>"
    counts = Counter(groups)
    number = {g: k for k, g in enumerate(order)}
    rows = rejects.to_pylist()
    examples: dict[str, list[dict[str, Any]]] = {}
    for row, group in zip(rows, groups, strict=True):
        if len(examples.setdefault(group, [])) < REJECT_EXAMPLES:
            examples[group].append(row)
    out = [
        head,
        f"<p>{len(rows):,} rejected records in {len(order):,} kinds (numbers and quoted names blanked).</p>",
    ]
    if len(order) > REJECT_GROUPS:
        out.append(
            f"<p class='note'>The {REJECT_GROUPS} commonest kinds are shown; all are in rejects.parquet.</p>"
        )
    for group in order[:REJECT_GROUPS]:
        out.append(
            f"<details class='cluster' id='r{number[group]}'><summary>{counts[group]:,} × {_esc(group)}"
            "</summary><table>"
            "<tr><th>where</th><th>id</th><th>reason</th><th>raw input (start)</th></tr>"
        )
        for row in examples[group]:
            raw = (row.get("raw") or "")[:300]
            out.append(
                f"<tr><td class='id'>{_esc(_where(row))}</td><td class='id'>{_esc(row.get('id') or '')}</td>"
                f"<td>{_esc(row['reason'])}</td><td class='raw'>{_esc(raw)}</td></tr>"
            )
        out.append("</table></details>")
    return "".join(out)


def _boilerplate(folder: Path) -> str:
    head = "<h2 id='boilerplate'>Paragraph boilerplate</h2>"
    path = folder / "paragraphs.parquet"
    if not path.exists():
        return (
            f"{head}<p>None: this run wrote no paragraphs.parquet (no paragraph-level boilerplate found).</p>"
        )
    try:
        table = pq.read_table(path)
    except (OSError, ValueError, pa.ArrowException) as err:
        return (
            f"{head}<p class='bad'>paragraphs.parquet cannot be read: {_esc(' '.join(str(err).split()))}</p>"
        )
    shown = table.slice(0, 100)
    cells = "".join(f"<th>{_esc(name)}</th>" for name in table.column_names)
    body = "".join(
        "<tr>" + "".join(f"<td>{_esc(str(v)[:300])}</td>" for v in row.values()) + "</tr>"
        for row in shown.to_pylist()
    )
    more = f"<p class='note'>The first 100 of {table.num_rows:,} rows.</p>" if table.num_rows > 100 else ""
    listed = f"<table><tr>{cells}</tr>{body}</table>{more}"
    return f"{head}<p>{table.num_rows:,} rows in paragraphs.parquet.</p>{listed}"


def _parameters(report: dict[str, Any]) -> str:
    items: list[tuple[str, Any]] = [
        ("signature fingerprint", report["fingerprint"]),
        ("bands x rows", f"{report['bands']} x {report['rows']}"),
    ]
    for section in ("normalize", "shingle", "minhash", "lsh", "cluster"):
        for key, value in (report["config"].get(section) or {}).items():
            items.append((f"{section}.{key}", value))
    return f"<h2 id='parameters'>Parameters</h2><table>{_rows(items)}</table>"


def _index(
    report: dict[str, Any],
    unique: pa.Table,
    dups: pa.Table,
    rejects: pa.Table,
    groups: list[str],
    order: list[str],
    anchors: dict[str, str],
) -> str:
    """The search box's data, as JSON the script reads (`<` escaped, so no text can end the element)."""
    kept = unique["id"].to_pylist()[:SEARCH_IDS]
    room = max(0, SEARCH_IDS - len(kept))
    # Compact: the rule as its number in `matched_by`, the cluster left out when it is the named record.
    rules = ["exact", "jaccard", "containment", "contains"]
    code = {name: k for k, name in enumerate(rules)}
    dropped = [
        [r["id"], r["duplicate_of"], code.get(r["matched_by"], 0), round(float(r["similarity"]), 3)]
        + ([] if r["cluster_id"] == r["duplicate_of"] else [r["cluster_id"]])
        for r in dups.slice(0, room)
        .select(["id", "duplicate_of", "matched_by", "similarity", "cluster_id"])
        .to_pylist()
    ]
    number = {g: k for k, g in enumerate(order)}
    rejected = []
    for row, group in zip(
        rejects.select(["id", "source_file", "source_line"]).to_pylist(), groups, strict=True
    ):
        key = row["id"] or (
            f"{row['source_file']}:{row['source_line']}" if row["source_line"] else row["source_file"]
        )
        rejected.append([key, number[group]])
    complete = len(kept) + len(dropped) == unique.num_rows + dups.num_rows
    data = {
        "folder": report["output_dir"],
        "kept": kept,
        "dropped": dropped,
        "rejected": rejected,
        "groups": order,
        "anchors": anchors,
        "complete": complete,
        "rules": rules,
    }
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")
    note = "" if complete else f"<p class='note'>The search box knows the first {SEARCH_IDS:,} ids.</p>"
    return f"{note}<script type='application/json' id='index'>{text}</script>"
