"""Landing zone: a typed, faithful copy of each landing JSON dataset, one row per JSON line.

JSON is read with the explicit schema in `stedi_dagster.tables`, never inferred, so a value of the
wrong type fails the step with DuckDB's message naming the file and line.
"""

from stedi_dagster.defs.landing.checks import landing_checks
from stedi_dagster.table_asset import table_asset


def landing_asset(name: str, what: str):
    return table_asset(
        name,
        sql_module=__file__,
        inputs=(),
        checks=landing_checks(name),
        description=f"One row per line of the {what} landing JSON, typed; no row is dropped.",
    )


customer_landing = landing_asset("customer_landing", "customer")
accelerometer_landing = landing_asset("accelerometer_landing", "accelerometer")
step_trainer_landing = landing_asset("step_trainer_landing", "step trainer")
