"""Curated zone: customers with accelerometer data, and the machine-learning training table."""

from stedi_dagster.assets.profile import machine_learning_profile
from stedi_dagster.assets.table_asset import table_asset
from stedi_dagster.defs.curated.checks import curated_checks, machine_learning_checks

customer_curated = table_asset(
    "customer_curated",
    sql_module=__file__,
    inputs=("customer_trusted", "accelerometer_trusted"),
    checks=curated_checks("customer_curated", reads=("accelerometer_landing", "customer_landing")),
    description=(
        "One row per trusted customer who has at least one reading in accelerometer_trusted; "
        "customer columns only."
    ),
)

machine_learning_curated = table_asset(
    "machine_learning_curated",
    sql_module=__file__,
    inputs=("step_trainer_trusted", "accelerometer_trusted", "customer_curated"),
    checks=machine_learning_checks(),
    description=(
        "One row per pair of a step_trainer_trusted reading and an accelerometer_trusted reading "
        "taken at the same millisecond (sensorReadingTime = timestamp); with ml_pairing "
        "'same_customer', only readings of the step trainer's owner. No direct identifier: "
        "people appear as subject_id (who wore the phone) and step_trainer_subject_id (who owns "
        "the step trainer), keyed hashes of their emails."
    ),
    pseudonymous=True,
    profile=machine_learning_profile,
)
