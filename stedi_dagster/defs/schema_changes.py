"""Dagster's column-schema-change check on every table: it compares the column schema of a table's
latest materialization with the one before (`dagster/column_schema`, from `tables.py`), and warns
of any column added, removed or retyped, e.g. a field adopted from the landing JSON
(docs/operating.md, A new field in the JSON). It runs with the lakehouse jobs and with the runs
the landing sensors request; Dagster's factory gives it no automation condition, so runs of the
automation sensor leave it out (its next evaluation still compares the last two
materializations)."""

import dagster as dg

from stedi_dagster.tables import TABLES, Table

# The name Dagster's factory gives each of these checks.
COLUMN_SCHEMA_CHANGE = "column_schema_change"


def column_schema_change(table: Table) -> dg.AssetCheckKey:
    return dg.AssetCheckKey(table.key, COLUMN_SCHEMA_CHANGE)


@dg.definitions
def column_schema_changes() -> dg.Definitions:
    return dg.Definitions(
        asset_checks=dg.build_column_schema_change_checks(
            assets=[table.key for table in TABLES.values()]
        )
    )
