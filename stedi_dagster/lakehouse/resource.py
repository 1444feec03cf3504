"""The `lakehouse` resource: the settings, and the small collaborators that do the work.

Both roots are a local folder or `s3://bucket/prefix` (`storage.py`). The resource hands out the
landing folder (`landing`), the zones' Delta tables (`store`: locations, staging, commits,
views), the landing files ingested (`ingested`), the privacy records (`privacy`) and, per step,
an engine (`connect`): a DuckDB connection of the step's own, or a Spark session (`engines/`).
"""

import os
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import dagster as dg
from pydantic import Field, PrivateAttr

from stedi_dagster.engines import Engine, SqlContext, file_facts, kept_files
from stedi_dagster.errors import LakehouseError
from stedi_dagster.lakehouse.expectations import read_expectations
from stedi_dagster.lakehouse.ingested_files import IngestedFiles
from stedi_dagster.lakehouse.landing_folder import LandingFolder
from stedi_dagster.lakehouse.storage import Storage
from stedi_dagster.lakehouse.store import TableStore
from stedi_dagster.privacy.records import PrivacyRecords
from stedi_dagster.tables import TABLES, files_table

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
SAMPLE_LANDING_ROOT = PROJECT_ROOT / "data" / "landing"
SAMPLE_LAKEHOUSE_ROOT = PROJECT_ROOT / "data" / "lakehouse"
# The folder under a local lakehouse root where the tables the checks compute from landing (the
# consent relations, the landing identifiers) are kept between runs (`engines/duckdb_engine.py`).
SHARED_TABLES = "_shared_tables"
# The settings whose values other than their defaults name an expectations file's variants.
VARIANT_SETTINGS = ("consent_mode", "ml_pairing")
# Each setting's environment variable. Paths and secrets are passed as EnvVars (Dagster shows
# the variable, not its value); choices are read, so that pydantic checks them. A variable that
# is not set leaves the setting at its default (the Field below: the one place defaults live).
ENV_PATHS_AND_SECRETS = {
    "landing_root": "STEDI_LANDING_ROOT",
    "lakehouse_root": "STEDI_LAKEHOUSE_ROOT",
    "expectations_path": "STEDI_EXPECTATIONS",
    "duckdb_memory_limit": "STEDI_DUCKDB_MEMORY_LIMIT",
    "pseudonym_key": "STEDI_PSEUDONYM_KEY",
}
ENV_CHOICES = {
    "consent_mode": "STEDI_CONSENT_MODE",
    "ml_pairing": "STEDI_ML_PAIRING",
    "engine": "STEDI_ENGINE",
    "spark_master": "STEDI_SPARK_MASTER",
    "spark_conf": "STEDI_SPARK_CONF",
    "quarantine_max_fraction": "STEDI_QUARANTINE_MAX_FRACTION",
}


class Lakehouse(dg.ConfigurableResource):
    """Landing JSON in, Parquet per zone out, DuckDB (or Spark: `engine`) in between."""

    landing_root: str = Field(
        default=str(SAMPLE_LANDING_ROOT),
        description="Folder holding customer/landing/, accelerometer/landing/ and "
        "step_trainer/landing/ JSON files (STEDI_LANDING_ROOT); the bundled sample by default.",
    )
    lakehouse_root: str = Field(
        default=str(SAMPLE_LAKEHOUSE_ROOT),
        description="Folder the landing, trusted and curated zones are written to as Parquet "
        "(STEDI_LAKEHOUSE_ROOT); data/lakehouse/ of the project by default.",
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
    s3_endpoint_url: str | None = Field(
        default=None,
        description="Endpoint of an S3-compatible server (STEDI_S3_ENDPOINT_URL or "
        "AWS_ENDPOINT_URL); unset means AWS itself.",
    )

    consent_mode: Literal["any_time", "from_consent_date"] = Field(
        default="any_time",
        description="any_time: every reading of a consenting customer (the course's rule); "
        "from_consent_date: only readings taken at or after shareWithResearchAsOfDate "
        "(STEDI_CONSENT_MODE).",
    )
    ml_pairing: Literal["timestamp", "same_customer"] = Field(
        default="timestamp",
        description="How machine_learning_curated pairs readings: by millisecond alone, or by "
        "millisecond and customer (STEDI_ML_PAIRING).",
    )
    quarantine_max_fraction: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="Largest fraction of a dataset's landing lines that may be quarantined before "
        "its landing tables stop being published (STEDI_QUARANTINE_MAX_FRACTION).",
    )
    engine: Literal["duckdb", "spark"] = Field(
        default="duckdb",
        description="What computes the tables and runs the checks: DuckDB in the step's "
        "process, or Spark SQL (STEDI_ENGINE); the same SQL, checks and Parquet layout.",
    )
    spark_master: str = Field(
        default="local[2]",
        description="Spark master URL for the spark engine: local[N], or spark://host:port of a "
        "standalone cluster (STEDI_SPARK_MASTER).",
    )
    spark_conf: str | None = Field(
        default=None,
        description="Extra Spark settings, key=value separated by commas, e.g. "
        "'spark.driver.memory=8g' (STEDI_SPARK_CONF).",
    )
    pseudonym_key: str | None = Field(
        default=None,
        description="Secret key of the pseudonymous subject ids (STEDI_PSEUDONYM_KEY); required "
        "for a lakehouse on S3, a development key is used on local disk.",
    )

    _storages: dict[str, Storage] = PrivateAttr(default_factory=dict)

    @classmethod
    def from_env(cls) -> "Lakehouse":
        """The resource as configured by STEDI_* environment variables, else the bundled sample."""
        given: dict = {
            field: dg.EnvVar(variable)
            for field, variable in ENV_PATHS_AND_SECRETS.items()
            if os.environ.get(variable)
        } | {
            field: os.environ[variable]
            for field, variable in ENV_CHOICES.items()
            if os.environ.get(variable)
        }
        if os.environ.get("STEDI_DUCKDB_THREADS"):
            given["duckdb_threads"] = dg.IntEnvVar("STEDI_DUCKDB_THREADS")
        for variable in ("STEDI_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL"):
            if os.environ.get(variable):
                given["s3_endpoint_url"] = dg.EnvVar(variable)
                break
        return cls(**given)

    @classmethod
    def setting_from_env(cls, name: str) -> str | None:
        """A path or secret setting's value as the environment sets it, else its default (for
        wiring that needs the value before Dagster resolves the resource)."""
        return os.environ.get(ENV_PATHS_AND_SECRETS[name]) or cls.model_fields[name].default

    # --- collaborators ---------------------------------------------------------------------

    def storage(self, root: str) -> Storage:
        if root not in self._storages:
            self._storages[root] = Storage(root, self.s3_endpoint_url)
        return self._storages[root]

    @property
    def zones(self) -> Storage:
        return self.storage(self.lakehouse_root)

    @property
    def landing(self) -> LandingFolder:
        return LandingFolder(self.storage(self.landing_root))

    @property
    def store(self) -> TableStore:
        return TableStore(self.zones)

    @property
    def ingested(self) -> IngestedFiles:
        return self.store.ingested

    @property
    def privacy(self) -> PrivacyRecords:
        return PrivacyRecords(self.zones, self.pseudonym_key)

    @property
    def shared_tables(self) -> Path | None:
        """Where an engine keeps the tables it computed from landing for the checks (personal
        data: an erasure removes them, `forget_shared_tables`); None on S3."""
        return None if self.zones.remote else Path(self.lakehouse_root) / SHARED_TABLES

    def forget_shared_tables(self, but: Collection[Path] = ()) -> None:
        """Remove the tables kept between runs: after an erasure they may hold the erased (a
        failure to remove them is an error, never passed over); but the files `but` (those the
        erasure kept again without the erased: `privacy/erased_relations.py`), and the facts of
        the data files of the tables' current versions, which hold no row the erasure removed
        (their facts are computed from their rows alone: `engines/file_facts.py`), so that the
        run after it computes those of the files it wrote again alone, not those of every
        table."""
        folder = self.shared_tables
        if folder is None or not folder.exists():
            return
        spared = {file_facts.FOLDER, *(path.name for path in but)}
        for path in folder.iterdir():
            if path.name not in spared:
                kept_files.remove(path)
        current = [
            url
            for table in TABLES.values()
            if self.store.is_materialized(table)
            for url in self.store.files(table)
        ]
        file_facts.forget_all_but(folder, current)

    # --- settings as the SQL and the checks see them ---------------------------------------

    def sql_context(self) -> SqlContext:
        """The settings every SQL file may read with getvariable(), the pseudonym key's pads and
        the erasure list."""
        return SqlContext(
            {"consent_mode": self.consent_mode, "ml_pairing": self.ml_pairing},
            self.privacy.pseudonym_secret(),
            self.privacy.erasure_keys(),
        )

    def expectations(self) -> dict[str, int] | None:
        """Expected row counts per table name for this lakehouse's settings, or None when no
        expectations file applies (or it has no variant for these settings)."""
        if self.expectations_path:
            storage, url = self.storage(self.expectations_path), self.expectations_path
        else:
            storage = self.landing.storage
            url = storage.url("expectations.json")
            if not storage.exists(url):
                return None
        return read_expectations(storage, url, self.settings_variant())

    def settings_variant(self) -> str:
        """The settings that differ from the defaults, as an expectations file names its variants
        ("consent_mode=from_consent_date ml_pairing=same_customer"); "" for the defaults."""
        return " ".join(
            f"{name}={getattr(self, name)}"
            for name in VARIANT_SETTINGS
            if getattr(self, name) != type(self).model_fields[name].default
        )

    # --- engines ---------------------------------------------------------------------------

    @contextmanager
    def connect(
        self, *tables: str, engine: str | None = None, versions: dict[str, int] | None = None
    ) -> Iterator[Engine]:
        """A fresh engine with a view per named table over its published Parquet, at its current
        version or the one `versions` pins it to. `engine` overrides the configured one (the SQL
        console and erasure edit Parquet with DuckDB whichever engine computes the zones)."""
        opened = self._spark() if (engine or self.engine) == "spark" else self._duckdb()
        try:
            store = self.store
            for name in tables:
                store.attach(opened, TABLES[name], version=(versions or {}).get(name))
            # and, for a landing dataset, what its files' lines became
            for dataset in sorted(
                {TABLES[n].dataset for n in tables if TABLES[n].zone == "landing"}
            ):
                store.attach(opened, files_table(dataset))
                store.ingested.attach_read(opened, dataset)
            yield opened
        finally:
            opened.close()

    def _duckdb(self):
        """A DuckDB engine of its own (`DuckDBEngine`; its `con` for DuckDB-only work)."""
        from stedi_dagster.engines.duckdb_engine import duckdb_engine

        remote = [s for s in (self.landing.storage, self.zones) if s.remote]
        return duckdb_engine(
            self.sql_context(),
            memory_limit=self.duckdb_memory_limit,
            threads=self.duckdb_threads,
            # one s3fs filesystem, registered on a database of its own, serves both roots
            filesystem=remote[0].fs if remote else None,
            kept_in=self.shared_tables,
        )

    def _spark(self):
        from stedi_dagster.engines.spark_engine import SparkEngine, parse_conf, spark_session

        remote = [
            root
            for root, storage in (
                (self.landing_root, self.landing.storage),
                (self.lakehouse_root, self.zones),
            )
            if storage.remote
        ]
        if remote and not self.spark_master.startswith("local"):
            raise LakehouseError(
                f"{' and '.join(remote)} on S3 with Spark master {self.spark_master}: the "
                "spark engine reaches S3 through copies on the driver's disk, which a cluster's "
                "executors cannot read; use a local[N] master, the duckdb engine, or roots on a "
                "mount every worker shares"
            )
        session = spark_session(self.spark_master, parse_conf(self.spark_conf))
        return SparkEngine(session, self.sql_context())
