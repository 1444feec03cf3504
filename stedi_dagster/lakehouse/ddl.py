"""DDL that registers the lakehouse's tables in other catalogs, from the one schema registry.

`athena`: per table AWS's documented form for a Delta Lake table, `CREATE EXTERNAL TABLE ...
LOCATION ... TBLPROPERTIES ('table_type' = 'DELTA')` with no column list: Athena reads the schema
and the current version's files from the Delta log (a landing table's columns and its
`source_file`). A lakehouse written to S3 can so be added to the Glue Data Catalog and queried
from Athena as it is.
"""

from stedi_dagster.tables import TABLES


def athena_ddl(location: str, database: str = "stedi") -> str:
    """Statements for every table of a lakehouse rooted at `location` (s3://bucket/prefix)."""
    root = location.rstrip("/")
    statements = [f"CREATE DATABASE IF NOT EXISTS `{database}`;"]
    for name, table in TABLES.items():
        statements.append(
            f"CREATE EXTERNAL TABLE IF NOT EXISTS `{database}`.`{name}`\n"
            f"LOCATION '{root}/{table.zone}/{name}/'\n"
            "TBLPROPERTIES ('table_type'='DELTA');"
        )
    return "\n\n".join(statements) + "\n"
