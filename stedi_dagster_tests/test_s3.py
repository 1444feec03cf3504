"""S3 end to end against a real S3-compatible server (moto's server mode) on loopback: the course
data with both roots on S3, a mixed run, `stedi sql` and the catalog on S3, atomic replacement for
concurrent readers, and the errors users meet, each clear and changing nothing."""

import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import pytest

from stedi_dagster.lakehouse import Lakehouse
from stedi_dagster.tables import LANDING_DATASETS, TABLES, files_table
from stedi_dagster_tests.conftest import (
    COURSE_EXPECTATIONS,
    NOTHING_QUARANTINED,
    check_outcomes,
    failed_checks,
    failed_steps,
    materialize,
    publish_rows,
    row_counts,
)
from stedi_dagster_tests.s3_server import free_port, moto_server
from stedi_dagster_tests.test_course_data import COURSE_COUNTS
from stedi_dagster_tests.test_definitions import EXPECTED_CHECKS

pytestmark = pytest.mark.s3


def objects(s3, prefix: str) -> list[str]:
    """The objects under `prefix`, a Delta data file's random name shown as `part-<uuid>`."""
    return sorted(re.sub(r"part-[0-9a-f]{32}", "part-<uuid>", o) for o in s3.find(prefix))


@pytest.fixture(scope="module")
def s3_run(definitions, s3, s3_endpoint, course_on_s3):
    s3.mkdir("stedi-lakehouse")
    lakehouse = Lakehouse(
        landing_root=course_on_s3,
        lakehouse_root="s3://stedi-lakehouse/prod",
        expectations_path=str(COURSE_EXPECTATIONS),
        s3_endpoint_url=s3_endpoint,
        pseudonym_key="s3-test-key",
    )
    return lakehouse, materialize(definitions, lakehouse)


def test_both_roots_on_s3_give_the_course_counts_and_passing_checks(s3_run):
    _, result = s3_run
    assert result.success, failed_steps(result)
    assert row_counts(result) == COURSE_COUNTS | NOTHING_QUARANTINED
    assert len(check_outcomes(result)) == len(EXPECTED_CHECKS)
    assert failed_checks(result) == {"machine_learning_curated.cross_customer_pairs": "WARN"}


def test_s3_layout_is_a_delta_table_per_table(s3_run, s3):
    """Every table, and each landing dataset's files ingested, is a Delta table of one commit
    (on S3, by conditional PUT); its rows are in one data file (the course's landing files are
    few enough for one batch), a quarantine table without a line has none."""
    _, _ = s3_run
    prefix = "stedi-lakehouse/prod"
    expected = []
    for t in [*TABLES.values(), *map(files_table, LANDING_DATASETS)]:
        folder = f"{prefix}/{t.zone}/{t.name}"
        expected.append(f"{folder}/_delta_log/{0:020}.json")
        if not t.name.endswith("_quarantine"):
            expected.append(f"{folder}/part-<uuid>.parquet")
    assert objects(s3, prefix) == sorted(expected)


def test_stedi_sql_and_catalog_read_the_s3_lakehouse(s3_run, s3, s3_endpoint, tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("STEDI_")},
        "STEDI_LAKEHOUSE_ROOT": "s3://stedi-lakehouse/prod",
        "STEDI_S3_ENDPOINT_URL": s3_endpoint,
    }
    stedi = str(Path(sys.executable).parent / "stedi")
    query = "select count(*) from machine_learning_curated"
    done = subprocess.run([stedi, "sql", query], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "43681" in done.stdout

    done = subprocess.run([stedi, "catalog"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "s3://stedi-lakehouse/prod/catalog.duckdb"
    local = tmp_path / "catalog.duckdb"
    s3.get_file("stedi-lakehouse/prod/catalog.duckdb", str(local))
    con = duckdb.connect(str(local), read_only=True)
    con.register_filesystem(s3)
    assert con.execute("select count(*) from customer_curated").fetchall() == [(482,)]
    s3.rm_file("stedi-lakehouse/prod/catalog.duckdb")


def test_landing_on_s3_lakehouse_on_local_disk(definitions, s3_endpoint, course_on_s3, tmp_path):
    lakehouse = Lakehouse(
        landing_root=course_on_s3,
        lakehouse_root=str(tmp_path / "lakehouse"),
        expectations_path=str(COURSE_EXPECTATIONS),
        s3_endpoint_url=s3_endpoint,
    )
    result = materialize(definitions, lakehouse)
    assert result.success, failed_steps(result)
    assert row_counts(result) == COURSE_COUNTS | NOTHING_QUARANTINED
    assert failed_checks(result) == {"machine_learning_curated.cross_customer_pairs": "WARN"}
    assert all(Path(f).is_file() for f in lakehouse.store.files(TABLES["customer_curated"]))


def test_s3_lakehouse_without_pseudonym_key_stops_at_the_training_table(
    definitions, s3, s3_endpoint, course_on_s3
):
    lakehouse = Lakehouse(
        landing_root=course_on_s3,
        lakehouse_root="s3://stedi-lakehouse/keyless",
        s3_endpoint_url=s3_endpoint,
    )
    result = materialize(definitions, lakehouse)
    assert not result.success
    errors = failed_steps(result)
    assert list(errors) == ["machine_learning_curated"]
    assert "STEDI_PSEUDONYM_KEY is not set" in errors["machine_learning_curated"]
    assert not s3.exists("stedi-lakehouse/keyless/curated/machine_learning_curated")


def test_s3_readers_see_the_old_or_the_new_version_never_a_mix(s3, s3_endpoint):
    s3.mkdir("stedi-atomic")
    lakehouse = Lakehouse(
        landing_root="s3://stedi-atomic/landing",
        lakehouse_root="s3://stedi-atomic/lakehouse",
        s3_endpoint_url=s3_endpoint,
    )
    table = TABLES["accelerometer_trusted"]
    sizes = (1_000, 400_000)
    publish_rows(lakehouse, table, sizes[0])
    seen: set[int] = set()
    errors: list[Exception] = []
    stop = threading.Event()

    def read() -> None:
        with lakehouse.connect() as reader:
            while not stop.is_set():
                try:
                    files = lakehouse.store.files(table)
                    seen.add(reader.scalar("select count(*) from read_parquet(?)", [files]))
                except Exception as e:  # noqa: BLE001 - collected and asserted on below
                    errors.append(e)

    thread = threading.Thread(target=read)
    thread.start()
    try:
        for i in range(12):
            publish_rows(lakehouse, table, sizes[i % 2])
    finally:
        stop.set()
        thread.join()
    # A read that spans a replacement is refused (s3fs reads with If-Match on the ETag), never
    # answered with a mix of versions; every answered read is one whole version.
    assert seen == set(sizes)
    assert all("no longer exists" in str(e) for e in errors), errors[:1]


# --- the errors users meet ----------------------------------------------------------------


def assert_fails_cleanly(definitions, lakehouse: Lakehouse, message: str, lakehouse_dir: Path):
    result = materialize(definitions, lakehouse)
    assert not result.success
    errors = failed_steps(result)
    assert {"customer_landing", "accelerometer_landing", "step_trainer_landing"} <= set(errors)
    for error in errors.values():
        assert message in error, error
    assert row_counts(result) == {}
    assert not (lakehouse_dir / "landing").exists()  # nothing was published


def test_missing_bucket(definitions, s3_endpoint, tmp_path):
    lakehouse = Lakehouse(
        landing_root="s3://no-such-bucket/course",
        lakehouse_root=str(tmp_path),
        s3_endpoint_url=s3_endpoint,
    )
    assert_fails_cleanly(
        definitions, lakehouse, f"bucket no-such-bucket does not exist at {s3_endpoint}", tmp_path
    )


def test_missing_lakehouse_bucket_changes_nothing(definitions, s3, s3_endpoint, course_on_s3):
    lakehouse = Lakehouse(
        landing_root=course_on_s3,
        lakehouse_root="s3://no-lakehouse-bucket/prod",
        s3_endpoint_url=s3_endpoint,
    )
    result = materialize(definitions, lakehouse)
    assert not result.success
    assert "bucket no-lakehouse-bucket does not exist" in failed_steps(result)["customer_landing"]
    assert not s3.exists("no-lakehouse-bucket")


def test_wrong_credentials(definitions, tmp_path, monkeypatch, aws_env):
    with moto_server(INITIAL_NO_AUTH_ACTION_COUNT="0") as endpoint:  # this one checks keys
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAWRONGWRONGWRONG1")
        lakehouse = Lakehouse(
            landing_root="s3://stedi-landing/course",
            lakehouse_root=str(tmp_path),
            s3_endpoint_url=endpoint,
        )
        assert_fails_cleanly(
            definitions, lakehouse, "access to s3://stedi-landing/course", tmp_path
        )
        assert (
            "Check the AWS credentials"
            in failed_steps(materialize(definitions, lakehouse))["customer_landing"]
        )


def test_unreachable_endpoint(definitions, tmp_path, aws_env):
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    lakehouse = Lakehouse(
        landing_root="s3://stedi-landing/course",
        lakehouse_root=str(tmp_path),
        s3_endpoint_url=endpoint,
    )
    assert_fails_cleanly(
        definitions, lakehouse, f"cannot reach the S3 endpoint {endpoint}", tmp_path
    )


def test_prefix_without_landing_files(definitions, s3_endpoint, course_on_s3, tmp_path):
    lakehouse = Lakehouse(
        landing_root="s3://stedi-landing/nothing-here",
        lakehouse_root=str(tmp_path),
        s3_endpoint_url=s3_endpoint,
    )
    assert_fails_cleanly(
        definitions,
        lakehouse,
        "no landing files for",
        tmp_path,
    )
    errors = failed_steps(materialize(definitions, lakehouse))
    assert (
        "no *.json in s3://stedi-landing/nothing-here/customer/landing"
        in errors["customer_landing"]
    )


def test_export_like_landing_files_on_s3(definitions, s3, s3_endpoint, tmp_path):
    """Compressed and renamed landing files, a JSON array and an unrecognized file, read from an
    S3 prefix as from a folder: the same accounting and reports as on disk."""
    from stedi_dagster_tests.test_exports_and_identity import write_exports

    landing = write_exports(tmp_path / "landing")
    s3.mkdir("stedi-exports")
    for f in landing.rglob("*"):
        if f.is_file():
            s3.put_file(str(f), f"stedi-exports/landing/{f.relative_to(landing)}")
    lakehouse = Lakehouse(
        landing_root="s3://stedi-exports/landing",
        lakehouse_root=str(tmp_path / "lakehouse"),
        s3_endpoint_url=s3_endpoint,
        quarantine_max_fraction=1.0,
    )
    result = materialize(definitions, lakehouse)
    assert result.success
    records = lakehouse.ingested.committed("accelerometer")
    assert {name: (r.lines, r.rows, r.quarantined) for name, r in records.items()} == {
        "sam.json.gz": (4, 3, 1),
        "pat.json.zst": (3, 2, 1),
        "more.jsonl": (1, 1, 0),
        "more.ndjson": (1, 1, 0),
        "blank.jsonl": (2, 0, 2),  # users that are only white space
        "zz-copy.json": (4, 0, 4),
        "array.json": (4, 0, 4),
        "pretty.json": (7, 0, 7),
    }
    assert records["zz-copy.json"].duplicate_of == "sam.json.gz"
    outcomes = check_outcomes(result)
    assert outcomes["accelerometer_landing.all_lines_accounted"] is True
    assert outcomes["accelerometer_landing.no_unrecognized_files"] is False
    assert row_counts(result)["accelerometer_trusted"] == 5
