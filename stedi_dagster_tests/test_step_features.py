"""The step features' windows, from running sums that restart at each subject, against a plain
Python computation of the same definitions (a subject longer than the window, one shorter, one
of a single row, and ties on a millisecond)."""

import math
import random
import statistics

import polars as pl
import pytest

from stedi_dagster.defs.curated.step_features import WINDOW, step_features


def rows() -> list[dict]:
    rng = random.Random(7)
    out = []
    for subject, n in (("a" * 32, 25), ("b" * 32, 4), ("c" * 32, 1)):
        t = 1_000
        for _ in range(n):
            t += rng.choice((0, 3, 20))  # ties on a millisecond too
            out.append(
                {
                    "subject_id": subject,
                    "timestamp": t,
                    "sensorReadingTime": t,
                    "distanceFromObject": rng.randint(180, 300),
                    "x": rng.uniform(-1, 1),
                    "y": rng.uniform(-1, 1),
                    "z": rng.uniform(-1, 1),
                }
            )
    return out


def expected(data: list[dict]) -> list[tuple]:
    out = []
    for i, r in enumerate(data):
        same = [p for p in data[: i + 1] if p["subject_id"] == r["subject_id"]]
        window = [math.sqrt(p["x"] ** 2 + p["y"] ** 2 + p["z"] ** 2) for p in same[-WINDOW:]]
        previous = same[-2] if len(same) > 1 else None
        out.append(
            (
                r["subject_id"],
                window[-1],
                statistics.fmean(window),
                statistics.stdev(window) if len(window) > 1 else None,
                r["distanceFromObject"] - previous["distanceFromObject"] if previous else None,
                r["timestamp"] - previous["timestamp"] if previous else None,
            )
        )
    return out


def test_windows_restart_at_each_subject_and_match_their_definition(tmp_path):
    data = rows()
    pl.DataFrame(data).write_parquet(tmp_path / "ordered.parquet")
    got = step_features(str(tmp_path / "ordered.parquet")).collect(engine="streaming")
    columns = ["subject_id", "magnitude", "magnitude_mean_10", "magnitude_std_10"]
    columns += ["distance_change", "ms_since_previous"]
    actual = got.select(columns).rows()
    assert len(actual) == len(data) == 30
    for a, e in zip(actual, expected(data), strict=True):
        assert a[0] == e[0] and a[4:] == e[4:]
        assert a[1] == pytest.approx(e[1], rel=1e-12)
        assert a[2] == pytest.approx(e[2], rel=1e-9)
        assert (a[3] is None) == (e[3] is None)
        if e[3] is not None:
            assert a[3] == pytest.approx(e[3], rel=1e-6, abs=1e-9)
    assert got.schema["distance_change"] == pl.Int32 and got.schema["ms_since_previous"] == pl.Int64
