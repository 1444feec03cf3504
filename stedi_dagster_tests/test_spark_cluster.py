"""The Spark engine on a cluster: Dagster's own `dg launch` with STEDI_SPARK_MASTER pointing at a
standalone master started by the test (one master, one worker, as real processes), the way a user
points the project at a cluster. The steps' Spark jobs run on the cluster's executor.

Two tables are launched (customer_landing and customer_trusted, with their checks): that proves
the session, the executor and the tables written through it; every table on Spark is covered in
one process by test_spark_engine.py."""

import os

import dagster as dg
import duckdb
import pytest

from stedi_dagster.lakehouse import Lakehouse
from stedi_dagster.tables import TABLES
from stedi_dagster_tests.handmade import EXPECTED_ROWS, write_handmade
from stedi_dagster_tests.spark_cluster import standalone_cluster
from stedi_dagster_tests.test_cli import BIN, run

pytestmark = [pytest.mark.spark, pytest.mark.slow]

LAUNCHED = ("customer_landing", "customer_trusted")


def test_dg_launch_on_a_standalone_spark_cluster(tmp_path):
    landing = write_handmade(tmp_path / "landing")
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with standalone_cluster(tmp_path / "cluster") as cluster:
        env = {
            "STEDI_ENGINE": "spark",
            "STEDI_SPARK_MASTER": cluster.master_url,
            "STEDI_LANDING_ROOT": str(landing),
            "STEDI_LAKEHOUSE_ROOT": str(tmp_path / "lakehouse"),
            "DAGSTER_HOME": str(home),
            "SPARK_LOCAL_IP": "127.0.0.1",
            "VIRTUAL_ENV": str(BIN.parent),
            "PATH": f"{BIN}:{os.environ['PATH']}",
        }
        selection = " or ".join(f"key:{table}" for table in LAUNCHED)
        done = run([str(BIN / "dg"), "launch", "--assets", selection], env, timeout=600)
        state = cluster.state()
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "RUN_SUCCESS" in output and "STEP_FAILURE" not in output

    with dg.DagsterInstance.from_config(str(home)) as instance:
        (launched,) = instance.get_runs()
        materialized = {
            e.dagster_event.asset_key.to_user_string()
            for e in instance.all_logs(launched.run_id)
            if e.dagster_event and e.dagster_event.event_type_value == "ASSET_MATERIALIZATION"
        }
    assert materialized == {*LAUNCHED, "customer_quarantine"}  # the landing step's second output

    lakehouse = Lakehouse(landing_root=str(landing), lakehouse_root=str(tmp_path / "lakehouse"))
    con = duckdb.connect()
    for table in LAUNCHED:
        files = lakehouse.store.files(TABLES[table])
        count = con.execute("select count(*) from read_parquet(?)", [files]).fetchall()
        assert count == [(EXPECTED_ROWS[table],)], table
    records = lakehouse.ingested.committed("customer").values()
    assert sum(r.rows for r in records) == EXPECTED_ROWS["customer_landing"]

    # the application ran on the cluster, with the worker's cores
    (app,) = [
        a for a in state["activeapps"] + state["completedapps"] if a["name"] == "stedi-dagster"
    ]
    assert app["cores"] == 2
    assert state["aliveworkers"] == 1
