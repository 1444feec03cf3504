"""Schema evolution: a field the schema does not know never stops the data, a field no longer sent
is reported, a value of the wrong type is quarantined, and adopting a new field is one change to
`tables.py` (docs/operating.md, "A new field in the JSON").

The adoption is tested as a user makes it: the package is copied with the field added to
tables.py, and `stedi run` of that copy continues the same lakehouse and Dagster instance (so
Dagster's column-schema-change check compares the two materializations)."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from deltalake import DeltaTable

from stedi_dagster.factory.checks import check_label
from stedi_dagster.lakehouse import PROJECT_ROOT, SAMPLE_LANDING_ROOT, Lakehouse
from stedi_dagster.tables import ACCELEROMETER_COLUMNS, LANDING_DATASETS, TABLES
from stedi_dagster_tests.conftest import materialization, materialize, write_jsonl

BIN = Path(sys.executable).parent
NEW_FIELD = "firmwareVersion"
NEW_FILE = "accelerometer-firmware.json"
READINGS = 20
# Far after any consent date, so that every consent mode keeps them.
FIRST_TIMESTAMP = 2_000_000_000_000
# The end of ACCELEROMETER_COLUMNS in tables.py, and the same with the field adopted.
REGISTRY_END = '    "z": "DOUBLE",\n}'
ADOPTED_END = f'    "z": "DOUBLE",\n    "{NEW_FIELD}": "VARCHAR",\n}}'


def consenting_email(landing: Path) -> str:
    """An email all of whose customer records consent to research."""
    pattern = str(landing / "customer" / "landing" / "*.json")
    return duckdb.execute(
        "select email from read_json(?, format = 'newline_delimited') group by email "
        "having bool_and(coalesce(shareWithResearchAsOfDate, 0) <> 0) order by email limit 1",
        [pattern],
    ).fetchall()[0][0]


def firmware_readings(user: str) -> list[dict]:
    return [
        {
            "user": user,
            "timestamp": FIRST_TIMESTAMP + i,
            "x": 0.5,
            "y": -1.0,
            "z": 2.25,
            NEW_FIELD: f"2.{i % 3}.0",
        }
        for i in range(READINGS)
    ]


def landing_copy(source: Path, folder: Path) -> Path:
    """The datasets of a landing root (not its expectations) copied into `folder`."""
    for dataset in LANDING_DATASETS:
        shutil.copytree(source / dataset, folder / dataset)
    return folder


def evaluation(result: dg.ExecuteInProcessResult, label: str) -> dg.AssetCheckEvaluation:
    (found,) = [e for e in result.get_asset_check_evaluations() if check_label(e) == label]
    return found


def values(e: dg.AssetCheckEvaluation) -> dict:
    return {k: getattr(v, "value", v) for k, v in e.metadata.items()}


def test_a_new_field_lands_on_every_line_kept_and_named_in_a_warning(
    definitions, course_data, tmp_path
):
    """The course data plus 20 readings of a consenting customer with one more field: the run
    succeeds, every line lands, the field is kept with its row, the warning names it with its
    file and lines, and trusted takes the readings with its own columns only."""
    landing = landing_copy(course_data, tmp_path / "landing")
    user = consenting_email(landing)
    write_jsonl(landing / "accelerometer" / "landing" / NEW_FILE, firmware_readings(user))
    lakehouse = Lakehouse(landing_root=str(landing), lakehouse_root=str(tmp_path / "lakehouse"))
    result = materialize(definitions, lakehouse)

    assert result.success
    assert materialization(result, "accelerometer_landing")["dagster/row_count"] == 81273 + 20
    assert materialization(result, "accelerometer_quarantine")["dagster/row_count"] == 0
    unknown = evaluation(result, "accelerometer_landing.no_unknown_fields")
    assert not unknown.passed and unknown.severity == dg.AssetCheckSeverity.WARN
    assert values(unknown)["unknown_fields"] == {NEW_FIELD: READINGS}
    assert values(unknown)["files_by_field"] == {NEW_FIELD: {"files": 1, "first_files": [NEW_FILE]}}
    with lakehouse.connect("accelerometer_landing", "accelerometer_trusted") as engine:
        kept = engine.rows(
            "select timestamp, extra_fields from accelerometer_landing "
            "where extra_fields is not null order by timestamp"
        )
        trusted = engine.scalar(
            f"select count(*) from accelerometer_trusted where timestamp >= {FIRST_TIMESTAMP}"
        )
        trusted_columns = engine.describe("accelerometer_trusted")
    assert [(t, json.loads(extra)) for t, extra in kept] == [
        (r["timestamp"], {NEW_FIELD: r[NEW_FIELD]}) for r in firmware_readings(user)
    ]
    assert trusted == READINGS
    assert trusted_columns == ACCELEROMETER_COLUMNS
    for check in ("all_lines_accounted", "schema"):
        assert evaluation(result, f"accelerometer_landing.{check}").passed, check
    assert evaluation(result, "accelerometer_trusted.count_reconciles").passed


def test_a_field_no_longer_sent_is_reported_and_a_mistyped_value_quarantined(definitions, tmp_path):
    """After a first run, a file whose readings lack z lands with z null and the warning names
    z; then a reading whose x is text is quarantined with its reason, and x stays a DOUBLE in
    the table and in its Delta schema."""
    landing = landing_copy(SAMPLE_LANDING_ROOT, tmp_path / "landing")
    lakehouse = Lakehouse(landing_root=str(landing), lakehouse_root=str(tmp_path / "lakehouse"))
    accelerometer = dg.AssetSelection.assets("accelerometer_landing")
    first = materialize(definitions, lakehouse, selection=accelerometer)
    assert evaluation(first, "accelerometer_landing.no_vanished_fields").passed

    user = consenting_email(landing)
    without_z = [
        {k: v for k, v in r.items() if k not in ("z", NEW_FIELD)} for r in firmware_readings(user)
    ]
    write_jsonl(landing / "accelerometer" / "landing" / "no-z.json", without_z)
    second = materialize(definitions, lakehouse, selection=accelerometer)
    assert second.success
    vanished = evaluation(second, "accelerometer_landing.no_vanished_fields")
    assert not vanished.passed and vanished.severity == dg.AssetCheckSeverity.WARN
    assert values(vanished)["vanished_fields"] == ["z"]
    assert values(vanished)["new_rows"] == READINGS
    assert materialization(second, "accelerometer_landing")["files_read"] == 1

    mistyped = [{"user": user, "timestamp": FIRST_TIMESTAMP + 100, "x": "fast", "y": 1, "z": 1}]
    write_jsonl(landing / "accelerometer" / "landing" / "mistyped.json", mistyped)
    third = materialize(definitions, lakehouse, selection=accelerometer)
    assert third.success
    assert evaluation(third, "accelerometer_landing.no_vanished_fields").passed  # z is back
    with lakehouse.connect("accelerometer_landing", "accelerometer_quarantine") as engine:
        quarantined = engine.rows("select file, line, reason from accelerometer_quarantine")
        landed = engine.scalar(
            f"select count(*) from accelerometer_landing where timestamp >= {FIRST_TIMESTAMP}"
        )
        x_type = engine.describe("accelerometer_landing")["x"]
    assert quarantined == [("mistyped.json", 1, "x: not a DOUBLE")]
    assert landed == READINGS and x_type == "DOUBLE"
    log = DeltaTable(lakehouse.store.table_folder(TABLES["accelerometer_landing"]))
    assert {f.name: f.type.type for f in log.schema().fields}["x"] == "double"
    assert "ADD COLUMN" not in {h["operation"] for h in log.history()}


# --- adopting the field: a change to tables.py, then `stedi run` ----------------------------


# What the Spark and S3 runs materialize: the tables the new field reaches, and their inputs.
BRANCH = "*accelerometer_trusted"
BRANCH_TABLES = (
    "customer_landing",
    "customer_trusted",
    "accelerometer_landing",
    "accelerometer_trusted",
)


def stedi(
    args: list[str], env: dict[str, str], command: str = "stedi"
) -> subprocess.CompletedProcess:
    """A command of the project's environment (`stedi`, or `dagster`) with these settings."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("STEDI_", "DAGSTER_"))}
    done = subprocess.run(
        [str(BIN / command), *args],
        env=clean | env,
        cwd=env["DAGSTER_HOME"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def with_field_adopted(folder: Path) -> Path:
    """A copy of the project's package (and pyproject.toml, where Dagster finds its code
    location) whose tables.py has the field added to the accelerometer's."""
    package = folder / "stedi_dagster"
    folder.mkdir()
    shutil.copy(PROJECT_ROOT / "pyproject.toml", folder)
    shutil.copytree(
        PROJECT_ROOT / "stedi_dagster", package, ignore=shutil.ignore_patterns("__pycache__")
    )
    registry = package / "tables.py"
    text = registry.read_text()
    assert text.count(REGISTRY_END) == 1
    registry.write_text(text.replace(REGISTRY_END, ADOPTED_END))
    return folder


def warnings(stdout: str) -> dict[str, str]:
    """`<table>.<check>` -> its evidence, for each check `stedi run` reports as a warning."""
    found = {}
    for line in stdout.splitlines():
        if line.strip().startswith("WARN "):
            label, _, evidence = line.strip().removeprefix("WARN ").partition(": ")
            found[label] = evidence
    return found


@pytest.fixture(scope="module")
def adopted(tmp_path_factory, course_data):
    """A lakehouse of the course data and the file with the new field, run once with the field
    unknown and once with it adopted: the two runs' output, the counts after, where the lakehouse
    is. `adopt("duckdb")`: each run is `stedi run` (every table and check), on local disk.
    `adopt("spark")`: the Spark engine's run with the field adopted, continuing a copy of that
    DuckDB lakehouse as its first run left it (the Spark engine's first run, a line with unknown
    fields included, is test_spark_engine's). `adopt("duckdb", s3, endpoint)`: both roots on S3
    (`s3`: an s3fs filesystem on the test server). Spark and S3 runs materialize the tables the
    field reaches (`BRANCH`), with `dagster asset materialize`."""
    runs = {}

    def adopt(engine: str, s3=None, endpoint: str | None = None) -> dict:
        kind = f"{engine}-s3" if s3 else engine
        if kind in runs:
            return runs[kind]
        folder = tmp_path_factory.mktemp(f"adopt-{kind}")
        (folder / "home").mkdir()
        env = {
            "STEDI_LAKEHOUSE_ROOT": str(folder / "lakehouse"),
            "STEDI_ENGINE": engine,
            "DAGSTER_HOME": str(folder / "home"),
        }
        branch = ["asset", "materialize", "-m", "stedi_dagster.definitions", "--select", BRANCH]
        before = None
        if engine == "spark":
            first = adopt("duckdb")
            shutil.copytree(first["before_lakehouse"], folder / "lakehouse")
            landing, user = first["landing"], first["user"]
            env["STEDI_LANDING_ROOT"] = str(landing)
        else:
            landing = landing_copy(course_data, folder / "landing")
            user = consenting_email(landing)
            write_jsonl(landing / "accelerometer" / "landing" / NEW_FILE, firmware_readings(user))
            env["STEDI_LANDING_ROOT"] = str(landing)
            if s3:
                s3.mkdir("stedi-adopt")
                s3.put(str(landing), "stedi-adopt/landing", recursive=True)
                env |= {
                    "STEDI_LANDING_ROOT": "s3://stedi-adopt/landing",
                    "STEDI_LAKEHOUSE_ROOT": "s3://stedi-adopt/lakehouse",
                    "STEDI_S3_ENDPOINT_URL": endpoint,
                    "STEDI_PSEUDONYM_KEY": "adoption-test-key",
                }
                before = stedi(branch, env, "dagster")
            else:
                before = stedi(["run"], env)
                shutil.copytree(folder / "lakehouse", folder / "lakehouse-before")
        adopting = env | {"PYTHONPATH": str(with_field_adopted(folder / "adopted"))}
        if engine == "duckdb" and not s3:
            after = stedi(["run"], adopting)
        else:
            after = stedi(branch, adopting, "dagster")
        query = (  # one text value, easy to find in the printed table
            f"select concat_ws(' ', 'counts:', count(*), count({NEW_FIELD}), "
            "count(extra_fields), "
            f"count(*) filter (where timestamp >= {FIRST_TIMESTAMP}), "
            f"(select count({NEW_FIELD}) from accelerometer_trusted)) "
            "from accelerometer_landing"
        )
        sql = stedi(["sql", query], adopting)
        runs[kind] = {
            "before": before,
            "after": after,
            "counts": [int(n) for n in re.search(r"counts: ([\d ]+)", sql.stdout)[1].split()],
            "root": env["STEDI_LAKEHOUSE_ROOT"],
            "before_lakehouse": folder / "lakehouse-before",
            "landing": landing,
            "user": user,
        }
        return runs[kind]

    return adopt


def delta_rows(root: str, table: str) -> list[tuple]:
    """Every row of a table's current Delta version (a lakehouse on local disk), by column
    name, sorted."""
    files = DeltaTable(f"{root}/{TABLES[table].zone}/{table}").file_uris()
    if not files:
        return []
    result = duckdb.execute("select * from read_parquet(?, union_by_name = true)", [files])
    names = [d[0] for d in result.description]
    return sorted(
        (tuple(sorted(zip(names, row, strict=True))) for row in result.fetchall()), key=repr
    )


@pytest.mark.slow
def test_adopting_a_field_is_one_change_to_the_registry(adopted):
    """With the field added to tables.py, the next run evolves the Delta tables' schema: the
    file carrying it is read again (no full refresh), its rows fill the new column, older rows
    read it as null, trusted gains it, every count still reconciles, and Dagster's
    column-schema-change check reports the new column."""
    run = adopted("duckdb")
    before, after = run["before"], run["after"]
    assert NEW_FIELD in warnings(before.stdout)["accelerometer_landing.no_unknown_fields"]
    assert "FAILED" not in before.stdout + after.stdout

    changed = warnings(after.stdout)
    assert "accelerometer_landing.no_unknown_fields" not in changed
    for table in ("accelerometer_landing", "accelerometer_trusted"):
        assert f"Added columns: {NEW_FIELD}" in changed[f"{table}.column_schema_change"], changed
    assert "customer_landing.column_schema_change" not in changed
    assert "accelerometer: read 1 new or changed landing files" in after.stderr

    rows, filled, extra, new, trusted = run["counts"]
    assert (filled, extra, new, trusted) == (READINGS, 0, READINGS, READINGS)
    assert rows > new  # the older rows read the new column as null

    root = run["root"]
    landing = DeltaTable(f"{root}/landing/accelerometer_landing")
    schema = {f.name: f.type.type for f in landing.schema().fields}
    assert schema[NEW_FIELD] == "string"
    assert "ADD COLUMN" in {h["operation"] for h in landing.history()}
    trusted = delta_rows(root, "accelerometer_trusted")
    firmware = sorted(dict(r)[NEW_FIELD] for r in trusted if dict(r)[NEW_FIELD] is not None)
    assert firmware == sorted(r[NEW_FIELD] for r in firmware_readings(run["user"]))


@pytest.mark.slow
@pytest.mark.spark
def test_both_engines_adopt_a_field_into_the_same_tables(adopted):
    """The Spark engine, continuing the lakehouse of the first run, adopts the field into the
    same landing and trusted tables as DuckDB."""
    duckdb_run, spark_run = adopted("duckdb"), adopted("spark")
    assert spark_run["counts"] == duckdb_run["counts"]  # the field in 20 rows of each table
    for table in BRANCH_TABLES:
        assert delta_rows(spark_run["root"], table) == delta_rows(duckdb_run["root"], table), table


@pytest.mark.slow
@pytest.mark.s3
def test_a_field_is_adopted_the_same_on_s3(adopted, s3, s3_endpoint):
    """Both roots on S3: the same counts after, and the column added by a commit to the Delta
    log on S3."""
    local, remote = adopted("duckdb"), adopted("duckdb", s3, s3_endpoint)
    assert remote["counts"] == local["counts"]
    lakehouse = Lakehouse(
        landing_root="s3://stedi-adopt/landing",
        lakehouse_root=remote["root"],
        s3_endpoint_url=s3_endpoint,
        pseudonym_key="adoption-test-key",
    )
    landing = lakehouse.store.delta.open(TABLES["accelerometer_landing"])
    assert NEW_FIELD in {f.name for f in landing.schema().fields}
    assert "ADD COLUMN" in {h["operation"] for h in landing.history()}
