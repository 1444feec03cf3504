"""step_features_curated: the inputs of a step-detection model, computed with Polars' lazy API.

DuckDB first stages the published training pairs in each subject's time order
(`sql/step_features_curated_input.sql`), on a connection of its own whose memory is bounded (the
sort spills to the step's staging folder beyond it), whichever engine computed the pairs; Polars
then streams through them once: the acceleration magnitude, its mean and standard deviation over
this and the subject's preceding readings (a window of 10 rows, from running sums that restart at
each subject), the distance and its change since the subject's previous row, and the
milliseconds since that row. No window needs a subject's rows in memory, so memory stays flat
as the data grows. People appear only as their pseudonym, `subject_id`.
"""

from pathlib import Path

import duckdb
import polars as pl

from stedi_dagster.lakehouse import Lakehouse
from stedi_dagster.lakehouse.store import empty_columns
from stedi_dagster.sql import literal, read_sql
from stedi_dagster.tables import TABLES

WINDOW = 10
# DuckDB's memory for the ordering sort, unless STEDI_DUCKDB_MEMORY_LIMIT says otherwise: the
# rest spills to disk, so the step's memory stays flat as the data grows.
SORT_MEMORY = "512MB"
POLARS_TYPES = {"VARCHAR": pl.String, "BIGINT": pl.Int64, "INTEGER": pl.Int32, "DOUBLE": pl.Float64}


def _at_subject_start(value: pl.Expr) -> pl.Expr:
    """`value` as it was on the subject's first row, carried down the subject's rows."""
    return pl.when("first").then(value).otherwise(None).forward_fill()


def step_features(ordered_pairs: str) -> pl.LazyFrame:
    """The features of training pairs stored in each subject's time order at `ordered_pairs`."""
    x, y, z = pl.col("x"), pl.col("y"), pl.col("z")
    magnitude = pl.col("magnitude")
    frame = (
        pl.scan_parquet(ordered_pairs)
        .with_row_index("row")
        .with_columns(
            magnitude=(x * x + y * y + z * z).sqrt(),
            first=(pl.col("subject_id") != pl.col("subject_id").shift(1)).fill_null(True),
        )
        .with_columns(sum=magnitude.cum_sum(), squares=(magnitude * magnitude).cum_sum())
        .with_columns(
            start=_at_subject_start(pl.col("row")),
            sum_before=_at_subject_start(pl.col("sum") - magnitude),
            squares_before=_at_subject_start(pl.col("squares") - magnitude * magnitude),
        )
        .with_columns(position=pl.col("row") - pl.col("start"))
    )
    # running sums over the window: the sum up to this row less the sum before the window,
    # which is the subject's start while the subject has fewer than WINDOW rows so far
    full = pl.col("position") >= WINDOW
    window_sum = pl.col("sum") - pl.when(full).then(pl.col("sum").shift(WINDOW)).otherwise(
        pl.col("sum_before")
    )
    window_squares = pl.col("squares") - pl.when(full).then(
        pl.col("squares").shift(WINDOW)
    ).otherwise(pl.col("squares_before"))
    n = pl.min_horizontal(pl.col("position") + 1, pl.lit(WINDOW)).cast(pl.Float64)
    variance = (window_squares - window_sum * window_sum / n) / (n - 1)
    previous = ~pl.col("first")
    features = frame.with_columns(
        magnitude_mean_10=window_sum / n,
        magnitude_std_10=pl.when(n > 1).then(variance.clip(lower_bound=0).sqrt()),
        distance_change=pl.when(previous).then(pl.col("distanceFromObject").diff()),
        ms_since_previous=pl.when(previous).then(pl.col("timestamp").diff()),
    )
    columns = TABLES["step_features_curated"].columns
    return features.select(pl.col(name).cast(POLARS_TYPES[t]) for name, t in columns.items())


def write_step_features(lakehouse: Lakehouse, path: Path, where: str = "") -> list[Path]:
    """Stage the published training pairs (those `where` is true of, if given: an SQL condition
    on their columns) in order, then stream the features into one zstd Parquet file at `path`
    (returned, as a FileWriter does)."""
    pairs = lakehouse.store.files(TABLES["machine_learning_curated"])
    ordered = path.with_name(f"{path.stem}-input.parquet")
    config: dict[str, str | int] = {
        "memory_limit": lakehouse.duckdb_memory_limit or SORT_MEMORY,
        "temp_directory": str(path.with_name(f"{path.stem}-spill")),
    }
    if lakehouse.duckdb_threads:
        config["threads"] = lakehouse.duckdb_threads
    with duckdb.connect(":memory:", config=config) as con:
        pairs_table = TABLES["machine_learning_curated"]
        read = (
            f"select * from read_parquet([{', '.join(literal(p) for p in pairs)}])"
            if pairs
            else f"select {empty_columns(pairs_table)}"  # every pair removed
        )
        where = f" where {where}" if where else ""
        con.execute(f"create view machine_learning_curated as {read}{where}")
        sql = read_sql(__file__, "step_features_curated_input")
        con.execute(f"copy ({sql}) to {literal(str(ordered))} (format parquet)")
    step_features(str(ordered)).sink_parquet(path, compression="zstd", engine="streaming")
    ordered.unlink()
    return [path]
