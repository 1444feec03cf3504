"""The training profile's charts, drawn in a process of their own (defs/curated/charts.py)."""

import base64
import re
import struct

import pytest

from stedi_dagster.defs.curated.charts import start_drawing


def _png_size(markdown: str) -> tuple[int, int]:
    (encoded,) = re.findall(r"\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", markdown)
    png = base64.b64decode(encoded)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", png[16:24])  # the IHDR chunk: width, height


def test_both_charts_come_back_as_png_images_in_markdown():
    series = [(1_000 + 20 * i, 40.0 + i % 7, 1.0 + (i % 5) / 10) for i in range(200)]
    distribution = [(3, 1), (5, 2), (8, 1), (13, 1), (21, 1)]  # pairs, subjects with that many
    charts = start_drawing(distribution, "a1b2c3d4e5f6a7b8c9d0", series)()
    assert set(charts) == {"pairs", "subject"}
    expected = {"pairs": "Pairs per subject", "subject": "One subject over time"}
    for name, alt in expected.items():
        markdown = charts[name]
        assert markdown.startswith(f"![{alt}")
        width, height = _png_size(markdown)
        assert width > 300 and height > 100


def test_a_drawing_that_fails_raises_with_the_drawing_process_error():
    drawing = start_drawing([(1, 1), (2, 1)], "subject", [])  # no readings: no time axis
    with pytest.raises(RuntimeError, match="drawing the training profile's charts failed") as e:
        drawing()
    assert "IndexError" in str(e.value)
