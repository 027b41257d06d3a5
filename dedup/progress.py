"""Progress display: one live line for the stage under way, one summary line for each stage done.

The pipeline reports through the small `Progress` protocol; `NullProgress` is silent. `RichDisplay`
draws on a terminal (stderr) and stays quiet when output is piped or logged (`wants_display`).

What a terminal shows during a run::

    fingerprint    3 files, 20.0 MB                                    0.1 s
    shards         190,000 records in 12 shards, 20.0 MB              19.2 s  read 3.1 s, clean 8.0 s, ...
    ⠹ verify                                                          0:00:04

and while the shards are read, one line with the shard number, records done, records per second,
the input bytes read out of the total (known up front), elapsed time and the time left.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from rich.console import Console
    from rich.live import Live
    from rich.text import Text


class Progress(Protocol):
    """What the pipeline tells a progress display."""

    def stage(self, name: str, total: int | None = None, input_bytes: int | None = None) -> None:
        """Stage `name` started: `total` records and `input_bytes` bytes of input to go, when known.

        The same name again while it is the stage under way continues it.
        """

    def part(self, name: str) -> None:
        """Within the stage under way, work moved on to `name` (`clean`, `sign`, ... of a shard)."""

    def shard(self, number: int, file: int, files: int) -> None:
        """Shard `number` (from 1), of input file `file` of `files` (from 1), is being processed."""

    def advance(self, records: int, input_bytes: int = 0) -> None:
        """`records` more records (and `input_bytes` more bytes of input) went through the stage."""


class NullProgress:
    """A progress display that shows nothing."""

    def stage(self, name: str, total: int | None = None, input_bytes: int | None = None) -> None:
        """Ignore the stage."""

    def part(self, name: str) -> None:
        """Ignore the part."""

    def shard(self, number: int, file: int, files: int) -> None:
        """Ignore the shard."""

    def advance(self, records: int, input_bytes: int = 0) -> None:
        """Ignore the count."""


@dataclass(slots=True)
class _Line:
    """The stage under way."""

    name: str
    started: float
    total: int | None = None
    input_bytes: int | None = None
    records: int = 0
    read_bytes: int = 0
    shard: int = 0
    file: tuple[int, int] | None = None
    part: str = ""
    part_started: float = 0.0
    parts: dict[str, float] = field(default_factory=dict)


def _seconds(value: float) -> str:
    """`0.4 s`, `12.3 s`, `0:02:05`: short spans in seconds, long ones as a clock."""
    if value < 60:
        return f"{value:.1f} s"
    whole = int(value)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def _clock(value: float) -> str:
    whole = int(value)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def _size(value: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if value >= scale:
            return f"{value / scale:.1f} {unit}"
    return f"{value} B"


def _sizes(done: int, total: int) -> str:
    """`5.0/20.0 MB`: bytes done of a total, in the total's unit."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if total >= scale:
            return f"{done / scale:.1f}/{total / scale:.1f} {unit}"
    return f"{done}/{total} B"


_SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
_BAR = 10
_NAME = 12


class RichDisplay:
    """The live progress display on a rich console (see the module docstring for what it shows).

    Args:
        console: where to draw (stderr for `dedup run`).
        clock: seconds, monotonic; tests pass a fake one.
        auto_refresh: redraw four times a second from a thread; tests redraw with `refresh`.
    """

    def __init__(
        self, console: Console, clock: Callable[[], float] = time.monotonic, auto_refresh: bool = True
    ) -> None:
        from rich.live import Live  # noqa: PLC0415 - rich loads only when a display is shown

        self._console, self._clock = console, clock
        self._line: _Line | None = None
        self._live: Live = Live(
            console=console,
            auto_refresh=auto_refresh,
            refresh_per_second=4,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
            get_renderable=self.render,
        )

    def __enter__(self) -> RichDisplay:
        self._live.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._finish(failed=kind is not None)
        self._live.stop()

    def refresh(self) -> None:
        """Redraw the live line now."""
        self._live.refresh()

    # What the pipeline calls ------------------------------------------------------------------

    def stage(self, name: str, total: int | None = None, input_bytes: int | None = None) -> None:
        """Finish the stage under way (one summary line) and start `name`, unless it is `name`."""
        line = self._line
        if line is not None and line.name == name:
            line.total = total if total is not None else line.total
            line.input_bytes = input_bytes if input_bytes is not None else line.input_bytes
            return
        self._finish(failed=False)
        self._line = _Line(name, self._clock(), total, input_bytes)

    def part(self, name: str) -> None:
        """Charge the time since the last part to it, and show `name` as the work under way."""
        line = self._line
        if line is None:
            return
        self._close_part(line)
        line.part, line.part_started = name, self._clock()

    def shard(self, number: int, file: int, files: int) -> None:
        """Show the shard under way."""
        if self._line is not None:
            self._line.shard, self._line.file = number, (file, files)

    def advance(self, records: int, input_bytes: int = 0) -> None:
        """Count records and input bytes into the stage under way."""
        line = self._line
        if line is None:
            return
        self._close_part(line)
        line.records += records
        line.read_bytes += input_bytes

    # Drawing ----------------------------------------------------------------------------------

    def _close_part(self, line: _Line) -> None:
        if line.part:
            now = self._clock()
            line.parts[line.part] = line.parts.get(line.part, 0.0) + now - line.part_started
            line.part = ""

    def _finish(self, failed: bool) -> None:
        """Print the stage under way as its summary line (or as stopped) and clear the live line."""
        line = self._line
        if line is None:
            return
        self._close_part(line)
        self._line = None
        summary = self.summary(line, failed)
        self._live.console.print(summary, highlight=False, no_wrap=True, overflow="ellipsis")

    def summary(self, line: _Line, failed: bool = False) -> Text:
        """One line for a finished stage: its name, its time, what it went through, its parts' times."""
        from rich.text import Text  # noqa: PLC0415

        spent = self._clock() - line.started
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append("✗ " if failed else "✓ ", style="red" if failed else "green")
        text.append(f"{line.name:<{_NAME}}", style="bold")
        text.append(f"{'stopped after ' if failed else ''}{_seconds(spent):>8}")
        what = []
        if line.records:
            shards = f" in {line.shard:,} shard{'s' if line.shard > 1 else ''}" if line.shard else ""
            rate = f" at {line.records / spent:,.0f} rec/s" if spent > 0 else ""
            what.append(f"{line.records:,} records{shards}{rate}")
        if line.input_bytes:
            what.append(_size(line.input_bytes))
        if what:
            text.append("  " + ", ".join(what))
        parts = [f"{k} {_seconds(v)}" for k, v in line.parts.items() if v >= 0.05]  # what took no time goes
        if parts:
            text.append("  " + ", ".join(parts), style="dim")
        return text

    def render(self) -> Text:
        """The live line for the stage under way (empty between stages), fitted to the console's width.

        What does not fit goes, least useful first: the bar, the file number, the work under way,
        the rate, the bytes.
        """
        from rich.text import Text  # noqa: PLC0415

        line = self._line
        if line is None:
            return Text()
        elapsed = self._clock() - line.started
        done, total = self._fraction(line)
        # (priority, text, style): 0 always shown, higher numbers dropped first.
        pieces: list[tuple[int, str, str]] = [
            (0, _SPINNER[int(elapsed * 10) % len(_SPINNER)] + " ", "cyan"),
            (0, f"{line.name:<{_NAME}}", "bold"),
        ]
        if line.shard:
            pieces.append((0, f" shard {line.shard:,}", ""))
            if line.file is not None and line.file[1] > 1:
                pieces.append((4, f" (file {line.file[0]:,}/{line.file[1]:,})", ""))
        if line.part:
            pieces.append((3, f" {line.part}", "magenta"))
        if line.records or line.total:
            of = f"/{line.total:,}" if line.total else ""
            pieces.append((0, f"  {line.records:,}{of} records", ""))
            if elapsed > 0 and line.records:
                pieces.append((2, f"  {line.records / elapsed:,.0f} rec/s", ""))
        if total:
            filled = min(_BAR, int(_BAR * done / total))
            pieces.append((5, "  " + "━" * filled, "green"))
            pieces.append((5, "━" * (_BAR - filled), "grey37"))
            pieces.append((0, f" {100 * done / total:3.0f}%", ""))
        pieces.append((0, f"  {_clock(elapsed)}", ""))
        if total and 0 < done < total and elapsed > 0:
            pieces.append((0, f"  ETA {_clock(elapsed * (total - done) / done)}", ""))
        if total and line.input_bytes:
            pieces.append((1, f"  {_sizes(line.read_bytes, line.input_bytes)}", ""))
        width = self._console.width
        for drop in (5, 4, 3, 2, 1):
            if sum(len(t) for _, t, _ in pieces) <= width:
                break
            pieces = [p for p in pieces if p[0] < drop]
        text = Text(no_wrap=True, overflow="ellipsis")
        for _, piece, style in pieces:
            text.append(piece, style=style or None)
        return text

    @staticmethod
    def _fraction(line: _Line) -> tuple[float, float]:
        """Work done and to do: input bytes when their total is known, else records."""
        if line.input_bytes:
            return float(line.read_bytes), float(line.input_bytes)
        if line.total:
            return float(line.records), float(line.total)
        return 0.0, 0.0


def wants_display(mode: Literal["auto", "always", "never"]) -> bool:
    """Whether to show progress: on a terminal for `auto`."""
    if mode == "auto":
        return sys.stderr.isatty()
    return mode == "always"
