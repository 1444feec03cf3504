"""Query the zones by table name, as Athena queries Glue tables: a DuckDB view per table over the
data files of its current version, either on an in-memory connection (`stedi sql`) or saved in a
catalog file that any DuckDB client can open (for an S3 lakehouse, one that reaches S3, e.g. with
httpfs).

For a lakehouse on local disk the catalog file is rewritten by every step that commits a table
(`refresh`), so its views list the files of the committed versions only, and offered to assets as
the `catalog` resource (dagster-duckdb's `DuckDBResource`, read-only). It is only ever replaced
whole (written aside, then renamed), so any number of read-only connections, in any process, keep
working while runs write."""

import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb
from filelock import FileLock

from stedi_dagster.engines.parquet import file_columns
from stedi_dagster.lakehouse import scratch
from stedi_dagster.lakehouse.resource import Lakehouse
from stedi_dagster.lakehouse.storage import is_remote
from stedi_dagster.lakehouse.store import empty_columns
from stedi_dagster.sql import ident, literal, select_columns
from stedi_dagster.tables import TABLES

CATALOG_FILE = "catalog.duckdb"
# What the `catalog` resource's connections are: read-only, so that many can be open at once.
READ_ONLY = {"access_mode": "READ_ONLY"}


def catalog_path(lakehouse_root: str) -> str:
    """Where a lakehouse keeps its catalog file (an absolute path for a local lakehouse)."""
    if is_remote(lakehouse_root):
        return f"{lakehouse_root.rstrip('/')}/{CATALOG_FILE}"
    return str(Path(lakehouse_root.removeprefix("file://")).resolve() / CATALOG_FILE)


def refresh(lakehouse: Lakehouse, names: Sequence[str] | None = None) -> None:
    """Rewrite a local lakehouse's catalog after a commit, so that its views read the committed
    versions: those of the `names` tables alone when it has the others' already (a step's
    commit), else all. One writer at a time (a file lock)."""
    if lakehouse.zones.remote:
        return
    path = Path(lakehouse.zones.url(CATALOG_FILE)).resolve()
    with FileLock(path.with_suffix(".lock")):
        write_catalog(lakehouse, names=names if path.exists() else None)


def materialized_tables(lakehouse: Lakehouse) -> list[str]:
    store = lakehouse.store
    return [name for name, table in TABLES.items() if store.is_materialized(table)]


def create_views(
    lakehouse: Lakehouse, con: duckdb.DuckDBPyConnection, names: Sequence[str] | None = None
) -> list[str]:
    """A view per materialized table (of `names`, by default all), named after it, over the data
    files of its current version (the table's columns: a landing table's source file is left
    out; a column that files written before it was added lack reads as null); returns the
    table names."""
    snapshots = lakehouse.store.snapshots(TABLES if names is None else names)
    current = {name: snapshot.urls for name, snapshot in snapshots.items()}
    with scratch.cursor() as footers:
        for name, files in current.items():
            table = TABLES[name]
            if files:  # a saved view can't take bound parameters: the paths are quoted literals
                schema = file_columns(footers, files)  # (each file's read once per process)
                by_name = ", union_by_name = true" if schema is None or not schema[1] else ""
                source = f"read_parquet([{', '.join(literal(f) for f in files)}]{by_name})"
                if schema is None:  # remote files: DuckDB reads their columns
                    described = con.execute(f"describe select * from {source}").fetchall()
                    present = [c for c, *_ in described]
                else:
                    present = schema[0]
                hidden = set(table.stored_columns) - set(table.columns)
                select = select_columns(table.columns, present, source, hidden)
            else:
                select = f"{empty_columns(table)} where false"
            con.execute(f"create or replace view {ident(name)} as select {select}")
    return list(current)


@contextmanager
def connect(lakehouse: Lakehouse) -> Iterator[tuple[duckdb.DuckDBPyConnection, list[str]]]:
    """An in-memory connection with a view for every materialized table, at its last published
    version, and their names."""
    names = materialized_tables(lakehouse)
    with lakehouse.connect(*names, engine="duckdb") as engine:
        yield engine.con, names


def write_catalog(
    lakehouse: Lakehouse, out: str | None = None, names: Sequence[str] | None = None
) -> str:
    """Write a DuckDB file with one view per materialized table, replacing any previous one in
    one step; by default `<lakehouse_root>/catalog.duckdb`. With `names` (a local catalog that
    exists), only those tables' views are written again, in a copy of it. Returns where it
    went."""
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
    local.unlink(missing_ok=True)
    if names is not None:
        shutil.copyfile(path, local)
    _write(lakehouse, local, names)
    os.replace(local, path)
    return str(path)


def _write(lakehouse: Lakehouse, path: Path, names: Sequence[str] | None = None) -> list[str]:
    if names is None:
        path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    try:
        if lakehouse.zones.remote:
            con.register_filesystem(lakehouse.zones.fs)
        return create_views(lakehouse, con, names)
    finally:
        con.close()
