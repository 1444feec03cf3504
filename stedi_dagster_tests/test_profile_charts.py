"""The training profile's charts (defs/curated/charts.py): SVG images in markdown whose bars and
lines say what the data says; and the median of pairs per subject it reads from their
distribution (defs/curated/profile.py)."""

import base64
import random
import re
import statistics
import xml.etree.ElementTree as ET

from stedi_dagster.defs.curated import profile
from stedi_dagster.defs.curated.charts import BOTTOM, TOP, pairs_chart, subject_chart

SVG = "{http://www.w3.org/2000/svg}"


def svg(markdown: str, alt: str) -> ET.Element:
    (encoded,) = re.findall(
        rf"^!\[{alt}\]\(data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)\)$", markdown
    )
    image = ET.fromstring(base64.b64decode(encoded))  # well-formed XML, or this raises
    assert (image.get("width"), image.get("height")) == ("700", "280")
    return image


def test_the_histogram_counts_every_subject_once_in_the_bar_of_its_pairs():
    distribution = [(3, 1), (5, 2), (8, 1), (13, 4), (21, 1), (43, 2)]  # pairs, subjects
    image = svg(pairs_chart(distribution), "Pairs per subject")
    bars = image.findall(f"{SVG}rect[{SVG}title]")
    said = [
        re.fullmatch(r"(\S+) to (\S+) pairs: (\d+) subjects", b.find(f"{SVG}title").text)
        for b in bars
    ]
    ranges = {(float(m[1]), float(m[2])): int(m[3]) for m in said}
    assert sum(ranges.values()) == 11
    for pairs, subjects in distribution:  # each value in one bar (the last bar closed), alone
        (n,) = [n for (a, b), n in ranges.items() if a <= pairs < b or pairs == b == 43]
        assert n == subjects
    heights = {int(m[3]): float(b.get("height")) for m, b in zip(said, bars, strict=True)}
    assert heights[4] == max(heights.values())  # the bar of 4 subjects is the tallest
    assert heights[4] == 2 * heights[2] == 4 * heights[1]  # heights proportional to subjects
    assert "Pairs per subject" in ET.tostring(image, encoding="unicode")


def test_one_value_of_pairs_gives_one_bar():
    image = svg(pairs_chart([(7, 3)]), "Pairs per subject")
    (bar,) = image.findall(f"{SVG}rect[{SVG}title]")
    assert bar.find(f"{SVG}title").text.endswith(": 3 subjects")


def test_the_subject_chart_draws_both_series_within_the_plot():
    series = [(1_000 + 20 * i, 40.0 + i % 7, 1.0 + (i % 5) / 10) for i in range(200)]
    image = svg(subject_chart("a1b2c3d4e5f6a7b8c9d0", series), "One subject over time")
    distance, magnitude = image.findall(f"{SVG}polyline")
    for line, values in (
        (distance, [d for _, d, _ in series]),
        (magnitude, [m for *_, m in series]),
    ):
        points = [tuple(map(float, p.split(","))) for p in line.get("points").split()]
        assert len(points) == len(series)  # fewer readings than pixels: every one drawn
        ys = [y for _, y in points]
        assert min(ys) >= TOP and max(ys) <= BOTTOM
        # the highest value is drawn highest (SVG's y grows downwards)
        assert ys.index(min(ys)) == values.index(max(values))
    text = ET.tostring(image, encoding="unicode")
    assert "One subject over time (a1b2c3d4e5f6…)" in text
    assert "distanceFromObject (cm)" in text and "acceleration magnitude" in text


def test_a_long_series_keeps_each_pixel_column_s_extremes():
    series = [(i, float(i % 100), 1.0) for i in range(100_000)]  # 100 s, a sawtooth
    markdown = subject_chart("s", series)
    assert len(markdown) < 60_000  # not a point per reading
    (distance, _) = svg(markdown, "One subject over time").findall(f"{SVG}polyline")
    ys = [float(p.split(",")[1]) for p in distance.get("points").split()]
    assert min(ys) < TOP + 5 and max(ys) > BOTTOM - 5  # the teeth's tops and bottoms kept


def test_an_instant_without_a_value_is_left_out_of_its_line():
    series = [(0, 40.0, 1.0), (20, None, 1.2), (40, 45.0, None), (60, 41.0, 1.1)]
    distance, magnitude = svg(subject_chart("s", series), "One subject over time").findall(
        f"{SVG}polyline"
    )
    assert len(distance.get("points").split()) == len(magnitude.get("points").split()) == 3
    nothing = svg(subject_chart("s", [(0, None, None)]), "One subject over time")
    assert [line.get("points") for line in nothing.findall(f"{SVG}polyline")] == ["", ""]


def test_the_median_of_a_distribution_is_that_of_the_values_it_counts():
    rng = random.Random(7)
    for _ in range(300):  # odd and even totals, one value or many, long runs of one value
        values = sorted(rng.sample(range(1, 60), rng.randint(1, 8)))
        distribution = [(v, rng.choice([1, 1, 2, 3, 50])) for v in values]
        every = [v for v, n in distribution for _ in range(n)]
        assert profile._median(distribution) == statistics.median(every), distribution
