"""The `lakehouse` resource: where landing JSON is read from and where each zone's Parquet goes.

Every step opens its own in-memory DuckDB connection (`connect`), so steps running in parallel
processes never share a database file or its lock. Tables are exchanged as Parquet files:
`<lakehouse_root>/<zone>/<table>/<table>.parquet`, replaced atomically by `publish`.
"""

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from pydantic import Field

from stedi_dagster.tables import TABLES, Table

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_LANDING_ROOT = PROJECT_ROOT / "data" / "landing"
SAMPLE_LAKEHOUSE_ROOT = PROJECT_ROOT / "data" / "lakehouse"
STAGING_FOLDER = "_staging"


class LakehouseError(Exception):
    """A problem with the lakehouse's inputs or layout, phrased for the user."""


class Lakehouse(dg.ConfigurableResource):
    """Landing JSON in, Parquet per zone out, DuckDB in between."""

    landing_root: str = Field(
        description="Folder holding customer/landing/, accelerometer/landing/ and "
        "step_trainer/landing/ JSON files (STEDI_LANDING_ROOT)."
    )
    lakehouse_root: str = Field(
        description="Folder the landing, trusted and curated zones are written to as Parquet "
        "(STEDI_LAKEHOUSE_ROOT)."
    )
    expectations_path: str | None = Field(
        default=None,
        description="JSON file of expected row counts per table (STEDI_EXPECTATIONS); "
        "defaults to <landing_root>/expectations.json when that file exists.",
    )
    duckdb_memory_limit: str | None = Field(
        default=None, description="DuckDB memory_limit for every step, e.g. '4GB'."
    )
    duckdb_threads: int | None = Field(default=None, description="DuckDB threads for every step.")

    @classmethod
    def from_env(cls) -> "Lakehouse":
        """The resource as configured by STEDI_* environment variables, else the bundled sample."""

        def setting(name: str, default: str | None) -> str | dg.EnvVar | None:
            return dg.EnvVar(name) if os.environ.get(name) else default

        return cls(
            landing_root=setting("STEDI_LANDING_ROOT", str(SAMPLE_LANDING_ROOT)),
            lakehouse_root=setting("STEDI_LAKEHOUSE_ROOT", str(SAMPLE_LAKEHOUSE_ROOT)),
            expectations_path=setting("STEDI_EXPECTATIONS", None),
            duckdb_memory_limit=setting("STEDI_DUCKDB_MEMORY_LIMIT", None),
            duckdb_threads=dg.IntEnvVar("STEDI_DUCKDB_THREADS")
            if os.environ.get("STEDI_DUCKDB_THREADS")
            else None,
        )

    # --- locations -------------------------------------------------------------------------

    def landing_folder(self, dataset: str) -> Path:
        return Path(self.landing_root).resolve() / dataset / "landing"

    def landing_files(self, dataset: str) -> list[str]:
        """The dataset's landing JSON files, sorted; an error naming the folder if none."""
        folder = self.landing_folder(dataset)
        files = sorted(str(p) for p in folder.glob("*.json") if p.is_file())
        if not files:
            raise LakehouseError(f"no landing files for {dataset}: no *.json in {folder}")
        return files

    def table_folder(self, table: Table) -> Path:
        return Path(self.lakehouse_root).resolve() / table.zone / table.name

    def table_file(self, table: Table) -> Path:
        return self.table_folder(table) / f"{table.name}.parquet"

    def expectations(self) -> dict[str, int] | None:
        """Expected row counts per table name, or None when no expectations file applies."""
        if self.expectations_path:
            path = Path(self.expectations_path)
        else:
            path = Path(self.landing_root) / "expectations.json"
            if not path.is_file():
                return None
        try:
            counts = json.loads(path.read_text())["tables"]
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise LakehouseError(
                f"expectations file {path} is unreadable: {e}; "
                'it should hold {"tables": {"customer_landing": 956, ...}}'
            ) from e
        unknown = set(counts) - set(TABLES)
        if unknown:
            raise LakehouseError(f"expectations file {path} names unknown tables {sorted(unknown)}")
        return {name: int(n) for name, n in counts.items()}

    # --- DuckDB ----------------------------------------------------------------------------

    @contextmanager
    def connect(self, *tables: str) -> Iterator[duckdb.DuckDBPyConnection]:
        """A fresh in-memory DuckDB connection with a view per named table over its Parquet."""
        config: dict[str, str | int] = {}
        if self.duckdb_memory_limit:
            config["memory_limit"] = self.duckdb_memory_limit
        if self.duckdb_threads:
            config["threads"] = self.duckdb_threads
        con = duckdb.connect(":memory:", config=config)
        try:
            for name in tables:
                self.attach_table(con, TABLES[name])
            yield con
        finally:
            con.close()

    def attach_table(
        self, con: duckdb.DuckDBPyConnection, table: Table, path: Path | None = None
    ) -> None:
        """Create a view named after the table over its published Parquet (or over `path`)."""
        path = path or self.table_file(table)
        if not path.is_file():
            raise LakehouseError(
                f"table {table.name} has not been materialized yet: no Parquet at {path}"
            )
        con.read_parquet(str(path)).create_view(table.name, replace=True)

    def attach_landing_json(self, con: duckdb.DuckDBPyConnection, table: Table) -> list[str]:
        """View `<dataset>_json`: the landing JSON read with the table's explicit schema."""
        files = self.landing_files(table.dataset)
        con.read_json(files, format="newline_delimited", columns=table.columns).create_view(
            f"{table.dataset}_json", replace=True
        )
        return files

    # --- writing ---------------------------------------------------------------------------

    @contextmanager
    def staged(self, table: Table) -> Iterator[Path]:
        """A private path to write a new version of `table` to; removed unless published."""
        staging = Path(self.lakehouse_root).resolve() / STAGING_FOLDER
        staging.mkdir(parents=True, exist_ok=True)
        path = staging / f"{table.name}-{uuid.uuid4().hex}.parquet"
        try:
            yield path
        finally:
            path.unlink(missing_ok=True)

    def publish(self, table: Table, staged: Path) -> Path:
        """Atomically make `staged` the table's current version: readers see old or new, never a
        mix, and a crash before this point leaves the previous version in place."""
        folder = self.table_folder(table)
        folder.mkdir(parents=True, exist_ok=True)
        target = self.table_file(table)
        os.replace(staged, target)
        for stale in folder.glob("*.parquet"):  # a reader of the folder must see only this table
            if stale != target:
                stale.unlink()
        return target
