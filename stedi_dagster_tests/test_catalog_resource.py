"""The zones as a DuckDB resource: the code location's `catalog` (dagster-duckdb's DuckDBResource,
read-only, over `<lakehouse_root>/catalog.duckdb`), kept current by the steps that publish tables,
queried by table name from a user's own asset (read while the multiprocess job writes every
table: test_faults.py)."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from stedi_dagster.lakehouse import PROJECT_ROOT, Lakehouse
from stedi_dagster.lakehouse.catalog import catalog_path
from stedi_dagster.tables import TABLES
from stedi_dagster_tests.conftest import materialize
from stedi_dagster_tests.handmade import EXPECTED_ROWS, write_handmade

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
