"""Query the zones by table name, as Athena queries Glue tables: a DuckDB view per table over its
Parquet folder, either on an in-memory connection (`stedi sql`) or saved in a catalog file that
any DuckDB client can open (for an S3 lakehouse, one that reaches S3, e.g. with httpfs).

For a lakehouse on local disk the catalog file is kept current by the steps that publish tables
(`refresh`) and offered to assets as the `catalog` resource (dagster-duckdb's `DuckDBResource`,
read-only). It is only ever replaced whole (written aside, then renamed), so any number of
read-only connections, in any process, keep working while runs write."""

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from filelock import FileLock

from stedi_dagster.lakehouse.resource import Lakehouse
from stedi_dagster.lakehouse.storage import is_remote
from stedi_dagster.sql import ident, literal
from stedi_dagster.tables import TABLES

CATALOG_FILE = "catalog.duckdb"
# What the `catalog` resource's connections are: read-only, so that many can be open at once.
READ_ONLY = {"access_mode": "READ_ONLY"}


def catalog_path(lakehouse_root: str) -> str:
    """Where a lakehouse keeps its catalog file (an absolute path for a local lakehouse)."""
    if is_remote(lakehouse_root):
        return f"{lakehouse_root.rstrip('/')}/{CATALOG_FILE}"
    return str(Path(lakehouse_root.removeprefix("file://")).resolve() / CATALOG_FILE)


def refresh(lakehouse: Lakehouse) -> bool:
    """Rewrite a local lakehouse's catalog if it lacks a view of a materialized table (a table
    published for the first time); whether it did. One writer at a time (a file lock)."""
    if lakehouse.zones.remote:
        return False
    path = Path(lakehouse.zones.url(CATALOG_FILE)).resolve()
    with FileLock(path.with_suffix(".lock")):
        if set(materialized_tables(lakehouse)) <= _views(path):
            return False
        write_catalog(lakehouse)
        return True


# The views of each catalog file this process has read or written, with the file version they
# were read from or written as (it is only ever replaced whole, so a new version is a new inode):
# opening a DuckDB file to list them costs tens of milliseconds, in every publishing step.
_views_seen: dict[Path, tuple[tuple[int, int, int], set[str]]] = {}


def _version(path: Path) -> tuple[int, int, int]:
    stat = path.stat()
    return stat.st_ino, stat.st_mtime_ns, stat.st_size


def _views(path: Path) -> set[str]:
    try:
        version = _version(path)
    except FileNotFoundError:
        return set()
    seen = _views_seen.get(path)
    if seen is None or seen[0] != version:
        with duckdb.connect(str(path), config=READ_ONLY) as con:
            views = con.execute("select view_name from duckdb_views() where not internal")
            seen = _views_seen[path] = version, {name for (name,) in views.fetchall()}
    return seen[1]


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
    names = _write(lakehouse, local)
    written = _version(local)  # a rename keeps the inode, mtime and size
    os.replace(local, path)
    _views_seen[path] = written, set(names)  # the next refresh need not open it again
    return str(path)


def _write(lakehouse: Lakehouse, path: Path) -> list[str]:
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    try:
        if lakehouse.zones.remote:
            con.register_filesystem(lakehouse.zones.fs)
        return create_views(lakehouse, con)
    finally:
        con.close()
