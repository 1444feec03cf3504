"""A data profile of the training table for its asset page: summary statistics, the distribution
of pairs per subject, and one subject's readings over time, drawn as text charts in markdown (so
they render in the Dagster UI with no image pipeline). Subjects appear only as their pseudonyms;
the aggregates are computed in DuckDB and only their small results reach Python."""

import statistics
from collections.abc import Sequence

import dagster as dg

from stedi_dagster.engines import Engine

BARS = "▁▂▃▄▅▆▇█"
SPARK_POINTS = 48
HISTOGRAM_BINS = 8
BAR_WIDTH = 30


def sparkline(values: Sequence[float], points: int = SPARK_POINTS) -> str:
    """Values (averaged into at most `points` buckets, in order) as a line of block characters."""
    if not values:
        return ""
    size = max(1, -(-len(values) // points))
    buckets = [statistics.fmean(values[i : i + size]) for i in range(0, len(values), size)]
    low, high = min(buckets), max(buckets)
    span = (high - low) or 1.0
    return "".join(BARS[round((v - low) / span * (len(BARS) - 1))] for v in buckets)


def histogram(values: Sequence[int], bins: int = HISTOGRAM_BINS) -> list[tuple[str, int]]:
    """(range label, count) for equal-width bins over `values`."""
    low, high = min(values), max(values)
    width = max(1, -(-(high - low + 1) // bins))
    counts: dict[int, int] = {}
    for v in values:
        counts[(v - low) // width] = counts.get((v - low) // width, 0) + 1
    return [
        (f"{low + b * width}–{low + (b + 1) * width - 1}", counts.get(b, 0))
        for b in range(-(-(high - low + 1) // width))
    ]


def machine_learning_profile(engine: Engine, table: str) -> dict:
    """Metadata for the training table's materialization: `profile` (markdown) and statistics."""
    stats = engine.rows(
        f"""
        select count(*), count(distinct subject_id),
               min(distanceFromObject), avg(distanceFromObject), max(distanceFromObject),
               avg(sqrt(x * x + y * y + z * z)), max(sqrt(x * x + y * y + z * z)),
               min(timestamp), max(timestamp)
        from {table}
        """
    )[0]
    rows, subjects = stats[0], stats[1]
    if not rows:
        return {"profile": dg.MetadataValue.md("No rows: nothing to profile.")}
    per_subject = [n for (n,) in engine.rows(f"select count(*) from {table} group by subject_id")]
    subject, series = _busiest_subject_series(engine, table)
    distance = [d for _, d, _ in series]
    magnitude = [m for _, _, m in series]
    peak = max(n for _, n in histogram(per_subject))
    bars = "\n".join(
        f"| {label} | {n} | {'`' + '█' * max(1, round(n / peak * BAR_WIDTH)) + '`' if n else ''} |"
        for label, n in histogram(per_subject)
    )
    spread = f"{min(per_subject)} / {statistics.median(per_subject):g} / {max(per_subject)}"
    markdown = f"""### Training data profile

| statistic | value |
|---|---|
| pairs | {rows:,} |
| subjects | {subjects:,} |
| pairs per subject (min / median / max) | {spread} |
| distanceFromObject (min / mean / max) | {stats[2]} / {stats[3]:.1f} / {stats[4]} |
| accelerometer magnitude √(x²+y²+z²) (mean / max) | {stats[5]:.3f} / {stats[6]:.3f} |
| time span (epoch ms) | {stats[7]} – {stats[8]} |

#### Pairs per subject

| pairs | subjects | |
|---|---|---|
{bars}

#### One subject over time (`{subject[:12]}…`, the subject with the most pairs, {len(series)} ms)

| series | over time (left to right) | range |
|---|---|---|
| distanceFromObject | `{sparkline(distance)}` | {min(distance):.0f} – {max(distance):.0f} |
| accelerometer magnitude | `{sparkline(magnitude)}` | {min(magnitude):.2f} – {max(magnitude):.2f} |
"""
    return {
        "profile": dg.MetadataValue.md(markdown),
        "subjects": subjects,
        "pairs_per_subject_median": float(statistics.median(per_subject)),
        "distance_mean": round(float(stats[3]), 3),
        "magnitude_mean": round(float(stats[5]), 4),
    }


def _busiest_subject_series(
    engine: Engine, table: str
) -> tuple[str, list[tuple[int, float, float]]]:
    subject = engine.scalar(
        f"select subject_id from {table} group by 1 order by count(*) desc, 1 limit 1"
    )
    series = engine.rows(
        f"""
        select timestamp, avg(distanceFromObject), avg(sqrt(x * x + y * y + z * z))
        from {table}
        where subject_id = ?
        group by timestamp
        order by timestamp
        """,
        [subject],
    )
    return subject, series
