"""Dagster's column-schema-change check on every table: it compares the column schema of a table's
latest materialization with the one before (`dagster/column_schema`, from `tables.py`), and warns
of any column added, removed or retyped, e.g. a field adopted from the landing JSON
(docs/operating.md, A new field in the JSON)."""

import dagster as dg

from stedi_dagster.tables import TABLES


@dg.definitions
def column_schema_changes() -> dg.Definitions:
    return dg.Definitions(
        asset_checks=dg.build_column_schema_change_checks(
            assets=[table.key for table in TABLES.values()]
        )
    )
