"""Query the zones by table name, as Athena queries Glue tables: a DuckDB view per table over its
Parquet folder, either on an in-memory connection (`stedi sql`) or saved in a catalog file that the
`duckdb` CLI and any DuckDB client can open."""

import os
from pathlib import Path

import duckdb

from stedi_dagster.lakehouse import Lakehouse
from stedi_dagster.tables import TABLES

CATALOG_FILE = "catalog.duckdb"


def _view_ddl(lakehouse: Lakehouse, name: str) -> str:
    # A saved view can't take bound parameters: the path is a quoted SQL string literal.
    glob = str(lakehouse.table_folder(TABLES[name]) / "*.parquet").replace("'", "''")
    return f"create or replace view \"{name}\" as select * from read_parquet('{glob}')"


def materialized_tables(lakehouse: Lakehouse) -> list[str]:
    return [name for name in TABLES if lakehouse.table_file(TABLES[name]).is_file()]


def connect(lakehouse: Lakehouse) -> duckdb.DuckDBPyConnection:
    """An in-memory connection with a view for every materialized table."""
    con = duckdb.connect(":memory:")
    for name in materialized_tables(lakehouse):
        con.execute(_view_ddl(lakehouse, name))
    return con


def write_catalog(lakehouse: Lakehouse, path: Path | None = None) -> Path:
    """Write (atomically) a DuckDB file with one view per table; returns its path."""
    path = path or Path(lakehouse.lakehouse_root).resolve() / CATALOG_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    try:
        for name in TABLES:
            con.execute(_view_ddl(lakehouse, name))
    finally:
        con.close()
    os.replace(tmp, path)
    return path
