"""The `dedup` command line: a thin layer over `dedup.load_config` and `dedup.run`.

Only `DedupError` is caught: it is printed as `Error: ...` and the process exits with the error's
code (2 for config errors, 1 for input and output errors); so is running out of memory. SIGTERM
(a scheduler's or `timeout`'s stop) unwinds the job as Ctrl-C does, says so in one line and exits
143, keeping a run's shards for the rerun. Anything else is a bug and keeps its traceback.
Everything printed goes through `_show`: URL passwords masked, and control characters from the
input (an id holding a terminal escape sequence) escaped.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import importlib
import importlib.util
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import click

from dedup import __version__
from dedup import config as config_module
from dedup.display import mask_credentials, printable
from dedup.errors import DedupError, EngineError

# The engines, rich and the HTML report are imported inside the commands that use them: `dedup
# --version` and `dedup run --help` load only click and the config, and rich loads only when the
# progress display is shown.


#: Settings of the thread pools beneath the kernels that the `dedup` command gives its processes
#: (its worker processes inherit them) unless the caller set them. dedup calls no BLAS routine, yet
#: NumPy's OpenBLAS starts a thread per core at import, and they busy-wait before they sleep; and
#: GCC's OpenMP threads (`dedup._kernels`) busy-wait between the few parallel regions of a run
#: (OpenMP's `OMP_WAIT_POLICY`, default "active" for a while). On two cores that waiting took CPU
#: from the worker processes: 5 copies of Reuters+BBC at `workers: 0` used 8-10% less CPU and ran
#: 4% faster with both set (median of 7 paired runs; `benchmarks/reports/speed.md` has the run).
THREAD_POOLS = {"OPENBLAS_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"}


def _quiet_thread_pools() -> None:
    """Give this process's environment `THREAD_POOLS`' settings, each unless already set.

    Effective only before NumPy (OpenBLAS) and `dedup._kernels` (libgomp) are loaded, which read
    them once; the command imports neither before its group runs.
    """
    for name, value in THREAD_POOLS.items():
        os.environ.setdefault(name, value)


def _show(text: str) -> str:
    """Text as the terminal may show it: credentials masked, control characters escaped."""
    return printable(mask_credentials(text))


def _fail(error: DedupError) -> click.ClickException:
    """A click exception printing `Error: ...` that exits with the error's own code."""
    failure = click.ClickException(_show(str(error)))
    failure.exit_code = error.exit_code  # type: ignore[misc]
    return failure


def _out_of_memory(cfg: config_module.Config | None, resumes: bool) -> EngineError:
    """The one line for a job that ran out of memory (a `MemoryError`: a limit on the process)."""
    budget = f" (now {cfg.memory_budget})" if cfg is not None else ""
    workers = f" (now {cfg.workers})" if cfg is not None else ""
    again = "run again: it resumes from the shards already made" if resumes else "run again"
    return EngineError(
        f"out of memory; lower `memory_budget`{budget} or `workers`{workers}, or raise the process's "
        f"memory limit (`ulimit -v` counts each process), and {again}"
    )


def _import_pandas_aside() -> None:
    """Start importing pandas on a thread of its own, when it is installed and not imported yet.

    pyarrow imports pandas the first time it converts a Python list, to ask whether it is a pandas
    object (apache/arrow#34994): about 0.17 s at the start of every run, on its critical path, for
    a module the run never uses. Imported aside while the run reads its config and first file, it
    costs less of the run's time (Reuters+BBC: 1.37 s -> 1.26 s a run, medians of 9 runs paired
    with the same code without it). Called once the engines are imported: the modules pandas
    shares with the run (numpy, pyarrow and its compute, json and parquet modules) are loaded by
    then, so neither thread waits on an import the other holds, and the run's first conversion
    waits only for what is left of pandas' import. A failed import changes nothing: pyarrow then
    tries it itself, as it always did.
    """
    if "pandas" in sys.modules or importlib.util.find_spec("pandas") is None:
        return

    def load() -> None:
        with contextlib.suppress(Exception):
            importlib.import_module("pandas")

    threading.Thread(target=load, name="dedup-pandas-import", daemon=True).start()


class _Terminated(BaseException):
    """SIGTERM arrived: the job unwinds as it does for Ctrl-C (workers stopped, shards kept)."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise _Terminated


@contextmanager
def _terminable(resumes: bool) -> Iterator[None]:
    """Within it SIGTERM stops the job in one line, exit status 143 (128 + SIGTERM)."""
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    except _Terminated:
        again = "run again to resume from the shards already made" if resumes else "run again"
        click.echo(f"Terminated (SIGTERM); {again}", err=True)
        sys.exit(128 + signal.SIGTERM)
    finally:
        signal.signal(signal.SIGTERM, previous)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version=__version__, package_name="dedup")
def main() -> None:
    """Near-duplicate detection and content dedup for text corpora."""
    _quiet_thread_pools()


def entry() -> None:
    """The `dedup` command (`main`), without the garbage collector's last walk at interpreter exit.

    A finished command holds NumPy's, Arrow's and pandas's modules, hundreds of thousands of
    objects, and the collection that interpreter shutdown runs walks each of them: about 0.04 s of
    a 0.37 s run on the seed. `gc.freeze`, run at exit after every other exit hook (it is registered
    first), puts them where no collection looks; they are still freed as their modules go, and the
    commands close and sync their files before they return. Whole runs side by side (medians of
    11 pairs): the seed 0.371 s -> 0.327 s, `--version` 0.057 s -> 0.052 s, the 5-copies news
    corpus 1.03x.
    """
    atexit.register(gc.freeze)
    main(prog_name="dedup")


@main.command()
@click.argument("config_path", metavar="CONFIG", type=click.Path(dir_okay=False))
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a config key, e.g. --set lsh.threshold=0.7 (repeatable).",
)
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
def run(config_path: str, overrides: tuple[str, ...], quiet: bool) -> None:
    """Deduplicate the corpus CONFIG describes and write the results to its output folder."""
    from dedup.engines import workers  # noqa: PLC0415 - see the note on imports

    cfg = None
    finished = False
    try:
        cfg = config_module.load(config_path, overrides)
        # The workers' fork server imports `dedup` while this process imports the engine.
        workers.start_early(cfg)
        from dedup.engines.local import run as run_pipeline  # noqa: PLC0415 - see the note on imports
        from dedup.progress import NullProgress, Progress, RichDisplay, wants_display  # noqa: PLC0415

        _import_pandas_aside()
        with _terminable(resumes=True):
            if not quiet and wants_display(cfg.progress):
                from rich.console import Console  # noqa: PLC0415 - only for the display

                with RichDisplay(Console(stderr=True)) as display:
                    report = run_pipeline(cfg, progress=display)
            else:
                quiet_progress: Progress = NullProgress()
                report = run_pipeline(cfg, progress=quiet_progress)
        finished = True
    except DedupError as err:
        raise _fail(err) from None
    except MemoryError:
        raise _fail(_out_of_memory(cfg, resumes=True)) from None
    finally:
        if not finished:  # an error, Ctrl-C or SIGTERM: the fork server goes with the run
            workers.stop_fork_server()
    for warning in report.warnings:  # the run did something otherwise than configured
        click.echo(f"warning: {_show(warning)}", err=True)
    if not quiet:
        click.echo(_show(report.summary()))
        if report.rejected:
            where = f"{report.output_dir}/rejects.parquet"
            click.echo(
                _show(f"rejected records (all {report.rejected:,} with reasons in {where}):"), err=True
            )
            for line in report.first_rejects:
                click.echo(f"  {_show(line)}", err=True)


@main.group()
def index() -> None:
    """Ingest a corpus into an incremental index (config section `index`), or check it against one."""


def _index_job(config_path: str, overrides: tuple[str, ...], quiet: bool, add: bool) -> None:
    from dedup.index import batch  # noqa: PLC0415 - see the note on imports
    from dedup.progress import RichDisplay, wants_display  # noqa: PLC0415

    cfg = None
    try:
        cfg = config_module.load(config_path, overrides)
        with _terminable(resumes=False):
            if not quiet and wants_display(cfg.progress):
                from rich.console import Console  # noqa: PLC0415 - only for the display

                with RichDisplay(Console(stderr=True)) as display:
                    report = batch.run(cfg, add, progress=display)
            else:
                report = batch.run(cfg, add)
    except DedupError as err:
        raise _fail(err) from None
    except MemoryError:
        raise _fail(_out_of_memory(cfg, resumes=False)) from None
    if not quiet:
        summary = report.summary(present=True).replace("kept", "new", 1)
        click.echo(_show(f"{summary} (index: {cfg.index.path})"))


_SET = click.option(
    "--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a config key (repeatable)."
)
_QUIET = click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")


@index.command("add")
@click.argument("config_path", metavar="CONFIG", type=click.Path(dir_okay=False))
@_SET
@_QUIET
def index_add(config_path: str, overrides: tuple[str, ...], quiet: bool) -> None:
    """Check every record of CONFIG's corpus against the index and add the new ones."""
    _index_job(config_path, overrides, quiet, add=True)


@index.command("check")
@click.argument("config_path", metavar="CONFIG", type=click.Path(dir_okay=False))
@_SET
@_QUIET
def index_check(config_path: str, overrides: tuple[str, ...], quiet: bool) -> None:
    """Check every record of CONFIG's corpus against the index, adding nothing."""
    _index_job(config_path, overrides, quiet, add=False)


@main.command()
@click.argument("output_dir", metavar="OUTPUT_DIR", type=click.Path(file_okay=False))
def report(output_dir: str) -> None:
    """Render the run in OUTPUT_DIR as one self-contained HTML page (OUTPUT_DIR/report.html)."""
    from dedup.io import html  # noqa: PLC0415 - see the note on imports

    try:
        path = html.render(output_dir)
    except DedupError as err:
        raise _fail(err) from None
    click.echo(_show(str(path)))


@main.command()
@click.argument("output_dir", metavar="OUTPUT_DIR", type=click.Path(file_okay=False))
@click.argument("record_id", metavar="ID")
@click.option(
    "--context", default=8, show_default=True, type=click.IntRange(0), help="Words shown around each change."
)
def explain(output_dir: str, record_id: str, context: int) -> None:
    """Say why record ID is where the run in OUTPUT_DIR put it: kept, dropped or rejected.

    A dropped record is shown with the record it duplicates, the evidence (matched_by, similarity,
    containment, the shingles the two share and differ by, the figures compared) and a word diff;
    a kept one with its cluster's members; a rejected one with its stage, field and reason. ID is
    a record's id, or FILE:LINE for a record rejected before it had one.
    """
    from dedup import explain as explaining  # noqa: PLC0415 - loaded only for this command

    try:
        found = explaining.explain(output_dir, record_id)
    except DedupError as err:
        raise _fail(err) from None
    for line in explaining.describe(found, context):
        click.echo(_show(line))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
