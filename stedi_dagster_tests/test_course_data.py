"""Acceptance on the course data (../shared/udacity-starter): every asset and check through Dagster,
the course's published counts, every check passing, and previews that show no personal data.

Every property but the course's own figures is proven on generated data too (`stedi generate`,
whose expectations file holds the counts it chose), so that a checkout without the course data
still covers the pipeline end to end.
"""

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from stedi_dagster.factory.checks import check_label
from stedi_dagster.lakehouse import PROJECT_ROOT, Lakehouse
from stedi_dagster.tables import TABLES
from stedi_dagster_tests.conftest import (
    COURSE_DATA,
    COURSE_EXPECTATIONS,
    NOTHING_QUARANTINED,
    check_outcomes,
    failed_checks,
    generated_twin,
    materialize,
    row_counts,
)
from stedi_dagster_tests.test_definitions import EXPECTED_CHECKS

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


@pytest.fixture(
    scope="module", params=["generated", pytest.param("course", marks=pytest.mark.course)]
)
def course_run(request, definitions, tmp_path_factory):
    """(lakehouse, result, counts, landing folder) of a whole run on the course data, or on data
    the generator wrote with its expected counts."""
    lakehouse_root = str(tmp_path_factory.mktemp("lakehouse"))
    if request.param == "course":
        landing, expectations, counts = COURSE_DATA, COURSE_EXPECTATIONS, COURSE_COUNTS
    else:
        landing = tmp_path_factory.mktemp("generated")
        counts = generated_twin(landing)
        expectations = landing / "expectations.json"
    lakehouse = Lakehouse(
        landing_root=str(landing),
        lakehouse_root=lakehouse_root,
        expectations_path=str(expectations),
    )
    return lakehouse, materialize(definitions, lakehouse), counts, landing


def test_counts_are_the_course_s_or_the_generator_s(course_run):
    _, result, counts, _ = course_run
    assert result.success
    assert row_counts(result) == counts | NOTHING_QUARANTINED


def test_every_check_passes_but_the_cross_customer_warning(course_run):
    _, result, counts, landing = course_run
    assert len(check_outcomes(result)) == len(EXPECTED_CHECKS)
    assert failed_checks(result) == {"machine_learning_curated.cross_customer_pairs": "WARN"}
    (crossed,) = [
        e
        for e in result.get_asset_check_evaluations()
        if check_label(e) == "machine_learning_curated.cross_customer_pairs"
    ]
    pairs, rows = crossed.metadata["cross_customer_pairs"].value, counts["machine_learning_curated"]
    if landing == COURSE_DATA:
        assert pairs == 2700
    assert pairs > 0
    assert crossed.metadata["share"].value == round(pairs / rows, 4)


def test_the_plain_duckdb_peer_of_the_benchmark_gives_the_same_counts(course_run, tmp_path):
    """`bench/plain_duckdb.py` runs the project's SQL on a plain connection, as the benchmark's
    floor (`make bench`): a command of its own, started as the benchmark starts it."""
    _, _, counts, landing = course_run
    done = subprocess.run(
        [sys.executable, "-m", "bench.plain_duckdb", str(landing), str(tmp_path)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    peer = json.loads(done.stdout.splitlines()[-1])
    assert peer == {name: counts[name] for name in peer}
    assert set(peer) == {n for n, t in TABLES.items() if t.zone != "landing"}


def test_expected_counts_come_from_the_shipped_expectations_file(course_run):
    lakehouse, result, counts, landing = course_run
    shipped = json.loads(Path(lakehouse.expectations_path).read_text())["tables"]
    assert shipped == counts
    if landing == COURSE_DATA:
        assert Path(lakehouse.expectations_path) == COURSE_EXPECTATIONS
    for e in result.get_asset_check_evaluations():
        if e.check_name == "expected_count":
            table = e.asset_key.to_user_string()
            assert e.metadata["expected"].value == counts[table]


def test_zones_are_parquet_folders_readable_by_any_engine(course_run):
    lakehouse, _, counts, _ = course_run
    root = lakehouse.lakehouse_root
    con = duckdb.connect()
    for name, count in counts.items():
        files = lakehouse.store.files(TABLES[name])
        rows = con.execute("select count(*) from read_parquet(?)", [files])
        assert rows.fetchall()[0][0] == count
    assert list((Path(root) / "_staging").iterdir()) == []
    assert sorted(p.name for p in Path(root).iterdir()) == [
        "_locks",  # of the landing datasets' writers
        "_shared_tables",  # what the checks computed from landing, for the runs that follow
        "_staging",
        "catalog.duckdb",  # a view per table, kept current by the steps, and its writers' lock
        "catalog.lock",
        "curated",
        "landing",
        "trusted",
    ]


def test_materializations_report_schema_and_masked_preview(course_run):
    _, result, _, landing = course_run
    emails, phones = set(), set()
    for line in (landing / "customer" / "landing").glob("*.json"):
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
    lakehouse, result, counts, _ = course_run
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
    assert f"| pairs | {counts['machine_learning_curated']:,} |" in profile
    assert f"| subjects | {subjects:,} |" in profile
    # the series drawn: the busiest subject's distinct milliseconds and the seconds they span
    instants, span = (
        duckdb.connect()
        .execute(
            "select count(distinct timestamp), (max(timestamp) - min(timestamp)) / 1000 "
            "from read_parquet($path) where subject_id = (select subject_id from "
            "read_parquet($path) group by 1 order by count(*) desc, 1 limit 1)",
            {"path": path},
        )
        .fetchall()[0]
    )
    assert f"(the busiest: {instants:,} instants over {span:,.0f} s)" in profile


def test_a_tab_padded_withdrawal_and_tab_padded_readings_are_honoured(
    definitions, course_run, tmp_path
):
    """Issue 22's case, on the whole data: a consenting customer's newer record withdraws
    consent under their email with a tab before it and a space and a tab after it, and another
    consenting customer's readings arrive under their email followed by a tab."""
    lakehouse, _, _, landing = course_run
    with lakehouse.connect("customer_curated", "customer_landing", engine="duckdb") as engine:
        (withdrawn, latest), (reader, _) = engine.rows(
            "select c.email, (select max(lastUpdateDate) from customer_landing) "
            "from customer_curated c order by c.email limit 2"
        )
        record = engine.rows(
            "select to_json(c) from customer_landing c where email = ? limit 1", [withdrawn]
        )[0][0]
    padded = tmp_path / "landing"
    for dataset in ("customer", "accelerometer", "step_trainer"):
        folder = padded / dataset / "landing"
        folder.mkdir(parents=True)
        for f in (landing / dataset / "landing").iterdir():
            (folder / f.name).symlink_to(f)
    newer = json.loads(record) | {
        "email": f"\t{withdrawn} \t",
        "lastUpdateDate": latest + 1,
        "shareWithResearchAsOfDate": None,
    }
    newer["birthDay"] = str(newer["birthDay"])
    (padded / "customer" / "landing" / "withdrawal.json").write_text(json.dumps(newer) + "\n")
    readings = [
        {"user": f"{reader}\t", "timestamp": 10**13 + i, "x": 0.1, "y": 0.2, "z": 0.3}
        for i in range(20)
    ]
    (padded / "accelerometer" / "landing" / "padded.json").write_text(
        "".join(json.dumps(r) + "\n" for r in readings)
    )
    again = Lakehouse(landing_root=str(padded), lakehouse_root=str(tmp_path / "lakehouse"))
    result = materialize(definitions, again)
    assert result.success
    assert all(ok for name, ok in check_outcomes(result).items() if "consented" in name)
    tables = ["customer_trusted", "customer_curated", "accelerometer_trusted"]
    tables += ["machine_learning_curated", "step_features_curated"]
    with again.connect(*tables, engine="duckdb") as engine:
        key = "person_key(?)"
        assert engine.rows(
            f"select (select count(*) from customer_trusted where person_key(email) = {key}), "
            f"(select count(*) from customer_curated where person_key(email) = {key}), "
            f"(select count(*) from accelerometer_trusted where person_key(user) = {key}), "
            "(select count(*) from machine_learning_curated where subject_id = pseudonym(?) "
            "or step_trainer_subject_id = pseudonym(?)), "
            "(select count(*) from step_features_curated where subject_id = pseudonym(?))",
            [withdrawn] * 6,
        ) == [(0, 0, 0, 0, 0)]
        assert engine.rows(
            "select count(*) from accelerometer_trusted where user = ?", [f"{reader}\t"]
        ) == [(20,)]
