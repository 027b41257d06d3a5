"""Why a record is where a run put it: kept, dropped (with the evidence) or rejected.

`explain(folder, record_id)` works from a run's output folder alone: the config is in
`report.json`, the cleaned texts are in the Parquet outputs. For a dropped record the evidence is
made again with the product's own functions, so it is what the verifier saw: the hashing form
(`dedup.normalize.hashing_forms`), the shingle hashes (`dedup.shingle.shingle_batch`) and their
exact overlap (`dedup.lsh.exact_overlaps`) give the Jaccard similarity and the containment; the
word shingles (`dedup.shingle.shingles`) show what the two share and what they differ by; the
figures rule (`dedup.figures`) shows the statements of figures the two were compared on.
`describe` turns an explanation into lines for the terminal; `word_diff` is the word diff that the
terminal and the HTML report show.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dedup import figures, lsh, normalize, shingle
from dedup.display import printable
from dedup.errors import UnknownIdError
from dedup.io import rundir

#: Columns `explain` reads from each output.
_UNIQUE = ["id", "text", "paragraphs", "source_file", "source_line", "cluster_id", "cluster_size"]
_DUPLICATES = [
    "id",
    "duplicate_of",
    "cluster_id",
    "matched_by",
    "match",
    "similarity",
    "containment",
    "text",
    "source_file",
    "source_line",
]
_REJECTS = ["id", "source_file", "source_line", "stage", "field", "reason", "raw"]
#: Examples of shingles shown for each side.
EXAMPLES = 6


@dataclass(frozen=True, slots=True)
class FrameCheck:
    """One frame of figures that both records' bodies state something in.

    Attributes:
        frame: `(word before, word after)`.
        dropped: the dropped record's figures in it, as written.
        kept: the named record's figures in it, as written.
        clash: each states something there the other's statements do not cover.
    """

    frame: tuple[str, str]
    dropped: tuple[str, ...]
    kept: tuple[str, ...]
    clash: bool


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the verifier compares of two records, made again from their cleaned texts.

    Attributes:
        jaccard: exact Jaccard of the two shingle sets.
        inside: the share of the first record's distinct shingles found in the second.
        holds: the share of the second record's distinct shingles found in the first.
        shingles: distinct shingles of the first and of the second record.
        shared: distinct shingles in both.
        only_first: examples of word shingles only the first record has (at most `EXAMPLES`).
        only_second: examples only the second has.
        shared_examples: examples both have.
        frames: the frames of figures both records state something in.
        correction: one of the two announces a correction (the figures rule then does not apply).
    """

    jaccard: float
    inside: float
    holds: float
    shingles: tuple[int, int]
    shared: int
    only_first: list[str]
    only_second: list[str]
    shared_examples: list[str]
    frames: list[FrameCheck]
    correction: bool


@dataclass(slots=True)
class Explanation:
    """Where a record is and why.

    Attributes:
        id: the record's id.
        status: `kept`, `dropped` or `rejected`.
        record: its row of `unique.parquet`, `duplicates.parquet` or `rejects.parquet`.
        named: for a dropped record, the row of the record it duplicates.
        members: for a kept record, its cluster's dropped records (their rows), best match first.
        evidence: for a near-duplicate drop, the evidence made again.
        config: the run's `shingle` and `lsh` config sections.
        other_rejects: rejects holding the same id (a repeated id), beside a kept or dropped record.
    """

    id: str
    status: Literal["kept", "dropped", "rejected"]
    record: dict[str, Any]
    named: dict[str, Any] | None = None
    members: list[dict[str, Any]] = field(default_factory=list)
    evidence: Evidence | None = None
    config: dict[str, Any] = field(default_factory=dict)
    other_rejects: list[dict[str, Any]] = field(default_factory=list)


def paragraphs_of(row: dict[str, Any]) -> list[str]:
    """A written record's cleaned paragraphs (`duplicates.parquet` holds them joined by blank lines)."""
    if row.get("paragraphs") is not None:
        return list(row["paragraphs"])
    return [p for p in (row.get("text") or "").split("\n\n") if p]


def evidence(first: list[str], second: list[str], ngram: int) -> Evidence:
    """The verifier's view of two records, given as cleaned paragraphs (first: the dropped one)."""
    joined = pa.array(["\n".join(first), "\n".join(second)], pa.large_string())
    forms = normalize.hashing_forms(joined)
    cfg = shingle.ShingleConfig(ngram=ngram)
    hashes, offsets = shingle.shingle_batch(forms, cfg)
    common, size_a, size_b = lsh.exact_overlaps(hashes, offsets, np.array([[0, 1]], dtype=np.int64))
    both, a, b = int(common[0]), int(size_a[0]), int(size_b[0])
    words = [_word_shingles(form, cfg) for form in forms.to_pylist()]
    facts = [figures.facts("\n".join(first)), figures.facts("\n".join(second))]
    clashing = set(figures.clashing_frames(facts[0], facts[1]))
    frames = [
        FrameCheck(
            frame,
            _written(facts[0].body[frame]),
            _written(facts[1].body[frame]),
            frame in clashing,
        )
        for frame in sorted(facts[0].body.keys() & facts[1].body.keys())
    ]
    return Evidence(
        jaccard=both / (a + b - both) if a + b - both else 1.0,
        inside=both / a if a else 1.0,
        holds=both / b if b else 1.0,
        shingles=(a, b),
        shared=both,
        only_first=_examples(words[0], words[1]),
        only_second=_examples(words[1], words[0]),
        shared_examples=[s for s in words[0] if s in words[1]][:EXAMPLES],
        frames=frames,
        correction=facts[0].correction or facts[1].correction,
    )


def _word_shingles(form: str, cfg: shingle.ShingleConfig) -> dict[str, int]:
    """A hashing form's word shingles, each with its first position (dicts keep the text's order)."""
    found: dict[str, int] = {}
    tokens = [line.split(" ") for line in form.split("\n") if line]
    for position, words in enumerate(shingle.shingles(tokens, cfg)):
        found.setdefault(" ".join(words), position)
    return found


def _examples(mine: dict[str, int], theirs: dict[str, int]) -> list[str]:
    return [s for s in mine if s not in theirs][:EXAMPLES]


def _written(statements: tuple[figures.Statement, ...]) -> tuple[str, ...]:
    """Statements of figures as written, each as its figures in order (`8,000`, `4000 to 5000`)."""
    return tuple(" ".join(sorted(s.written, key=_figure_order)) for s in statements)


def _figure_order(text: str) -> tuple[int, str]:
    return (1 if text.startswith("month") else 0, text)


def word_diff(first: str, second: str) -> list[tuple[Literal["same", "first", "second"], str]]:
    """The two texts as runs of words: in both, only in the first, only in the second, in order."""
    a, b = first.split(), second.split()
    out: list[tuple[Literal["same", "first", "second"], str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(("same", " ".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(("first", " ".join(a[i1:i2])))
        if j2 > j1:
            out.append(("second", " ".join(b[j1:j2])))
    return out


def explain(folder: str | Path, record_id: str) -> Explanation:
    """Why the record `record_id` is where the run in `folder` put it.

    A record is found by its id, or by `file:line` when it was rejected before it had one.

    Raises:
        OutputError: the folder holds no complete run, or its files are not a run's.
        UnknownIdError: no record of the run has this id (the nearest ids are suggested).
    """
    report = rundir.load_report(folder)
    config = {"shingle": report["config"]["shingle"], "lsh": report["config"]["lsh"]}
    keep_rule = report["config"]["cluster"].get("keep", "first")
    config["cluster"] = {"keep": keep_rule}
    rejects = _rejects_for(folder, record_id)
    kept = rundir.read_table(folder, "unique", _UNIQUE, ("id", [record_id])).to_pylist()
    if kept:
        row = kept[0]
        members = rundir.read_table(
            folder, "duplicates", _DUPLICATES, ("cluster_id", [record_id])
        ).to_pylist()
        members.sort(key=lambda m: (-(m["similarity"] or 0.0), m["id"]))
        return Explanation(record_id, "kept", row, members=members, config=config, other_rejects=rejects)
    dropped = rundir.read_table(folder, "duplicates", _DUPLICATES, ("id", [record_id])).to_pylist()
    if dropped:
        row = dropped[0]
        named_id = row["duplicate_of"]
        named = rundir.read_table(folder, "unique", _UNIQUE, ("id", [named_id])).to_pylist()
        if not named:  # under `keep: none` the named record was dropped too
            named = rundir.read_table(folder, "duplicates", _DUPLICATES, ("id", [named_id])).to_pylist()
        proof = None
        if named and row["match"] != "exact":
            ngram = int(config["shingle"].get("ngram", 3))
            proof = evidence(paragraphs_of(row), paragraphs_of(named[0]), ngram)
        return Explanation(
            record_id,
            "dropped",
            row,
            named=named[0] if named else None,
            evidence=proof,
            config=config,
            other_rejects=rejects,
        )
    if rejects:
        return Explanation(record_id, "rejected", rejects[0], config=config, other_rejects=rejects[1:])
    raise UnknownIdError(_unknown(folder, record_id))


def _rejects_for(folder: str | Path, record_id: str) -> list[dict[str, Any]]:
    """Rejects with this id, or at this `file:line`."""
    table = rundir.read_table(folder, "rejects", _REJECTS)
    if not table.num_rows:
        return []
    rows = table.filter(pc.equal(table["id"], record_id)).to_pylist()
    file, colon, line = record_id.rpartition(":")
    if not rows and colon and line.isdigit():
        at = pc.and_(pc.equal(table["source_file"], file), pc.equal(table["source_line"], int(line)))
        rows = table.filter(at).to_pylist()
    return list(rows)


def _unknown(folder: str | Path, record_id: str) -> str:
    """`no record ...; did you mean ...?` with the nearest ids of the run."""
    ids: list[str] = []
    for name in ("unique", "duplicates"):
        ids += rundir.read_table(folder, name, ["id"])["id"].to_pylist()
    rejected = rundir.read_table(folder, "rejects", ["id"])
    ids += [i for i in (rejected["id"].to_pylist() if rejected.num_rows else []) if i is not None]
    near = difflib.get_close_matches(record_id, ids, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(repr(n) for n in near)}?" if near else ""
    return f"{folder}: no record of this run has the id {record_id!r}{hint}"


# Lines for the terminal -------------------------------------------------------------------------


def describe(found: Explanation, context: int = 8) -> list[str]:
    """The explanation as lines for a terminal, control characters escaped.

    The word diff marks `[-only in the dropped record-]` and `{+only in the kept one+}`, with
    `context` words around each change.
    """
    row = found.record
    lines: list[str]
    if found.status == "rejected":
        lines = _describe_reject(found.id, row)
    elif found.status == "kept":
        lines = _describe_kept(found)
    else:
        lines = _describe_dropped(found, context)
    for other in found.other_rejects:
        lines.append(f"also rejected with this id at {_where(other)}: {other['reason']}")
    return [printable(line) for line in lines]


def _where(row: dict[str, Any]) -> str:
    if row.get("source_line") is None:
        return str(row.get("source_file"))
    return f"{row.get('source_file')}:{row.get('source_line')}"


def _describe_reject(record_id: str, row: dict[str, Any]) -> list[str]:
    field_part = f", field '{row['field']}'" if row.get("field") else ""
    lines = [
        f"{record_id}: rejected at the {row['stage']} stage{field_part}",
        f"  where: {_where(row)}",
        f"  reason: {row['reason']}",
    ]
    if row.get("raw"):
        raw = row["raw"]
        lines.append(
            f"  raw input ({len(raw):,} characters kept): {raw[:200]}{'...' if len(raw) > 200 else ''}"
        )
    return lines


def _describe_kept(found: Explanation) -> list[str]:
    row = found.record
    size = int(row.get("cluster_size") or 1)
    lines = [f"{found.id}: kept (written to unique.parquet)", f"  where: {_where(row)}"]
    if size < 2:
        lines.append("  no other record verified as its duplicate: it is a cluster of one")
        return lines
    keep = found.config.get("cluster", {}).get("keep", "first")
    lines.append(
        f"  it is the record kept for its cluster of {size:,} records (cluster.keep: {keep}); "
        f"the {len(found.members):,} dropped for it:"
    )
    for member in found.members:
        lines.append(f"    {member['id']}  {_evidence_line(member)}  ({_where(member)})")
    return lines


def _evidence_line(row: dict[str, Any]) -> str:
    """`matched_by jaccard, similarity 0.842, containment 0.910` from a `duplicates.parquet` row."""
    parts = [f"matched_by {row['matched_by']}", f"similarity {row['similarity']:.3f}"]
    if row.get("containment") is not None and not np.isnan(row["containment"]):
        parts.append(f"containment {row['containment']:.3f}")
    return ", ".join(parts)


def reason(row: dict[str, Any], lsh_config: dict[str, Any]) -> str:
    """The rule that dropped a record, in words, from its `duplicates.parquet` row."""
    named = row["duplicate_of"]
    by = row["matched_by"]
    threshold = lsh_config.get("threshold")
    inside = lsh_config.get("containment")
    if by == "exact":
        return f"an exact repeat of '{named}': the same words once cleaned and folded (hashing form)"
    if by == "jaccard":
        return f"Jaccard similarity {row['similarity']:.3f} to '{named}' reaches lsh.threshold {threshold}"
    if by == "containment":
        return (
            f"{row['containment']:.1%} of its distinct shingles are inside '{named}', reaching "
            f"lsh.containment {inside} (the record inside another is the redundant one)"
        )
    return (
        f"it holds {row['containment']:.1%} of the shingles of '{named}' (cluster.keep: none drops "
        "every record that has a duplicate)"
    )


def _describe_dropped(found: Explanation, context: int) -> list[str]:
    row, named = found.record, found.named
    lsh_config = found.config.get("lsh", {})
    lines = [
        f"{found.id}: dropped as a duplicate of '{row['duplicate_of']}' (matched_by {row['matched_by']})",
        f"  where: {_where(row)}; cluster {row['cluster_id']}",
        f"  why: {reason(row, lsh_config)}",
    ]
    if named is not None:
        lines.append(f"  the record it duplicates: {named['id']} at {_where(named)}")
    proof = found.evidence
    if proof is not None:
        ngram = found.config.get("shingle", {}).get("ngram", 3)
        (mine, theirs), both = proof.shingles, proof.shared
        lines += [
            f"  shingles (word {ngram}-grams, distinct): {mine:,} in it, {theirs:,} in the kept record, "
            f"{both:,} shared; Jaccard {proof.jaccard:.3f}, {proof.inside:.1%} of it inside the kept record, "
            f"{proof.holds:.1%} of the kept record inside it",
        ]
        if proof.only_first:
            lines.append("    only in the dropped record: " + " | ".join(proof.only_first))
        if proof.only_second:
            lines.append("    only in the kept record:    " + " | ".join(proof.only_second))
        if proof.shared_examples:
            lines.append("    in both:                    " + " | ".join(proof.shared_examples))
        lines += _describe_figures(proof, lsh_config)
    if named is not None:
        lines.append("  word diff ([-only in the dropped record-] {+only in the kept record+}):")
        lines += ["    " + line for line in _diff_lines(row, named, context)]
    return lines


def _describe_figures(proof: Evidence, lsh_config: dict[str, Any]) -> list[str]:
    if not lsh_config.get("figures", True):
        return ["  figures rule: off (lsh.figures: false)"]
    if proof.correction:
        return ["  figures rule: not applied, one of the two announces a correction"]
    if not proof.frames:
        return ["  figures rule: no frame of figures is stated in both, nothing to compare"]
    clashes = sum(f.clash for f in proof.frames)
    verdict = f"{clashes} clash" if clashes else "none clash"
    lines = [f"  figures rule: {len(proof.frames)} frame(s) of figures stated in both, {verdict}:"]
    for check in proof.frames[:12]:
        before, after = (w or "-" for w in check.frame)
        mark = "CLASH" if check.clash else "agree"
        stated = f"dropped {'; '.join(check.dropped)} / kept {'; '.join(check.kept)}"
        lines.append(f"    ({before} _ {after}): {stated}: {mark}")
    if len(proof.frames) > 12:
        lines.append(f"    ... and {len(proof.frames) - 12} more")
    return lines


def _diff_lines(row: dict[str, Any], named: dict[str, Any], context: int, width: int = 100) -> list[str]:
    """The word diff, changes with `context` words around them, wrapped at `width` characters."""
    runs = word_diff(" ".join(paragraphs_of(row)), " ".join(paragraphs_of(named)))
    if all(kind == "same" for kind, _ in runs):
        return ["(no word differs)"]
    pieces: list[str] = []
    for k, (kind, text) in enumerate(runs):
        if kind != "same":
            words = text.split()
            if len(words) > 4 * context + 1:  # a long run added or dropped: its ends
                skipped = len(words) - 4 * context
                words = [*words[: 2 * context], f"<{skipped:,} more words>", *words[-2 * context :]]
            shown = " ".join(words)
            pieces.append(f"[-{shown}-]" if kind == "first" else f"{{+{shown}+}}")
        else:
            words = text.split()
            head = k > 0
            tail = k < len(runs) - 1
            long = len(words) > 2 * context + 1 or (not (head and tail) and len(words) > context)
            if long:
                left = words[:context] if head else []
                right = words[-context:] if tail else []
                pieces.append(" ".join([*left, "...", *right]).strip())
            else:
                pieces.append(text)
    out: list[str] = []
    line = ""
    for word in " ".join(pieces).split(" "):
        if line and len(line) + 1 + len(word) > width:
            out.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        out.append(line)
    return out
