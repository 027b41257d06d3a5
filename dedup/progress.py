"""Progress display: records read, records per second and the current stage, with rich.

The pipeline reports through the small `Progress` protocol; `NullProgress` is silent. The rich
display is shown on a terminal (or when forced) and stays quiet when output is piped or logged.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Literal, Protocol

from rich.console import Console
from rich.progress import (
    Progress as RichProgress,
)
from rich.progress import (
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)


class Progress(Protocol):
    """What the pipeline tells a progress display."""

    def stage(self, name: str) -> None:
        """A new stage has started."""

    def advance(self, records: int) -> None:
        """`records` more records went through the current stage."""


class NullProgress:
    """A progress display that shows nothing."""

    def stage(self, name: str) -> None:
        """Ignore the stage."""

    def advance(self, records: int) -> None:
        """Ignore the count."""


class RichDisplay:
    """A one-line rich display on stderr: stage, records, records/s, elapsed time."""

    def __init__(self, console: Console) -> None:
        self._progress = RichProgress(
            SpinnerColumn(),
            TextColumn("[bold]{task.fields[stage]:<12}"),
            TextColumn("{task.completed:>12,.0f} records"),
            TextColumn("{task.fields[rate]:>10} rec/s"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._task: TaskID | None = None

    def __enter__(self) -> RichDisplay:
        self._progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._progress.stop()

    def stage(self, name: str) -> None:
        """Start a new line for stage `name`."""
        if self._task is not None:
            self._progress.stop_task(self._task)
        self._task = self._progress.add_task(name, total=None, stage=name, rate="-")

    def advance(self, records: int) -> None:
        """Count `records` more and refresh the rate."""
        if self._task is None:
            return
        self._progress.advance(self._task, records)
        task = self._progress.tasks[-1]
        elapsed = task.elapsed or 0.0
        task.fields["rate"] = f"{task.completed / elapsed:,.0f}" if elapsed > 0 else "-"


def wants_display(mode: Literal["auto", "always", "never"]) -> bool:
    """Whether to show progress: on a terminal for `auto`."""
    if mode == "auto":
        return sys.stderr.isatty()
    return mode == "always"
