"""dedup: near-duplicate detection and content dedup for text corpora.

The batch job is `run(load_config("configs/news.yaml"))`, which is what `dedup run` calls. The
stages are importable on their own: `read`, `clean_batch`, `hashing_forms`, `sign_forms` (or the
numpy reference `shingle_batch` + `sign`), `band`, `candidates`, `connect`, `settle`, and the
pipeline's `read_all`, `clean_records`, `find_duplicates` and `write_run`.
"""

from __future__ import annotations

from dedup.cluster import ClusterConfig, connect, settle
from dedup.config import Config, fingerprint
from dedup.config import from_dict as config_from_dict
from dedup.config import load as load_config
from dedup.config import to_dict as config_to_dict
from dedup.engines.local import run
from dedup.errors import (
    AccountingError,
    ConfigError,
    DedupError,
    EngineError,
    IndexMismatchError,
    InputError,
    OutputError,
    UnknownIdError,
    VerificationError,
)
from dedup.index.core import Index, Match
from dedup.index.store import IndexConfig
from dedup.io.readers import InputConfig, ReadBatch, read
from dedup.io.writers import OutputConfig
from dedup.lsh import (
    LSHConfig,
    band,
    candidate_probability,
    candidates,
    exact_overlaps,
    optimal_params,
)
from dedup.minhash import MinHashConfig, jaccard, permutations, sign, sign_forms
from dedup.normalize import (
    NormalizeConfig,
    clean,
    clean_batch,
    hashing_form,
    hashing_forms,
    join_paragraphs,
    tokens,
)
from dedup.pipeline import Cleaned, clean_records, find_duplicates, read_all, write_run
from dedup.records import Reject
from dedup.report import Report
from dedup.resolve import Duplicates
from dedup.shingle import ShingleConfig, shingle_batch

__all__ = [
    "AccountingError",
    "Cleaned",
    "ClusterConfig",
    "Config",
    "ConfigError",
    "DedupError",
    "Duplicates",
    "EngineError",
    "Index",
    "IndexConfig",
    "IndexMismatchError",
    "InputConfig",
    "InputError",
    "LSHConfig",
    "Match",
    "MinHashConfig",
    "NormalizeConfig",
    "OutputConfig",
    "OutputError",
    "ReadBatch",
    "Reject",
    "Report",
    "ShingleConfig",
    "UnknownIdError",
    "VerificationError",
    "band",
    "candidate_probability",
    "candidates",
    "clean",
    "clean_batch",
    "clean_records",
    "config_from_dict",
    "config_to_dict",
    "connect",
    "exact_overlaps",
    "find_duplicates",
    "fingerprint",
    "hashing_form",
    "hashing_forms",
    "jaccard",
    "join_paragraphs",
    "load_config",
    "optimal_params",
    "permutations",
    "read",
    "read_all",
    "run",
    "settle",
    "shingle_batch",
    "sign",
    "sign_forms",
    "tokens",
    "write_run",
]
