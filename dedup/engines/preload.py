"""What the fork server of the worker processes (`shards.Featurizers`) runs once, before any fork.

The fork server imports this module, and nothing else does. Importing it:

- runs the featurize step and the figures rule on two small records (`warm_up`). What a first
  call costs (modules imported on first use, Arrow's compute functions and regular expressions set
  up, the fold table read from its cache) is then paid once, while the run's own process reads its
  first shard, instead of by each worker on its first shard (measured on the 5-copies news corpus,
  2 workers: a worker's first shard took 0.5 s to clean, its next ones 0.1 s). It runs on one
  thread (`workers: 1`): a fork leaves thread pools unusable, so none is started. A warm-up that
  fails only costs the time it saves; it never stops the server.
- quiets a worker whose run ended before it started (`quiet_orphans`). A run stopped by Ctrl-C or
  SIGTERM while a worker is being forked removes the pool's semaphores as it exits; the worker,
  forked after, fails to open them and the fork server printed that traceback on the terminal,
  after the run's `Aborted!` (a new-user review: 7 of 24 Ctrl-Cs at 0.65-1.1 s into a run).
"""

from __future__ import annotations

import sys
import traceback
from dataclasses import replace
from types import TracebackType

import pyarrow as pa

from dedup import figures
from dedup.config import Config
from dedup.featurize import featurize
from dedup.records import ID, SOURCE_FILE, SOURCE_LINE, TEXT

_TEXTS = [
    "Output rose 5 pct to 1,250 tonnes in March, against nine a year ago.\n\nUpdated 10:15 GMT",
    "<p>Prices &amp; <b>rates</b> fell 2.5 pct.</p><p>Café owners said 6-3/8.</p>",
]


def warm_up() -> bool:
    """Featurize two records and read their figures, on one thread; whether it got through.

    A failure is swallowed (it costs only the time the warm-up would have saved).
    """
    try:
        records = pa.table(
            {ID: ["a", "b"], TEXT: _TEXTS, SOURCE_FILE: ["warm-up", "warm-up"], SOURCE_LINE: [1, 2]}
        )
        featurize(records, replace(Config(), workers=1))
        figures.conflicts([text.replace("\n\n", "\n") for text in _TEXTS], [(0, 1)])
    except Exception:  # a failed warm-up costs only time (see above)
        return False
    finally:
        figures.forget()
    return True


def _failed_before_it_started(tb: TracebackType | None) -> bool:
    """Whether a traceback passes through a worker's start (`spawn._main`) but not its run."""
    places = [(frame.f_code.co_filename, frame.f_code.co_name) for frame, _ in traceback.walk_tb(tb)]
    started = any(name == "_main" and file.endswith("spawn.py") for file, name in places)
    ran = any(name == "_bootstrap" and file.endswith("process.py") for file, name in places)
    return started and not ran


def _quiet(kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
    """`sys.excepthook` of the fork server's children: silent for a worker whose run is gone."""
    if issubclass(kind, (OSError, EOFError)) and _failed_before_it_started(tb):
        return  # the run's pipes or semaphores were gone before this worker started: nothing to say
    sys.__excepthook__(kind, error, tb)


def quiet_orphans() -> None:
    """Make the fork server's children silent when they fail to start for want of their run.

    The fork server reports a child that failed through `sys.excepthook` (`multiprocessing.
    forkserver`); a failure to read the pool's pipes or semaphores (`OSError`, `EOFError`) before
    the worker ran anything means the run has ended, which the run itself already said. Any other
    failure, and any failure of a worker that started, is printed as before.
    """
    sys.excepthook = _quiet


warm_up()
quiet_orphans()
