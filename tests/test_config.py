from __future__ import annotations

from pathlib import Path

import pytest

from dedup.config import Config, fingerprint, from_dict, load, to_dict
from dedup.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_the_shipped_config_loads() -> None:
    cfg = load(ROOT / "configs" / "news.yaml")
    assert cfg.input.paths == ("seeds",)
    assert cfg.output.dir == "out/news" and cfg.output.overwrite is True
    assert cfg.lsh.threshold == 0.5 and cfg.minhash.num_perm == 128 and cfg.shingle.ngram == 3
    assert cfg.lsh.containment == 0.8 and cfg.lsh.figures and cfg.lsh.verify == "exact"


def test_empty_mapping_gives_defaults() -> None:
    assert from_dict({}) == Config()


def test_configs_are_frozen() -> None:
    cfg = Config()
    with pytest.raises(AttributeError):
        cfg.lsh.threshold = 0.5  # type: ignore[misc]


_MASTER = (
    "must name a Spark master: local, local[N], local[*], local[N,F], local-cluster[N,C,M], "
    "spark://host:port[,host:port...], yarn, mesos://..., k8s://https://host:port (N, F, C, M at least 1)"
)


@pytest.mark.parametrize(
    "master",
    [
        "local",
        "local[1]",
        "local[16]",
        "local[*]",
        "local[4,2]",
        "local[*, 3]",
        "local-cluster[2,1,1024]",
        "spark://host:7077",
        "spark://a.example:7077,b.example:7077",
        "spark://[::1]:7077",
        "yarn",
        "mesos://host:5050",
        "mesos://zk://zk1:2181/mesos",
        "k8s://https://api.example:6443",
        "k8s://api.example:443",
    ],
)
def test_spark_masters_spark_takes_load(master: str) -> None:
    assert from_dict({"spark": {"master": master}}).spark.master == master


@pytest.mark.parametrize(
    ("master", "got"),
    [
        ("nonsense", "'nonsense'"),
        ("local[0]", "'local[0]'"),
        ("local[2,0]", "'local[2,0]'"),
        ("local[two]", "'local[two]'"),
        ("local[2] ", "'local[2] '"),
        ("local-cluster[0,1,1024]", "'local-cluster[0,1,1024]'"),
        ("spark://host", "'spark://host'"),
        ("spark://host:port", "'spark://host:port'"),
        ("spark://host:70770", "'spark://host:70770'"),
        ("yarn-client", "'yarn-client'"),
        ("k8s://", "'k8s://'"),
        ("mesos://", "'mesos://'"),
        ("", "''"),
    ],
)
def test_a_master_spark_refuses_is_a_config_error(master: str, got: str) -> None:
    with pytest.raises(ConfigError) as err:
        from_dict({"engine": "spark", "spark": {"master": master}}, "c.yaml")
    assert str(err.value) == f"c.yaml: spark.master {_MASTER}; got {got}"
    assert err.value.exit_code == 2


def test_a_master_with_a_password_is_refused_without_showing_it() -> None:
    with pytest.raises(ConfigError) as err:
        from_dict({}, "c.yaml", ["spark.master=spark://user:hunter2@host:7077"])
    assert str(err.value) == (
        "--set: spark.master must not hold a user or password (Spark refuses a spark:// master "
        "with them); got 'spark://user:***@host:7077'"
    )
    assert "hunter2" not in str(err.value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"minhash": {"num_perms": 64}}, "c.yaml: unknown key 'minhash.num_perms'; did you mean 'num_perm'?"),
        ({"lsh": {"treshold": 0.5}}, "c.yaml: unknown key 'lsh.treshold'; did you mean 'threshold'?"),
        ({"inptu": {}}, "c.yaml: unknown key 'inptu'; did you mean 'input'?"),
        (
            {"zzz": 1},
            "c.yaml: unknown key 'zzz'; known keys: input, output, normalize, shingle, minhash, lsh, "
            "cluster, index, on_error, workers, progress, memory_budget, granularity, paragraphs, engine, spark",
        ),
        (
            {"lsh": {"threshold": 1.5}},
            "c.yaml: lsh.threshold must be a number between 0 and 1 (both excluded); got 1.5",
        ),
        ({"lsh": {"threshold": "high"}}, "c.yaml: lsh.threshold must be a number; got 'high'"),
        (
            {"lsh": {"verify": "exat"}},
            "c.yaml: lsh.verify must be one of 'estimate', 'exact'; got 'exat'; did you mean 'exact'?",
        ),
        (
            {"lsh": {"bands": 0}},
            "c.yaml: lsh.bands must be a positive integer, or null to derive it from the threshold; got 0",
        ),
        ({"minhash": {"num_perm": 1}}, "c.yaml: minhash.num_perm must be an integer from 2 to 4096; got 1"),
        ({"minhash": {"num_perm": 12.5}}, "c.yaml: minhash.num_perm must be an integer; got 12.5"),
        ({"shingle": {"ngram": 0}}, "c.yaml: shingle.ngram must be an integer from 1 to 32; got 0"),
        (
            {"cluster": {"keep": "newest"}},
            "c.yaml: cluster.keep must be 'first', 'longest', 'newest:<field>', 'priority:<field>' or 'none'; got 'newest'",
        ),
        ({"input": {"paths": []}}, "c.yaml: input.paths must name at least one file, folder or glob; got []"),
        ({"input": {"paths": [1]}}, "c.yaml: input.paths must be a list of strings; got [1]"),
        (
            {"output": {"overwrite": "yes please"}},
            "c.yaml: output.overwrite must be true or false; got 'yes please'",
        ),
        ({"lsh": 3}, "c.yaml: lsh must be a mapping of keys; got 3"),
        ({"workers": -1}, "c.yaml: workers must be 0 (every core) or a positive integer; got -1"),
        ({"on_error": "ignore"}, "c.yaml: on_error must be one of 'skip', 'fail'; got 'ignore'"),
        ({"index": {"path": ""}}, "c.yaml: index.path must name a SQLite file or a Redis URL; got ''"),
        ({"index": {"path": " "}}, "c.yaml: index.path must name a SQLite file or a Redis URL; got ' '"),
        (
            {"granularity": "paragraphs"},
            "c.yaml: granularity must be one of 'document', 'paragraph'; got 'paragraphs'; "
            "did you mean 'paragraph'?",
        ),
        (
            {"paragraphs": {"min_records": 1}},
            "c.yaml: paragraphs.min_records must be an integer of at least 2, or null to remove no "
            "boilerplate; got 1",
        ),
        ({"paragraphs": {"min_words": 0}}, "c.yaml: paragraphs.min_words must be a positive integer; got 0"),
        (
            {"paragraphs": {"min_record": 3}},
            "c.yaml: unknown key 'paragraphs.min_record'; did you mean 'min_records'?",
        ),
        (
            {"output": {"dir": "s3://AKIA:hunter2@bucket/out"}},
            "c.yaml: output.dir must be a local path (a mounted filesystem is one); remote URLs such as "
            "s3:// or hdfs:// are not read or written: copy or mount the data first; got "
            "'s3://AKIA:***@bucket/out'",
        ),
        (
            {"input": {"paths": ["corpus/a.jsonl", "hdfs://user:pw@namenode/corpus"]}},
            "c.yaml: input.paths must be a local path (a mounted filesystem is one); remote URLs such as "
            "s3:// or hdfs:// are not read or written: copy or mount the data first; got "
            "['corpus/a.jsonl', 'hdfs://user:***@namenode/corpus']",
        ),
        (
            {"engine": "spark", "granularity": "paragraph"},
            "c.yaml: engine: spark runs at granularity: document only; run granularity: paragraph "
            "with engine: local (the README's Spark section says how the two fit together)",
        ),
    ],
)
def test_config_errors_name_the_key(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        from_dict(data, "c.yaml")
    assert str(err.value) == message
    assert err.value.exit_code == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a\n- b\n", "c.yaml: the config must be a mapping of sections; got list"),
        (
            "lsh: [1\n",
            "c.yaml: not valid YAML at line 2, column 1: expected ',' or ']', but got '<stream end>'",
        ),
    ],
)
def test_file_level_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, message: str) -> None:
    monkeypatch.chdir(tmp_path)
    Path("c.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load("c.yaml")
    assert str(err.value) == message


def test_missing_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"^nope.yaml: no such config file$"):
        load("nope.yaml")


def test_overrides_parse_yaml_values_and_name_their_origin() -> None:
    cfg = from_dict(
        {"lsh": {"threshold": 0.9}},
        "c.yaml",
        ["lsh.threshold=0.7", "input.paths=[a, b]", "cluster.keep=newest:date"],
    )
    assert cfg.lsh.threshold == 0.7 and cfg.input.paths == ("a", "b") and cfg.cluster.keep == "newest:date"
    with pytest.raises(ConfigError, match=r"^--set: unknown key 'lsh.thresh'; did you mean 'threshold'\?$"):
        from_dict({}, "c.yaml", ["lsh.thresh=0.7"])
    with pytest.raises(ConfigError, match=r"^--set lsh: expected KEY=VALUE"):
        from_dict({}, "c.yaml", ["lsh"])


def test_fingerprint_follows_what_changes_a_signature_only() -> None:
    base = fingerprint(Config())
    assert fingerprint(from_dict({"lsh": {"threshold": 0.5}, "output": {"dir": "x"}})) == base
    assert fingerprint(from_dict({"minhash": {"seed": 2}})) != base
    assert fingerprint(from_dict({"shingle": {"ngram": 5}})) != base
    assert fingerprint(from_dict({"normalize": {"content": "text"}})) != base


def test_to_dict_round_trips() -> None:
    cfg = from_dict({"input": {"paths": ["a"]}, "lsh": {"bands": 4, "rows": 8}})
    assert from_dict(to_dict(cfg)) == cfg


@pytest.mark.parametrize(
    ("data", "overrides", "blamed"),
    [
        ({"engine": "spark", "granularity": "paragraph"}, ["lsh.threshold=0.6"], "ps.yaml"),  # the file's own
        ({"engine": "spark"}, ["granularity=paragraph"], "--set"),  # the override made it
    ],
)
def test_values_that_clash_name_where_the_clash_is(
    data: dict[str, object], overrides: list[str], blamed: str
) -> None:
    with pytest.raises(ConfigError, match=r"engine: spark runs at granularity: document only") as err:
        from_dict(data, "ps.yaml", overrides)
    assert str(err.value).startswith(f"{blamed}: ")


def test_an_override_can_settle_a_clash_in_the_file() -> None:
    config = from_dict({"engine": "spark", "granularity": "paragraph"}, "ps.yaml", ["granularity=document"])
    assert (config.engine, config.granularity) == ("spark", "document")


def test_a_memory_budget_may_be_a_count_of_bytes(tmp_path: Path) -> None:
    assert from_dict({"memory_budget": 2_000_000_000}).memory_budget == "2000000000"
    config = tmp_path / "c.yaml"
    config.write_text("memory_budget: 3000000000\n", encoding="utf-8")
    assert load(str(config), ()).memory_budget == "3000000000"
    with pytest.raises(ConfigError, match=r"memory_budget must be at least 1MB; got 1$"):
        from_dict({"memory_budget": 1})
    with pytest.raises(ConfigError, match=r"memory_budget must be a string; got True$"):
        from_dict({"memory_budget": True})
