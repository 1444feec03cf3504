"""DDL that registers the lakehouse's tables in other catalogs, from the one schema registry.

`athena`: a typed `CREATE EXTERNAL TABLE ... STORED AS PARQUET` per table (the landing ones too,
like the course's customer_landing.sql), so a lakehouse written to S3 can be added to the Glue Data
Catalog and queried from Athena as it is.
"""

from stedi_dagster.tables import EXTERNAL_TYPES, TABLES


def athena_ddl(location: str, database: str = "stedi") -> str:
    """Statements for every table of a lakehouse rooted at `location` (s3://bucket/prefix)."""
    root = location.rstrip("/")
    statements = [f"CREATE DATABASE IF NOT EXISTS `{database}`;"]
    for name, table in TABLES.items():
        columns = ",\n".join(
            f"  `{column}` {EXTERNAL_TYPES[dtype]}" for column, dtype in table.columns.items()
        )
        statements.append(
            f"CREATE EXTERNAL TABLE IF NOT EXISTS `{database}`.`{name}` (\n{columns}\n)\n"
            f"COMMENT '{table.zone} zone'\n"
            "STORED AS PARQUET\n"
            f"LOCATION '{root}/{table.zone}/{name}/'\n"
            "TBLPROPERTIES ('classification'='parquet');"
        )
    return "\n\n".join(statements) + "\n"
