"""The run report as one self-contained HTML page: what a person checks before trusting a run.

`render(folder)` reads a run's `report.json` and Parquet files and writes `report.html` beside them:
the counts and the accounting identity, the parameters, the largest clusters, and a sample of the
dropped records whose similarity is nearest the threshold, each beside the record it duplicates
with the differing words highlighted. Everything is escaped; no script, no external resource.
"""

from __future__ import annotations

import difflib
import html
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from dedup.errors import OutputError

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:4px 8px;vertical-align:top;text-align:left}
th{background:#f5f5f5}.num{text-align:right}.ok{color:#1a7f37;font-weight:bold}.bad{color:#c00;font-weight:bold}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:12px;margin:10px 0 24px}
.side{border:1px solid #ddd;padding:8px;max-height:22em;overflow:auto;font-size:13px}
del{background:#ffd7d5;text-decoration:none}ins{background:#ccffd8;text-decoration:none}
.meta{color:#555;font-size:12px}
"""


def _esc(value: object) -> str:
    return html.escape(str(value))


def _diff(left: str, right: str) -> tuple[str, str]:
    """Both texts as HTML, words only in the left in <del>, only in the right in <ins>."""
    a, b = left.split(), right.split()
    out_a: list[str] = []
    out_b: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        chunk_a, chunk_b = _esc(" ".join(a[i1:i2])), _esc(" ".join(b[j1:j2]))
        if op == "equal":
            out_a.append(chunk_a)
            out_b.append(chunk_b)
        else:
            if chunk_a:
                out_a.append(f"<del>{chunk_a}</del>")
            if chunk_b:
                out_b.append(f"<ins>{chunk_b}</ins>")
    return " ".join(out_a), " ".join(out_b)


def _rows(items: list[tuple[str, Any]]) -> str:
    return "".join(f"<tr><th>{_esc(k)}</th><td class='num'>{_esc(v)}</td></tr>" for k, v in items)


def render(folder: str | Path, sample: int = 12, largest: int = 10) -> Path:
    """Write `report.html` for the run in `folder` and return its path.

    Raises:
        OutputError: the folder holds no complete run.
    """
    folder = Path(folder)
    try:
        report: dict[str, Any] = json.loads((folder / "report.json").read_text(encoding="utf-8"))
        tables = {name: pq.read_table(folder / f"{name}.parquet") for name in _COLUMNS}
    except (OSError, ValueError) as err:
        raise OutputError(f"{folder}: no complete run to report on ({err})") from None
    problem = _report_problem(report)
    if problem is not None:
        raise OutputError(f"{folder / 'report.json'}: not the report of a dedup run: {problem}")
    for name, table in tables.items():
        problem = _table_problem(table, _COLUMNS[name])
        if problem is not None:
            raise OutputError(f"{folder / name}.parquet: not the output of a dedup run: {problem}")
    unique, duplicates = tables["unique"].to_pylist(), tables["duplicates"].to_pylist()
    text_of = {row["id"]: row["text"] for row in unique}
    threshold = float(report["config"]["lsh"]["threshold"])
    identity_holds = report["read"] == report["kept"] + report["duplicates"] + report["rejected"]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>dedup run report</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>dedup run: {_esc(report['output_dir'])}</h1>",
        "<h2>Counts</h2><table>",
        _rows(
            [
                ("read", report["read"]),
                ("kept", report["kept"]),
                ("duplicates", report["duplicates"]),
                ("exact duplicates", report["exact_duplicates"]),
                ("near duplicates", report["near_duplicates"]),
                *([("present (id already indexed)", report["present"])] if report.get("present") else []),
                ("rejected", report["rejected"]),
                ("clusters (2 or more records)", report["clusters"]),
            ]
        ),
        "</table><p id='identity'>read = kept + duplicates + rejected: "
        f"{report['read']} = {report['kept']} + {report['duplicates']} + {report['rejected']} "
        + ("<span class='ok'>holds</span>" if identity_holds else "<span class='bad'>DOES NOT HOLD</span>")
        + "</p>",
        "<h2>Parameters</h2><table>",
        _rows(
            [
                ("signature fingerprint", report["fingerprint"]),
                ("bands x rows", f"{report['bands']} x {report['rows']}"),
                *(
                    (f"{section}.{key}", value)
                    for section in ("shingle", "minhash", "lsh", "cluster")
                    for key, value in report["config"][section].items()
                ),
            ]
        ),
        "</table>",
        "<h2>Largest clusters</h2><table>",
        "<tr><th>kept record</th><th>size</th><th>start of its text</th></tr>",
    ]
    for row in sorted(unique, key=lambda r: (-r["cluster_size"], r["id"]))[:largest]:
        if row["cluster_size"] < 2:
            break
        parts.append(
            f"<tr><td>{_esc(row['id'])}</td><td class='num'>{row['cluster_size']}</td>"
            f"<td>{_esc(row['text'][:240])}</td></tr>"
        )
    parts.append("</table><h2>Dropped records nearest the threshold</h2>")
    near = [d for d in duplicates if d["match"] == "near" and d["duplicate_of"] in text_of]
    inside = report["config"]["lsh"].get("containment") or 1.0

    def margin(dup: dict[str, Any]) -> float:  # distance to the rule that named the kept record
        if dup.get("matched_by") == "containment":
            return abs(float(dup["containment"]) - float(inside))
        return abs(float(dup["similarity"]) - threshold)

    near.sort(key=lambda d: (margin(d), d["id"]))
    if not near:
        parts.append("<p>No near duplicates in this run.</p>")
    for dup in near[:sample]:
        kept_html, dropped_html = _diff(text_of[dup["duplicate_of"]], dup.get("text") or "")
        containment = dup.get("containment")
        shown = f", containment {containment:.3f}" if containment is not None else ""
        parts.append(
            f"<div class='meta'>dropped <b>{_esc(dup['id'])}</b> as a duplicate of "
            f"<b>{_esc(dup['duplicate_of'])}</b> by {_esc(str(dup.get('matched_by', 'jaccard')))}: "
            f"Jaccard {dup['similarity']:.3f}{shown} (threshold {threshold}, containment {inside})</div>"
            f"<div class='pair'><div class='side'>{kept_html}</div>"
            f"<div class='side'>{dropped_html}</div></div>"
        )
    parts.append("</body></html>")
    path = folder / "report.html"
    try:
        path.write_text("\n".join(parts), encoding="utf-8")
    except OSError as err:
        raise OutputError(f"{path}: cannot write: {err.strerror or err}") from None
    return path


_INT = "an integer"
_FIELDS = {
    **{key: _INT for key in ("read", "kept", "duplicates", "exact_duplicates", "near_duplicates")},
    **{key: _INT for key in ("rejected", "clusters", "bands", "rows")},
    "fingerprint": "a string",
    "output_dir": "a string",
    "config": "an object",
}
_SECTIONS = ("shingle", "minhash", "lsh", "cluster")
# The columns the page reads from each table (when it has rows), and their kinds.
_COLUMNS = {
    "unique": {"id": "string", "text": "string", "cluster_size": "integer"},
    "duplicates": {"id": "string", "duplicate_of": "string", "match": "string", "similarity": "floating"},
}


def _kind(value: object) -> str:
    kinds = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return kinds.get(type(value), _INT if isinstance(value, int) else "a number")


def _report_problem(report: object) -> str | None:
    """What makes `report` no run's report (`report.json` as `dedup run` writes it), or None."""
    if not isinstance(report, dict):
        return f"expected a JSON object, found {_kind(report)}"
    for key, kind in _FIELDS.items():
        if key not in report:
            return f"no '{key}'"
        value = report[key]
        if _kind(value) != kind:
            return f"'{key}' is {_kind(value)}, expected {kind}"
    config = report["config"]
    for section in _SECTIONS:
        if not isinstance(config.get(section), dict):
            return f"no config section '{section}'"
    threshold = config["lsh"].get("threshold")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
        return "no config value lsh.threshold"
    return None


def _table_problem(table: pa.Table, columns: dict[str, str]) -> str | None:
    """What makes `table` no run's output table (a column missing or of another type), or None."""
    if table.num_rows == 0:
        return None
    for name, kind in columns.items():
        if name not in table.column_names:
            return f"no column '{name}'"
        if not getattr(pa.types, f"is_{kind}")(table.schema.field(name).type):
            return f"column '{name}' is {table.schema.field(name).type}, expected {kind}"
    return None
