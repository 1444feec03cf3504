"""DDL that registers the lakehouse's tables in other catalogs, from the one schema registry.

`athena`: per Delta table (trusted and curated) AWS's documented form for Delta Lake, `CREATE
EXTERNAL TABLE ... LOCATION ... TBLPROPERTIES ('table_type' = 'DELTA')` with no column list (Athena
reads the schema and the current version's files from the Delta log); per landing table a typed
`CREATE EXTERNAL TABLE ... STORED AS PARQUET`, like the course's customer_landing.sql. A lakehouse
written to S3 can so be added to the Glue Data Catalog and queried from Athena as it is.
"""

from stedi_dagster.tables import EXTERNAL_TYPES, TABLES


def athena_ddl(location: str, database: str = "stedi") -> str:
    """Statements for every table of a lakehouse rooted at `location` (s3://bucket/prefix)."""
    root = location.rstrip("/")
    statements = [f"CREATE DATABASE IF NOT EXISTS `{database}`;"]
    for name, table in TABLES.items():
        location = f"{root}/{table.zone}/{name}/"
        if not table.per_file:
            statements.append(
                f"CREATE EXTERNAL TABLE IF NOT EXISTS `{database}`.`{name}`\n"
                f"LOCATION '{location}'\n"
                "TBLPROPERTIES ('table_type'='DELTA');"
            )
            continue
        columns = ",\n".join(
            f"  `{column}` {EXTERNAL_TYPES[dtype]}" for column, dtype in table.columns.items()
        )
        statements.append(
            f"CREATE EXTERNAL TABLE IF NOT EXISTS `{database}`.`{name}` (\n{columns}\n)\n"
            f"COMMENT '{table.zone} zone'\n"
            "STORED AS PARQUET\n"
            f"LOCATION '{location}'\n"
            "TBLPROPERTIES ('classification'='parquet');"
        )
    return "\n\n".join(statements) + "\n"
