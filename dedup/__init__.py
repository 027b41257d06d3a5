"""dedup: near-duplicate detection and content dedup for text corpora.

The user-level surface (`__all__`): the batch job `run(load_config("configs/news.yaml"))` (what
`dedup run` calls); `dedup_table(table)` for a pyarrow Table or pandas DataFrame held in memory,
returning a `Result` of tables; the incremental `Index` and its `Match`; the config (`Config`,
`load_config`, `config_from_dict`) and the run's `Report`; and the errors. The stages and kernels
stay importable from their modules (`dedup.featurize`, `dedup.resolve`, `dedup.lsh`,
`dedup.minhash`, ...) for those who need them, but are not this surface.

Names are imported on first use, so `import dedup` (and the CLI's start) loads no numpy, Arrow
or compiled kernels until a run needs them.
"""

from __future__ import annotations

import importlib as _importlib
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

#: The package version (the one place it is written; `pyproject.toml` reads it from here).
__version__ = "0.1.0"

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

if _TYPE_CHECKING:
    from dedup.config import Config
    from dedup.config import from_dict as config_from_dict
    from dedup.config import load as load_config
    from dedup.engines.local import run
    from dedup.index.core import Index, Match
    from dedup.report import Report
    from dedup.table import Result, dedup_table

_LAZY = {
    "Config": ("dedup.config", "Config"),
    "Index": ("dedup.index.core", "Index"),
    "Match": ("dedup.index.core", "Match"),
    "Report": ("dedup.report", "Report"),
    "Result": ("dedup.table", "Result"),
    "config_from_dict": ("dedup.config", "from_dict"),
    "dedup_table": ("dedup.table", "dedup_table"),
    "load_config": ("dedup.config", "load"),
    "run": ("dedup.engines.local", "run"),
}

__all__ = [
    "AccountingError",
    "Config",
    "ConfigError",
    "DedupError",
    "EngineError",
    "Index",
    "IndexMismatchError",
    "InputError",
    "Match",
    "OutputError",
    "Report",
    "Result",
    "UnknownIdError",
    "VerificationError",
    "config_from_dict",
    "dedup_table",
    "load_config",
    "run",
]


def __getattr__(name: str) -> _Any:
    """Import a public name on first use (PEP 562)."""
    if name not in _LAZY:
        raise AttributeError(f"module 'dedup' has no attribute '{name}'")
    module, attribute = _LAZY[name]
    value = getattr(_importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
