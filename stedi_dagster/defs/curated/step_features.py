"""step_features_curated, computed with Polars' lazy API: the inputs of a step-detection model.

From the published machine_learning_curated Parquet, streamed: each subject's training pairs in
time order, with the acceleration magnitude and its mean and standard deviation over this and
the preceding readings (a window of 10), the distance and its change since the subject's previous
row, and the milliseconds since that row. People appear only as their pseudonym, `subject_id`.
"""

from pathlib import Path

import polars as pl

from stedi_dagster.tables import TABLES

WINDOW = 10
POLARS_TYPES = {"VARCHAR": pl.String, "BIGINT": pl.Int64, "INTEGER": pl.Int32, "DOUBLE": pl.Float64}
# Every column of an input row takes part in the order, so that ties are broken the same way
# in every run.
ORDER = [
    "subject_id",
    "timestamp",
    "sensorReadingTime",
    "step_trainer_subject_id",
    "distanceFromObject",
    "x",
    "y",
    "z",
]


def step_features(training_pairs: str) -> pl.LazyFrame:
    """The features of the machine_learning_curated Parquet file at `training_pairs`."""
    subject = "subject_id"
    magnitude = (pl.col("x") ** 2 + pl.col("y") ** 2 + pl.col("z") ** 2).sqrt()
    columns = TABLES["step_features_curated"].columns
    return (
        pl.scan_parquet(training_pairs)
        .sort(ORDER)
        .with_columns(magnitude=magnitude)
        .with_columns(
            magnitude_mean_10=pl.col("magnitude").rolling_mean(WINDOW, min_samples=1).over(subject),
            magnitude_std_10=pl.col("magnitude").rolling_std(WINDOW, min_samples=2).over(subject),
            distance_change=pl.col("distanceFromObject").diff().over(subject),
            ms_since_previous=pl.col("timestamp").diff().over(subject),
        )
        .select(pl.col(name).cast(POLARS_TYPES[t]) for name, t in columns.items())
    )


def write_step_features(training_pairs: str, out: Path) -> None:
    """Stream the features into one zstd Parquet file."""
    step_features(training_pairs).sink_parquet(out, compression="zstd", engine="streaming")
