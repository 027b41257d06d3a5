"""Worker processes of a local run: whether a run uses them, how big a shard is, their fork server.

Light on purpose (no NumPy, no Arrow, no `dedup` module that imports them): `dedup run` asks
`start_early` right after reading its config, so that the fork server of the workers
(`shards.Featurizers`) imports `dedup` while the run's own process does, instead of after it.
`dedup.engines.shards` keeps the workers themselves.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.context
import os
import signal
import threading
from dataclasses import dataclass
from multiprocessing import forkserver
from pathlib import Path

from dedup.config import Config, size_bytes, threads
from dedup.errors import DedupError
from dedup.io.inputs import discover

#: The most text (bytes) one shard holds, whatever the memory budget (`Limits.from_budget`).
SHARD_TEXT_BYTES = 8 << 20
#: Worker processes make the shards of input holding at least this many shards' worth of text;
#: below that, starting them (a fork server importing `dedup`, about 0.7 s of CPU) costs more
#: than they save (measured on 2 cores: Reuters+BBC, 2.6 shards, ran 0.3 s slower with them).
PARALLEL_SHARDS = 4
#: What compressed input other than gzip is taken to hold, per byte of file (a common ratio for
#: text); gzip files say their own size.
COMPRESSION_RATIO = 4


@dataclass(frozen=True, slots=True)
class Limits:
    """How big a shard may grow: records (rejects included) and bytes of text."""

    records: int
    text_bytes: int

    @classmethod
    def from_budget(cls, budget: int) -> Limits:
        """Shard limits for a memory budget in bytes.

        A shard holds its text several times over while it is cleaned (raw, paragraphs, hashing
        form, Python strings for HTML) and about 1 KB per record besides (signature, band keys).
        Its text is capped at `SHARD_TEXT_BYTES` whatever the budget: shards are the unit of work
        of the worker processes, and smaller ones clean and shingle faster per byte (measured on
        the 5-copies news corpus, one worker: 128 MB shards 3.2 s clean + 1.5 s shingle, 8 MiB
        shards 1.2 s + 0.7 s).
        """
        text_bytes = max(16 << 10, min(SHARD_TEXT_BYTES, budget // 32))
        return cls(records=max(64, min(1_000_000, budget // 8192)), text_bytes=text_bytes)


def estimated_bytes(paths: list[str], sizes: list[int]) -> int:
    """Roughly how many bytes the input files hold once decompressed.

    A gzip file's last four bytes hold its decompressed size modulo 2**32 (RFC 1952, ISIZE;
    the last member's, for a file of several); other compressed files (`.zst`, `.zstd`) count
    `COMPRESSION_RATIO` times their size, plain files their size.
    """
    total = 0
    for path, size in zip(paths, sizes, strict=True):
        ext = Path(path.lower()).suffix
        if ext == ".gz" and size >= 18:  # a gzip member is at least 18 bytes
            try:
                with open(path, "rb") as handle:
                    handle.seek(-4, 2)
                    total += max(size, int.from_bytes(handle.read(4), "little"))
                continue
            except OSError:
                pass
        total += size * (COMPRESSION_RATIO if ext in (".zst", ".zstd") else 1)
    return total


def small_input(paths: list[str], sizes: list[int], limits: Limits) -> bool:
    """Whether input holds less than `PARALLEL_SHARDS` shards' worth of text (`estimated_bytes`).

    A local run makes the shards of small input in its own process: it never pays for starting
    worker processes.
    """
    return estimated_bytes(paths, sizes) < PARALLEL_SHARDS * limits.text_bytes


def start_early(config: Config) -> bool:
    """Start the fork server now when the run will want workers; whether it did.

    A local run wants them with more than one `workers` and input that is not `small_input`.

    Called by `dedup run` before it imports the engine: the server's imports (about 0.45 s on
    this machine) then overlap the run's own instead of following them. Input that cannot be
    found or sized, and a server that cannot start (no permission to run the interpreter, a
    daemonic caller), are left to the run, which says what is wrong (the workers' failure to start
    is a warning: the run goes on in one process).
    """
    if config.engine != "local":
        return False
    try:
        files = sorted(set(discover(config.input.paths)))
        sizes = [os.path.getsize(f) for f in files]
    except (DedupError, OSError):
        return False
    if threads(config) < 2 or small_input(files, sizes, Limits.from_budget(size_bytes(config.memory_budget))):
        return False
    try:
        start_fork_server()
    except (OSError, EOFError, AssertionError):  # the run's own start says what is wrong, and goes on
        return False
    return True


def start_fork_server() -> multiprocessing.context.ForkServerContext:
    """Start the fork server without waiting for it (none if one runs); its context.

    The server imports `dedup.engines.shards` and `dedup.engines.preload` (which pays the first
    calls of the featurize step once, for every worker forked after, and quiets a worker whose
    run ended before it started).
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["dedup.engines.shards", "dedup.engines.preload"])
    # Ctrl-C reaches the whole process group, the fork server too, which ignores it only once
    # its imports are done: started with SIGINT ignored (an ignored signal stays ignored across
    # exec), it never takes one, and prints no traceback of its imports. The run's own process
    # ignores Ctrl-C only while the server is forked and exec'd (milliseconds), and only from
    # the main thread (the only one that may set a signal's handler) and where the handler it
    # would put back is Python's (`getsignal` gives None for one installed from C).
    main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGINT) if main else None
    if previous is not None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        forkserver.ensure_running()
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    return context


def stop_fork_server() -> None:
    """Stop the fork server this process started, at once; nothing when none runs.

    For a run that ends early (a config or output error, Ctrl-C, SIGTERM): the server would
    otherwise outlive it by the rest of its imports, holding the terminal's or a pipe's output open
    (`dedup run ... | cat` waited for it). Uses `multiprocessing.forkserver`'s own stop, which
    CPython keeps for its tests; without it the server is left to end by itself, as before.
    """
    server = forkserver._forkserver  # the module's one server
    pid = getattr(server, "_forkserver_pid", None)
    if pid is None:
        return
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGTERM)  # it may be importing still: it would see its pipe close only after
    with contextlib.suppress(OSError, AttributeError):
        stop = getattr(server, "_stop")  # noqa: B009 - not in typeshed: closes its pipe, reaps it, removes its socket
        stop()
