"""Right to erasure: the `erase_customer` job, a shell around `privacy.erasure.erase`, which
removes one customer from every zone, landing Parquet included, and puts them on the erasure list
that every later run honours. Its metadata, like the audit trail, holds hashes and counts, never
the email."""

import dagster as dg
from pydantic import Field

from stedi_dagster.defs.curated.assets import (
    CUSTOMER_CURATED,
    MACHINE_LEARNING_CURATED,
    STEP_FEATURES_CURATED,
    STEP_FEATURES_KEYED,
    TRAINING_PAIRS_KEYED,
)
from stedi_dagster.defs.curated.checks import LANDING_IDENTIFIERS, latest_readings
from stedi_dagster.defs.trusted.assets import (
    ACCELEROMETER_TRUSTED,
    CUSTOMER_TRUSTED,
    STEP_TRAINER_TRUSTED,
)
from stedi_dagster.factory.erasure_checks import ErasureChecks
from stedi_dagster.lakehouse import Lakehouse
from stedi_dagster.privacy import consent
from stedi_dagster.privacy.erasure import erase
from stedi_dagster.privacy.spellings import spellings

# The tables maintained per subject, from which the job removes the rows of every subject the
# erasure reaches (another customer may own, or pair readings with, the erased serial; another
# subject's windows span the pairs removed), for their next step to compute again.
MAINTAINED_PER_KEY = {
    "machine_learning_curated": TRAINING_PAIRS_KEYED,
    "step_features_curated": STEP_FEATURES_KEYED,
}

# The relations computed from landing and kept between runs for the checks that the run after an
# erasure reads, which the job keeps again without the customer's rows (in the order they read
# each other), and the Step Trainer serials' spellings, whose rows before the identifiers read.
LANDING_RELATIONS = (
    *consent.relations(),
    spellings("step_trainer_landing_spellings"),
    latest_readings(),
    LANDING_IDENTIFIERS,
)


# The checks of the trusted and curated tables, of which the job evaluates on the versions it
# commits those it can (`factory/erasure_checks.py`): the training pairs' recount, while the
# inputs' files before it are there, and the checks row by row that passed, on the rows that held
# the values it removed; the run after reports them again instead of evaluating them whole.
CHECKS = ErasureChecks(
    {
        spec.name: spec.checks
        for spec in (
            CUSTOMER_TRUSTED,
            ACCELEROMETER_TRUSTED,
            STEP_TRAINER_TRUSTED,
            CUSTOMER_CURATED,
            MACHINE_LEARNING_CURATED,
            STEP_FEATURES_CURATED,
        )
    }
)


class ErasureRequest(dg.Config):
    email: str = Field(description="Email of the customer to erase from every zone.")


@dg.op(
    name="remove_customer",
    description="Removes one customer's rows from every table and keeps them out of later runs.",
)
def remove_customer(
    context: dg.OpExecutionContext, config: ErasureRequest, lakehouse: Lakehouse
) -> dg.Output:
    report = erase(
        lakehouse,
        config.email,
        context.run.run_id,
        MAINTAINED_PER_KEY,
        LANDING_RELATIONS,
        CHECKS,
    )
    context.log.info(
        f"erased customer sha256:{report.email_sha256[:12]}: "
        f"{sum(report.rows_removed.values())} rows removed from {len(report.tables_touched)} "
        "tables; on the erasure list for later runs"
    )
    return dg.Output(
        None,
        metadata={
            "email_sha256": report.email_sha256,
            "rows_removed": dg.MetadataValue.json(report.rows_removed),
            "rows_left_to_compute_again": dg.MetadataValue.json(report.rows_left_to_compute_again),
            "relations_kept_again": dg.MetadataValue.json(report.relations_kept_again),
            "checks_evaluated": dg.MetadataValue.json(report.checks_evaluated),
            "found_by_spellings": dg.MetadataValue.json(report.found_by_spellings),
            "customer_files_read": report.customer_files_read,
            "newly_listed": report.newly_listed,
        },
    )


@dg.job(
    name="erase_customer",
    description="Right to erasure: remove one customer (config: email) from every zone and keep "
    "them out of later runs. Records an audit entry with a hash of the email, never the email.",
    tags={"stedi/privacy": "erasure"},
)
def erase_customer():
    remove_customer()
