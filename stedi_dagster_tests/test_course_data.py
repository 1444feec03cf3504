"""Acceptance on the course data (../shared/udacity-starter): every asset and check through Dagster,
the course's published counts, every check passing, and previews that show no personal data."""

import json
from pathlib import Path

import duckdb
import pytest

from stedi_dagster.lakehouse import Lakehouse
from stedi_dagster_tests.conftest import (
    COURSE_EXPECTATIONS,
    NOTHING_QUARANTINED,
    check_outcomes,
    failed_checks,
    materialize,
    row_counts,
)

COURSE_COUNTS = {
    "customer_landing": 956,
    "accelerometer_landing": 81273,
    "step_trainer_landing": 28680,
    "customer_trusted": 482,
    "accelerometer_trusted": 40981,
    "step_trainer_trusted": 14460,
    "customer_curated": 482,
    "machine_learning_curated": 43681,
    "step_features_curated": 43681,
}


@pytest.fixture(scope="module")
def course_run(definitions, course_data, tmp_path_factory):
    lakehouse = Lakehouse(
        landing_root=str(course_data),
        lakehouse_root=str(tmp_path_factory.mktemp("lakehouse")),
        expectations_path=str(COURSE_EXPECTATIONS),
    )
    return lakehouse, materialize(definitions, lakehouse)


def test_course_counts(course_run):
    _, result = course_run
    assert result.success
    assert row_counts(result) == COURSE_COUNTS | NOTHING_QUARANTINED


def test_every_check_passes_on_course_data_but_the_cross_customer_warning(course_run):
    _, result = course_run
    assert len(check_outcomes(result)) == 62
    assert failed_checks(result) == {"machine_learning_curated_cross_customer_pairs": "WARN"}
    (crossed,) = [
        e
        for e in result.get_asset_check_evaluations()
        if e.check_name == "machine_learning_curated_cross_customer_pairs"
    ]
    assert crossed.metadata["cross_customer_pairs"].value == 2700
    assert crossed.metadata["share"].value == round(2700 / 43681, 4)


def test_expected_counts_come_from_the_shipped_expectations_file(course_run):
    _, result = course_run
    shipped = json.loads(COURSE_EXPECTATIONS.read_text())["tables"]
    assert shipped == COURSE_COUNTS
    for e in result.get_asset_check_evaluations():
        if e.check_name.endswith("_expected_count"):
            table = e.asset_key.to_user_string()
            assert e.metadata["expected"].value == COURSE_COUNTS[table]


def test_zones_are_parquet_folders_readable_by_any_engine(course_run):
    lakehouse, _ = course_run
    root = lakehouse.lakehouse_root
    con = duckdb.connect()
    for name, count in COURSE_COUNTS.items():
        zone = name.rsplit("_", 1)[1]
        folder = f"{root}/{zone}/{name}"
        rows = con.execute("select count(*) from read_parquet(?)", [f"{folder}/*.parquet"])
        assert rows.fetchall()[0][0] == count
    assert list((Path(root) / "_staging").iterdir()) == []
    assert sorted(p.name for p in Path(root).iterdir()) == [
        "_bookmarks",
        "_staging",
        "catalog.duckdb",  # a view per table, kept current by the steps, and its writers' lock
        "catalog.lock",
        "curated",
        "landing",
        "trusted",
    ]


def test_materializations_report_schema_and_masked_preview(course_run, course_data):
    _, result = course_run
    emails, phones = set(), set()
    for line in (course_data / "customer" / "landing").glob("*.json"):
        for record in map(json.loads, line.read_text().splitlines()):
            emails.add(record["email"])
            phones.add(record["phone"])
    for event in result.get_asset_materialization_events():
        metadata = event.materialization.metadata
        schema = metadata["dagster/column_schema"].value
        assert [c.name for c in schema.columns]
        preview = metadata["preview"].value
        rows = metadata["dagster/row_count"].value
        assert preview.count("\n") >= (2 if rows else 1)
        leaked = [e for e in emails if e in preview] + [p for p in phones if p in preview]
        assert leaked == [], event.materialization.asset_key
    customer_preview = next(
        e.materialization.metadata["preview"].value
        for e in result.get_asset_materialization_events()
        if e.materialization.asset_key.to_user_string() == "customer_trusted"
    )
    assert "***@***" in customer_preview


def test_training_profile_figures_match_the_published_table(course_run):
    lakehouse, result = course_run
    (event,) = [
        e
        for e in result.get_asset_materialization_events()
        if e.materialization.asset_key.to_user_string() == "machine_learning_curated"
    ]
    metadata = event.materialization.metadata
    path = f"{lakehouse.lakehouse_root}/curated/machine_learning_curated/*.parquet"
    subjects, median, distance = (
        duckdb.connect()
        .execute(
            "select count(*), median(n), (select round(avg(distanceFromObject), 3) "
            "from read_parquet($path)) "
            "from (select count(*) as n from read_parquet($path) group by subject_id)",
            {"path": path},
        )
        .fetchall()[0]
    )
    assert metadata["subjects"].value == subjects
    assert metadata["pairs_per_subject_median"].value == float(median)
    assert metadata["distance_mean"].value == distance
    profile = metadata["profile"].value
    assert f"| pairs | {43681:,} |" in profile
    assert f"| subjects | {subjects:,} |" in profile
