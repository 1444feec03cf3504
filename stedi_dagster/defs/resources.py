"""Wiring: the lakehouse resource from STEDI_* environment variables (read when the code location
loads, never at import), and the in-process executor (steps share no DuckDB file, and one process
avoids paying Dagster's start-up per step)."""

import dagster as dg

from stedi_dagster.lakehouse import Lakehouse


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={"lakehouse": Lakehouse.from_env()},
        executor=dg.in_process_executor,
    )
