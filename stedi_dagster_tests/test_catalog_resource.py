"""The zones as a DuckDB resource: the code location's `catalog` (dagster-duckdb's DuckDBResource,
read-only, over `<lakehouse_root>/catalog.duckdb`), kept current by the steps that publish tables,
queried by table name from a user's own asset, and read from another process while the
multiprocess job writes every table."""

import os
import subprocess
import threading
import time

import dagster as dg
import pytest
from dagster_duckdb import DuckDBResource

from stedi_dagster.lakehouse import PROJECT_ROOT, Lakehouse
from stedi_dagster.lakehouse.catalog import catalog_path
from stedi_dagster.tables import TABLES
from stedi_dagster_tests.conftest import materialize
from stedi_dagster_tests.handmade import EXPECTED_ROWS, write_handmade
from stedi_dagster_tests.test_cli import BIN

LANDING = [name for name, t in TABLES.items() if t.zone == "landing"]


def test_the_code_location_offers_the_catalog_read_only(definitions, tmp_path, monkeypatch):
    resource = definitions.resources["catalog"]
    assert isinstance(resource, DuckDBResource)
    assert resource.connection_config == {"access_mode": "READ_ONLY"}
    assert resource.database == str(PROJECT_ROOT / "data" / "lakehouse" / "catalog.duckdb")
    monkeypatch.setenv("STEDI_LAKEHOUSE_ROOT", str(tmp_path / "elsewhere"))
    from stedi_dagster.defs.resources import resources

    assert resources().resources["catalog"].database == str(tmp_path / "elsewhere/catalog.duckdb")


def test_a_user_asset_queries_every_zone_by_table_name(definitions, tmp_path):
    lakehouse = Lakehouse(
        landing_root=str(write_handmade(tmp_path / "landing")),
        lakehouse_root=str(tmp_path / "lakehouse"),
    )
    assert materialize(definitions, lakehouse).success  # the steps write the catalog

    @dg.asset(deps=[TABLES[name].key for name in EXPECTED_ROWS])
    def zone_counts(context: dg.AssetExecutionContext, catalog: DuckDBResource) -> dict:
        with catalog.get_connection() as con:
            return {
                name: con.execute(f"select count(*) from {name}").fetchall()[0][0]
                for name in EXPECTED_ROWS
            }

    catalog = DuckDBResource(
        database=catalog_path(lakehouse.lakehouse_root),
        connection_config={"access_mode": "READ_ONLY"},
    )
    result = dg.materialize([zone_counts], resources={"catalog": catalog})
    assert result.success
    assert result.output_for_node("zone_counts") == EXPECTED_ROWS


@pytest.mark.slow
def test_the_catalog_answers_while_the_multiprocess_job_writes_every_table(definitions, tmp_path):
    """Readers in this process hold read-only connections while the job's step processes
    publish tables and rewrite the catalog (each trusted and curated table is new)."""
    landing = write_handmade(tmp_path / "landing")
    lakehouse = Lakehouse(landing_root=str(landing), lakehouse_root=str(tmp_path / "lh"))
    landing_only = dg.AssetSelection.assets(*(TABLES[name].key for name in LANDING))
    assert materialize(definitions, lakehouse, selection=landing_only).success
    catalog = DuckDBResource(
        database=catalog_path(lakehouse.lakehouse_root),
        connection_config={"access_mode": "READ_ONLY"},
    )
    answers: dict[str, set[int]] = {}
    errors: list[Exception] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                with catalog.get_connection() as con:
                    views = [
                        v
                        for (v,) in con.execute(
                            "select view_name from duckdb_views() where not internal"
                        ).fetchall()
                    ]
                    for name in views:
                        n = con.execute(f"select count(*) from {name}").fetchall()[0][0]
                        answers.setdefault(name, set()).add(n)
            except Exception as e:  # noqa: BLE001 - collected and asserted on below
                errors.append(e)
            time.sleep(0.02)

    readers = [threading.Thread(target=read) for _ in range(2)]
    for reader in readers:
        reader.start()
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("STEDI_", "DAGSTER_"))}
    env = clean | {
        "STEDI_LANDING_ROOT": str(landing),
        "STEDI_LAKEHOUSE_ROOT": str(tmp_path / "lh"),
        "DAGSTER_HOME": str(tmp_path / "home"),
        "VIRTUAL_ENV": str(BIN.parent),
        "PATH": f"{BIN}:{os.environ['PATH']}",
    }
    try:
        done = subprocess.run(
            [str(BIN / "dg"), "launch", "--job", "lakehouse_parallel"],
            env=env,
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        time.sleep(0.5)  # a last round of reads after the run
        stop.set()
        for reader in readers:
            reader.join(timeout=30)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "Executing steps using multiprocess executor" in output
    assert errors == []
    # every zone was answered, and the last answers are the published counts
    assert set(answers) == set(TABLES)
    with catalog.get_connection() as con:
        final = {
            name: con.execute(f"select count(*) from {name}").fetchall()[0][0] for name in TABLES
        }
    assert {name: final[name] for name in EXPECTED_ROWS} == EXPECTED_ROWS
    assert all(final[name] in seen for name, seen in answers.items())
