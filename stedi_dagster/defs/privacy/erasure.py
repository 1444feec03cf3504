"""Right to erasure: the `erase_customer` job, a shell around `privacy.erasure.erase`, which
removes one customer from every zone, landing Parquet included, and puts them on the erasure list
that every later run honours. Its metadata, like the audit trail, holds hashes and counts, never
the email."""

import dagster as dg
from pydantic import Field

from stedi_dagster.defs.curated.assets import STEP_FEATURES_KEYED, TRAINING_PAIRS_KEYED
from stedi_dagster.defs.curated.checks import (
    LANDING_IDENTIFIERS,
    latest_readings,
    machine_learning_checks,
)
from stedi_dagster.factory.erasure_recounts import ErasureRecounts
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


# The counts summed over partitions that the job evaluates on the versions it commits, while the
# inputs' files before it are there (`factory/erasure_recounts.py`): the training pairs', which
# the run after would otherwise count whole (the trusted tables' recounts read the landing
# spellings, which the job does not keep: they would cost it more than the run after).
RECOUNTS = ErasureRecounts(
    {"machine_learning_curated": next(c for c in machine_learning_checks() if c.partitions)}
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
        RECOUNTS,
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
