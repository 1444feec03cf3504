"""The training profile's two charts, drawn with matplotlib as PNG images inside markdown (as
Dagster's tutorials show charts): the distribution of pairs per subject, and one subject's
distance and acceleration magnitude over time.

They are drawn in a process of their own (`python -m stedi_dagster.defs.curated.charts IN OUT`,
the data and the two markdown images as JSON files, see `start_drawing`), so that importing
matplotlib and rendering take neither the step's interpreter lock nor its core while the table's
checks run. This module imports no Dagster, so the process starts quickly."""

import base64
import io
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

HISTOGRAM_BINS = 20
FIGURE_SIZE = (7.0, 2.8)


def start_drawing(
    per_subject: Sequence[int], subject: str, series: Sequence[tuple[int, float, float]]
) -> Callable[[], dict[str, str]]:
    """Start drawing both charts in a new process; the function returned waits for them and
    returns {"pairs": markdown image, "subject": markdown image}. The process reads its data from
    a file and writes its answer to one (so it never waits on a pipe), in a temporary folder
    removed once the answer is read, or when it is no longer referenced."""
    folder = tempfile.TemporaryDirectory(prefix="stedi-charts-")
    request, answer, errors = (Path(folder.name) / n for n in ("in.json", "out.json", "err.txt"))
    data = {"per_subject": list(per_subject), "subject": subject, "series": list(series)}
    request.write_text(json.dumps(data, default=float))
    with errors.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", __name__, str(request), str(answer)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )

    def charts() -> dict[str, str]:
        with folder:
            if process.wait():
                message = errors.read_text(errors="replace")
                raise RuntimeError(f"drawing the training profile's charts failed:\n{message}")
            return json.loads(answer.read_text())

    return charts


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


def main(request: str, answer: str) -> None:
    data = json.loads(Path(request).read_text())
    charts = {
        "pairs": pairs_chart(data["per_subject"]),
        "subject": subject_chart(data["subject"], data["series"]),
    }
    Path(answer).write_text(json.dumps(charts))


if __name__ == "__main__":
    main(*sys.argv[1:])
