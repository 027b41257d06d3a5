"""The progress display, drawn on a fake terminal of fixed width (pyte) and read back frame by frame."""

from __future__ import annotations

import io
from pathlib import Path

import pyte
import pytest
from rich.console import Console

from dedup import config_from_dict, run
from dedup.progress import NullProgress, RichDisplay
from tests.conftest import article, write_jsonl
from tests.corpus import news_rows

WIDTH = 132


class FakeClock:
    """Seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Terminal:
    """A rich console writing into a pyte screen of fixed width; `screen()` is what a person sees."""

    def __init__(self, width: int = WIDTH) -> None:
        self.out = io.StringIO()
        self.console = Console(
            file=self.out, width=width, height=24, force_terminal=True, color_system="standard", record=True
        )
        self.pyte = pyte.Screen(width, 24)
        self.stream = pyte.Stream(self.pyte)
        self.fed = 0

    def screen(self) -> list[str]:
        text = self.out.getvalue()
        self.stream.feed(text[self.fed :].replace("\n", "\r\n"))
        self.fed = len(text)
        return [row.rstrip() for row in self.pyte.display if row.strip()]


@pytest.fixture
def term() -> Terminal:
    return Terminal()


def test_one_live_line_for_the_shards_with_total_rate_eta_and_shard_number(term: Terminal) -> None:
    clock = FakeClock()
    with RichDisplay(term.console, clock=clock, auto_refresh=False) as display:
        display.stage("fingerprint")
        clock.now += 0.2
        display.stage("shards", input_bytes=20_000_000)
        display.shard(1, 1, 2)
        for name in ("read", "clean", "exact", "sign", "band"):  # the stages of one shard
            display.part(name)
            clock.now += 1.0
        display.advance(10_000, 5_000_000)
        display.shard(2, 1, 2)
        display.part("read")
        clock.now += 1.0
        display.refresh()
        frame = term.screen()
        assert frame[0].startswith("✓ fingerprint") and frame[0].endswith("0.2 s")
        live = frame[-1]
        assert len(frame) == 2, frame  # one finished stage, one live line: parts make no lines
        assert "shards" in live and "shard 2 (file 1/2)" in live and " read" in live
        assert "10,000 records" in live and "1,667 rec/s" in live  # 10,000 records in 6 s
        assert "━  25%" in live and "5.0/20.0 MB" in live
        assert "0:00:06" in live and "ETA 0:00:18" in live  # a quarter of the bytes in 6 s
        display.part("clean")
        clock.now += 2.0
        display.advance(10_000, 15_000_000)
        display.shard(2, 2, 2)
        display.stage("verify")
        clock.now += 3.0
        display.refresh()
        frame = term.screen()
        assert len(frame) == 3, frame
        shards = frame[1]
        assert (
            shards.startswith("✓ shards") and "20,000 records in 2 shards at 2,500 rec/s, 20.0 MB" in shards
        )
        assert (
            "shards         8.0 s" in shards
            and "MB  read 2.0 s, clean 3.0 s, exact 1.0 s, sign 1.0 s, band …" in shards
        )
        assert "verify" in frame[2] and "0:00:03" in frame[2] and "ETA" not in frame[2]
        display.stage("write", total=20_000)
        display.stage("write")  # the same stage again continues its line
        display.advance(5_000)
        clock.now += 1.0
        display.refresh()
        frame = term.screen()
        assert frame[2] == "✓ verify         3.0 s"
        assert "5,000/20,000 records" in frame[3] and " 25%" in frame[3] and "ETA 0:00:03" in frame[3]
    frame = term.screen()
    assert [row.split()[1] for row in frame] == ["fingerprint", "shards", "verify", "write"]
    assert all(len(row) <= WIDTH for row in frame)


def test_a_failed_stage_is_marked_stopped(term: Terminal) -> None:
    clock = FakeClock()
    with pytest.raises(RuntimeError), RichDisplay(term.console, clock=clock, auto_refresh=False) as display:
        display.stage("verify")
        clock.now += 2.0
        raise RuntimeError("boom")
    (row,) = term.screen()
    assert row.startswith("✗ verify") and "stopped after" in row and "2.0 s" in row


def test_a_narrow_terminal_keeps_what_matters_on_one_line() -> None:
    clock = FakeClock()
    for width, lost in ((80, ("━", "file", "read", "rec/s")), (40, ())):
        term = Terminal(width=width)
        with RichDisplay(term.console, clock=clock, auto_refresh=False) as display:
            display.stage("shards", input_bytes=1_000_000)
            display.shard(3, 1, 2)
            display.part("read")
            display.advance(123_456, 500_000)
            clock.now += 2
            display.refresh()
            (live,) = term.screen()
            assert len(live) <= width
            if width == 80:
                assert all(kept in live for kept in ("shard 3", "123,456 records", "50%", "ETA 0:00:02"))
                assert not any(piece in live for piece in lost)
            else:
                assert live.endswith("…")


def test_a_real_run_shows_each_stage_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, term: Terminal
) -> None:
    monkeypatch.chdir(tmp_path)
    write_jsonl(tmp_path / "a.jsonl", news_rows())
    write_jsonl(tmp_path / "b.jsonl", news_rows()[:2])
    config = config_from_dict({"input": {"paths": ["a.jsonl", "b.jsonl"]}, "output": {"dir": "out"}})
    with RichDisplay(term.console, auto_refresh=False) as display:
        report = run(config, progress=display)
    names = [row.split()[1] for row in term.screen()]
    assert names == [
        "fingerprint",
        "shards",
        "ids",
        "exact",
        "candidates",
        "verify",
        "cluster",
        "figures",  # the figures rule, on the pairs the keep step drops on
        "similarity",
        "write",
    ]
    shards = term.screen()[1]
    assert f"{report.read} records in 2 shards at" in shards
    size = (tmp_path / "a.jsonl").stat().st_size + (tmp_path / "b.jsonl").stat().st_size
    assert f"{size:,} B" in shards or f"{size / 1e3:.1f} kB" in shards


def test_a_run_sharing_its_keep_step_with_a_worker_shows_each_stage_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, term: Terminal
) -> None:
    import random

    from dedup import resolve
    from dedup.engines import shards

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(resolve, "SHARE_PAIRS", 1)
    shared: list[object] = []
    decide = shards.Featurizers.decide

    def watched(featurizers: shards.Featurizers, part: resolve.Part) -> object:
        shared.append(decide(featurizers, part))
        return shared[-1]

    monkeypatch.setattr(shards.Featurizers, "decide", watched)
    rng = random.Random(3)
    base = [" ".join(article(900 + i, paragraphs=3, words=30)) for i in range(100)]
    rows = [
        {"id": f"r{i}", "text": base[rng.randrange(len(base))] + f" Edition {i % 7}."} for i in range(400)
    ]
    write_jsonl(tmp_path / "a.jsonl", rows)
    config = config_from_dict(
        {"input": {"paths": ["a.jsonl"]}, "output": {"dir": "out"}, "workers": 2, "memory_budget": "1MB"}
    )
    with RichDisplay(term.console, auto_refresh=False) as display:
        report = run(config, progress=display)
    assert (
        report.shards["workers"] == 2 and len(shared) == 1 and shared[0] is not None
    )  # a worker took a share
    names = [row.split()[1] for row in term.screen()]
    assert sorted(set(names), key=names.index) == names, names
    assert names[names.index("verify") :] == ["verify", "cluster", "figures", "similarity", "write"]


def test_the_null_display_takes_every_call() -> None:
    quiet = NullProgress()
    quiet.stage("shards", input_bytes=1)
    quiet.part("read")
    quiet.shard(1, 1, 1)
    quiet.advance(1, 1)
