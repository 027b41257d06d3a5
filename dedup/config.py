"""Configuration: one YAML file (plus `--set` overrides) into frozen, typed config objects.

The sections are `dedup.settings`' dataclasses (each algorithm module imports its own from there);
this module composes them and loads YAML, and imports nothing heavier (no numpy, no Arrow, no
compiled kernels), so a config is built in milliseconds. Every key is checked once, at load: an
unknown key names its dotted path and the nearest known key; a wrong type, choice or range
names the key and what was expected. All such problems raise `ConfigError` (exit code 2).
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import os
import re
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

from dedup.display import mask_credentials
from dedup.errors import ConfigError
from dedup.settings import (
    NORMALIZE_VERSION,
    ClusterConfig,
    IndexConfig,
    InputConfig,
    LSHConfig,
    MinHashConfig,
    NormalizeConfig,
    OutputConfig,
    ParagraphConfig,
    ShingleConfig,
    SparkConfig,
    parse_keep,
)


def _check_workers(value: object) -> str | None:
    if not isinstance(value, int) or value < 0:
        return "must be 0 (every core) or a positive integer"
    return None


_UNITS = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
_MIN_BUDGET = 10**6


def size_bytes(text: str) -> int:
    """Bytes in a size such as `2GB`, `512 MiB` or `1500000` (decimal and binary units).

    Raises:
        ValueError: not a size.
    """
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", text)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _UNITS:
        raise ValueError(text)
    return int(float(match.group(1)) * _UNITS[unit])


def _check_budget(value: object) -> str | None:
    try:
        size = size_bytes(str(value))
    except ValueError:
        return "must be a size such as '2GB', '512MB' or '4GiB'"
    if size < _MIN_BUDGET:
        return "must be at least 1MB"
    return None


@dataclass(frozen=True, slots=True)
class Config:
    """A whole run's configuration; each stage receives only its own section.

    Attributes:
        input: where records come from (`dedup.settings.InputConfig`).
        output: where results go (`dedup.settings.OutputConfig`).
        normalize: cleaning (`dedup.settings.NormalizeConfig`).
        shingle: shingling (`dedup.settings.ShingleConfig`).
        minhash: signatures (`dedup.settings.MinHashConfig`).
        lsh: banding and verification (`dedup.settings.LSHConfig`).
        cluster: the keep rule (`dedup.settings.ClusterConfig`).
        index: where `dedup index` keeps its index (`dedup.settings.IndexConfig`).
        on_error: `skip` rejects a bad record and goes on; `fail` stops the run at the first one.
        progress: `auto` shows progress on a terminal only; `always` / `never` force it.
        workers: worker processes that make the shards of a local run, and threads for the
            compiled kernels (signatures, verification); 0 uses every core, and more than the
            cores this process may run on uses those (the run warns).
        memory_budget: the memory a run aims to stay within (`2GB`, `512MiB`, or bytes). Records are
            processed in shards sized from it, and each shard's signatures and band keys go to disk
            (they are also the checkpoints a killed run resumes from); the global steps then hold
            about 150 bytes per record.
        granularity: `document` signs each record as a whole; `paragraph` also signs each
            paragraph: boilerplate paragraphs go from every record, and a record whose paragraphs
            are found in another is found however short it is (`dedup.paragraphs`).
        paragraphs: paragraphs as units (`dedup.settings.ParagraphConfig`), under `granularity: paragraph`.
        engine: `local` runs on this machine (`dedup.engines.local`); `spark` runs the same steps
            on Apache Spark (`dedup.engines.spark`, the `dedup[spark]` extra).
        spark: how `engine: spark` runs (`dedup.settings.SparkConfig`).
    """

    input: InputConfig = field(default_factory=InputConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    normalize: NormalizeConfig = field(default_factory=NormalizeConfig)
    shingle: ShingleConfig = field(default_factory=ShingleConfig)
    minhash: MinHashConfig = field(default_factory=MinHashConfig)
    lsh: LSHConfig = field(default_factory=LSHConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    index: IndexConfig = field(default_factory=IndexConfig)
    on_error: Literal["skip", "fail"] = "skip"
    workers: int = field(default=0, metadata={"check": _check_workers})
    progress: Literal["auto", "always", "never"] = "auto"
    memory_budget: str = field(default="4GB", metadata={"check": _check_budget, "size": True})
    granularity: Literal["document", "paragraph"] = "document"
    paragraphs: ParagraphConfig = field(default_factory=ParagraphConfig)
    engine: Literal["local", "spark"] = "local"
    spark: SparkConfig = field(default_factory=SparkConfig)


def _describe(value: object) -> str:
    """A value as an error shows it, credentials masked (URL passwords, secret settings' values)."""
    return mask_credentials(f"{value!r}" if not isinstance(value, str) else f"'{value}'")


def _convert(source: str, path: str, hint: Any, value: Any) -> Any:
    """Check and convert one YAML value against a type hint; raise naming `path`."""
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{source}: {path} must be a mapping of keys; got {_describe(value)}")
        return _build(source, path + ".", hint, value)  # type: ignore[arg-type]
    if origin is Literal:
        choices = typing.get_args(hint)
        if value not in choices:
            listed = ", ".join(f"'{c}'" for c in choices)
            near = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1)
            tip = f"; did you mean '{near[0]}'?" if near else ""
            raise ConfigError(f"{source}: {path} must be one of {listed}; got {_describe(value)}{tip}")
        return value
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _convert(source, path, inner, value)
    if origin is tuple:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, Sequence) or isinstance(items, (bytes, Mapping)):
            raise ConfigError(f"{source}: {path} must be a list of strings; got {_describe(value)}")
        if not all(isinstance(item, str) for item in items):
            raise ConfigError(f"{source}: {path} must be a list of strings; got {_describe(value)}")
        return tuple(items)
    expected = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}[hint]
    ok = (
        isinstance(value, bool)
        if hint is bool
        else isinstance(value, int) and not isinstance(value, bool)
        if hint is int
        else isinstance(value, (int, float)) and not isinstance(value, bool)
        if hint is float
        else isinstance(value, str)
    )
    if not ok:
        raise ConfigError(f"{source}: {path} must be {expected}; got {_describe(value)}")
    return float(value) if hint is float else value


def _build(source: str, prefix: str, cls: type[Any], data: Mapping[str, Any]) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in fields:
            near = difflib.get_close_matches(str(key), list(fields), n=1)
            tip = f"; did you mean '{near[0]}'?" if near else f"; known keys: {', '.join(fields)}"
            raise ConfigError(f"{source}: unknown key '{prefix}{key}'{tip}")
    values: dict[str, Any] = {}
    for name, value in data.items():
        path = prefix + name
        given = value
        if fields[name].metadata.get("size") and isinstance(value, int) and not isinstance(value, bool):
            given = str(value)  # a size may be written as a count of bytes (YAML reads it as a number)
        converted = _convert(source, path, hints[name], given)
        check = fields[name].metadata.get("check")
        problem = check(converted) if check is not None else None
        if problem is not None:
            raise ConfigError(f"{source}: {path} {problem}; got {_describe(value)}")
        values[name] = converted
    return cls(**values)


def _apply_override(data: dict[str, Any], assignment: str, via: str = "--set") -> None:
    key, sep, raw = assignment.partition("=")
    if not sep or not key.strip():
        shown = mask_credentials(assignment)
        raise ConfigError(f"{via} {shown}: expected KEY=VALUE, e.g. --set lsh.threshold=0.7")
    try:
        value = _parse(raw) if raw.strip() else ""
    except _Refused as err:
        raise ConfigError(f"{via} {mask_credentials(assignment)}: {err.problem}") from None
    except (yaml.YAMLError, RecursionError):
        value = raw
    parts = key.strip().split(".")
    node = data
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{via} {mask_credentials(assignment)}: '{part}' is not a section")
        node = child
    node[parts[-1]] = value


def refuse_own_fields(config: Config) -> None:
    """Refuse what `own_field_problem` finds, before a job creates anything.

    For a `Config` built directly (`dataclasses.replace`), which no loading checked.

    Raises:
        ConfigError: the id and text fields are one, or the keep rule ranks by either.
    """
    problem = own_field_problem(config)
    if problem is not None:
        raise ConfigError(problem)


def own_field_problem(config: Config) -> str | None:
    """What is wrong with a config whose fields of the records' own clash; None when nothing is.

    (Also a keep rule that is no rule, which only a `Config` built in code can hold.)

    The id and text fields must be two fields, and a keep rule must rank by another field than
    either: a record without an id is given a made-up one (`<file>:<line>`), which ranks as no id
    does, and a text is no date or number. The jobs ask again (`refuse_own_fields`), for a
    `Config` built directly.
    """
    own = config.input.id_field, config.input.text_field
    if own[0] == own[1]:
        return f"input.id_field and input.text_field both name the field '{own[0]}'; name two fields"
    try:
        keep_field = parse_keep(config.cluster.keep)[1]
    except ValueError as err:  # only a Config built in code gets here: loading checks the rule
        return f"cluster.keep {err}; got {config.cluster.keep!r}"
    if keep_field in own:
        which = "id_field" if keep_field == own[0] else "text_field"
        return (
            f"cluster.keep: {config.cluster.keep} ranks by the records' own {which[:-6]} field "
            f"(input.{which}: {keep_field}); a keep rule ranks by another field, of dates or numbers "
            "(copy the values into one to rank by them)"
        )
    return None


def _check_together(source: str, config: Config) -> None:
    """Checks of values that constrain each other (each alone is checked by its field)."""
    num_perm = config.minhash.num_perm
    # Derived values always fit; only both given, or one beyond num_perm, can overflow.
    bands = config.lsh.bands or max(1, num_perm // (config.lsh.rows or num_perm))
    rows = config.lsh.rows or max(1, num_perm // bands)
    if bands * rows > num_perm:
        raise ConfigError(
            f"{source}: lsh.bands x lsh.rows = {bands} x {rows} = {bands * rows} signature values, but "
            f"minhash.num_perm is {num_perm}; lower lsh.bands or lsh.rows, or raise minhash.num_perm"
        )
    problem = own_field_problem(config)
    if problem is not None:
        raise ConfigError(f"{source}: {problem}")
    if config.engine == "spark" and config.granularity == "paragraph":
        raise ConfigError(
            f"{source}: engine: spark runs at granularity: document only; run granularity: paragraph "
            "with engine: local (the README's Spark section says how the two fit together)"
        )


def from_dict(
    data: Mapping[str, Any], source: str = "<config>", overrides: Sequence[str] = (), via: str = "--set"
) -> Config:
    """Build a `Config` from a mapping (as YAML would give), applying `KEY=VALUE` overrides.

    Args:
        data: the config's sections and keys.
        source: what an error about `data` names (the config file).
        overrides: `KEY=VALUE` assignments applied over `data`.
        via: what an error about an override names (`--set`, or `dedup_table` for its keyword
            arguments).

    Raises:
        ConfigError: an unknown key, a wrong type, a value out of range, or values that do not fit
            together (`lsh.bands` x `lsh.rows` beyond `minhash.num_perm`; `engine: spark` with
            `granularity: paragraph`; `own_field_problem`), naming the file or the override that
            holds it.
    """
    merged = json.loads(json.dumps(data, default=str))
    config: Config = _build(source, "", Config, merged)  # a mistake in the file names the file
    if not overrides:
        _check_together(source, config)
        return config
    for assignment in overrides:
        _apply_override(merged, assignment, via)
    combined: Config = _build(via, "", Config, merged)
    try:
        _check_together(via, combined)
    except ConfigError:
        _check_together(source, config)  # the file alone already has it: name the file
        raise
    return combined


#: A config is a few kilobytes; a file past this is no config (a data file named by mistake).
MAX_CONFIG_BYTES = 1 << 20
_DATA_MAGIC = {b"\x1f\x8b": "gzip-compressed", b"\x28\xb5\x2f\xfd": "zstd-compressed", b"PAR1": "Parquet"}
_DATA_EXTENSIONS = {
    ".jsonl": "JSON lines",
    ".ndjson": "JSON lines",
    ".csv": "CSV",
    ".tsv": "TSV",
    ".parquet": "Parquet",
    ".pq": "Parquet",
    ".txt": "text",
    ".html": "HTML",
    ".warc": "WARC",
}
_NOT_A_CONFIG = (
    "; dedup takes a YAML config that names the input files in input.paths, e.g. dedup run configs/news.yaml"
)


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing aliases.

    A config needs none, and an alias bomb (aliases of aliases: a few lines that expand to billions
    of nodes) would take all memory.
    """

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise _Refused("YAML aliases (*name) are not accepted in a config; write the value out", event)
        return super().compose_node(parent, index)


class _Refused(yaml.YAMLError):
    def __init__(self, problem: str, event: Any) -> None:
        super().__init__(problem)
        self.problem, self.problem_mark = problem, event.start_mark


def _parse(text: str) -> Any:
    """YAML text to plain data with `_Loader`."""
    return yaml.load(text, Loader=_Loader)


def _data_kind(source: str, head: bytes) -> str | None:
    """What kind of data file `source` looks like (by its first bytes or its name), or None."""
    for magic, kind in _DATA_MAGIC.items():
        if head.startswith(magic):
            return kind
    name = source.lower()
    for compressed in (".gz", ".zst", ".zstd"):
        name = name.removesuffix(compressed)
    return _DATA_EXTENSIONS.get(os.path.splitext(name)[1])


def load(path: str | os.PathLike[str], overrides: Sequence[str] = ()) -> Config:
    """Read a YAML config file into a `Config`.

    Raises:
        ConfigError: the file is missing, no config (a data file, over `MAX_CONFIG_BYTES`, not
            UTF-8), not YAML, not a mapping, uses YAML aliases, or holds a bad key or value.
    """
    source = os.fspath(path)
    try:
        with open(source, "rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{source}: no such config file") from None
    except OSError as err:
        raise ConfigError(f"{source}: cannot read the config file: {err.strerror or err}") from None
    kind = _data_kind(source, raw[:4])
    if kind in _DATA_MAGIC.values():
        raise ConfigError(f"{source}: a {kind} file, not a config{_NOT_A_CONFIG}")
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{source}: over {MAX_CONFIG_BYTES:,} bytes, too large for a config{_NOT_A_CONFIG}")
    hint = f" (this looks like a {kind} file){_NOT_A_CONFIG}" if kind else ""
    try:
        data = _parse(raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        problem = f"the config file is not UTF-8 (byte {err.start})"
        raise ConfigError(f"{source}: {problem}{_NOT_A_CONFIG}") from None
    except _Refused as err:
        mark = err.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}"
        raise ConfigError(f"{source}: {where}: {err.problem}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or "invalid syntax"
        raise ConfigError(f"{source}: not valid YAML{where}: {problem}{hint}") from None
    except RecursionError:
        raise ConfigError(f"{source}: the YAML nests too deeply for a config{hint}") from None
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{source}: the config must be a mapping of sections; got {type(data).__name__}{hint}"
        )
    return from_dict(data, source, overrides)


def cores() -> int:
    """The cores this process may run on (its CPU affinity, which a container's limit narrows)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def threads(config: Config) -> int:
    """Workers of a run (processes for shards, threads for kernels).

    `workers`, or every core when 0, and never more than the cores (`cores`): more would only
    wait on one another, each holding a shard's memory.
    """
    return min(config.workers, cores()) if config.workers else cores()


def too_many_workers(config: Config) -> str | None:
    """The run's warning when `workers` asks for more than the cores; None when it does not."""
    if config.workers <= cores():
        return None
    return (
        f"workers: {config.workers} is more than the {cores()} cores this process may run on; "
        f"{cores()} at most are used"
    )


def to_dict(config: Config) -> dict[str, Any]:
    """The config as plain data (tuples as lists), as written beside the outputs."""
    return typing.cast(dict[str, Any], json.loads(json.dumps(dataclasses.asdict(config))))


def fingerprint(config: Config) -> str:
    """A hex digest of everything that changes a signature: cleaning, shingling, MinHash.

    Two runs with equal fingerprints produce equal signatures for equal input text.
    """
    parts = {
        "normalize_version": NORMALIZE_VERSION,
        "normalize_content": config.normalize.content,
        "mail_headers": config.normalize.mail_headers,
        "shingle": dataclasses.asdict(config.shingle),
        "minhash": dataclasses.asdict(config.minhash),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]
