"""The training profile's two charts, drawn with matplotlib as PNG images inside markdown (as
Dagster's tutorials show charts): the distribution of pairs per subject, and one subject's
distance and acceleration magnitude over time.

They are drawn in a process of their own (`python -m stedi_dagster.defs.curated.charts IN OUT`:
the data and the two markdown images as JSON files, see `Drawing`), started
when the training table's step starts (`prepare`), so that importing matplotlib and rendering
take neither the step's interpreter lock nor its core while the table is written and checked.
The histogram is drawn from the distribution of pairs per subject (a few hundred values), not
from a count per subject. This module imports no Dagster, so the process starts quickly."""

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

# A drawing process started ahead (`prepare`), importing matplotlib while the step works.
_prepared: "Drawing | None" = None


class Drawing:
    """A process of its own that imports matplotlib at once, then waits for a word on its
    input, reads its data from a file, draws both charts and writes them to a file (so that
    neither side ever waits on a full pipe); its errors go to a file too, all in a temporary
    folder removed once the answer is read, or when the drawing is no longer referenced. A
    drawing never given its data ends when its parent does (its input closes)."""

    def __init__(self) -> None:
        self.folder = tempfile.TemporaryDirectory(prefix="stedi-charts-")
        files = (Path(self.folder.name) / n for n in ("in.json", "out.json", "err.txt"))
        self.request, self.answer, self.errors = files
        with self.errors.open("wb") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", __name__, str(self.request), str(self.answer)],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )

    def draw(
        self,
        distribution: Sequence[tuple[int, int]],
        subject: str,
        series: Sequence[tuple[int, float, float]],
    ) -> Callable[[], dict[str, str]]:
        """Give the process its data; the function returned waits for the charts and returns
        {"pairs": markdown image, "subject": markdown image}."""
        data = {"distribution": list(distribution), "subject": subject, "series": list(series)}
        self.request.write_text(json.dumps(data, default=float))
        with self.process.stdin:  # the word: the request is whole
            self.process.stdin.write(b"draw\n")

        def charts() -> dict[str, str]:
            with self.folder:
                if self.process.wait():
                    message = self.errors.read_text(errors="replace")
                    raise RuntimeError(f"drawing the training profile's charts failed:\n{message}")
                return json.loads(self.answer.read_text())

        return charts


def prepare() -> None:
    """Start the drawing process of the next `start_drawing` now, so that it imports matplotlib
    (about 0.5 s) while the training table is written and checked."""
    global _prepared
    if _prepared is None or _prepared.process.poll() is not None:
        _prepared = Drawing()


def start_drawing(
    distribution: Sequence[tuple[int, int]],
    subject: str,
    series: Sequence[tuple[int, float, float]],
) -> Callable[[], dict[str, str]]:
    """Draw both charts in a process of their own (the one `prepare` started, if any); the
    function returned waits for them and returns {"pairs": markdown image, "subject": markdown
    image}. `distribution`: (pairs, subjects with that many) of the subjects, not a count per
    subject (456,000 at x1000)."""
    global _prepared
    drawing, _prepared = _prepared, None
    if drawing is None or drawing.process.poll() is not None:
        drawing = Drawing()
    return drawing.draw(distribution, subject, series)


def png_markdown(figure, alt: str) -> str:
    """A matplotlib figure as a markdown image (a PNG data URL)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    encoded = base64.b64encode(buffer.getvalue()).decode()
    return f"![{alt}](data:image/png;base64,{encoded})"


def pairs_chart(distribution: Sequence[tuple[int, int]]) -> str:
    from matplotlib.figure import Figure

    figure = Figure(figsize=FIGURE_SIZE)
    axes = figure.subplots()
    pairs, subjects = zip(*distribution, strict=True)
    axes.hist(pairs, bins=HISTOGRAM_BINS, weights=subjects, color="#4f6fa8", edgecolor="white")
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
    from matplotlib.figure import Figure  # noqa: F401  (imported while the parent works)

    if sys.stdin.readline().strip() != "draw":
        return  # never given its data: the parent is gone
    data = json.loads(Path(request).read_text())
    charts = {
        "pairs": pairs_chart(data["distribution"]),
        "subject": subject_chart(data["subject"], data["series"]),
    }
    Path(answer).write_text(json.dumps(charts))


if __name__ == "__main__":
    main(*sys.argv[1:])
