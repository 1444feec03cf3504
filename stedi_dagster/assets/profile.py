"""A data profile of the training table for its asset page: summary statistics, and two charts
drawn with matplotlib as PNG images inside the markdown (the distribution of pairs per subject,
and one subject's distance and acceleration magnitude over time), as Dagster's tutorials show
charts. Subjects appear only as their pseudonyms; the aggregates are computed by the engine and
only their small results reach Python."""

import base64
import io
import statistics
from collections.abc import Callable, Sequence

import dagster as dg

from stedi_dagster.engines import Engine

HISTOGRAM_BINS = 20
FIGURE_SIZE = (7.0, 2.8)


def png_markdown(figure, alt: str) -> str:
    """A matplotlib figure as a markdown image (a PNG data URL)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    encoded = base64.b64encode(buffer.getvalue()).decode()
    return f"![{alt}](data:image/png;base64,{encoded})"


def pairs_chart(per_subject: Sequence[int]) -> str:
    from matplotlib.figure import Figure

    figure = Figure(figsize=FIGURE_SIZE)
    axes = figure.subplots()
    axes.hist(per_subject, bins=HISTOGRAM_BINS, color="#4f6fa8", edgecolor="white")
    axes.set_xlabel("training pairs of a subject")
    axes.set_ylabel("subjects")
    axes.set_title("Pairs per subject")
    return png_markdown(figure, "Pairs per subject")


def subject_chart(subject: str, series: Sequence[tuple[int, float, float]]) -> str:
    from matplotlib.figure import Figure

    start = series[0][0]
    seconds = [(t - start) / 1000 for t, _, _ in series]
    figure = Figure(figsize=FIGURE_SIZE)
    distance_axes = figure.subplots()
    distance_axes.plot(seconds, [d for _, d, _ in series], color="#4f6fa8", linewidth=1)
    distance_axes.set_xlabel("seconds since the subject's first pair")
    distance_axes.set_ylabel("distanceFromObject (cm)", color="#4f6fa8")
    magnitude_axes = distance_axes.twinx()
    magnitude_axes.plot(seconds, [m for _, _, m in series], color="#d0703c", linewidth=1)
    magnitude_axes.set_ylabel("acceleration magnitude", color="#d0703c")
    distance_axes.set_title(f"One subject over time ({subject[:12]}…)")
    return png_markdown(figure, "One subject over time")


def machine_learning_profile(engine: Engine, table: str) -> Callable[[], dict]:
    """The training table's materialization metadata, `profile` (markdown with two charts) and
    statistics: the aggregates are queried now, and the function returned draws the charts and
    returns the metadata (so that the drawing can overlap the checks' queries)."""
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
        return lambda: {"profile": dg.MetadataValue.md("No rows: nothing to profile.")}
    per_subject = [n for (n,) in engine.rows(f"select count(*) from {table} group by subject_id")]
    subject, series = _busiest_subject_series(engine, table)

    def metadata() -> dict:
        return {
            "profile": dg.MetadataValue.md(_markdown(stats, per_subject, subject, series)),
            "subjects": subjects,
            "pairs_per_subject_median": float(statistics.median(per_subject)),
            "distance_mean": round(float(stats[3]), 3),
            "magnitude_mean": round(float(stats[5]), 4),
        }

    return metadata


def _markdown(
    stats: tuple, per_subject: list[int], subject: str, series: list[tuple[int, float, float]]
) -> str:
    spread = f"{min(per_subject)} / {statistics.median(per_subject):g} / {max(per_subject)}"
    return f"""### Training data profile

| statistic | value |
|---|---|
| pairs | {stats[0]:,} |
| subjects | {stats[1]:,} |
| pairs per subject (min / median / max) | {spread} |
| distanceFromObject (min / mean / max) | {stats[2]} / {stats[3]:.1f} / {stats[4]} |
| accelerometer magnitude √(x²+y²+z²) (mean / max) | {stats[5]:.3f} / {stats[6]:.3f} |
| time span (epoch ms) | {stats[7]} – {stats[8]} |

#### Pairs per subject

{pairs_chart(per_subject)}

#### One subject over time (the subject with the most pairs, {len(series)} ms)

{subject_chart(subject, series)}
"""


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
