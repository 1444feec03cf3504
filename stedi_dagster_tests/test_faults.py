"""Faults survived with nothing lost: a run killed with SIGKILL while it writes leaves every table
readable at a whole version and the next run completes; steps in parallel processes share no lock
while the catalog answers readers in another process; consent withdrawn in a newer customer file
leaves trusted and curated on the next automatic run."""

import hashlib
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from stedi_dagster.defs.landing.sensors import customer_landing_files
from stedi_dagster.factory.checks import check_label
from stedi_dagster.generate import generate
from stedi_dagster.lakehouse import PROJECT_ROOT, Lakehouse
from stedi_dagster.lakehouse.catalog import catalog_path
from stedi_dagster.tables import TABLES
from stedi_dagster_tests.conftest import (
    NOTHING_QUARANTINED,
    materialization,
    materialize,
    table_files,
    write_jsonl,
)
from stedi_dagster_tests.handmade import customer, write_handmade
from stedi_dagster_tests.test_cli import BIN, run
from stedi_dagster_tests.test_course_data import COURSE_COUNTS
from stedi_dagster_tests.test_definitions import EXPECTED_CHECKS

pytestmark = pytest.mark.slow


def digest(lakehouse: Lakehouse, table) -> str:
    """One hash of every file the published table is made of."""
    files = table_files(lakehouse, table)
    return hashlib.sha256(b"".join(files[name] for name in sorted(files))).hexdigest()


def test_a_run_killed_while_writing_leaves_whole_tables_and_the_next_run_completes(
    definitions, tmp_path
):
    landing = tmp_path / "landing"
    expected = generate(landing, scale=4, seed=2)
    lakehouse = Lakehouse(landing_root=str(landing), lakehouse_root=str(tmp_path / "lh"))
    assert materialize(definitions, lakehouse).success
    before = {name: digest(lakehouse, t) for name, t in TABLES.items()}
    staging = tmp_path / "lh" / "_staging"

    env = {k: v for k, v in os.environ.items() if not k.startswith(("STEDI_", "DAGSTER_"))}
    env |= {"STEDI_LANDING_ROOT": str(landing), "STEDI_LAKEHOUSE_ROOT": str(tmp_path / "lh")}
    process = subprocess.Popen(
        [str(BIN / "stedi"), "run", "--full-refresh", "--log-level", "ERROR"],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not list(staging.glob("*/*.parquet")):  # a table is being written right now
        assert process.poll() is None and time.monotonic() < deadline, "no write was seen"
        time.sleep(0.005)
    staged = {p.name.split("-")[0].removesuffix(".parquet") for p in staging.glob("*/*.parquet")}
    writing = staged & set(TABLES)  # staged files are named after their table
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)

    con = duckdb.connect()
    for name, table in TABLES.items():
        files = lakehouse.store.files(table)
        count = "select count(*) from read_parquet(?)"
        rows = con.execute(count, [files]).fetchall()[0][0] if files else 0
        assert rows == (expected | NOTHING_QUARANTINED)[name], name  # old or identical new
    for name in writing:
        assert digest(lakehouse, TABLES[name]) == before[name], name
    assert list(staging.glob("*/*.parquet")), "the killed run's half-written file is left behind"

    done = run([str(BIN / "stedi"), "run"], env={k: env[k] for k in env if k.startswith("STEDI_")})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert list(staging.iterdir()) == []  # the orphan is cleaned up


def test_steps_in_parallel_processes_share_no_lock_while_the_catalog_answers(course_data, tmp_path):
    """The multiprocess job on the course data: every step in a process of its own, none
    waiting on another's lock, while readers in this process hold read-only connections to the
    catalog that the steps rewrite as they publish (from the moment it first exists): each
    answer is a whole table's count, and the last ones are the published counts."""
    catalog = DuckDBResource(
        database=catalog_path(str(tmp_path / "lh")),
        connection_config={"access_mode": "READ_ONLY"},
    )
    answers: dict[str, set[int]] = {}
    errors: list[Exception] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            time.sleep(0.02)
            if not Path(catalog.database).exists():
                continue  # written whole (a rename) by the first step that publishes
            try:
                with catalog.get_connection() as con:
                    views = con.execute(
                        "select view_name from duckdb_views() where not internal"
                    ).fetchall()
                    for (name,) in views:
                        n = con.execute(f"select count(*) from {name}").fetchall()[0][0]
                        answers.setdefault(name, set()).add(n)
            except Exception as e:  # noqa: BLE001 - collected and asserted on below
                errors.append(e)

    env = {
        "STEDI_LANDING_ROOT": str(course_data),
        "STEDI_LAKEHOUSE_ROOT": str(tmp_path / "lh"),
        "DAGSTER_HOME": str(tmp_path),
        "VIRTUAL_ENV": str(BIN.parent),
        "PATH": f"{BIN}:{os.environ['PATH']}",
    }
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    readers = [threading.Thread(target=read) for _ in range(2)]
    for reader in readers:
        reader.start()
    try:
        done = run([str(BIN / "dg"), "launch", "--job", "lakehouse_parallel"], env, timeout=600)
    finally:
        time.sleep(0.5)  # a last round of reads after the run
        stop.set()
        for reader in readers:
            reader.join(timeout=30)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "Executing steps using multiprocess executor" in output
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        (launched,) = instance.get_runs()
        evaluated = [
            check_label(e.dagster_event.asset_check_evaluation_data)
            for e in instance.all_logs(launched.run_id)
            if e.dagster_event and e.dagster_event.event_type_value == "ASSET_CHECK_EVALUATION"
        ]
    # from the run's events: the processes' interleaved console lines may split a word
    assert len(set(evaluated)) == len(evaluated) == len(EXPECTED_CHECKS)
    assert "Could not set lock" not in output
    assert errors == []
    assert set(answers) == set(TABLES)  # every zone was answered
    with catalog.get_connection() as con:
        final = {
            name: con.execute(f"select count(*) from {name}").fetchall()[0][0] for name in TABLES
        }
    assert {name: final[name] for name in COURSE_COUNTS} == COURSE_COUNTS
    assert all(final[name] in seen for name, seen in answers.items())


def test_withdrawn_consent_leaves_trusted_and_curated_on_the_next_automatic_run(
    definitions, tmp_path
):
    landing = write_handmade(tmp_path / "landing")
    lakehouse = Lakehouse(landing_root=str(landing), lakehouse_root=str(tmp_path / "lh"))
    instance = dg.DagsterInstance.ephemeral()
    assets = [*definitions.assets, *definitions.asset_checks]
    first = dg.materialize(assets, resources={"lakehouse": lakehouse}, instance=instance)
    assert first.success
    changes = materialization(first, "customer_trusted")  # the first version: every person new
    assert (changes["consent_granted"], changes["consent_withdrawn"]) == (
        changes["dagster/row_count"],
        0,
    )
    # the automation sensor ticks once with everything up to date
    automation_cursor = dg.evaluate_automation_conditions(
        defs=definitions, instance=instance
    ).cursor
    sensor_context = dg.build_sensor_context(resources={"lakehouse": lakehouse})
    customer_landing_files(sensor_context)  # the sensor has seen the files as they are

    # a newer record for a, withdrawing consent, arrives in a new file
    write_jsonl(
        landing / "customer" / "landing" / "customer-2.json",
        [customer("a", "S-A", updated=30, research=0)],
    )
    request = customer_landing_files(sensor_context)
    assert isinstance(request, dg.RunRequest)
    assert set(request.asset_selection) == {
        dg.AssetKey("customer_landing"),
        dg.AssetKey("customer_quarantine"),
    }
    assert set(request.asset_check_keys) == {
        dg.AssetCheckKey(dg.AssetKey("customer_landing"), p)
        for p in (
            "schema",
            "keys_not_null",
            "expected_count",
            "all_lines_accounted",
            "no_unknown_fields",
            "no_vanished_fields",
            "no_unrecognized_files",
            "column_schema_change",
        )
    } | {
        dg.AssetCheckKey(dg.AssetKey("customer_quarantine"), p)
        for p in ("schema", "quarantined_rows", "quarantine_fraction", "column_schema_change")
    }
    dg.materialize(
        assets,
        resources={"lakehouse": lakehouse},
        instance=instance,
        selection=dg.AssetSelection.assets(*request.asset_selection)
        | dg.AssetSelection.checks(*request.asset_check_keys),
    )
    # what the automation sensor does on its ticks, until nothing more is requested
    rebuilt = False
    for _ in range(10):
        result = dg.evaluate_automation_conditions(
            defs=definitions, instance=instance, cursor=automation_cursor
        )
        automation_cursor = result.cursor
        keys = {r.key for r in result.results if r.true_subset.size}
        requested = [k for k in keys if isinstance(k, dg.AssetKey)]
        checks = [k for k in keys if isinstance(k, dg.AssetCheckKey)]
        print("REQUESTED", requested, checks)
        if not requested:
            break
        assert {k.asset_key for k in checks} == set(requested)  # checks run with their table
        ran = dg.materialize(
            assets,
            resources={"lakehouse": lakehouse},
            instance=instance,
            selection=dg.AssetSelection.assets(*requested) | dg.AssetSelection.checks(*checks),
        )
        assert ran.success
        if dg.AssetKey("customer_trusted") in requested:  # one person withdrew, none granted
            changes = materialization(ran, "customer_trusted")
            assert (changes["consent_withdrawn"], changes["consent_granted"]) == (1, 0)
            rebuilt = True
    assert rebuilt
    con = duckdb.connect()
    emails = {
        name: {
            e
            for (e,) in con.execute(
                f"select {'user' if 'user' in t.columns else 'email'} from read_parquet(?)",
                [lakehouse.store.files(t)],
            ).fetchall()
        }
        for name, t in TABLES.items()
        if "user" in t.columns or "email" in t.columns
    }
    assert "a@x.test" in emails["customer_landing"]  # landing keeps every record
    for name in ("customer_trusted", "accelerometer_trusted", "customer_curated"):
        assert "a@x.test" not in emails[name], name
    steps = con.execute(
        "select distinct serialNumber from read_parquet(?)",
        [lakehouse.store.files(TABLES["step_trainer_trusted"])],
    ).fetchall()
    assert steps == [("S-F",)]
    pairs = con.execute(
        "select count(*) from read_parquet(?)",
        [lakehouse.store.files(TABLES["machine_learning_curated"])],
    ).fetchall()
    assert pairs == [(2,)]  # S-F at 200 and 500, each with f's reading only
