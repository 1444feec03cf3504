"""The training profile's two charts, as SVG images inside markdown (data URLs, as Dagster's
asset pages show images): the distribution of pairs per subject as a histogram, and one
subject's distance and acceleration magnitude over time on two vertical axes.

They are written as SVG text here, in about a millisecond and without a plotting library (a
process importing matplotlib took 0.5 to 0.8 s of every run that built the training table).
The histogram is drawn from the distribution of pairs per subject (a few hundred values), not
from a count per subject; a bar's tooltip says its range and subjects. A series longer than
the plot is wide keeps the lowest and highest value of each pixel column, so the lines' shape
is the same whatever the subject's number of readings."""

import base64
import math
from collections.abc import Sequence
from xml.sax.saxutils import escape

HISTOGRAM_BINS = 20
WIDTH, HEIGHT = 700, 280
LEFT, RIGHT, TOP, BOTTOM = 70, WIDTH - 70, 34, HEIGHT - 46  # the plot area
BLUE, ORANGE, INK, GRID = "#4f6fa8", "#d0703c", "#333333", "#e4e4e4"


def pairs_chart(distribution: Sequence[tuple[int, int]]) -> str:
    """The histogram of pairs per subject, from (pairs, subjects with that many), as a markdown
    image."""
    low, high = distribution[0][0], distribution[-1][0]
    width = (high - low) / HISTOGRAM_BINS or 1
    counts = [0] * HISTOGRAM_BINS
    for pairs, subjects in distribution:
        counts[min(int((pairs - low) / width), HISTOGRAM_BINS - 1)] += subjects
    x = Scale(low, low + width * HISTOGRAM_BINS, LEFT, RIGHT)
    y = Scale(0, max(counts), BOTTOM, TOP, nice=True)
    bars = []
    for i, n in enumerate(counts):
        if n:
            start, end = low + i * width, low + (i + 1) * width
            top = y(n)
            bars.append(
                f'<rect x="{x(start):.1f}" y="{top:.1f}" width="{x(end) - x(start):.1f}" '
                f'height="{BOTTOM - top:.1f}" fill="{BLUE}" stroke="white">'
                f"<title>{start:g} to {end:g} pairs: {n:,} subjects</title></rect>"
            )
    body = [
        *y.grid(),
        *bars,
        *x.axis_bottom("training pairs of a subject"),
        *y.axis_left("subjects", INK),
        _title("Pairs per subject"),
    ]
    return _markdown(body, "Pairs per subject")


def subject_chart(subject: str, series: Sequence[tuple[int, float | None, float | None]]) -> str:
    """One subject's (epoch ms, distance, magnitude) over time, as a markdown image."""
    start = series[0][0]
    seconds = [(t - start) / 1000 for t, _, _ in series]
    distances, magnitudes = [d for _, d, _ in series], [m for _, _, m in series]
    x = Scale(0, max(seconds[-1], 1), LEFT, RIGHT)
    distance = Scale(*_span(distances), BOTTOM, TOP, nice=True)
    magnitude = Scale(*_span(magnitudes), BOTTOM, TOP, nice=True)
    body = [
        *distance.grid(),
        _line(x, distance, seconds, distances, BLUE),
        _line(x, magnitude, seconds, magnitudes, ORANGE),
        *x.axis_bottom("seconds since the subject's first pair"),
        *distance.axis_left("distanceFromObject (cm)", BLUE),
        *magnitude.axis_right("acceleration magnitude", ORANGE),
        _title(f"One subject over time ({subject[:12]}…)"),
    ]
    return _markdown(body, "One subject over time")


class Scale:
    """Values from `low` to `high` onto pixels `start` to `end`, with ticks at round values
    (`nice`: the range widened to the ticks around it)."""

    def __init__(self, low: float, high: float, start: float, end: float, nice: bool = False):
        if high <= low:
            low, high = low - 0.5, high + 0.5
        self.step = _step((high - low) / 5)
        if nice:
            low = math.floor(low / self.step) * self.step
            high = math.ceil(high / self.step) * self.step
        self.low, self.high, self.start, self.end = low, high, start, end

    def __call__(self, value: float) -> float:
        return self.start + (value - self.low) / (self.high - self.low) * (self.end - self.start)

    def ticks(self) -> list[float]:
        first = math.ceil(self.low / self.step - 1e-9)
        last = math.floor(self.high / self.step + 1e-9)
        return [round(i * self.step, 10) for i in range(first, last + 1)]

    def grid(self) -> list[str]:
        return [_hline(self(t), LEFT, RIGHT, GRID) for t in self.ticks()]

    def axis_bottom(self, label: str) -> list[str]:
        marks = [_hline(BOTTOM, LEFT, RIGHT, INK)]
        for t in self.ticks():
            p = self(t)
            marks.append(
                f'<line x1="{p:.1f}" y1="{BOTTOM}" x2="{p:.1f}" y2="{BOTTOM + 4}" stroke="{INK}"/>'
            )
            marks.append(_text(p, BOTTOM + 17, _number(t), INK, "middle"))
        marks.append(_text((LEFT + RIGHT) / 2, HEIGHT - 8, label, INK, "middle"))
        return marks

    def axis_left(self, label: str, color: str) -> list[str]:
        return self._vertical(LEFT, -1, label, color)

    def axis_right(self, label: str, color: str) -> list[str]:
        return self._vertical(RIGHT, 1, label, color)

    def _vertical(self, at: float, side: int, label: str, color: str) -> list[str]:
        marks = [f'<line x1="{at}" y1="{TOP}" x2="{at}" y2="{BOTTOM}" stroke="{INK}"/>']
        anchor = "start" if side > 0 else "end"
        for t in self.ticks():
            p = self(t)
            marks.append(_hline(p, at, at + 4 * side, INK))
            marks.append(_text(at + 7 * side, p + 4, _number(t), color, anchor))
        middle, x = (TOP + BOTTOM) / 2, at + 52 * side
        marks.append(
            f'<text x="{x}" y="{middle}" fill="{color}" text-anchor="middle" '
            f'transform="rotate({90 * side} {x} {middle})">{escape(label)}</text>'
        )
        return marks


def _line(x: Scale, y: Scale, xs: list[float], ys: list[float | None], color: str) -> str:
    """A polyline, keeping the lowest and highest value of each pixel column (an instant
    without a value, such as a reading without its distance, is left out)."""
    columns: dict[int, list[tuple[float, float]]] = {}
    for a, b in zip(xs, ys, strict=True):
        if b is not None:
            at = x(a)
            columns.setdefault(round(at), []).append((at, y(b)))
    points = []
    for column in columns.values():
        kept = column if len(column) <= 2 else [min(column, key=_y), max(column, key=_y)]
        points.extend(sorted(set(kept)))
    listed = " ".join(f"{a:.1f},{b:.1f}" for a, b in points)
    return f'<polyline points="{listed}" fill="none" stroke="{color}" stroke-width="1"/>'


def _y(point: tuple[float, float]) -> float:
    return point[1]


def _span(values: list[float | None]) -> tuple[float, float]:
    """The lowest and highest of the values that are not None ((0, 1) if none is)."""
    listed = [v for v in values if v is not None]
    return (min(listed), max(listed)) if listed else (0, 1)


def _step(raw: float) -> float:
    """The round step (1, 2, 2.5 or 5 times a power of ten) nearest above `raw`."""
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * (1 - 1e-9))


def _number(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:g}"


def _hline(y: float, x1: float, x2: float, color: str) -> str:
    return f'<line x1="{x1}" y1="{y:.1f}" x2="{x2}" y2="{y:.1f}" stroke="{color}"/>'


def _text(x: float, y: float, text: str, color: str, anchor: str, size: int = 11) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" fill="{color}" text-anchor="{anchor}" '
        f'font-size="{size}">{escape(text)}</text>'
    )


def _title(text: str) -> str:
    return _text(WIDTH / 2, 20, text, INK, "middle", size=14)


def _markdown(body: list[str], alt: str) -> str:
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">'
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>{"".join(body)}</svg>'
    )
    return f"![{alt}](data:image/svg+xml;base64,{base64.b64encode(svg.encode()).decode()})"
