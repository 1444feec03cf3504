"""The Spark engine (STEDI_ENGINE=spark, PySpark local[2]) against DuckDB on the same landing
files: the course data plus bad lines, a duplicate file, an empty file and an erased customer
(in several spellings).
Both engines must publish identical rows in every table, the same Parquet schemas, the same
records of the files ingested and the same check results."""

import json
import shutil
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from stedi_dagster.defs.trusted import assets as trusted_assets
from stedi_dagster.factory.checks import check_label
from stedi_dagster.lakehouse import Lakehouse, LakehouseError
from stedi_dagster.privacy.identity import erasure_hash
from stedi_dagster.privacy.pseudonyms import pseudonym
from stedi_dagster.privacy.records import ERASURE_LIST
from stedi_dagster.sql import read_sql
from stedi_dagster.tables import LANDING_DATASETS, TABLES
from stedi_dagster_tests.conftest import (
    check_outcomes,
    failed_checks,
    materialization,
    materialize,
    row_counts,
    write_jsonl,
)
from stedi_dagster_tests.test_course_data import COURSE_COUNTS
from stedi_dagster_tests.test_definitions import EXPECTED_CHECKS
from stedi_dagster_tests.test_shared_tables import assert_counts_follow_the_views

pytestmark = pytest.mark.spark

ERASED_EMAIL = "erased.person@x.test"
ERASED_CUSTOMER = {
    "customerName": "Erased Person",
    "email": ERASED_EMAIL,
    "phone": "5550000001",
    "birthDay": "1980-01-01",
    "serialNumber": "S-ERASED",
    "registrationDate": 1,
    "lastUpdateDate": 2,
    "shareWithResearchAsOfDate": 3,
}
# the erased customer's email and serial in other spellings (white space of other kinds at the
# ends, other case): erased all the same, on both engines, also by the words of a line that is no
# JSON object
NBSP, EM_SPACE = "\u00a0", "\u2003"
DUPLICATED = "accelerometer-1691348232031.json"  # 1273 lines, copied as zz-copy.json
EXTRA = {
    "customer": [
        '{"customerName": "Broken", "email": ',
        json.dumps(ERASED_CUSTOMER),
        json.dumps(ERASED_CUSTOMER | {"email": "late@x.test", "birthDay": "last spring"}),
        json.dumps(ERASED_CUSTOMER | {"email": f"\tERASED.Person@X.test{EM_SPACE}"}),
        "[1, 2]",
        "",
    ],
    "accelerometer": [
        '{"user": "late@x.test", "timestamp": 1, "x": "abc", "y": 1, "z": 1}',
        '{"timestamp": 1, "x": 1, "y": 1, "z": 1}',
        json.dumps({"user": ERASED_EMAIL, "timestamp": 1, "x": 1, "y": 1, "z": 1}),
        json.dumps(
            {"user": f"{NBSP}Erased.Person@x.TEST\r", "timestamp": 2, "x": 1, "y": 1, "z": 1}
        ),
        json.dumps([f"ERASED.person@X.TEST{NBSP}", 1], ensure_ascii=False),
        # fields the schema does not know: the line lands, with them in extra_fields
        json.dumps(
            {"user": "late@x.test", "timestamp": 2, "x": 1, "y": 1, "z": 1}
            | {"firmwareVersion": "2.1", "extra": {"a": [1, 2.5], "b": None}}
        ),
    ],
    "step_trainer": [
        json.dumps({"sensorReadingTime": 1, "serialNumber": "S-ERASED", "distanceFromObject": 1}),
        json.dumps(
            {"sensorReadingTime": 2, "serialNumber": "\ts-Erased ", "distanceFromObject": 1}
        ),
        '{"sensorReadingTime": "soon", "serialNumber": "S-1", "distanceFromObject": 1}',
    ],
}
QUARANTINED = {
    "customer_quarantine": 4,  # malformed, not a DATE, not an object, not UTF-8
    "accelerometer_quarantine": 2 + 1273,  # not a DOUBLE, missing key, the duplicate file
    "step_trainer_quarantine": 1,  # not a BIGINT
}
# The course's counts with the line of unknown fields (of no customer: landing only).
EXPECTED = COURSE_COUNTS | {"accelerometer_landing": COURSE_COUNTS["accelerometer_landing"] + 1}


def landing_with_extras(course_data: Path, root: Path) -> Path:
    for dataset in LANDING_DATASETS:
        folder = root / dataset / "landing"
        folder.mkdir(parents=True)
        for f in (course_data / dataset / "landing").glob("*.json"):
            (folder / f.name).symlink_to(f)
        write_jsonl(folder / "extra.json", EXTRA[dataset])
    with (root / "customer" / "landing" / "extra.json").open("ab") as f:
        f.write(b'{"email": "\xff\xfe"}\n')
    shutil.copy(
        course_data / "accelerometer" / "landing" / DUPLICATED,
        root / "accelerometer" / "landing" / "zz-copy.json",
    )
    (root / "step_trainer" / "landing" / "empty.json").write_bytes(b"")
    return root


@pytest.fixture(scope="module")
def runs(definitions, course_data, tmp_path_factory):
    """engine -> (lakehouse, result): the same landing files through each engine."""
    root = tmp_path_factory.mktemp("engines")
    landing = landing_with_extras(course_data, root / "landing")
    expectations = root / "expectations.json"
    expectations.write_text(json.dumps({"tables": EXPECTED}))
    out = {}
    for engine in ("duckdb", "spark"):
        lakehouse = Lakehouse(
            landing_root=str(landing),
            lakehouse_root=str(root / engine),
            expectations_path=str(expectations),
            quarantine_max_fraction=1.0,
            engine=engine,
        )
        erased = [{"kind": "email", "sha256": erasure_hash(ERASED_EMAIL)}] + [
            {"kind": "serial", "sha256": erasure_hash("S-ERASED")}
        ]
        lakehouse.privacy.append_log(ERASURE_LIST, erased)
        out[engine] = lakehouse, materialize(definitions, lakehouse)
    return out


def test_spark_publishes_the_course_counts_and_the_quarantine(runs):
    _, result = runs["spark"]
    assert result.success
    assert row_counts(result) == EXPECTED | QUARANTINED
    assert materialization(result, "customer_landing")["engine"] == "spark"
    # the reading of the erased email, one in another spelling, a line naming it in another
    assert materialization(result, "accelerometer_landing")["erased_lines"] == 3


def test_both_engines_give_the_same_check_results(runs):
    (_, duck), (_, spark) = runs["duckdb"], runs["spark"]
    assert len(check_outcomes(spark)) == len(EXPECTED_CHECKS)
    assert check_outcomes(spark) == check_outcomes(duck)
    assert failed_checks(spark) == {
        "machine_learning_curated.cross_customer_pairs": "WARN",
        "accelerometer_landing.no_unknown_fields": "WARN",
    } | {f"{d}_quarantine.quarantined_rows": "WARN" for d in LANDING_DATASETS}
    evidence = {
        engine: {
            check_label(e): {k: getattr(v, "value", v) for k, v in e.metadata.items()}
            for e in result.get_asset_check_evaluations()
        }
        for engine, (_, result) in runs.items()
    }
    assert evidence["spark"] == evidence["duckdb"]


@pytest.mark.parametrize("table", sorted(TABLES))
def test_both_engines_publish_identical_rows(runs, table):
    paths = {
        engine: lakehouse.store.files(TABLES[table]) for engine, (lakehouse, _) in runs.items()
    }
    con = duckdb.connect()
    difference = (
        "select count(*) from (select * from read_parquet(?) except all "
        "select * from read_parquet(?))"
    )
    rows = con.execute("select count(*) from read_parquet(?)", [paths["spark"]]).fetchall()
    assert rows[0][0] == (EXPECTED | QUARANTINED)[table]
    for a, b in (("spark", "duckdb"), ("duckdb", "spark")):
        assert con.execute(difference, [paths[a], paths[b]]).fetchall() == [(0,)]


# Parquet annotations as either writer spells them: DuckDB writes the legacy converted type
# (INT_64, UTF8), Spark the logical type (StringType()) or none for plain signed integers.
LOGICAL = "coalesce(logical_type, converted_type, '')"
CANONICAL = {"INT_64": "", "INT_32": "", "StringType()": "UTF8", "DateType()": "DATE"}


def test_both_engines_write_the_same_parquet_schemas(runs):
    """The same schema in every data file of a table, whichever engine wrote it: columns in the
    same order, physical types and meaning. Not compared: how many files (Spark writes a file per
    task) and repetition (Spark writes every column OPTIONAL; DuckDB writes REQUIRED where its
    statistics prove the written column has no null, e.g. the training table's join keys)."""
    con = duckdb.connect()
    for table in TABLES.values():
        schemas = {}
        for engine, (lakehouse, _) in runs.items():
            schemas[engine] = {
                tuple(
                    (name, physical, CANONICAL.get(logical, logical))
                    for name, physical, logical in con.execute(
                        f"select name, type, {LOGICAL} from parquet_schema(?) "
                        "where type is not null",
                        [f],
                    ).fetchall()
                )
                for f in lakehouse.store.files(table)
            }
        assert schemas["spark"] == schemas["duckdb"], table
        (schema,) = schemas["spark"]
        assert [name for name, *_ in schema] == list(table.stored_columns), table


def test_both_engines_keep_the_same_records_of_the_files_ingested(runs):
    records = {  # but the run that read each file, one per engine
        engine: {
            d: {name: replace(r, run_id="") for name, r in lakehouse.ingested.committed(d).items()}
            for d in LANDING_DATASETS
        }
        for engine, (lakehouse, _) in runs.items()
    }
    assert records["spark"] == records["duckdb"]
    accelerometer = records["spark"]["accelerometer"]
    assert accelerometer["zz-copy.json"].duplicate_of == DUPLICATED
    assert accelerometer["extra.json"].erased == 3
    assert records["spark"]["customer"]["extra.json"].erased == 2  # the email in two spellings
    assert records["spark"]["step_trainer"]["extra.json"].erased == 2  # the serial in two
    assert accelerometer["extra.json"].unknown_fields == {"firmwareVersion": 1, "extra": 1}
    assert records["spark"]["step_trainer"]["empty.json"].lines == 0


def test_both_engines_add_new_readings_to_the_tables_they_reach(definitions, runs):
    """The same sequence on both engines after their first run: new readings and step-trainer
    readings at milliseconds that already pair. Both add the rows those files give (the
    trusted readings, the training pairs) instead of building the tables again, evaluate the
    same checks on the additions with the same outcomes, and end with the same rows (DuckDB's
    maintained tables equal a full refresh: test_identical_to_a_rebuild). Run last: it lands new
    files in the module's landing folder."""
    duck, _ = runs["duckdb"]
    with duck.connect("accelerometer_trusted", "step_trainer_trusted") as engine:
        readings = engine.rows(
            "select user, timestamp from accelerometer_trusted order by all limit 3"
        )
        steps = engine.rows(
            "select serialNumber, sensorReadingTime from step_trainer_trusted order by all limit 2"
        )
    landing = Path(duck.landing_root)
    write_jsonl(
        landing / "accelerometer" / "landing" / "later.json",
        [{"user": u, "timestamp": t, "x": 1.0, "y": 2.0, "z": 3.0} for u, t in readings],
    )
    write_jsonl(
        landing / "step_trainer" / "landing" / "later.json",
        [{"sensorReadingTime": t, "serialNumber": s, "distanceFromObject": 5} for s, t in steps],
    )
    added, outcomes = {}, {}
    for engine, (lakehouse, _) in runs.items():
        result = materialize(definitions, lakehouse)
        assert result.success, engine
        built = {
            n: materialization(result, n).get("built")
            for n in TABLES
            if n.endswith(("trusted", "curated"))
        }
        assert built["accelerometer_trusted"] == "added to: rows added to accelerometer_landing"
        assert built["step_trainer_trusted"] == "added to: rows added to step_trainer_landing"
        assert built["machine_learning_curated"] == (
            "added to: rows added to step_trainer_trusted, accelerometer_trusted"
        )
        assert built["customer_trusted"] is None  # kept
        added[engine] = {
            n: (
                materialization(result, n)["rows_added"],
                materialization(result, n).get("checks_on_additions"),
            )
            for n in built
            if built[n] is not None
        }
        outcomes[engine] = check_outcomes(result)
    # customer_curated's recount counts relations alone, which DuckDB keeps between steps and
    # runs: they kept their rows (no reading is anyone's latest), so DuckDB reports the recorded
    # count; Spark keeps no relation and counts them again (the same verdict)
    assert added["duckdb"]["customer_curated"] == (0, ["count_reconciles"])
    assert added["spark"]["customer_curated"] == (0, None)
    del added["duckdb"]["customer_curated"], added["spark"]["customer_curated"]
    assert added["spark"] == added["duckdb"]
    assert outcomes["spark"] == outcomes["duckdb"]
    assert added["duckdb"]["machine_learning_curated"][1] == [
        "all_consented",
        "count_reconciles",
        "keys_not_null",
        "no_identifiers",
    ]
    assert added["duckdb"]["accelerometer_trusted"][0] == 3
    assert added["duckdb"]["machine_learning_curated"][0] > 0
    assert_same_rows(runs)


def test_both_engines_compute_again_the_rows_of_a_customer_who_withdraws(definitions, runs):
    """Then a curated customer's newer record withdraws consent: on both engines the tables
    maintained per key compute again the rows of that customer's keys alone (the training pairs
    from the readings that can pair with theirs), with the same outcomes and rows. Run after
    the test above: it lands a file in the module's landing folder."""
    duck, _ = runs["duckdb"]
    with duck.connect("customer_curated") as engine:
        (record,) = engine.rows(
            "select customerName, email, phone, strftime(birthDay, '%Y-%m-%d'), serialNumber, "
            "registrationDate, lastUpdateDate + 1 from customer_curated order by email limit 1"
        )
    fields = ("customerName", "email", "phone", "birthDay", "serialNumber", "registrationDate")
    withdrawal = dict(zip(fields, record[:6], strict=True)) | {
        "lastUpdateDate": record[6],
        "shareWithResearchAsOfDate": None,
    }
    write_jsonl(Path(duck.landing_root) / "customer" / "landing" / "withdrawal.json", [withdrawal])
    built, outcomes = {}, {}
    for engine, (lakehouse, _) in runs.items():
        result = materialize(definitions, lakehouse)
        assert result.success, engine
        built[engine] = {
            n: {k: materialization(result, n)[k] for k in ("built", "rows_added", "rows_removed")}
            for n in ("customer_curated", "machine_learning_curated", "step_features_curated")
        }
        outcomes[engine] = check_outcomes(result)
    assert built["spark"] == built["duckdb"]
    assert outcomes["spark"] == outcomes["duckdb"]
    pairs = built["duckdb"]["machine_learning_curated"]
    assert pairs["built"].startswith("recomputed: the rows of ")
    assert pairs["rows_removed"] > pairs["rows_added"]
    assert built["duckdb"]["customer_curated"]["built"] == "recomputed: the rows of 1 email values"
    assert_same_rows(runs)


def assert_same_rows(runs) -> None:
    """Every table holds the same rows (as multisets) on both engines."""
    con = duckdb.connect()
    difference = (
        "select count(*) from (select * from read_parquet(?) except all "
        "select * from read_parquet(?))"
    )
    for name, table in TABLES.items():
        paths = {engine: lakehouse.store.files(table) for engine, (lakehouse, _) in runs.items()}
        for a, b in (("spark", "duckdb"), ("duckdb", "spark")):
            assert con.execute(difference, [paths[a], paths[b]]).fetchall() == [(0,)], name


# --- the rewriting of DuckDB-only SQL, unit by unit ---------------------------------------------


@pytest.fixture(scope="module")
def spark_con(tmp_path_factory):
    folder = tmp_path_factory.mktemp("spark-sql")
    lakehouse = Lakehouse(
        landing_root=str(folder), lakehouse_root=str(folder / "lakehouse"), engine="spark"
    )
    lakehouse.privacy.append_log(
        ERASURE_LIST, [{"kind": "email", "sha256": erasure_hash(ERASED_EMAIL)}]
    )
    with lakehouse.connect() as con:
        yield con


def test_qualify_over_star_keeps_exactly_the_table_s_columns(spark_con):
    spark_con.create_view(
        "customer_landing",
        "select * from (values "
        "('a@x.test', 2::bigint, 0::bigint, 'S-A'), ('a@x.test', 1::bigint, 5::bigint, 'S-A'), "
        "('b@x.test', 1::bigint, 5::bigint, 'S-B')) "
        "as t(email, lastUpdateDate, shareWithResearchAsOfDate, serialNumber)",
    )
    sql = read_sql(trusted_assets.__file__, "customer_trusted")
    assert "QUALIFY" not in spark_con.translate(sql).upper()
    frame = spark_con.frame(sql)
    assert frame.columns == ["email", "lastUpdateDate", "shareWithResearchAsOfDate", "serialNumber"]
    # a@x.test's newest record withdraws consent: only b@x.test is trusted
    assert [tuple(r) for r in frame.collect()] == [("b@x.test", 1, 5, "S-B")]


def test_pseudonym_is_the_same_keyed_hash_as_in_python(spark_con):
    (row,) = spark_con.rows("select pseudonym('Some.One@x.test'), pseudonym(null)")
    assert row == (pseudonym("Some.One@x.test"), None)


def test_settings_and_the_erasure_list_reach_spark_sql(spark_con):
    rows = spark_con.rows(
        "select getvariable('consent_mode'), erased('email', ?), erased('email', 'other@x.test'), "
        "erased('serial', ?)",
        [f"  {ERASED_EMAIL.upper()} ", ERASED_EMAIL],
    )
    assert rows == [("any_time", True, False, False)]


def test_a_count_on_spark_is_counted_again_when_a_view_it_reads_is_created_again(
    spark_con, tmp_path
):
    assert_counts_follow_the_views(spark_con, tmp_path)


def test_a_spark_error_names_the_statement(spark_con):
    with pytest.raises(LakehouseError, match="(?s)Spark: .*no_such_table"):
        spark_con.rows("select count(*) from no_such_table")


def test_s3_roots_with_a_cluster_master_are_refused_before_spark_starts(tmp_path):
    lakehouse = Lakehouse(
        landing_root=str(tmp_path),
        lakehouse_root="s3://bucket/lakehouse",
        engine="spark",
        spark_master="spark://cluster:7077",
    )
    with (
        pytest.raises(LakehouseError, match="executors cannot read; use a local"),
        lakehouse.connect(),
    ):
        pass
