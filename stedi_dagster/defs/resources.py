"""Wiring: the lakehouse resource from STEDI_* environment variables (read when the code location
loads, never at import), the zones' catalog as a read-only DuckDB resource for any asset to query
by table name, and the in-process executor (steps share no DuckDB file, and one process avoids
paying Dagster's start-up per step)."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from stedi_dagster.lakehouse import Lakehouse
from stedi_dagster.lakehouse.catalog import READ_ONLY, catalog_path


@dg.definitions
def resources() -> dg.Definitions:
    root = Lakehouse.setting_from_env("lakehouse_root")
    return dg.Definitions(
        resources={
            "lakehouse": Lakehouse.from_env(),
            # `with catalog.get_connection() as con: con.sql("from customer_curated")`
            "catalog": DuckDBResource(database=catalog_path(root), connection_config=READ_ONLY),
        },
        executor=dg.in_process_executor,
    )
