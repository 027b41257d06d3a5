"""Connected components of the verified pairs, in Spark DataFrame operations.

The alternating large-star / small-star rounds of Kiveris et al., "Connected Components in
MapReduce and Beyond" (SoCC 2014): an edge `{u, v}` is kept as `(u, v)` with `u > v`.

- *large-star*: every node `x` links each larger neighbour to `m(x)`, the least of `x` and its
  neighbours;
- *small-star*: every node `x` links itself and each smaller neighbour to the least of them.

Both keep the components, and alternating them turns each component into a star around its least
node in O(log^2 n) rounds. The rounds stop when the edges are such stars: every node has at most
one smaller neighbour, and no node with a smaller neighbour is another node's smaller neighbour.
Each round's edges are checkpointed (`localCheckpoint`), so the plans do not grow with the rounds.
Nothing is collected on the driver but the stopping test's two counts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

#: More rounds than any graph that fits a cluster needs (the bound is O(log^2 n)).
MAX_ROUNDS = 200


def components(edges: DataFrame) -> DataFrame:
    """`(node, comp)` for every node of `edges`, `comp` the least node of its component.

    Args:
        edges: `(a, b)` rows of `bigint` nodes, `a != b`, in either order, repeats allowed.

    Raises:
        RuntimeError: the rounds did not converge (a bug).
    """
    from pyspark.sql import functions as F  # noqa: PLC0415 - the optional extra, loaded on demand

    stars = edges.select(F.greatest("a", "b").alias("u"), F.least("a", "b").alias("v")).distinct()
    stars = stars.localCheckpoint()
    for _ in range(MAX_ROUNDS):
        stars = _small_star(_large_star(stars).localCheckpoint()).localCheckpoint()
        if _are_stars(stars):
            leaves = stars.select(F.col("u").alias("node"), F.col("v").alias("comp"))
            centres = stars.select(F.col("v").alias("node"), F.col("v").alias("comp")).distinct()
            return leaves.unionByName(centres)
    raise RuntimeError(f"connected components did not converge in {MAX_ROUNDS} rounds")


def _large_star(stars: DataFrame) -> DataFrame:
    from pyspark.sql import functions as F  # noqa: PLC0415

    both = stars.select(F.col("u").alias("x"), F.col("v").alias("y")).unionByName(
        stars.select(F.col("v").alias("x"), F.col("u").alias("y"))
    )
    least = both.groupBy("x").agg(F.min("y").alias("m"))
    return (
        both.where(F.col("y") > F.col("x"))
        .join(least, "x")
        .select(F.col("y").alias("u"), F.least("m", "x").alias("v"))
        .distinct()
    )


def _small_star(stars: DataFrame) -> DataFrame:
    from pyspark.sql import functions as F  # noqa: PLC0415

    least = stars.groupBy("u").agg(F.min("v").alias("m"))
    moved = (
        stars.join(least, "u")
        .where(F.col("v") != F.col("m"))
        .select(F.col("v").alias("u"), F.col("m").alias("v"))
    )
    return moved.unionByName(least.select("u", F.col("m").alias("v"))).distinct()


def _are_stars(stars: DataFrame) -> bool:
    from pyspark.sql import functions as F  # noqa: PLC0415

    forked = stars.groupBy("u").count().where(F.col("count") > 1).limit(1).count()
    if forked:
        return False
    centres = stars.select(F.col("v").alias("u")).distinct()
    chained = centres.join(stars.select("u").distinct(), "u").limit(1).count()
    return chained == 0
