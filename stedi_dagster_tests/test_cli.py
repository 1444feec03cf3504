"""The command line as users meet it: `stedi run` on the bundled sample, `stedi sql`, the catalog
file, and Dagster's own `dg launch` on the course data (two runs at once on one lakehouse)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from stedi_dagster.lakehouse import PROJECT_ROOT, SAMPLE_LANDING_ROOT, Lakehouse
from stedi_dagster.tables import TABLES
from stedi_dagster_tests.conftest import COURSE_EXPECTATIONS
from stedi_dagster_tests.test_course_data import COURSE_COUNTS
from stedi_dagster_tests.test_definitions import EXPECTED_CHECKS

BIN = Path(sys.executable).parent


def run(args: list[str], env: dict[str, str], timeout: int = 300) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("STEDI_", "DAGSTER_"))}
    return subprocess.run(
        args,
        env={**clean, **env},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.slow
def test_stedi_run_materializes_the_bundled_sample_and_prints_every_table(tmp_path):
    env = {"STEDI_LAKEHOUSE_ROOT": str(tmp_path / "lakehouse")}
    done = run([str(BIN / "stedi"), "run"], env)
    assert done.returncode == 0, done.stdout + done.stderr
    expected = json.loads((SAMPLE_LANDING_ROOT / "expectations.json").read_text())["tables"]
    lines = done.stdout.splitlines()
    for table, count in expected.items():
        (line,) = [line for line in lines if f" {table} " in line]
        assert f" {count:,} " in line and "passed" in line, line
        passed, total = line.split("passed")[0].split()[-1].split("/")
        warnings = 1 if table == "machine_learning_curated" else 0  # cross-customer pairs
        assert int(passed) + warnings == int(total) >= 5, line
    assert "FAILED" not in done.stdout
    assert "WARN machine_learning_curated.cross_customer_pairs" in done.stdout
    assert "rows published to" in done.stderr  # per-step progress lines

    query = "select count(*) as n from machine_learning_curated"
    sql = run([str(BIN / "stedi"), "sql", query], env)
    assert sql.returncode == 0, sql.stderr
    assert f"{expected['machine_learning_curated']}" in sql.stdout

    bad = run([str(BIN / "stedi"), "sql", "select * from customers"], env)
    assert bad.returncode == 2
    assert "customers" in bad.stderr and "tables: customer_landing" in bad.stderr

    catalog = duckdb.connect(str(tmp_path / "lakehouse" / "catalog.duckdb"), read_only=True)
    for table, count in expected.items():
        assert catalog.execute(f"select count(*) from {table}").fetchall() == [(count,)]


def test_stedi_sql_before_any_run_says_what_to_do(tmp_path):
    done = run([str(BIN / "stedi"), "sql", "select 1"], {"STEDI_LAKEHOUSE_ROOT": str(tmp_path)})
    assert done.returncode == 2
    assert "run `stedi run` first" in done.stderr


@pytest.mark.slow
def test_two_dg_launch_runs_at_once_on_the_course_data(course_data, tmp_path):
    env = {
        "STEDI_LANDING_ROOT": str(course_data),
        "STEDI_LAKEHOUSE_ROOT": str(tmp_path / "lakehouse"),
        "STEDI_EXPECTATIONS": str(COURSE_EXPECTATIONS),
    }
    command = [str(BIN / "dg"), "launch", "--assets", "*"]
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("STEDI_", "DAGSTER_"))}
    runs = [
        subprocess.Popen(
            command,
            env={**clean, **env},
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300)[0] for p in runs]
    for p, output in zip(runs, outputs, strict=True):
        assert p.returncode == 0, output[-3000:]
        assert output.count("ASSET_CHECK_EVALUATION") == len(EXPECTED_CHECKS)
        assert "RUN_SUCCESS" in output
        assert "Could not set lock" not in output
    con = duckdb.connect()
    lakehouse = Lakehouse(landing_root=str(course_data), lakehouse_root=str(tmp_path / "lakehouse"))
    for table, count in COURSE_COUNTS.items():
        files = lakehouse.store.files(TABLES[table])
        assert con.execute("select count(*) from read_parquet(?)", [files]).fetchall() == [(count,)]


def test_dg_loads_the_project_without_warnings():
    env = {"VIRTUAL_ENV": str(BIN.parent), "PATH": f"{BIN}:{os.environ['PATH']}"}
    done = run([str(BIN / "dg"), "check", "defs"], env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All definitions loaded successfully" in done.stdout + done.stderr
    assert "warning" not in (done.stdout + done.stderr).lower()
