"""The zones' tables on storage: where each Delta table lives (`delta.py`), staging new versions,
and views over the current (or staged, or an earlier) version on an engine."""

import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from stedi_dagster.engines import Engine
from stedi_dagster.lakehouse.delta import INPUTS, DeltaTables
from stedi_dagster.lakehouse.ingested_files import IngestedFiles
from stedi_dagster.lakehouse.storage import Storage, file_name
from stedi_dagster.sql import ident, select_columns
from stedi_dagster.tables import TABLES, Table, files_table

STAGING_FOLDER = "_staging"


@dataclass(frozen=True)
class Snapshot:
    """A table's version as readers see it, and its data files (URLs)."""

    version: int
    urls: list[str]

    @cached_property  # asked once per file of another version, when comparing with it
    def files(self) -> frozenset[str]:
        """The names of its data files: two versions with the same ones hold the same rows."""
        return frozenset(file_name(u) for u in self.urls)


class TableStore:
    """The tables of the zones rooted at `zones`."""

    def __init__(self, zones: Storage):
        self.zones = zones
        self.delta = DeltaTables(zones)
        self.ingested = IngestedFiles(self.delta)

    def table_folder(self, table: Table) -> str:
        return self.delta.uri(table)

    def files(self, table: Table, version: int | None = None) -> list[str]:
        """Local paths of the data files of a table's current (or given) version (copies of them
        for a lakehouse on S3): what `read_parquet` reads for the table. A landing or quarantine
        table's current version is the one its dataset's last run committed (see
        `IngestedFiles`), so that a run's landing commits are seen together."""
        urls = self.delta.files(table, self.current_version(table) if version is None else version)
        return [self.zones.local_copy(url) for url in urls]

    def current_version(self, table: Table, described: dict[str, int] | None = None) -> int | None:
        """The version readers see: the latest (None), or for a landing or quarantine table the
        one its dataset's last run committed (from `described`, the dataset's commit point, if
        it was read already)."""
        if table.zone != "landing" or table.name == files_table(table.dataset).name:
            return None
        if described is None:
            described = self.ingested.described(table.dataset)
        return (described or {}).get(table.name)

    def snapshots(self, names: Iterable[str]) -> dict[str, "Snapshot"]:
        """The version readers see now (see `current_version`) of each named table that has one,
        with its data files; each landing dataset's commit point and each log read once."""
        names = list(names)
        landing = {TABLES[n].dataset for n in names if TABLES[n].zone == "landing"}
        described = {d: self.ingested.described(d) for d in landing}
        found = {}
        for name in names:
            table = TABLES[name]
            version = self.current_version(table, described.get(table.dataset))
            delta = self.delta.latest(table, version)
            if delta is not None:
                found[name] = Snapshot(delta.version(), delta.file_uris())
        return found

    def is_materialized(self, table: Table) -> bool:
        return self.delta.version(table) is not None

    # --- reading ---------------------------------------------------------------------------

    def attach(
        self,
        engine: Engine,
        table: Table,
        paths: Sequence[str] | None = None,
        version: int | None = None,
        view: str | None = None,
    ) -> None:
        """A view named after the table over its current version (or the given data files, or
        the given version): its columns in the registry's order (then any other the files have,
        for the schema check to see), a landing table's source file left out; data files written
        before a column was added (schema evolution) read it as null. For a landing table also
        `<table>_stored`, with the source file, and `<table>_file_rows` (file, rows): the rows
        each landing file has in it. `view` names the view instead of the table's name."""
        if paths is None:
            paths = self.files(table, version)
        source, name = table.source_column, view or table.name
        stored = f"{name}_stored"
        if paths:
            parquet = f"{name}_parquet"
            engine.view_parquet(parquet, paths)
            present = engine.describe(parquet)
            hidden = set(table.stored_columns) - set(table.columns)  # a landing source_file
            shown = select_columns(table.columns, present, parquet, hidden)
            engine.create_view(name, f"select {shown}", rows_of=parquet)
            if source:  # (a view of every data file binds again each footer they have)
                engine.create_view(
                    stored,
                    f"select {select_columns(table.stored_columns, present, parquet)}",
                    rows_of=parquet,
                )
        else:
            engine.create_view(name, f"select {empty_columns(table)} where false")
        if source:
            engine.create_view(
                f"{name}_file_rows",
                f"select {ident(source)} as file, count(*) as rows from {stored} group by 1"
                if paths
                else "select null::varchar as file, 0::bigint as rows where false",
            )

    # --- writing ---------------------------------------------------------------------------

    @contextmanager
    def staging(self) -> Iterator[Path]:
        """A private local folder to write new table versions to; removed with whatever was not
        committed. For a local lakehouse it sits on the same disk, so a data file moves into its
        table by a rename. A lakehouse of the earlier layout is refused here, before anything is
        written."""
        self.zones.check()
        for table in TABLES.values():
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

    def publish(
        self,
        table: Table,
        staged: Sequence[Path],
        run_id: str | None = None,
        inputs: dict[str, int] | None = None,
        recorded: dict[str, str] | None = None,
        replace: bool = True,
        removed: Sequence[str] = (),
        base: int | None = None,
        merged: dict[Path, list[str]] | None = None,
    ) -> int:
        """Make the `staged` files the table's new version (or, not `replace`-ing, add them to
        version `base`) in one Delta commit (its version is returned), recording the versions
        of the `inputs` it was computed from and the `recorded` metadata (see
        `factory/reuse.py`), and (not replacing) leaving out the `removed` data files (URLs),
        `merged` ones among them (see `DeltaTables.commit`): readers see old or new, never a
        mix, and a crash before the commit leaves the previous version current. `StaleVersion`
        when another writer committed after `base`."""
        metadata = {INPUTS: json.dumps(inputs, sort_keys=True)} if inputs is not None else {}
        return self.delta.commit(
            table,
            staged,
            run_id,
            replace=replace,
            removed=removed,
            metadata=metadata | (recorded or {}),
            base=base,
            merged=merged,
        )


def empty_columns(table: Table) -> str:
    """SQL select list: the table's columns, typed, as nulls (for a query of no rows)."""
    return select_columns(table.columns, {})


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
