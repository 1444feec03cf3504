"""A DuckDB connection for queries over Parquet files that need nothing a step's engine prepared
(row counts from footers, files rewritten without some rows, two sets of files compared): a
cursor on the process's in-memory database, which costs well under a millisecond where opening a
database costs about 16 ms, and a step makes dozens of such queries."""

import duckdb


def cursor() -> duckdb.DuckDBPyConnection:
    """A new connection to the process's in-memory DuckDB database (its temporary tables and
    views its own): use it as a context manager, which closes it."""
    return duckdb.default_connection().cursor()
