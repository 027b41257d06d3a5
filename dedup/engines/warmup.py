"""First calls paid once, in the fork server of the worker processes (`shards.Featurizers`).

The fork server imports this module, and nothing else does: importing it runs the featurize step
and the figures rule on two small records before any worker is forked from the server. What a
first call costs (modules imported on first use, Arrow's compute functions and regular
expressions set up, the fold table read from its cache) is then paid once, while the run's own
process reads its first shard, instead of by each worker on its first shard (measured on the
5-copies news corpus, 2 workers: a worker's first shard took 0.5 s to clean, its next ones 0.1 s).

It runs on one thread (`workers: 1`): a fork leaves thread pools unusable, so none is started.
A warm-up that fails only costs the time it saves; it never stops the server.
"""

from __future__ import annotations

from dataclasses import replace

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


warm_up()
