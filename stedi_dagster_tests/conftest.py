"""Shared fixtures: the course data's location, handmade landing folders, and a helper that
materializes the code location's assets and checks through Dagster.

What a test needs is a marker (`pyproject.toml`): `course` (given here to every test that uses the
course data), `spark`, `ui`, `s3`, `slow`. A test that needs the course data or a Java runtime is
skipped, saying what to install, where they are absent, unless STEDI_REQUIRE_COURSE_DATA=1 or
STEDI_REQUIRE_SPARK=1 (set by `.ci/run`) makes it fail instead.
"""

import json
import os
import shlex
import shutil
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from stedi_dagster.definitions import defs
from stedi_dagster.factory.checks import check_label
from stedi_dagster.factory.reuse import EVALUATION_KEYS
from stedi_dagster.generate import generate
from stedi_dagster.lakehouse import PROJECT_ROOT, Lakehouse
from stedi_dagster.tables import LANDING_DATASETS, TABLES, files_table, quarantine_table
from stedi_dagster_tests.s3_server import moto_server

COURSE_DATA = Path(
    os.environ.get("STEDI_COURSE_DATA", PROJECT_ROOT.parent / "shared" / "udacity-starter")
)
COURSE_EXPECTATIONS = PROJECT_ROOT / "expectations" / "udacity-starter.json"
# Spark's JVMs in the tests (in process, and in the processes tests start, which inherit the
# environment) compile with C1 alone, on one compiler thread, and collect with the serial
# collector: they live a minute on small data, where tiered C2 compilation and concurrent GC
# threads cost more CPU than they save, and the two test workers share two cores. A run of the
# handmade data: 84 s of JVM CPU in 48 s by default, 51-53 s with C1 alone, 42-45 s (and 2-6 s
# less wall time) with one compiler thread and the serial collector too. No result changes.
TEST_JVM_OPTION = "-XX:TieredStopAtLevel=1 -XX:CICompilerCount=1 -XX:+UseSerialGC"
os.environ.setdefault(
    "PYSPARK_SUBMIT_ARGS",
    shlex.join(
        ["--driver-java-options", TEST_JVM_OPTION]
        + ["--conf", f"spark.executor.extraJavaOptions={TEST_JVM_OPTION}", "pyspark-shell"]
    ),
)
# What the quarantine tables hold when every landing line is good.
NOTHING_QUARANTINED = {quarantine_table(d).name: 0 for d in LANDING_DATASETS}


def generated_twin(folder: Path) -> dict[str, int]:
    """Landing data in the course's shape written by the generator into `folder` (with its
    expectations.json), for the twin of a course-data test; the counts it expects."""
    return generate(folder, scale=0.1, seed=5)


# Fixtures that read the course data: a test using one is marked `course`.
COURSE_FIXTURES = {"course_data", "course_on_s3"}


@cache
def missing_course_data() -> str | None:
    """Why the course data cannot be read, or None."""
    if (COURSE_DATA / "customer" / "landing").is_dir():
        return None
    return (
        f"course data not found at {COURSE_DATA}: put the Udacity STEDI starter dataset "
        "(customer/, accelerometer/, step_trainer/, each with landing/*.json) at "
        "../shared/udacity-starter beside this checkout, or set STEDI_COURSE_DATA to its folder"
    )


@cache
def missing_spark() -> str | None:
    """Why the Spark engine cannot start here (no PySpark, no Java runtime), or None."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "PySpark is not installed: pip install -c constraints.txt -e '.[spark]'"
    home = os.environ.get("JAVA_HOME")
    if not (home and Path(home, "bin", "java").exists()) and not shutil.which("java"):
        return (
            "no Java runtime: install Java 17 or 21 (Debian: apt-get install "
            "openjdk-17-jre-headless; macOS: brew install openjdk@17) or set JAVA_HOME"
        )
    return None


# marker -> why its need is missing here (or None), and the variable that makes it required
NEEDS = {
    "course": (missing_course_data, "STEDI_REQUIRE_COURSE_DATA"),
    "spark": (missing_spark, "STEDI_REQUIRE_SPARK"),
}


# The modules whose tests take longest: those that start Spark, then those that run processes of
# their own or a browser. `make test` hands modules to the two workers in collection order
# (`--no-loadscope-reorder`), these first: xdist's own order, by number of tests, left the one
# test of the Spark cluster (about 110 s) for last, while the other worker had nothing left.
LONGEST_FIRST = ("spark", "slow", "ui")


def pytest_collection_modifyitems(config, items) -> None:
    """Mark the tests that use the course data; the modules that take longest first."""
    rank: dict[str, int] = {}
    for item in items:
        if COURSE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.course)
        module = item.nodeid.split("::")[0]
        found = [i for i, m in enumerate(LONGEST_FIRST) if item.get_closest_marker(m)]
        rank[module] = min([rank.get(module, len(LONGEST_FIRST)), *found])
    items.sort(key=lambda item: rank[item.nodeid.split("::")[0]])  # stable: in module order


def pytest_runtest_setup(item) -> None:
    """Skip a test whose needs are missing, saying what to install; fail it instead where
    STEDI_REQUIRE_COURSE_DATA / STEDI_REQUIRE_SPARK say it must run."""
    for marker, (missing, variable) in NEEDS.items():
        why = item.get_closest_marker(marker) and missing()
        if why:
            if os.environ.get(variable) == "1":
                pytest.fail(f"{why} ({variable}=1)")
            pytest.skip(why)


@pytest.fixture(scope="session")
def definitions() -> dg.Definitions:
    return defs()


@pytest.fixture(scope="session")
def course_data() -> Path:
    return COURSE_DATA


def write_jsonl(path: Path, records: Iterable[dict | str]) -> Path:
    """Write records (dicts as JSON, strings as they are) one per line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


def write_landing(
    root: Path,
    customers: Iterable[dict],
    accelerometer: Iterable[dict],
    step_trainer: Iterable[dict],
) -> Path:
    write_jsonl(root / "customer" / "landing" / "customer-1.json", customers)
    write_jsonl(root / "accelerometer" / "landing" / "accelerometer-1.json", accelerometer)
    write_jsonl(root / "step_trainer" / "landing" / "step_trainer-1.json", step_trainer)
    return root


def publish_rows(lakehouse: Lakehouse, table, rows: int) -> None:
    """Publish a version of an accelerometer-shaped table with `rows` rows, as an asset would."""
    with lakehouse.store.staging() as folder:
        staged = folder / f"{table.name}.parquet"
        duckdb.connect().sql(
            f"select 'u' as user, range as timestamp, 0.0 as x, 0.0 as y, 0.0 as z "
            f"from range({rows})"
        ).to_parquet(str(staged))
        lakehouse.store.publish(table, [staged])


def table_files(lakehouse: Lakehouse, table) -> dict[str, bytes]:
    """Every file that makes up a published Delta table on local disk (data files and log),
    with its bytes; for a landing table also its dataset's files ingested."""
    folders = [Path(lakehouse.store.table_folder(table))]
    if table.zone == "landing":
        folders.append(Path(lakehouse.store.table_folder(files_table(table.dataset))))
    files = sorted(f for folder in folders for f in folder.rglob("*") if f.is_file())
    return {str(f): f.read_bytes() for f in files}


def materialize(
    definitions: dg.Definitions,
    lakehouse: Lakehouse,
    selection: dg.AssetSelection | None = None,
    assets: list | None = None,
    instance: dg.DagsterInstance | None = None,
    tags: dict[str, str] | None = None,
) -> dg.ExecuteInProcessResult:
    """Run assets and their checks through Dagster, as the UI or CLI would."""
    return dg.materialize(
        assets if assets is not None else [*definitions.assets, *definitions.asset_checks],
        resources={"lakehouse": lakehouse},
        selection=selection,
        raise_on_error=False,
        instance=instance,
        tags=tags,
    )


def materialization(result: dg.ExecuteInProcessResult, table: str) -> dict:
    """The metadata values of the run's materialization of `table`."""
    (event,) = [
        e
        for e in result.get_asset_materialization_events()
        if e.materialization.asset_key.to_user_string() == table
    ]
    return {k: getattr(v, "value", v) for k, v in event.materialization.metadata.items()}


def row_counts(result: dg.ExecuteInProcessResult) -> dict[str, int]:
    return {
        e.materialization.asset_key.to_user_string(): e.materialization.metadata[
            "dagster/row_count"
        ].value
        for e in result.get_asset_materialization_events()
    }


def evaluation(result: dg.ExecuteInProcessResult, label: str) -> dg.AssetCheckEvaluation:
    """The run's one evaluation of the check `label` (`<table>.<check>`)."""
    (found,) = [e for e in result.get_asset_check_evaluations() if check_label(e) == label]
    return found


def check_outcomes(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    """`<table>.<check>` -> whether it passed, for every check the run evaluated."""
    return {check_label(e): e.passed for e in result.get_asset_check_evaluations()}


def verdicts(result, zones=("trusted", "curated")) -> dict[str, tuple[bool, dict]]:
    """`<table>.<check>` -> (passed, evidence) of the checks of the tables of these zones, without
    what says how a result was reached (evaluated version, run, additions)."""
    how = (*EVALUATION_KEYS, "evaluated_on")
    return {
        check_label(e): (
            e.passed,
            {k: getattr(v, "value", v) for k, v in e.metadata.items() if k not in how},
        )
        for e in result.get_asset_check_evaluations()
        if TABLES[e.asset_key.to_user_string()].zone in zones
        and e.check_name != "column_schema_change"
    }


def failed_checks(result: dg.ExecuteInProcessResult) -> dict[str, str]:
    """`<table>.<check>` -> severity of every check that did not pass."""
    return {
        check_label(e): e.severity.value
        for e in result.get_asset_check_evaluations()
        if not e.passed
    }


def failed_steps(result: dg.ExecuteInProcessResult) -> dict[str, str]:
    return {
        e.step_key: e.step_failure_data.error.message
        for e in result.all_events
        if e.is_step_failure
    }


# --- a real S3-compatible server on loopback (s3_server.py) -----------------------------------

AWS_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


@pytest.fixture(scope="session")
def aws_env() -> Iterator[dict[str, str]]:
    """Standard AWS variables with test credentials, as a user would export them."""
    saved = {k: os.environ.get(k) for k in [*AWS_TEST_ENV, "AWS_PROFILE", "AWS_ENDPOINT_URL"]}
    os.environ.update(AWS_TEST_ENV)
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    try:
        yield AWS_TEST_ENV
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="session")
def s3_endpoint(aws_env) -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def s3(s3_endpoint):
    """An s3fs filesystem on the test server."""
    import s3fs

    return s3fs.S3FileSystem(endpoint_url=s3_endpoint, skip_instance_cache=True)


@pytest.fixture(scope="session")
def course_on_s3(s3, course_data) -> str:
    """The course data uploaded to s3://stedi-landing/course."""
    s3.mkdir("stedi-landing")
    for dataset in ("customer", "accelerometer", "step_trainer"):
        for f in sorted((course_data / dataset / "landing").glob("*.json")):
            s3.put_file(str(f), f"stedi-landing/course/{dataset}/landing/{f.name}")
    return "s3://stedi-landing/course"


def every_row(lakehouse: Lakehouse) -> dict[str, list[tuple]]:
    """Every table's rows, sorted, as the lakehouse publishes them."""
    with lakehouse.connect(*TABLES) as engine:
        return {name: engine.rows(f"select * from {name} order by all") for name in TABLES}
