"""Each check fails when its rule is broken on purpose, with evidence in its metadata; a failed
blocking check keeps the table unpublished and stops everything downstream."""

import json
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from stedi_dagster.defs.landing.assets import customer_landing
from stedi_dagster.defs.trusted.assets import accelerometer_trusted
from stedi_dagster.defs.trusted.checks import trusted_checks
from stedi_dagster.factory.checks import check_label
from stedi_dagster.factory.drafts import file_draft
from stedi_dagster.factory.table_asset import table_asset
from stedi_dagster.factory.table_spec import TableSpec
from stedi_dagster.lakehouse import Lakehouse
from stedi_dagster.tables import TABLES
from stedi_dagster_tests.conftest import (
    NOTHING_QUARANTINED,
    check_outcomes,
    failed_checks,
    failed_steps,
    materialize,
    row_counts,
    table_files,
    write_jsonl,
)
from stedi_dagster_tests.handmade import EXPECTED_ROWS, AsBuilt, write_handmade
from stedi_dagster_tests.test_consent_rules import pseudonym


@pytest.fixture(scope="module")
def built(definitions, tmp_path_factory) -> AsBuilt:
    """The handmade data, materialized once and all checks passing."""
    built = AsBuilt(definitions, tmp_path_factory.mktemp("checks") / "handmade")
    assert failed_checks(built.result) == {"machine_learning_curated.cross_customer_pairs": "WARN"}
    return built


@pytest.fixture
def lakehouse(built) -> Lakehouse:
    """The handmade lakehouse as it was built, for a test to break on purpose."""
    return built.restore()


def tamper(lakehouse: Lakehouse, table: str, sql: str) -> None:
    """Replace a published table (a landing table's one part) with `sql` computed over its
    current rows (`t`)."""
    t = TABLES[table]
    (path,) = lakehouse.store.files(t)  # a landing table's one part, or the one data file
    con = duckdb.connect()
    con.read_parquet(str(path)).create_view("t")
    con.sql(sql).to_parquet(str(path) + ".tmp")
    Path(str(path) + ".tmp").replace(path)


def run_check(definitions, lakehouse: Lakehouse, check: str) -> dg.AssetCheckEvaluation:
    table, name = check.split(".")  # <table>.<check>
    key = dg.AssetCheckKey(dg.AssetKey(table), name)
    result = materialize(definitions, lakehouse, selection=dg.AssetSelection.checks(key))
    (evaluation,) = result.get_asset_check_evaluations()
    return evaluation


def value(evaluation: dg.AssetCheckEvaluation, key: str):
    return evaluation.metadata[key].value


def test_non_consenting_reading_injected_into_trusted_fails_consent(definitions, lakehouse):
    tamper(
        lakehouse,
        "accelerometer_trusted",
        "select * from t union all select 'b@x.test', 100, 0.0, 0.0, 0.0",
    )
    consent = run_check(definitions, lakehouse, "accelerometer_trusted.all_consented")
    assert not consent.passed
    assert value(consent, "non_consenting_rows") == 1
    assert value(consent, "examples") == ["b***@***"]
    reconcile = run_check(definitions, lakehouse, "accelerometer_trusted.count_reconciles")
    assert not reconcile.passed
    assert (value(reconcile, "rows"), value(reconcile, "independent_count")) == (7, 6)


def test_non_consenting_subject_in_machine_learning_fails_consent(definitions, lakehouse):
    b, a = pseudonym("b@x.test"), pseudonym("a@x.test")
    tamper(
        lakehouse,
        "machine_learning_curated",
        f"select * from t union all select 100, 1, '{a}', 100, 0.0, 0.0, 0.0, '{b}'",
    )
    consent = run_check(definitions, lakehouse, "machine_learning_curated.all_consented")
    assert not consent.passed
    assert value(consent, "examples") == [b]
    assert value(consent, "non_consenting_rows") == 1


def test_leaky_feature_of_a_non_consenting_subject_fails_consent(definitions, lakehouse):
    b = pseudonym("b@x.test")
    tamper(
        lakehouse,
        "step_features_curated",
        f"select * from t union all select '{b}', 100, 100, 1.0, 1.0, null, 10, null, null",
    )
    consent = run_check(definitions, lakehouse, "step_features_curated.all_consented")
    assert not consent.passed
    assert value(consent, "examples") == [b]
    assert value(consent, "non_consenting_rows") == 1
    reconcile = run_check(definitions, lakehouse, "step_features_curated.count_reconciles")
    assert not reconcile.passed
    assert (value(reconcile, "rows"), value(reconcile, "independent_count")) == (8, 7)


@pytest.mark.parametrize("spelling", ["f@x.test", "\tF@X.test\u00a0"])
def test_email_in_machine_learning_fails_no_identifiers(definitions, lakehouse, spelling):
    tamper(
        lakehouse,
        "machine_learning_curated",
        f"select * replace ('{spelling}' as subject_id) from t",
    )
    identifiers = run_check(definitions, lakehouse, "machine_learning_curated.no_identifiers")
    assert not identifiers.passed
    assert value(identifiers, "rows_with_identifiers") == {
        "step_trainer_subject_id": 0,
        "subject_id": 7,
    }


def test_pre_consent_reading_fails_consent_from_consent_date(definitions, tmp_path):
    """With consent_mode from_consent_date, a reading older than its consent is a violation."""
    lakehouse = Lakehouse(
        landing_root=str(write_handmade(tmp_path / "landing")),
        lakehouse_root=str(tmp_path / "lakehouse"),
        consent_mode="from_consent_date",
    )
    assert materialize(definitions, lakehouse).success
    tamper(
        lakehouse,
        "accelerometer_trusted",
        "select * from t union all select 'f@x.test', 3, 0, 0, 0",
    )
    consent = run_check(definitions, lakehouse, "accelerometer_trusted.all_consented")
    assert not consent.passed
    assert value(consent, "examples") == ["f***@***"]


def test_extra_column_fails_schema(definitions, lakehouse):
    tamper(lakehouse, "accelerometer_trusted", "select *, 'a@x.test' as email from t")
    schema = run_check(definitions, lakehouse, "accelerometer_trusted.schema")
    assert not schema.passed
    assert value(schema, "unexpected") == ["email"]


def test_wrong_type_fails_schema(definitions, lakehouse):
    tamper(
        lakehouse,
        "step_trainer_trusted",
        "select * replace (serialNumber::uuid as serialNumber) from t where false",
    )
    schema = run_check(definitions, lakehouse, "step_trainer_trusted.schema")
    assert not schema.passed
    assert value(schema, "wrong_type") == {"serialNumber": "UUID (expected VARCHAR)"}


def test_null_key_fails_keys_not_null(definitions, lakehouse):
    tamper(lakehouse, "accelerometer_trusted", "select * replace (null as user) from t")
    keys = run_check(definitions, lakehouse, "accelerometer_trusted.keys_not_null")
    assert not keys.passed
    assert value(keys, "null_keys") == {"user": 6, "timestamp": 0}


def test_null_keys_from_footers_agree_with_a_count_and_give_way_where_they_cannot_say(tmp_path):
    """keys_not_null reads the nulls of a view over data files from their footers' statistics:
    the same counts as a query; None (the query then) where a file lacks the column."""
    import duckdb

    from stedi_dagster.engines.engine import footer_nulls

    con = duckdb.connect()
    a, b, c = (str(tmp_path / f"{n}.parquet") for n in "abc")
    con.execute(
        f"copy (select case when i % 7 = 0 then null else i end as k, i as t "
        f"from range(100000) r(i)) to '{a}' (format parquet, row_group_size 10000)"
    )
    con.execute(f"copy (select null::bigint as k, 1 as t) to '{b}' (format parquet)")
    con.execute(f"copy (select 1 as t) to '{c}' (format parquet)")  # no column k
    counted = con.execute(
        "select count(*) filter (where k is null), count(*) filter (where t is null) "
        "from read_parquet(?, union_by_name = true)",
        [[a, b]],
    ).fetchall()[0]
    assert footer_nulls(con, [a, b], ["k", "t"]) == dict(zip("kt", counted, strict=True))
    assert counted == (14286 + 1, 0)
    assert footer_nulls(con, [a, c], ["k", "t"]) is None


def test_duplicate_customer_fails_unique_email(definitions, lakehouse):
    tamper(lakehouse, "customer_curated", "select * from t union all select * from t limit 4")
    unique = run_check(definitions, lakehouse, "customer_curated.unique_email")
    assert not unique.passed
    assert value(unique, "duplicate_rows") == 1


def test_lost_pair_fails_reconciliation(definitions, lakehouse):
    tamper(lakehouse, "machine_learning_curated", "select * from t limit 6")
    reconcile = run_check(definitions, lakehouse, "machine_learning_curated.count_reconciles")
    assert not reconcile.passed
    assert (value(reconcile, "rows"), value(reconcile, "independent_count")) == (6, 7)
    consent = run_check(definitions, lakehouse, "machine_learning_curated.all_consented")
    assert consent.passed


def test_lost_landing_row_fails_all_lines_accounted(definitions, lakehouse):
    tamper(lakehouse, "customer_landing", "select * from t limit 12")
    landed = run_check(definitions, lakehouse, "customer_landing.all_lines_accounted")
    assert not landed.passed
    assert (value(landed, "rows"), value(landed, "json_lines")) == (12, 13)
    assert value(landed, "unaccounted_files") == [
        "customer-1.json: 13 lines, 12 rows + 0 quarantined + 0 erased"
    ]


def test_landing_file_changed_since_its_run_fails_all_lines_accounted(definitions, lakehouse):
    path = Path(lakehouse.landing_root) / "customer" / "landing" / "customer-1.json"
    path.write_text(path.read_text() + path.read_text().splitlines()[0] + "\n")
    landed = run_check(definitions, lakehouse, "customer_landing.all_lines_accounted")
    assert not landed.passed
    assert value(landed, "files_not_ingested_at_current_version") == ["customer-1.json"]


def test_wrong_expectation_fails_expected_count_without_blocking(definitions, tmp_path):
    expectations = tmp_path / "expectations.json"
    expectations.write_text(json.dumps({"tables": {**EXPECTED_ROWS, "customer_curated": 4}}))
    lakehouse = Lakehouse(
        landing_root=str(write_handmade(tmp_path / "landing")),
        lakehouse_root=str(tmp_path / "lakehouse"),
        expectations_path=str(expectations),
    )
    result = materialize(definitions, lakehouse)
    assert failed_checks(result) == {
        "customer_curated.expected_count": "ERROR",
        "machine_learning_curated.cross_customer_pairs": "WARN",
    }
    assert result.success  # non-blocking: everything downstream still ran
    assert row_counts(result) == EXPECTED_ROWS | NOTHING_QUARANTINED


def test_an_unknown_json_field_warns_and_its_line_lands_with_the_field_kept(definitions, lakehouse):
    """A field the schema does not know stops nothing: its line lands, the field kept in
    extra_fields, the warning names it with its file and lines, and downstream tables are built
    with their own columns only (see test_schema_evolution.py for adopting it)."""
    write_jsonl(
        Path(lakehouse.landing_root) / "step_trainer" / "landing" / "step_trainer-2.json",
        [{"sensorReadingTime": 1, "serialNumber": "S-A", "distanceFromObject": 1, "speed": 3}],
    )
    result = materialize(definitions, lakehouse)
    assert result.success
    assert failed_checks(result)["step_trainer_landing.no_unknown_fields"] == "WARN"
    evaluation = next(
        e
        for e in result.get_asset_check_evaluations()
        if check_label(e) == "step_trainer_landing.no_unknown_fields"
    )
    assert value(evaluation, "unknown_fields") == {"speed": 1}
    assert value(evaluation, "files_by_field") == {
        "speed": {"files": 1, "first_files": ["step_trainer-2.json"]}
    }
    with lakehouse.connect("step_trainer_landing", "step_trainer_trusted") as engine:
        kept = engine.rows(
            "select extra_fields from step_trainer_landing where extra_fields is not null"
        )
        trusted = engine.describe("step_trainer_trusted")
    assert [json.loads(text) for (text,) in kept] == [{"speed": 3}]
    assert trusted == TABLES["step_trainer_trusted"].columns
    built = {
        e.materialization.asset_key.to_user_string()
        for e in result.get_asset_materialization_events()
    }
    assert {"step_trainer_trusted", "machine_learning_curated"} <= built


def leaky_customer_trusted() -> dg.AssetsDefinition:
    """customer_trusted with a bug that lets every customer record in, and its real checks."""
    columns = ", ".join(f'"{c}"' for c in TABLES["customer_trusted"].columns)

    def leaky(engine, _, path, where, spread) -> list[Path]:
        return engine.write_parquet(f"select {columns} from customer_landing", path, spread)

    return table_asset(
        TableSpec(
            "customer_trusted",
            inputs=("customer_landing",),
            checks=trusted_checks("customer_trusted", reads=("customer_landing",)),
            description="One row per customer record, consent ignored (a bug).",
            draft=file_draft("customer_trusted", leaky),
        )
    )


def test_leaky_transform_is_stopped_by_the_consent_gate(lakehouse, tmp_path):
    """A bug that lets every customer into customer_trusted is caught before publication."""
    published = table_files(lakehouse, TABLES["customer_trusted"])
    leaky = leaky_customer_trusted()
    result = dg.materialize(
        [customer_landing, leaky, accelerometer_trusted],
        resources={"lakehouse": lakehouse},
        raise_on_error=False,
    )
    assert not result.success
    consent = next(
        e
        for e in result.get_asset_check_evaluations()
        if check_label(e) == "customer_trusted.all_consented"
    )
    assert not consent.passed
    assert value(consent, "non_consenting_rows") == 8  # b, c, d, e x2, g x2, i
    assert "@x.test" not in json.dumps(value(consent, "examples"))
    assert "customer_trusted.all_consented" in failed_steps(result)["customer_trusted"]
    assert table_files(lakehouse, TABLES["customer_trusted"]) == published
    built = {
        e.materialization.asset_key.to_user_string()
        for e in result.get_asset_materialization_events()
    }
    assert built == {"customer_landing", "customer_quarantine"}
    assert list((Path(lakehouse.lakehouse_root) / "_staging").iterdir()) == []


def test_the_gate_holds_when_the_asset_is_requested_without_its_checks(lakehouse, tmp_path):
    """A sensor or automation may request the asset alone: every check still guards publication
    and is recorded."""
    published = table_files(lakehouse, TABLES["customer_trusted"])
    leaky = leaky_customer_trusted()
    result = dg.materialize(
        [customer_landing, leaky],
        resources={"lakehouse": lakehouse},
        selection=dg.AssetSelection.assets("customer_trusted")
        - dg.AssetSelection.all_asset_checks(),
        raise_on_error=False,
    )
    assert not result.success
    assert check_outcomes(result)["customer_trusted.all_consented"] is False
    assert len(check_outcomes(result)) == 6
    assert table_files(lakehouse, TABLES["customer_trusted"]) == published
    observations = [e for e in result.all_events if e.event_type_value == "ASSET_OBSERVATION"]
    assert observations[0].asset_observation_data.asset_observation.metadata[
        "publication"
    ].value == ("blocked")
