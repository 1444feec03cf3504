"""The STEDI tables: their zone, typed columns and join keys.

This is the one schema registry: landing reads JSON with these types, the schema checks compare
the Parquet files against them, and the catalog and previews use them.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from stedi_dagster.sql import read_sql_file

if TYPE_CHECKING:
    import dagster as dg

# Each column type (DuckDB's name, as the tables below use it) as Hive-style catalogs (Athena and
# the Glue Data Catalog) and Spark SQL name it: the one type map, for the DDL export and the Spark
# engine. JSON is text to both.
EXTERNAL_TYPES = {
    "VARCHAR": "string",
    "BIGINT": "bigint",
    "INTEGER": "int",
    "DOUBLE": "double",
    "DATE": "date",
    "BOOLEAN": "boolean",
    "JSON": "string",
}

CUSTOMER_COLUMNS = {
    "customerName": "VARCHAR",
    "email": "VARCHAR",
    "phone": "VARCHAR",
    "birthDay": "DATE",
    "serialNumber": "VARCHAR",
    "registrationDate": "BIGINT",
    "lastUpdateDate": "BIGINT",
    "shareWithResearchAsOfDate": "BIGINT",
    "shareWithPublicAsOfDate": "BIGINT",
    "shareWithFriendsAsOfDate": "BIGINT",
}
ACCELEROMETER_COLUMNS = {
    "user": "VARCHAR",
    "timestamp": "BIGINT",
    "x": "DOUBLE",
    "y": "DOUBLE",
    "z": "DOUBLE",
}
STEP_TRAINER_COLUMNS = {
    "sensorReadingTime": "BIGINT",
    "serialNumber": "VARCHAR",
    "distanceFromObject": "INTEGER",
}

# The training table carries no direct identifier: people appear as keyed pseudonyms.
MACHINE_LEARNING_COLUMNS = {
    "sensorReadingTime": "BIGINT",
    "distanceFromObject": "INTEGER",
    "step_trainer_subject_id": "VARCHAR",
    "timestamp": "BIGINT",
    "x": "DOUBLE",
    "y": "DOUBLE",
    "z": "DOUBLE",
    "subject_id": "VARCHAR",
}

# Inputs of a step-detection model, one row per training pair, with no identifier (see
# defs/curated/step_features.py): in each subject's time order, the magnitude of the
# acceleration and its statistics over the preceding readings, the distance and its change.
STEP_FEATURES_COLUMNS = {
    "subject_id": "VARCHAR",
    "timestamp": "BIGINT",
    "sensorReadingTime": "BIGINT",
    "magnitude": "DOUBLE",
    "magnitude_mean_10": "DOUBLE",
    "magnitude_std_10": "DOUBLE",
    "distanceFromObject": "INTEGER",
    "distance_change": "INTEGER",
    "ms_since_previous": "BIGINT",
}

# Landing lines that could not become a row: which file and line, why, and the line's text.
QUARANTINE_COLUMNS = {
    "file": "VARCHAR",
    "line": "BIGINT",
    "reason": "VARCHAR",
    "record": "VARCHAR",
}

# Where each line of a landing file went, one row per landing file held (see landing/ingested.py).
FILE_COLUMNS = {
    "file": "VARCHAR",
    "version": "VARCHAR",
    "sha256": "VARCHAR",
    "lines": "BIGINT",
    "rows": "BIGINT",
    "quarantined": "BIGINT",
    "erased": "BIGINT",
    "duplicate_of": "VARCHAR",
    "unknown_fields": "JSON",
    "run_id": "VARCHAR",
}

# A landing table's column for the fields of a line that the schema does not know (yet): the text
# of a JSON object of them, null when there are none. Nothing in a line is dropped; adding a field
# to the columns above adopts it (docs/operating.md). Trusted tables keep their own columns only.
EXTRA_COLUMN = "extra_fields"

# The data files of a landing table carry, besides its columns, the landing file each row came
# from (a quarantine table has it as `file`): what the lines of a file are accounted by, and what
# the rows of a changed file are found by. The steps' views and the catalog leave it out.
SOURCE_COLUMN = "source_file"


# The customer tables' data files hold row groups of this many rows (DuckDB's default is 122,880):
# a customer's row is wide (ten columns, most of them text), and reading a few rows decodes their
# row groups whole: at x1000, the customers a new reading adds to customer_curated looked up in
# customer_trusted 31 -> 8.5 ms, a preview of five rows 20 -> 5 ms; a full scan is as fast, the
# files 2% larger. The narrow tables (readings, pairs) keep DuckDB's size: more row groups would
# cost every view of them more footer to bind.
CUSTOMER_ROW_GROUP_ROWS = 16_384


# The Dagster definitions, a folder per zone, each with the SQL of its tables and checks in `sql/`.
DEFS_FOLDER = Path(__file__).parent / "defs"


@dataclass(frozen=True)
class Table:
    name: str
    zone: str
    columns: dict[str, str]
    keys: tuple[str, ...]
    dataset: str  # the landing dataset the table derives from: customer, accelerometer, ...
    descriptions: dict[str, str] = field(default_factory=dict)
    # the column of its data files naming each row's landing file: a landing table's SOURCE_COLUMN
    # (not one of its columns), a quarantine table's `file`; None for the others
    source_column: str | None = None
    # rows per Parquet row group of its data files as DuckDB writes them (None: DuckDB's 122,880)
    row_group_rows: int | None = None

    @property
    def fields(self) -> dict[str, str]:
        """The JSON fields a landing line is typed into: the columns but the extra fields."""
        return {c: t for c, t in self.columns.items() if c != EXTRA_COLUMN}

    def sql_file(self, suffix: str = "") -> Path:
        """Where the SQL computing the table (suffix "") or one of its companions is (`_added`,
        `_affected`, a check's `_all_consented`, ...): `defs/<zone>/sql/<name><suffix>.sql`,
        found by the table's zone."""
        return DEFS_FOLDER / self.zone / "sql" / f"{self.name}{suffix}.sql"

    def sql(self, suffix: str = "") -> str:
        """The statement in `sql_file(suffix)`."""
        return read_sql_file(self.sql_file(suffix))

    @property
    def stored_columns(self) -> dict[str, str]:
        """The columns of the table's data files: its columns and its source column."""
        source = self.source_column
        return self.columns | ({source: "VARCHAR"} if source else {})

    # Dagster is imported where it is used, so that the registry loads without it (the plain
    # scripts in bench/ read it and must not pay Dagster's import time).
    @property
    def key(self) -> "dg.AssetKey":
        import dagster as dg

        return dg.AssetKey(self.name)

    @property
    def column_schema(self) -> "dg.TableSchema":
        import dagster as dg

        return dg.TableSchema(
            columns=[
                dg.TableColumn(name, dtype.lower(), description=self.descriptions.get(name))
                for name, dtype in self.columns.items()
            ]
        )


_DESCRIPTIONS = {
    "email": "Customer email; the key accelerometer readings use as `user`.",
    "user": "Email of the customer wearing the phone.",
    "serialNumber": "Step Trainer serial number.",
    "lastUpdateDate": "Epoch ms; the newest record of an email decides consent.",
    "shareWithResearchAsOfDate": "Epoch ms of research consent; null or 0 means no consent.",
    "timestamp": "Epoch ms of the accelerometer reading.",
    "x": "Acceleration along the phone's x axis, as the phone reports it.",
    "y": "Acceleration along the phone's y axis, as the phone reports it.",
    "z": "Acceleration along the phone's z axis, as the phone reports it.",
    "sensorReadingTime": "Epoch ms of the step-trainer reading.",
    "distanceFromObject": "Distance the step trainer measured, in cm.",
    "subject_id": "Pseudonym of the customer wearing the phone (keyed hash of the email).",
    "step_trainer_subject_id": "Pseudonym of the step trainer's owner (keyed hash of the email).",
    EXTRA_COLUMN: "The line's JSON fields the schema does not know yet, as a JSON object (null if "
    "none): kept, never dropped; adopt one by adding it to tables.py.",
    "file": "Landing JSON file the line is in.",
    "line": "Line number in that file, from 1.",
    "reason": "Why the line did not become a row.",
    "record": "The line's text (null for a duplicate file, whose lines are in the original).",
    "magnitude": "Acceleration magnitude sqrt(x² + y² + z²) of the reading.",
    "magnitude_mean_10": "Mean magnitude over this and up to 9 preceding readings of the subject.",
    "magnitude_std_10": "Standard deviation of the same (null for a subject's first reading).",
    "distance_change": "distanceFromObject less the subject's previous row's (null for the first).",
    "ms_since_previous": "Milliseconds since the subject's previous row (null for the first).",
}


def _table(
    name: str,
    zone: str,
    columns: dict[str, str],
    keys: tuple[str, ...],
    dataset: str = "",
    source_column: str | None = None,
    row_group_rows: int | None = None,
) -> Table:
    descriptions = {c: d for c, d in _DESCRIPTIONS.items() if c in columns}
    dataset = dataset or name.removesuffix(f"_{zone}")
    return Table(
        name, zone, dict(columns), keys, dataset, descriptions, source_column, row_group_rows
    )


def _landing(name: str, columns: dict[str, str], keys: tuple[str, ...]) -> Table:
    columns = columns | {EXTRA_COLUMN: "VARCHAR"}
    return _table(name, "landing", columns, keys, source_column=SOURCE_COLUMN)


def _quarantine(dataset: str) -> Table:
    name, keys = f"{dataset}_quarantine", ("file", "line")
    return _table(name, "landing", QUARANTINE_COLUMNS, keys, dataset, source_column="file")


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        _landing("customer_landing", CUSTOMER_COLUMNS, ("email", "serialNumber")),
        _landing("accelerometer_landing", ACCELEROMETER_COLUMNS, ("user", "timestamp")),
        _landing(
            "step_trainer_landing", STEP_TRAINER_COLUMNS, ("serialNumber", "sensorReadingTime")
        ),
        _quarantine("customer"),
        _quarantine("accelerometer"),
        _quarantine("step_trainer"),
        _table(
            "customer_trusted",
            "trusted",
            CUSTOMER_COLUMNS,
            ("email", "serialNumber"),
            row_group_rows=CUSTOMER_ROW_GROUP_ROWS,
        ),
        _table("accelerometer_trusted", "trusted", ACCELEROMETER_COLUMNS, ("user", "timestamp")),
        _table(
            "step_trainer_trusted",
            "trusted",
            STEP_TRAINER_COLUMNS,
            ("serialNumber", "sensorReadingTime"),
        ),
        _table(
            "customer_curated",
            "curated",
            CUSTOMER_COLUMNS,
            ("email", "serialNumber"),
            row_group_rows=CUSTOMER_ROW_GROUP_ROWS,
        ),
        _table(
            "machine_learning_curated",
            "curated",
            MACHINE_LEARNING_COLUMNS,
            ("sensorReadingTime", "step_trainer_subject_id", "timestamp", "subject_id"),
        ),
        _table(
            "step_features_curated", "curated", STEP_FEATURES_COLUMNS, ("subject_id", "timestamp")
        ),
    )
}

LANDING_DATASETS = ("customer", "accelerometer", "step_trainer")


def landing_table(dataset: str) -> Table:
    return TABLES[f"{dataset}_landing"]


def quarantine_table(dataset: str) -> Table:
    return TABLES[f"{dataset}_quarantine"]


def files_table(dataset: str) -> Table:
    """The table of the landing files a dataset's landing tables hold (not an asset)."""
    return _table(f"{dataset}_files", "landing", FILE_COLUMNS, ("file",), dataset)
