"""Query the zones by table name, as Athena queries Glue tables: a DuckDB view per table over its
Parquet folder, either on an in-memory connection (`stedi sql`) or saved in a catalog file that
any DuckDB client can open (for an S3 lakehouse, one that reaches S3, e.g. with httpfs)."""

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from stedi_dagster.lakehouse.resource import Lakehouse
from stedi_dagster.lakehouse.storage import is_remote
from stedi_dagster.sql import ident, literal
from stedi_dagster.tables import TABLES

CATALOG_FILE = "catalog.duckdb"


def materialized_tables(lakehouse: Lakehouse) -> list[str]:
    store = lakehouse.store
    return [name for name, table in TABLES.items() if store.is_materialized(table)]


def create_views(lakehouse: Lakehouse, con: duckdb.DuckDBPyConnection) -> list[str]:
    """A view per materialized table, named after it; returns the table names."""
    names = materialized_tables(lakehouse)
    for name in names:
        # A saved view can't take bound parameters: the path is a quoted SQL string literal.
        glob = literal(f"{lakehouse.store.table_folder(TABLES[name])}/*.parquet")
        con.execute(f"create or replace view {ident(name)} as select * from read_parquet({glob})")
    return names


@contextmanager
def connect(lakehouse: Lakehouse) -> Iterator[tuple[duckdb.DuckDBPyConnection, list[str]]]:
    """An in-memory connection with a view for every materialized table, at its last published
    version (for a landing table, the parts its bookmark lists), and their names."""
    names = materialized_tables(lakehouse)
    with lakehouse.connect(*names, engine="duckdb") as engine:
        yield engine.con, names


def write_catalog(lakehouse: Lakehouse, out: str | None = None) -> str:
    """Write a DuckDB file with one view per materialized table, replacing any previous one in
    one step; by default `<lakehouse_root>/catalog.duckdb`. Returns where it went."""
    target = out or lakehouse.zones.url(CATALOG_FILE)
    if is_remote(target):
        with tempfile.TemporaryDirectory() as folder:
            local = Path(folder) / CATALOG_FILE
            _write(lakehouse, local)
            lakehouse.zones.put(local, target)
        return target
    path = Path(target).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    local = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    _write(lakehouse, local)
    os.replace(local, path)
    return str(path)


def _write(lakehouse: Lakehouse, path: Path) -> None:
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    try:
        if lakehouse.zones.remote:
            con.register_filesystem(lakehouse.zones.fs)
        create_views(lakehouse, con)
    finally:
        con.close()
