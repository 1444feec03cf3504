"""Consent rules on tiny handmade inputs (see handmade.py): null, missing and 0 mean no consent,
the newest record of an email decides, ties favour no consent, shared serials stay out, and
machine_learning_curated pairs by millisecond."""

import hashlib
import hmac

import duckdb
import pytest

from stedi_dagster.lakehouse import Lakehouse
from stedi_dagster.privacy.identity import person_key
from stedi_dagster.privacy.pseudonyms import DEVELOPMENT_PSEUDONYM_KEY
from stedi_dagster.tables import TABLES
from stedi_dagster_tests.conftest import (
    NOTHING_QUARANTINED,
    check_outcomes,
    failed_checks,
    materialize,
    row_counts,
)
from stedi_dagster_tests.handmade import EXPECTED_ROWS, write_handmade
from stedi_dagster_tests.test_definitions import EXPECTED_CHECKS


@pytest.fixture(scope="module")
def handmade_run(definitions, tmp_path_factory):
    lakehouse = Lakehouse(
        landing_root=str(write_handmade(tmp_path_factory.mktemp("landing"))),
        lakehouse_root=str(tmp_path_factory.mktemp("lakehouse")),
    )
    return lakehouse, materialize(definitions, lakehouse)


def rows(lakehouse: Lakehouse, table: str, columns: str) -> list[tuple]:
    sql = f"select {columns} from read_parquet(?) order by all"
    return duckdb.connect().execute(sql, [lakehouse.store.files(TABLES[table])]).fetchall()


def test_counts_and_every_check_pass(handmade_run):
    _, result = handmade_run
    assert result.success
    assert row_counts(result) == EXPECTED_ROWS | NOTHING_QUARANTINED
    assert len(check_outcomes(result)) == len(EXPECTED_CHECKS)
    assert failed_checks(result) == {"machine_learning_curated.cross_customer_pairs": "WARN"}


def test_landing_keeps_every_record_with_missing_consent_as_null(handmade_run):
    lakehouse, _ = handmade_run
    consent = rows(
        lakehouse, "customer_landing", "email, lastUpdateDate, shareWithResearchAsOfDate"
    )
    assert ("c@x.test", 10, None) in consent
    assert ("b@x.test", 10, None) in consent
    assert ("d@x.test", 10, 0) in consent
    assert len(consent) == 13


def test_trusted_customers_are_the_consenting_newest_records(handmade_run):
    lakehouse, _ = handmade_run
    trusted = rows(
        lakehouse, "customer_trusted", "email, lastUpdateDate, shareWithResearchAsOfDate"
    )
    assert trusted == [
        ("a@x.test", 10, 5),
        ("f@x.test", 20, 7),
        ("h@x.test", 10, 5),
        ("j@x.test", 10, 5),
    ]


def test_accelerometer_trusted_only_holds_consenting_users(handmade_run):
    lakehouse, _ = handmade_run
    users = [u for (u,) in rows(lakehouse, "accelerometer_trusted", "user")]
    assert users == ["a@x.test"] * 3 + ["f@x.test"] * 2 + ["h@x.test"]


def test_curated_customers_need_accelerometer_readings(handmade_run):
    lakehouse, _ = handmade_run
    curated = [e for (e,) in rows(lakehouse, "customer_curated", "email")]
    assert curated == ["a@x.test", "f@x.test", "h@x.test"]


def test_step_trainer_trusted_excludes_serials_a_non_consenting_customer_claims(handmade_run):
    lakehouse, _ = handmade_run
    readings = rows(lakehouse, "step_trainer_trusted", "serialNumber, sensorReadingTime")
    assert readings == [("S-A", 100), ("S-A", 200), ("S-F", 200), ("S-F", 500)]


def pseudonym(email: str, key: bytes = DEVELOPMENT_PSEUDONYM_KEY) -> str:
    """The documented pseudonym, computed here as documented (independently of the engines' SQL):
    HMAC-SHA256 of the email's person key under the key, 32 hex characters."""
    return hmac.new(key, person_key(email).encode(), hashlib.sha256).hexdigest()[:32]


def test_machine_learning_pairs_each_step_with_every_reading_of_its_millisecond(handmade_run):
    lakehouse, _ = handmade_run
    a, f = pseudonym("a@x.test"), pseudonym("f@x.test")
    pairs = rows(
        lakehouse,
        "machine_learning_curated",
        "step_trainer_subject_id, sensorReadingTime, subject_id, timestamp, x",
    )
    expected = [
        (a, 100, a, 100, 1.0),  # S-A belongs to a
        (a, 100, a, 100, 2.0),
        (a, 200, a, 200, 0.0),
        (a, 200, f, 200, 0.0),  # a's step trainer, f's phone: same millisecond
        (f, 200, a, 200, 0.0),
        (f, 200, f, 200, 0.0),
        (f, 500, f, 500, 0.0),
    ]
    assert pairs == sorted(expected)
    columns = duckdb.connect().execute(
        "describe select * from read_parquet(?)",
        [lakehouse.store.files(TABLES["machine_learning_curated"])],
    )
    assert [c[0] for c in columns.fetchall()] == [
        "sensorReadingTime",
        "distanceFromObject",
        "step_trainer_subject_id",
        "timestamp",
        "x",
        "y",
        "z",
        "subject_id",
    ]
