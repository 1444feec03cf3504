"""The engines that compute the tables and run the checks, behind one interface (`Engine`):
DuckDB in the step's process (the default) and Spark SQL (STEDI_ENGINE=spark)."""

from stedi_dagster.engines.engine import Engine, SqlContext

__all__ = ["Engine", "SqlContext"]
