"""Privacy beyond the course rubric, on the course data: consent from its date, same-customer
pairing, pseudonymous subject ids under a secret key, and no personal data in anything Dagster
records (event log, metadata, check evidence, error messages). The last two run on generated data
too, for a checkout without the course data."""

import json
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from stedi_dagster.defs.privacy.erasure import erase_customer
from stedi_dagster.factory.checks import check_label
from stedi_dagster.lakehouse import Lakehouse
from stedi_dagster.tables import TABLES
from stedi_dagster_tests.conftest import (
    COURSE_DATA,
    COURSE_EXPECTATIONS,
    NOTHING_QUARANTINED,
    failed_checks,
    generated_twin,
    materialize,
    row_counts,
)
from stedi_dagster_tests.test_checks_fail import tamper
from stedi_dagster_tests.test_consent_rules import pseudonym
from stedi_dagster_tests.test_course_data import COURSE_COUNTS

VARIANTS = {
    ("from_consent_date", "timestamp"): {
        "accelerometer_trusted": 32025,
        "customer_curated": 464,
        "step_trainer_trusted": 11297,
        "machine_learning_curated": 34253,
        "step_features_curated": 34253,
    },
    ("from_consent_date", "same_customer"): {
        "accelerometer_trusted": 32025,
        "customer_curated": 464,
        "step_trainer_trusted": 11297,
        "machine_learning_curated": 32025,
        "step_features_curated": 32025,
    },
    ("any_time", "same_customer"): {
        "machine_learning_curated": 40981,
        "step_features_curated": 40981,
    },
}


@pytest.mark.parametrize(("consent_mode", "ml_pairing"), list(VARIANTS))
def test_course_counts_in_each_privacy_setting(
    definitions, course_data, tmp_path, consent_mode, ml_pairing
):
    lakehouse = Lakehouse(
        landing_root=str(course_data),
        lakehouse_root=str(tmp_path),
        expectations_path=str(COURSE_EXPECTATIONS),
        consent_mode=consent_mode,
        ml_pairing=ml_pairing,
    )
    result = materialize(definitions, lakehouse)
    assert result.success
    assert row_counts(result) == {
        **COURSE_COUNTS,
        **VARIANTS[(consent_mode, ml_pairing)],
        **NOTHING_QUARANTINED,
    }
    crossed = {check_label(e): e for e in result.get_asset_check_evaluations()}[
        "machine_learning_curated.cross_customer_pairs"
    ]
    if ml_pairing == "same_customer":
        assert failed_checks(result) == {}
        assert crossed.metadata["cross_customer_pairs"].value == 0
    else:
        assert failed_checks(result) == {"machine_learning_curated.cross_customer_pairs": "WARN"}
    if consent_mode == "from_consent_date":  # none of the removed readings predates consent
        con = duckdb.connect()
        earliest = con.execute(
            "select count(*) from read_parquet(?) a join read_parquet(?) c on a.user = c.email "
            "where a.timestamp < c.shareWithResearchAsOfDate",
            [
                lakehouse.store.files(TABLES["accelerometer_trusted"]),
                lakehouse.store.files(TABLES["customer_trusted"]),
            ],
        ).fetchall()
        assert earliest == [(0,)]


@pytest.fixture(
    scope="module", params=["generated", pytest.param("course", marks=pytest.mark.course)]
)
def people(request, tmp_path_factory) -> Path:
    """A landing folder of people: the course data, or data the generator wrote."""
    if request.param == "course":
        return COURSE_DATA
    landing = tmp_path_factory.mktemp("generated")
    generated_twin(landing)
    return landing


@pytest.mark.slow  # several whole runs
def test_subject_ids_are_keyed_hashes_stable_for_a_key(definitions, people, tmp_path):
    ids, lakehouses = {}, {}
    for run, key in enumerate(("key-one", "key-one", "key-two")):
        lakehouses[key] = Lakehouse(
            landing_root=str(people),
            lakehouse_root=str(tmp_path / str(run)),
            pseudonym_key=key,
        )
        assert materialize(definitions, lakehouses[key]).success
        ids.setdefault(key, []).append(
            duckdb.connect()
            .execute(
                "select distinct subject_id from read_parquet(?) order by 1",
                [lakehouses[key].store.files(TABLES["machine_learning_curated"])],
            )
            .fetchall()
        )
    assert ids["key-one"][0] == ids["key-one"][1]
    assert set(ids["key-one"][0]).isdisjoint(ids["key-two"][0])
    (email,) = (
        duckdb.connect()
        .execute(
            "select min(user) from read_parquet(?)",
            [lakehouses["key-two"].store.files(TABLES["accelerometer_trusted"])],
        )
        .fetchall()[0]
    )
    assert (pseudonym(email, b"key-two"),) in ids["key-two"][0]


def people_of(landing: Path) -> tuple[set[str], set[str]]:
    emails, phones = set(), set()
    for path in (landing / "customer" / "landing").glob("*.json"):
        for record in map(json.loads, path.read_text().splitlines()):
            emails.add(record["email"].lower())
            phones.add(record["phone"])
    return emails, phones


def test_no_personal_data_in_anything_dagster_records(definitions, people, tmp_path):
    emails, phones = people_of(people)
    instance = dg.DagsterInstance.ephemeral()
    lakehouse = Lakehouse(landing_root=str(people), lakehouse_root=str(tmp_path))
    runs = [
        dg.materialize(
            list(definitions.assets), resources={"lakehouse": lakehouse}, instance=instance
        )
    ]
    # a failing consent check, with its evidence, on a tampered trusted table
    non_consenting = sorted(emails - {e.lower() for e in _trusted_emails(lakehouse)})[0]
    tamper(
        lakehouse,
        "accelerometer_trusted",
        f"select * from t union all select '{non_consenting}', 1, 0, 0, 0",
    )
    key = dg.AssetCheckKey(dg.AssetKey("accelerometer_trusted"), "all_consented")
    runs.append(
        dg.materialize(
            list(definitions.assets),
            resources={"lakehouse": lakehouse},
            instance=instance,
            selection=dg.AssetSelection.checks(key),
            raise_on_error=False,
        )
    )
    assert [e.passed for e in runs[-1].get_asset_check_evaluations()] == [False]
    # the erasure of a customer (its run config holds the email; its events must not)
    erasure = dg.Definitions(jobs=[erase_customer], resources={"lakehouse": lakehouse})
    email = sorted(_trusted_emails(lakehouse))[0]
    runs.append(
        erasure.resolve_job_def("erase_customer").execute_in_process(
            run_config={"ops": {"remove_customer": {"config": {"email": email}}}}, instance=instance
        )
    )
    recorded = "\n".join(
        dg.serialize_value(entry) for run in runs for entry in instance.all_logs(run.run_id)
    ).lower()
    assert len(recorded) > 100_000
    assert [e for e in emails if e in recorded] == []
    assert [p for p in phones if p in recorded] == []
    assert "***@***" in recorded  # the masked evidence is there


def _trusted_emails(lakehouse: Lakehouse) -> list[str]:
    return [
        e
        for (e,) in duckdb.connect()
        .execute(
            "select email from read_parquet(?)",
            [lakehouse.store.files(TABLES["customer_trusted"])],
        )
        .fetchall()
    ]
