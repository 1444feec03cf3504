"""The Spark engine on a cluster: `stedi run` with STEDI_SPARK_MASTER pointing at a standalone
master started by the test (one master, one worker, as real processes), the way a user points the
project at a cluster. The steps' Spark jobs run on the cluster's executor."""

import pytest

from stedi_dagster.lakehouse import Lakehouse
from stedi_dagster.tables import LANDING_DATASETS, TABLES
from stedi_dagster_tests.handmade import EXPECTED_ROWS, write_handmade
from stedi_dagster_tests.spark_cluster import standalone_cluster
from stedi_dagster_tests.test_cli import BIN, run

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def test_stedi_run_on_a_standalone_spark_cluster(tmp_path):
    landing = write_handmade(tmp_path / "landing")
    with standalone_cluster(tmp_path / "cluster") as cluster:
        env = {
            "STEDI_ENGINE": "spark",
            "STEDI_SPARK_MASTER": cluster.master_url,
            "STEDI_LANDING_ROOT": str(landing),
            "STEDI_LAKEHOUSE_ROOT": str(tmp_path / "lakehouse"),
            "DAGSTER_HOME": str(tmp_path / "dagster_home"),
            "SPARK_LOCAL_IP": "127.0.0.1",
        }
        done = run([str(BIN / "stedi"), "run"], env, timeout=600)
        state = cluster.state()
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = done.stdout.splitlines()
    for table, count in EXPECTED_ROWS.items():
        (line,) = [line for line in lines if f" {table} " in line]
        assert f" {count:,} " in line, line
    lakehouse = Lakehouse(
        landing_root=str(tmp_path / "landing"), lakehouse_root=str(tmp_path / "lakehouse")
    )
    for dataset in LANDING_DATASETS:
        records = lakehouse.ingested.committed(dataset).values()
        assert sum(r.rows for r in records) == EXPECTED_ROWS[f"{dataset}_landing"]
    assert "FAILED" not in done.stdout
    # the application ran on the cluster, with the worker's cores
    (app,) = [
        a for a in state["activeapps"] + state["completedapps"] if a["name"] == "stedi-dagster"
    ]
    assert app["cores"] == 2
    assert state["aliveworkers"] == 1
    assert {t.zone for t in TABLES.values()} <= {p.name for p in (tmp_path / "lakehouse").iterdir()}
