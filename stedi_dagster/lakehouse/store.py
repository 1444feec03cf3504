"""The zones' tables on storage: where each table lives, staging and committing new versions,
and views over the current (or staged, or an earlier) version on an engine.

Trusted and curated tables are Delta tables (`delta.py`) at `<lakehouse_root>/<zone>/<table>/`; a
landing table is one part per landing file in its folder, and its bookmark says which parts make
its current version (see `bookmarks.py`).
"""

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stedi_dagster.engines import Engine
from stedi_dagster.errors import LakehouseError
from stedi_dagster.lakehouse.bookmarks import Bookmarks, FileRecord
from stedi_dagster.lakehouse.delta import Commit, DeltaTables
from stedi_dagster.lakehouse.storage import Storage
from stedi_dagster.sql import ident
from stedi_dagster.tables import TABLES, Table

STAGING_FOLDER = "_staging"


class TableStore:
    """The tables of the zones rooted at `zones`."""

    def __init__(self, zones: Storage, bookmarks: Bookmarks):
        self.zones, self.bookmarks = zones, bookmarks
        self.delta = DeltaTables(zones)

    # --- locations -------------------------------------------------------------------------

    def table_folder(self, table: Table) -> str:
        return self.zones.url(table.zone, table.name)

    def table_path(self, table: Table) -> str:
        """What `read_parquet` reads for a landing table: the glob of its parts."""
        return f"{self.table_folder(table)}/*.parquet"

    def files(self, table: Table, version: int | None = None) -> list[str]:
        """Local paths of the data files of a table's current (or a Delta table's given) version
        (copies of them for a lakehouse on S3): what `read_parquet` reads for the table."""
        if table.per_file:
            parts = self.published_parts(table, self.bookmarks.committed(table.dataset))
            urls = list(parts.values())
        else:
            urls = self.delta.files(table, version)
        return [self.zones.local_copy(url) for url in urls]

    def part_url(self, table: Table, record: FileRecord) -> str:
        return f"{self.table_folder(table)}/{record.part}"

    def published_parts(self, table: Table, records: dict[str, FileRecord]) -> dict[str, str]:
        """The Parquet parts of a per-file table, by landing file name, as the bookmark lists
        them (so a reader sees the last committed version, whatever else is in the folder)."""
        return {name: self.part_url(table, r) for name, r in records.items() if r.holds(table.name)}

    def is_materialized(self, table: Table) -> bool:
        if table.per_file:
            return self.zones.exists(self.bookmarks.url(table.dataset))
        return self.delta.version(table) is not None

    # --- reading ---------------------------------------------------------------------------

    def attach(
        self, engine: Engine, table: Table, path: Path | None = None, version: int | None = None
    ) -> None:
        """A view named after the table over its current version (or over the staged file at
        `path`, or the given version); for a landing table also its parts' row counts and its
        bookmark (see `attach_parts`)."""
        if table.per_file and path is None:
            if version is not None:
                raise LakehouseError(f"{table.name} keeps no versions (landing tables)")
            records = self.bookmarks.committed(table.dataset)
            parts = self.published_parts(table, records)
            attach_parts(engine, table, {f: self.zones.local_copy(u) for f, u in parts.items()})
            self.bookmarks.attach(engine, table.dataset, records)
            return
        paths = [str(path)] if path is not None else self.files(table, version)
        if paths:
            engine.view_parquet(table.name, paths)
        else:
            engine.create_view(table.name, f"select {empty_columns(table)} where false")

    # --- writing ---------------------------------------------------------------------------

    @contextmanager
    def staging(self) -> Iterator[Path]:
        """A private local folder to write new table versions to; removed with whatever was not
        published. For a local lakehouse it sits on the same disk, so publishing is a rename.
        A lakehouse of the earlier layout is refused here, before anything is written."""
        self.zones.check()
        for table in TABLES.values():
            if not table.per_file:
                self.delta.check_layout(table)
        if self.zones.remote:
            folder = Path(tempfile.mkdtemp(prefix="stedi-staging-"))
        else:
            staging = Path(self.zones.url(STAGING_FOLDER))
            staging.mkdir(parents=True, exist_ok=True)
            _remove_orphans(staging)
            folder = staging / f"{os.getpid()}-{uuid.uuid4().hex}"
            folder.mkdir()
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def publish(self, table: Table, staged: Path, run_id: str | None = None) -> Commit:
        """Make `staged` the table's new version in one Delta commit: readers see old or new,
        never a mix, and a crash before the commit leaves the previous version current."""
        if table.per_file:
            raise LakehouseError(f"{table.name} is published part by part (see landing/)")
        return self.delta.commit(table, [staged], run_id)


def attach_parts(engine: Engine, table: Table, parts: dict[str, str]) -> None:
    """View `table.name` over the Parquet parts of a per-file table (typed and empty if there are
    none), and view `<table>_part_rows` (file, rows): the rows each landing file's part holds."""
    paths = list(parts.values())
    if paths:
        engine.view_parquet(table.name, paths)
        engine.view_parquet(f"{table.name}_part_files", paths, filename=True)
    else:
        engine.create_view(table.name, f"select {empty_columns(table)} where false")
    engine.fill_table(
        f"{table.name}_parts", {"file": "VARCHAR", "path": "VARCHAR"}, list(parts.items())
    )
    engine.create_view(
        f"{table.name}_part_rows",
        f"select p.file, count(*)::bigint as rows from {table.name}_part_files r "
        f"join {table.name}_parts p on r.filename = p.path group by p.file"
        if paths
        else "select null::varchar as file, 0::bigint as rows where false",
    )


def empty_columns(table: Table) -> str:
    """SQL select list: the table's columns, typed, as nulls (for a query of no rows)."""
    return ", ".join(f"null::{t} as {ident(c)}" for c, t in table.columns.items())


def _remove_orphans(staging: Path) -> None:
    """Remove staging folders left by processes that no longer run (a killed run's half-written
    files); folders of live processes, another run's included, are left alone."""
    for path in staging.glob("*-*"):
        pid = path.name.split("-", 1)[0]
        if path.is_dir() and pid.isdigit() and not _running(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
