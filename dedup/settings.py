"""The sections of a config: one frozen dataclass per stage, with the checks of its values.

This module is the bottom of the package: it imports nothing of dedup's but the standard library,
so building, checking and printing a config costs no algorithm import (no numpy, no compiled
kernels). Each algorithm module imports its own section from here; `dedup.config` composes the
sections and reads YAML. A field's `metadata["check"]` returns None for a good value, else what it
must be (the message `dedup.config` shows, after the key's dotted path).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

# Input --------------------------------------------------------------------------------------------

Format = Literal["auto", "lines", "jsonl", "csv", "parquet", "warc"]


#: A URL's scheme (`s3://`, `hdfs://`, `gs://`, `http://`): dedup reads and writes local paths only.
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_REMOTE = (
    "must be a local path (a mounted filesystem is one); remote URLs such as s3:// or hdfs:// are "
    "not read or written: copy or mount the data first"
)


def _check_paths(value: object) -> str | None:
    if not value:
        return "must name at least one file, folder or glob"
    if isinstance(value, tuple) and any(_URL.match(str(p)) for p in value):
        return _REMOTE
    return None


def _check_dir(value: object) -> str | None:
    if isinstance(value, str) and _URL.match(value):
        return _REMOTE
    return None


@dataclass(frozen=True, slots=True)
class InputConfig:
    """Where records come from and which fields hold what.

    Attributes:
        paths: files, folders (read recursively, hidden files skipped) or globs, relative to the
            working directory; local paths only (a URL such as `s3://` is refused).
        format: `auto` decides per file: a WARC or WET file by its content (`WARC/1.x` at its
            start, compressed or not), else by extension (`.jsonl`, `.csv`, `.parquet`, else lines).
        id_field: the field holding a record's id; records without it get `<file>:<line>` (WARC
            records: their `WARC-Record-ID`).
        text_field: the field holding the text (JSONL, CSV, Parquet).
    """

    paths: tuple[str, ...] = field(default=("seeds",), metadata={"check": _check_paths})
    format: Format = "auto"
    id_field: str = "id"
    text_field: str = "text"


# Output -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutputConfig:
    """Where a run writes.

    Attributes:
        dir: the output folder (created if missing); a local path (a URL such as `s3://` is refused).
        overwrite: replace an earlier run's outputs in `dir`; without it such a folder is an error.
        compression: Parquet compression codec.
    """

    dir: str = field(default="out", metadata={"check": _check_dir})
    overwrite: bool = False
    compression: Literal["zstd", "snappy", "gzip", "none"] = "zstd"


# Cleaning -----------------------------------------------------------------------------------------

#: Bumped whenever cleaning or the hashing form changes; part of the signature fingerprint.
NORMALIZE_VERSION = 4


def _check_max_chars(value: object) -> str | None:
    if not isinstance(value, int) or value < 1:
        return "must be a positive integer"
    return None


@dataclass(frozen=True, slots=True)
class NormalizeConfig:
    """How record text is cleaned.

    Attributes:
        content: `html` parses paragraph elements, `text` splits on blank lines (and decodes HTML
            character references such as `&amp;`), `web` keeps the main content of a whole web
            page (`dedup.web`: no menus, headers, footers, sidebars, banners or link lists). `auto`
            decides per record: a whole page (doctype, `<html>`, `<head>` or `<body>`, as every
            WARC response is) is `web`, other HTML (news lines of `<p>` elements) is `html`,
            the rest `text`.
        mail_headers: a leading mail or Usenet header block in a text record (Xref, Path,
            Newsgroups... differ between copies of one cross-posted message): `auto` drops it when
            it is made of known header lines, `strip` drops any leading `Name: value` block,
            `keep` keeps it.
        max_chars: records longer than this (in characters, before cleaning) are rejected.
    """

    content: Literal["auto", "html", "text", "web"] = "auto"
    mail_headers: Literal["auto", "strip", "keep"] = "auto"
    max_chars: int = field(default=20_000_000, metadata={"check": _check_max_chars})


# Shingles -----------------------------------------------------------------------------------------


def _check_ngram(value: object) -> str | None:
    if not isinstance(value, int) or not 1 <= value <= 32:
        return "must be an integer from 1 to 32"
    return None


@dataclass(frozen=True, slots=True)
class ShingleConfig:
    """How records become shingle sets.

    Attributes:
        ngram: words per shingle.
    """

    ngram: int = field(default=3, metadata={"check": _check_ngram})


# MinHash ------------------------------------------------------------------------------------------


def _check_num_perm(value: object) -> str | None:
    if not isinstance(value, int) or not 2 <= value <= 4096:
        return "must be an integer from 2 to 4096"
    return None


def _check_seed(value: object) -> str | None:
    if not isinstance(value, int) or not 0 <= value < 2**32:
        return "must be an integer from 0 to 4294967295"
    return None


@dataclass(frozen=True, slots=True)
class MinHashConfig:
    """How shingle sets become signatures.

    Attributes:
        num_perm: permutations, i.e. the signature length.
        seed: seeds the permutations; signatures with different seeds are not comparable.
        scheme: the permutation family (datasketch 2.0's default `affine32`).
    """

    num_perm: int = field(default=128, metadata={"check": _check_num_perm})
    seed: int = field(default=1, metadata={"check": _check_seed})
    scheme: Literal["affine32"] = "affine32"


# LSH and verification -----------------------------------------------------------------------------


def _check_threshold(value: object) -> str | None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0.0 < value < 1.0:
        return "must be a number between 0 and 1 (both excluded)"
    return None


def _check_optional_positive(value: object) -> str | None:
    if value is not None and (not isinstance(value, int) or value < 1):
        return "must be a positive integer, or null to derive it from the threshold"
    return None


def _check_weight(value: object) -> str | None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0.0 <= value <= 1.0:
        return "must be a number from 0 to 1"
    return None


def _check_optional_share(value: object) -> str | None:
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1
    ):
        return "must be a number above 0 and at most 1, or null to turn it off"
    return None


def _check_min_shingles(value: object) -> str | None:
    if not isinstance(value, int) or value < 1:
        return "must be a positive integer"
    return None


def _check_max_bucket(value: object) -> str | None:
    if not isinstance(value, int) or value < 2:
        return "must be an integer of at least 2"
    return None


@dataclass(frozen=True, slots=True)
class LSHConfig:
    """How near-duplicates are found.

    Attributes:
        threshold: the Jaccard similarity at or above which two records are near-duplicates.
        bands: LSH bands; null derives `bands` and `rows` from the threshold.
        rows: rows per band; null derives it.
        false_positive_weight: weight of the false-positive area when deriving bands and rows.
        false_negative_weight: weight of the false-negative area; higher than the false-positive
            weight by default because every candidate is verified, so a missed pair costs more
            than an extra check.
        verify: `estimate` checks candidates by the signatures' estimated Jaccard, `exact` by the
            exact Jaccard of their shingle sets.
        containment: also join a pair when this share of the smaller record's shingles is in the
            larger one (a truncated or partial copy), exactly counted; null turns it off.
        figures: a pair whose records each state a figure the other lacks (another week's notice
            of the same template) is not a duplicate, unless one announces a correction.
        min_shingles: containment counts only when the smaller record has at least this many
            distinct shingles (a two-line note is contained in many articles).
        short_threshold: the Jaccard a pair needs when its smaller record has fewer than
            `min_shingles` shingles (two sentences sharing a few words are not duplicates).
        max_bucket: records sharing one band key beyond this many are paired only with their
            `max_bucket` nearest neighbours in the bucket, to bound the work on boilerplate.
    """

    threshold: float = field(default=0.5, metadata={"check": _check_threshold})
    bands: int | None = field(default=None, metadata={"check": _check_optional_positive})
    rows: int | None = field(default=None, metadata={"check": _check_optional_positive})
    false_positive_weight: float = field(default=0.05, metadata={"check": _check_weight})
    false_negative_weight: float = field(default=0.95, metadata={"check": _check_weight})
    verify: Literal["estimate", "exact"] = "exact"
    containment: float | None = field(default=0.8, metadata={"check": _check_optional_share})
    figures: bool = True
    min_shingles: int = field(default=20, metadata={"check": _check_min_shingles})
    short_threshold: float = field(default=0.8, metadata={"check": _check_threshold})
    max_bucket: int = field(default=200, metadata={"check": _check_max_bucket})


# The keep rule ------------------------------------------------------------------------------------

Rule = Literal["first", "longest", "newest", "priority", "none"]


_RULES_TEXT = "must be 'first', 'longest', 'newest:<field>', 'priority:<field>' or 'none'"


def parse_keep(keep: str) -> tuple[Rule, str | None]:
    """Split a keep rule into `(rule, field)`.

    Raises:
        ValueError: the rule is not `first`, `longest`, `newest:<field>`, `priority:<field>` or `none`.
    """
    name, _, rest = keep.partition(":")
    name, rest = name.strip(), rest.strip()
    if name in ("first", "longest", "none") and not rest:
        return ("first" if name == "first" else "longest" if name == "longest" else "none"), None
    if name in ("newest", "priority") and rest:
        return ("newest" if name == "newest" else "priority"), rest
    raise ValueError(_RULES_TEXT)


def _check_keep(value: object) -> str | None:
    if isinstance(value, dict):  # YAML read `keep: priority: score` (or `--set cluster.keep=priority:`)
        return _RULES_TEXT + ", as one string (quote a rule with a colon: 'priority:score')"
    if not isinstance(value, str):
        return _RULES_TEXT
    try:
        parse_keep(value)
    except ValueError as err:
        return str(err)
    return None


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    """How each group of duplicates keeps its records.

    Attributes:
        keep: `first` (lowest source position), `longest` (most cleaned characters),
            `newest:<field>` (greatest value of a field), `priority:<field>` (greatest number in a
            field, e.g. a source-quality score) or `none` (drop every record that has a duplicate).
    """

    keep: str = field(default="first", metadata={"check": _check_keep})


# The incremental index ----------------------------------------------------------------------------


def _check_lock_timeout(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        return "must be a positive number of seconds"
    return None


def _check_index_path(value: object) -> str | None:
    # SQLite reads "" as a private database deleted on close: what was added would be lost.
    if not isinstance(value, str) or not value.strip():
        return "must name a SQLite file or a Redis URL"
    return None


@dataclass(frozen=True, slots=True)
class IndexConfig:
    """Where an index lives.

    Attributes:
        path: a SQLite file (created if missing), or a Redis URL (`redis://host:6379/0`).
        name: the key namespace in Redis (several indexes can share one server).
        lock_timeout: seconds a writer waits for the index's write lock.
    """

    path: str = field(default="index.sqlite", metadata={"check": _check_index_path})
    name: str = "dedup"
    lock_timeout: float = field(default=60.0, metadata={"check": _check_lock_timeout})


# Paragraph granularity ----------------------------------------------------------------------------


def _check_min_words(value: object) -> str | None:
    if not isinstance(value, int) or value < 1:
        return "must be a positive integer"
    return None


def _check_min_records(value: object) -> str | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 2):
        return "must be an integer of at least 2, or null to remove no boilerplate"
    return None


@dataclass(frozen=True, slots=True)
class ParagraphConfig:
    """Paragraphs as units of their own (read only under `granularity: paragraph`).

    Attributes:
        min_words: a paragraph of fewer words (hashing-form tokens) is *short*: a greeting, a
            name, a heading, a number ("Thanks in advance", "References", "1"). A short
            paragraph stays in its record and in its document similarity, but is never
            boilerplate and never makes two records candidates: its repeats say that a phrase
            is common, not that a block was copied. 4 is one more than the default shingle
            length, so every paragraph that counts has at least two overlapping shingles
            (`benchmarks/reports/accuracy.md`, section 5, has the measurements).
        min_records: a paragraph whose near-copies occur in at least this many records, each of
            which also holds text of its own (a paragraph of at least `min_words` words found in
            fewer than `min_records` records), is boilerplate: it is removed from every record.
            Null removes nothing (the paragraph index still finds contained records). 5 is
            measured in `benchmarks/reports/accuracy.md`, section 5.
    """

    min_words: int = field(default=4, metadata={"check": _check_min_words})
    min_records: int | None = field(default=5, metadata={"check": _check_min_records})


# The Spark engine ---------------------------------------------------------------------------------


#: The masters Spark takes (`SparkContext.createTaskScheduler`, `SparkSubmit`), checked when the
#: config loads so that a mistyped master is a config error, not a Java stack trace.
_MASTER = re.compile(
    r"local"
    r"|local\[(?:[1-9][0-9]*|\*)(?:\s*,\s*[1-9][0-9]*)?\]"
    r"|local-cluster\[\s*[1-9][0-9]*\s*,\s*[1-9][0-9]*\s*,\s*[1-9][0-9]*\s*\]"
    r"|yarn"
    r"|mesos://\S+"
    r"|k8s://(?:https?://)?[^\s/:@]\S*"
)
#: One `host:port` of a `spark://` master (a list of them names standby masters).
_HOST = re.compile(r"(?:[^\s/@:,\[\]]+|\[[0-9A-Fa-f:.]+\]):(?P<port>[0-9]{1,5})")


def _check_master(value: object) -> str | None:
    if isinstance(value, str) and value.startswith("spark://"):
        if "@" in value:
            return "must not hold a user or password (Spark refuses a spark:// master with them)"
        hosts = value.removeprefix("spark://").split(",")
        matches = [_HOST.fullmatch(h) for h in hosts]
        if all(m is not None and 0 < int(m.group("port")) < 65536 for m in matches):
            return None
    elif isinstance(value, str) and _MASTER.fullmatch(value):
        return None
    return (
        "must name a Spark master: local, local[N], local[*], local[N,F], local-cluster[N,C,M], "
        "spark://host:port[,host:port...], yarn, mesos://..., k8s://https://host:port "
        "(N, F, C, M at least 1)"
    )


def _check_partitions(value: object) -> str | None:
    if not isinstance(value, int) or value < 0:
        return "must be 0 (twice the cluster's cores) or a positive integer"
    return None


def _check_spark_conf(value: object) -> str | None:
    items = value if isinstance(value, tuple) else ()
    for item in items:
        key, sep, _ = str(item).partition("=")
        if not sep or not key.strip().startswith("spark."):
            return "must hold 'spark.<key>=<value>' settings, e.g. 'spark.executor.memory=8g'"
    return None


@dataclass(frozen=True, slots=True)
class SparkConfig:
    """How `engine: spark` runs (PySpark, the optional `dedup[spark]` extra).

    Attributes:
        master: the Spark master (`local[2]`, `spark://host:7077`, `yarn`, `k8s://...`), checked
            as Spark reads it when the config loads. A Spark session already active in the
            process is used as it is instead.
        app_name: the application's name in the Spark UI.
        partitions: partitions of each shuffle (band keys, pairs, groups); 0 is twice the
            cluster's cores.
        conf: further Spark settings as `spark.<key>=<value>` (`spark.executor.memory=8g`).
    """

    master: str = field(default="local[2]", metadata={"check": _check_master})
    app_name: str = "dedup"
    partitions: int = field(default=0, metadata={"check": _check_partitions})
    conf: tuple[str, ...] = field(default=(), metadata={"check": _check_spark_conf})
