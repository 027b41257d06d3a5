"""The Spark engine (`engine: spark`): the local engine's steps on a Spark cluster, same answers.

`run(config)` is what `dedup run` calls for `engine: spark`. The per-record and per-group work is
the local engine's code, run inside Spark tasks through `mapInArrow` (`spark_records`,
`spark_pairs`); what moves records between machines is Spark's shuffle, in DataFrame operations:

1. **featurize** (narrow): one task per run of input files reads, cleans, digests, signs, bands
   and shingles each piece of a file as a local run does (`FEATURES` rows, persisted). A record's
   uid is `file_index << 40 | line`: deterministic, and ordered as the source position.
2. **ids**: records whose id repeats an earlier record's (a shuffle of the ids).
3. **exact**: exact groups by digest, a window over `(d0, d1)` (uid, digest, band keys, rank).
4. **candidates**: the representatives' band keys exploded to `(band, key)` rows and shuffled on
   them; each bucket is paired as the local engine pairs it (`max_bucket` included).
5. **verify**: each candidate pair joined with both records' shingle sets (the sets are shuffled
   once, by uid) and verified where the pair and its sets meet.
6. **components**: the verified pairs' connected components by large-star / small-star rounds of
   DataFrame operations (`spark_graph`).
7. **keep**: each component's records, exact repeats, candidate pairs and the representatives'
   sets and texts, shuffled on the component; runs of whole components go through the local
   engine's keep step (`resolve.decide`), so every decision, evidence and check is the local one.
8. **write** (narrow): the decisions are written partitioned by input file, and each featurize
   partition reads its files' decisions and writes its part of `unique.parquet/`,
   `duplicates.parquet/` and `rejects.parquet/` (folders of Parquet part files, written by the
   local engine's writer with its schemas). The records themselves are never shuffled.

Nothing proportional to the corpus is collected on the driver: counts, the distinct pass-through
schemas, the input files' digests and the part files' names. `output.dir` must be a folder every
executor can write (a shared filesystem), since the tasks write the part files. The report, the
lock on the output folder and the order of publishing are the local engine's: `report.json` is
removed first and written last, after the datasets are in place.
"""

from __future__ import annotations

import os
import pickle
import resource
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from dedup import cluster, lsh
from dedup.config import Config, fingerprint, size_bytes, to_dict
from dedup.engines import spark_graph, spark_pairs, spark_records, spark_session
from dedup.engines.spark_records import (
    ERROR,
    FEATURES,
    FILE,
    INFO,
    PARTS,
    RECORD,
    REJECT,
    TIME_KIND,
    ddl,
    reraise,
)
from dedup.errors import AccountingError, InputError
from dedup.io import fields, readers, writers
from dedup.outputs import rejects_table, schemas
from dedup.progress import NullProgress, Progress
from dedup.records import Reject, describe_reject, every_record_rejected, fail_fast
from dedup.report import Report
from dedup.resolve import CONTAINMENT, CONTAINS, EXACT, JACCARD, MATCHED_BY
from dedup.settings import parse_keep

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

#: The run's working folder inside the output folder (removed when the run ends).
WORK = ".dedup-spark"
OUTPUTS = ("unique", "duplicates", "rejects")


def run(config: Config, progress: Progress | None = None) -> Report:
    """Run the batch job on Spark as `config` says and return its report (see the module).

    Raises:
        DedupError: as the local engine's `run` raises: `ConfigError`, `InputError`,
            `OutputError`, `VerificationError`, `AccountingError`; `EngineError` when PySpark is
            missing or Spark does not start.
    """
    started = time.perf_counter()
    files = sorted(set(readers.discover(config.input.paths)))
    writers.refuse_inputs_inside(Path(config.output.dir), config.input.paths, files)
    with writers.claim(config.output) as folder:
        writers.prepare(config.output)
        work = folder.resolve() / WORK  # tasks on other machines (and cwds) find it by this path
        try:
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir()
            with spark_session.session(config.spark) as spark:
                job = _Job(spark, config, files, work, progress or NullProgress())
                report = job.run()
            _publish(folder, work, report, started)
            return report
        except OSError as err:
            raise writers.failure(folder, err) from None
        finally:
            shutil.rmtree(work, ignore_errors=True)


class _Job:
    """One run's Spark steps; the DataFrames it persisted are released when it ends."""

    def __init__(
        self, spark: SparkSession, config: Config, files: list[str], work: Path, progress: Progress
    ) -> None:
        self.spark, self.config, self.files, self.work, self.progress = spark, config, files, work, progress
        self.worker = replace(config, workers=1)  # one task, one core: Spark runs the tasks side by side
        self.report = Report(
            config=to_dict(config), fingerprint=fingerprint(config), output_dir=config.output.dir
        )
        self.report.memory_budget = size_bytes(config.memory_budget)
        self.held: list[DataFrame] = []
        self.valid = 0  # records past the id check, counted in `_exact`
        self.partitions = config.spark.partitions or 2 * spark.sparkContext.defaultParallelism

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Time a step into the report, and name its Spark jobs `dedup <name>` (the Spark UI, event logs)."""
        self.progress.stage(name)
        self.spark.sparkContext.setJobDescription(f"dedup {name}")
        start = time.perf_counter()
        try:
            yield
        finally:
            self.report.timings[name] = round(time.perf_counter() - start, 6)
            self.spark.sparkContext.setJobDescription(None)  # type: ignore[arg-type]

    def hold(self, frame: DataFrame) -> DataFrame:
        """Persist `frame` for the rest of the run (memory, spilling to disk)."""
        from pyspark import StorageLevel  # noqa: PLC0415 - the optional extra, loaded on demand

        self.held.append(frame.persist(StorageLevel.MEMORY_AND_DISK))
        return frame

    def run(self) -> Report:
        """All steps up to the staged part files; the report, counted and checked."""
        conf = self.spark.conf
        previous = conf.get("spark.sql.shuffle.partitions")
        conf.set("spark.sql.shuffle.partitions", str(self.partitions))
        try:
            return self._steps()
        finally:
            if previous is not None:
                conf.set("spark.sql.shuffle.partitions", previous)
            for frame in self.held:
                frame.unpersist()

    def _steps(self) -> Report:
        from pyspark.sql import functions as F  # noqa: PLC0415

        features, extra = self._featurize()
        records, repeats = self._ids(features)
        exact = self._exact(records)
        pairs = self._candidates(exact)
        sets = self.hold(
            features.where(F.col("kind") == RECORD)
            .select("uid", "sets", "sig", F.concat_ws("\n", "paragraphs").alias("text"))
            .repartition("uid")
        )
        verdicts = self._verify(pairs, sets)
        with self.step("components"):
            edges = verdicts.where(F.col("keep")).select("a", "b")
            labels = self.hold(spark_graph.components(edges))
            labels.count()
        decisions = self._keep(exact, labels, verdicts, sets)
        self._count(decisions, repeats)
        with self.step("write"):
            self._write(features, decisions, repeats, extra)
        return self.report

    # Steps --------------------------------------------------------------------------------------

    def _featurize(self) -> tuple[DataFrame, pa.Schema]:
        """Read and featurize every file; stop on a task's error; the counts and the unified schema."""
        from pyspark.sql import functions as F  # noqa: PLC0415

        with self.step("featurize"):
            context = self.spark.sparkContext
            rows = list(enumerate(self.files))
            slices = max(1, min(len(rows), self.partitions))
            tasks = self.spark.createDataFrame(
                context.parallelize(rows, slices), "file_index int, path string"
            )
            features = self.hold(
                tasks.mapInArrow(spark_records.featurize_files(self.worker, os.getcwd()), ddl(FEATURES))
            )
            counts = {
                row["kind"]: row
                for row in features.groupBy("kind")
                .agg(
                    F.count(F.lit(1)).alias("n"),
                    F.sum("read").alias("read"),
                    F.sum("skipped").alias("skipped"),
                    F.sum("text_bytes").alias("text_bytes"),
                )
                .collect()
            }
            if ERROR in counts:
                first = features.where(F.col("kind") == ERROR).orderBy("file_index", "piece").first()
                assert first is not None
                raise reraise(first["error"])
            info = counts.get(INFO)
            report = self.report
            report.read = int(info["read"]) if info else 0
            report.skipped_blank_lines = int(info["skipped"]) if info else 0
            report.input_bytes = int(info["text_bytes"]) if info else 0
            report.rejected = int(counts[REJECT]["n"]) if REJECT in counts else 0
            report.shards = {"total": int(info["n"]) if info else 0, "reused": 0}
            skipped = (  # WARC records that hold no document, by kind: the pieces' counts added up
                features.where(F.col("kind") == INFO)
                .select(F.explode(F.map_from_arrays("skipped_kinds", "skipped_counts")))
                .groupBy("key")
                .agg(F.sum("value").alias("n"))
                .collect()
            )
            report.skipped_records = dict(sorted((r["key"], int(r["n"])) for r in skipped))
            self.progress.advance(report.read)
            inputs = features.where(F.col("kind") == FILE).orderBy("file_index").collect()
            report.inputs = [
                {"file": self.files[r["file_index"]], "bytes": r["read"], "xxh3": r["reason"]} for r in inputs
            ]
            firsts = self._first_rejects(features)
            if report.read and report.rejected == report.read:
                raise every_record_rejected(report.read, firsts[0])
            report.first_rejects = firsts
            found = (
                features.where(F.col("kind") == INFO)
                .groupBy("schema")
                .agg(F.min(F.struct("file_index", "piece")).alias("first"))
                .collect()
            )
            found.sort(key=lambda r: (r["first"]["file_index"], r["first"]["piece"]))
            extra = pa.schema(fields.schema(pa.ipc.read_schema(pa.py_buffer(r["schema"])) for r in found))
        return features, extra

    def _first_rejects(self, features: DataFrame, limit: int = 5) -> list[str]:
        from pyspark.sql import functions as F  # noqa: PLC0415

        rows = (
            features.where(F.col("kind") == REJECT)
            .orderBy("file_index", "piece", F.coalesce(F.col("source_line"), F.lit(-1)))
            .limit(limit)
            .collect()
        )
        return [describe_reject(_reject(r)) for r in rows]

    def _ids(self, features: DataFrame) -> tuple[DataFrame, DataFrame]:
        """The records whose id is not a repeat of an earlier one, and the repeats with their reasons."""
        from pyspark.sql import Window  # noqa: PLC0415
        from pyspark.sql import functions as F  # noqa: PLC0415

        with self.step("ids"):
            records = features.where(F.col("kind") == RECORD)
            repeated = records.groupBy("id").count().where(F.col("count") > 1).select("id")
            window = Window.partitionBy("id").orderBy("uid")
            involved = records.join(repeated, "id", "left_semi").select(
                "uid",
                "file_index",
                "id",
                "source_file",
                "source_line",
                F.row_number().over(window).alias("n"),
                F.first("source_file").over(window).alias("first_file"),
                F.first("source_line").over(window).alias("first_line"),
            )
            reason = F.format_string(
                "duplicate id '%s'; first seen at %s:%d", "id", "first_file", "first_line"
            )
            repeats = self.hold(
                involved.where(F.col("n") > 1).select(
                    "uid", "file_index", "id", "source_file", "source_line", reason.alias("reason")
                )
            )
            count = repeats.count()
            if not count:
                return records, repeats
            first = [_id_reject(r, self.config) for r in repeats.orderBy("uid").limit(5).collect()]
            fail_fast(first, self.config.on_error)
            self.report.rejected += count
            room = max(0, 5 - len(self.report.first_rejects))
            self.report.first_rejects += [describe_reject(r) for r in first[:room]]
            return records.join(repeats.select("uid"), "uid", "left_anti"), repeats

    def _exact(self, records: DataFrame) -> DataFrame:
        """Each valid record with its exact group's representative (least uid) and size, and its rank."""
        from pyspark.sql import Window  # noqa: PLC0415
        from pyspark.sql import functions as F  # noqa: PLC0415

        with self.step("exact"):
            primary = self._primary(records)
            window = Window.partitionBy("d0", "d1")
            exact = self.hold(
                records.select("uid", "id", "file_index", "d0", "d1", "keys", primary.alias("primary"))
                .withColumn("rep", F.min("uid").over(window))
                .withColumn("size", F.count(F.lit(1)).over(window))
            )
            self.valid = exact.count()
        return exact

    def _primary(self, records: DataFrame) -> Column:
        """The keep rule's part of the keep rank (lower is kept first; the uid breaks ties).

        Raises:
            InputError: the keep rule's field holds values it cannot rank, or none at all (the
                local engine's messages, naming the first such record by source position).
        """
        from pyspark.sql import functions as F  # noqa: PLC0415

        keep = self.config.cluster.keep
        rule, field_name = parse_keep(keep)
        if rule in ("first", "none"):
            return F.lit(0.0)
        if rule == "longest":
            return -F.col("length").cast("double")
        assert field_name is not None
        kinds = {
            r["keep_type"]: r["sample"]["keep_value"]
            for r in records.groupBy("keep_type")
            .agg(F.min(F.struct("uid", "keep_value")).alias("sample"))
            .collect()
        }
        present = {k: v for k, v in kinds.items() if k is not None}
        if kinds and not present:
            raise InputError(
                f"field '{field_name}' is missing or null in every record (cluster.keep: {keep})",
                field=field_name,
            )
        numeric = rule == "priority" or set(present) <= {"int", "float", "Decimal"}
        # Times are whole nanoseconds, as decimals (a double holds about 0.25 µs of a time today,
        # a long the years 1677 to 2262 only); a missing one ranks after every time.
        missing = F.lit(float("inf")) if numeric else F.lit(str(10**37)).cast("decimal(38,0)")
        failing = F.col("keep_error").isNotNull()
        if not numeric:
            failing = failing | (F.col("keep_type").isNotNull() & (F.col("keep_type") != TIME_KIND))
        bad = records.where(failing).orderBy("uid").first()
        if bad is not None:
            message = bad["keep_error"]
            if message is None:  # no text among text dates: the local message names every kind
                values = [pickle.loads(bad["keep_value"]), *(pickle.loads(v) for v in present.values())]
                try:
                    cluster.time_rank(values, field_name)
                except cluster.RankError as err:
                    message = str(err)
            raise InputError(f"record '{bad['id']}': {message} (cluster.keep: {keep})", field=field_name)
        if not numeric:
            return F.coalesce(-F.col("keep_time"), missing)
        # Integers compare whole (an epoch in nanoseconds is past a double's 2**53), as locally;
        # any other number makes the rank a double.
        inexact = records.where(F.col("keep_num").isNotNull() & F.col("keep_int").isNull()).limit(1).count()
        if inexact:
            return F.coalesce(-F.col("keep_num"), missing)
        return F.coalesce(-F.col("keep_int"), F.lit(str(10**37)).cast("decimal(38,0)"))

    def _candidates(self, exact: DataFrame) -> DataFrame:
        from pyspark.sql import functions as F  # noqa: PLC0415

        with self.step("candidates"):
            keys = exact.where(F.col("uid") == F.col("rep")).select(
                "uid", "d0", "d1", F.posexplode("keys").alias("band", "key")
            )
            pairs = self.hold(
                keys.repartition("band", "key")
                .sortWithinPartitions("band", "key")
                .mapInArrow(spark_pairs.bucket_pairs(self.config.lsh.max_bucket), ddl(spark_pairs.PAIRS))
                .distinct()
            )
            self.report.candidate_pairs = pairs.count()
        return pairs

    def _verify(self, pairs: DataFrame, sets: DataFrame) -> DataFrame:
        from pyspark.sql import functions as F  # noqa: PLC0415

        with self.step("verify"):
            side_a = sets.select(F.col("uid").alias("a"), F.col("sets").alias("sa"), F.col("sig").alias("ga"))
            side_b = sets.select(F.col("uid").alias("b"), F.col("sets").alias("sb"), F.col("sig").alias("gb"))
            joined = pairs.join(side_a, "a").join(side_b, "b").select("a", "b", "sa", "sb", "ga", "gb")
            verdicts = self.hold(
                joined.mapInArrow(spark_pairs.verify_pairs(self.worker), ddl(spark_pairs.VERDICTS))
            )
            verdicts.count()
        return verdicts

    def _keep(self, exact: DataFrame, labels: DataFrame, verdicts: DataFrame, sets: DataFrame) -> DataFrame:
        """Every record in a group (verified pairs or exact repeats), decided group by group."""
        from pyspark.sql import functions as F  # noqa: PLC0415

        with self.step("keep"):
            by_rep = labels.select(F.col("node").alias("rep"), "comp")
            members = (
                exact.join(by_rep, "rep", "left")
                .where(F.col("comp").isNotNull() | (F.col("size") > 1))
                .select(
                    F.coalesce("comp", "rep").alias("comp"),
                    F.lit(0).cast("tinyint").alias("kind"),
                    "uid",
                    "rep",
                    "id",
                    "file_index",
                    "primary",
                    "d0",
                    "d1",
                )
            )
            reps = members.where(F.col("uid") == F.col("rep")).join(sets, "uid")
            repeats = members.where(F.col("uid") != F.col("rep"))
            side_a = labels.select(F.col("node").alias("a"), F.col("comp"))
            side_b = labels.select(F.col("node").alias("b"), F.col("comp").alias("comp_b"))
            pairs = (
                verdicts.join(side_a, "a")
                .join(side_b, "b")
                .where(F.col("comp") == F.col("comp_b"))
                .drop("comp_b")
                .withColumn("kind", F.lit(1).cast("tinyint"))
            )
            rows = reps.unionByName(repeats, allowMissingColumns=True).unionByName(
                pairs, allowMissingColumns=True
            )
            decisions = self.hold(
                rows.repartition("comp")
                .sortWithinPartitions("comp")
                .mapInArrow(spark_pairs.settle_groups(self.worker), ddl(spark_pairs.DECISIONS))
            )
            totals = (
                decisions.where(F.col("kind") != 0)
                .agg(
                    F.sum("verified").alias("verified"),
                    F.sum("groups").alias("groups"),
                    F.min(F.when(F.col("kind") == 2, F.col("error"))).alias("error"),
                )
                .first()
            )
            if totals is not None and totals["error"] is not None:
                raise reraise(totals["error"])
            self.report.verified_pairs = int(totals["verified"] or 0) if totals else 0
            self.report.groups = int(totals["groups"] or 0) if totals else 0
        return decisions

    def _count(self, decisions: DataFrame, repeats: DataFrame) -> None:
        """The report's counts from the decisions (as `outputs.count` counts them), and the identity."""
        from pyspark.sql import functions as F  # noqa: PLC0415

        rows = (
            decisions.where(F.col("kind") == 0)
            .groupBy(
                F.col("duplicate_of").isNull().alias("kept"),
                "matched_by",
                (F.col("cluster_size") > 1).alias("clustered"),
            )
            .count()
            .collect()
        )
        report = self.report
        by: dict[int, int] = {}
        for row in rows:
            if not row["kept"]:
                by[row["matched_by"]] = by.get(row["matched_by"], 0) + row["count"]
        report.duplicates = sum(by.values())
        report.kept = self.valid - report.duplicates
        report.exact_duplicates = by.get(EXACT, 0)
        report.near_duplicates = by.get(JACCARD, 0) + by.get(CONTAINMENT, 0) + by.get(CONTAINS, 0)
        report.matched_by = {name: by.get(code, 0) for code, name in enumerate(MATCHED_BY) if code}
        report.clusters = sum(r["count"] for r in rows if r["kept"] and r["clustered"])
        report.bands, report.rows = lsh.resolve_params(self.config.lsh, self.config.minhash.num_perm)
        report.check()

    def _write(self, features: DataFrame, decisions: DataFrame, repeats: DataFrame, extra: pa.Schema) -> None:
        """Decisions partitioned by input file, then each featurize partition's part files."""
        from pyspark.sql import Row  # noqa: PLC0415
        from pyspark.sql import functions as F  # noqa: PLC0415

        decided = decisions.where(F.col("kind") == 0).select(
            "uid",
            "file_index",
            "status",
            "duplicate_of",
            "cluster_id",
            "cluster_size",
            "matched_by",
            "similarity",
            "containment",
            F.lit(None).cast("string").alias("reason"),
        )
        rejected = repeats.select(
            "uid",
            "file_index",
            F.lit(1).cast("tinyint").alias("status"),
            F.lit(None).cast("string").alias("duplicate_of"),
            F.lit(None).cast("string").alias("cluster_id"),
            F.lit(1).cast("bigint").alias("cluster_size"),
            F.lit(0).cast("tinyint").alias("matched_by"),
            F.lit(1.0).alias("similarity"),
            F.lit(1.0).alias("containment"),
            "reason",
        )
        folder = self.work / "decisions"
        # Spark's (Hadoop's) path, unescaped: `as_uri()` would escape a space or a `+` into a name
        # the tasks then do not find.
        decided.unionByName(rejected).repartition("file_index").write.partitionBy("file_index").parquet(
            f"file://{folder}"
        )
        stage = self.work / "stage"
        writer = spark_records.write_outputs(self.worker, extra, str(stage), str(folder))
        parts = features.mapInArrow(writer, ddl(PARTS)).collect()
        for row in parts:
            if row["table"] == "error":
                raise reraise(bytes.fromhex(row["part"]))
        written = {name: sum(r["rows"] for r in parts if r["table"] == name) for name in OUTPUTS}
        expected = {
            "unique": self.report.kept,
            "duplicates": self.report.duplicates,
            "rejects": self.report.rejected,
        }
        if written != expected:
            raise AccountingError(
                f"accounting failed: the part files hold {written} rows, the decisions say {expected}; "
                "nothing was published. This is a bug in dedup"
            )
        unique_schema, duplicates_schema = schemas(extra)
        empty = {
            "unique": unique_schema,
            "duplicates": duplicates_schema,
            "rejects": rejects_table([]).schema,
        }
        outputs: dict[str, Any] = {}
        for name in OUTPUTS:
            listed = sorted((r for r in parts if r["table"] == name), key=lambda r: r["part"])
            if not listed:  # a dataset holds at least one part, so its schema is there to read
                (stage / name).mkdir(parents=True, exist_ok=True)
                part = "part-00000-00000.parquet"
                writers.write_table(stage / name, part, empty[name].empty_table(), self.config.output)
                path = stage / name / part
                listed = [Row(part=part, rows=0, bytes=path.stat().st_size, xxh3=writers.digest_file(path))]
            outputs[f"{name}.parquet"] = {
                "rows": sum(r["rows"] for r in listed),
                "bytes": sum(r["bytes"] for r in listed),
                "parts": {
                    r["part"]: {"rows": r["rows"], "bytes": r["bytes"], "xxh3": r["xxh3"]} for r in listed
                },
            }
        self.report.outputs = outputs


def _reject(row: Any) -> Reject:
    return Reject(
        row["source_file"],
        row["source_line"],
        row["reason"],
        row["stage"],
        row["id"],
        row["field"],
        row["raw"],
    )


def _id_reject(row: Any, config: Config) -> Reject:
    return Reject(
        row["source_file"], row["source_line"], row["reason"], "read", row["id"], config.input.id_field
    )


def _publish(folder: Path, work: Path, report: Report, started: float) -> None:
    """Move the staged datasets into the output folder, then write `report.json` (as the local engine)."""
    writers.retract_report(folder)
    writers.remove_stale(folder, [f"{name}.parquet" for name in OUTPUTS])
    for name in OUTPUTS:
        final = folder / f"{name}.parquet"
        writers.remove_output(final)  # a folder cannot replace a file, nor a link be followed
        os.replace(work / "stage" / name, final)
    writers.sync_folder(folder)
    report.timings["total"] = round(time.perf_counter() - started, 6)
    report.peak_rss_bytes = int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024
    writers.write_report(folder, report.to_dict())
