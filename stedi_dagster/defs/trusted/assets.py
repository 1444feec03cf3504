"""Trusted zone: only customers who consented to research, and only their readings."""

from stedi_dagster.defs.trusted.checks import trusted_checks
from stedi_dagster.engines import Engine
from stedi_dagster.engines.grown import Relation
from stedi_dagster.factory.keyed import keyed
from stedi_dagster.factory.table_asset import table_asset
from stedi_dagster.factory.table_spec import Profile, TableSpec
from stedi_dagster.lakehouse import Lakehouse
from stedi_dagster.lakehouse.data_files import Sizes
from stedi_dagster.sql import read_sql
from stedi_dagster.tables import TABLES

# The customer tables' data files hold an eighth of the rows of most tables' (31,250): a consent
# change writes one of them again without the person's row, and computes again the facts kept
# of it (their spellings, trusted_persons, curated_keys).
CUSTOMER_FILES = Sizes(finer=8)

# Each trusted customer's person key, email and consent date, which the SQL of accelerometer_trusted
# and customer_curated reads: computed once per version of customer_trusted and kept.
TRUSTED_PERSONS = Relation(
    "trusted_persons",
    read_sql(__file__, "trusted_persons"),
    over=("customer_trusted",),
    per_file=True,
)


def consent_changes(
    engine: Engine, lakehouse: Lakehouse, name: str, changed_rows: str | None
) -> dict:
    """customer_trusted's metadata: how many persons' consent this version grants or withdraws
    against the version it replaces (attached as `<name>_previous`; no rows before the first),
    counted, never named; compared among the rows the version changed (`changed_rows`: those of
    the emails it computed again, every spelling of their persons), when known: every other
    row is in both."""
    store, table = lakehouse.store, TABLES[name]
    replaced = None if store.is_materialized(table) else []  # the current version, or none
    store.attach(engine, table, replaced, view=f"{name}_previous")
    sql = read_sql(__file__, "consent_changes", changed=changed_rows or "true")
    granted, withdrawn = engine.rows(sql)[0]
    return {"consent_granted": granted, "consent_withdrawn": withdrawn}


CUSTOMER_TRUSTED = TableSpec(
    "customer_trusted",
    sources=(__file__,),
    inputs=("customer_landing",),
    keyed=keyed(
        "customer_trusted", ("email",), narrowed=("customer_landing",), files=CUSTOMER_FILES
    ),
    checks=trusted_checks("customer_trusted", reads=("customer_landing",)),
    profile=Profile(consent_changes),
    description=(
        "One row per customer email who consented to research: the email's most recently "
        "updated record (lastUpdateDate), kept when its shareWithResearchAsOfDate is present "
        "and non-zero. Null, missing and 0 all mean no consent; on a tie the record without "
        "consent wins."
    ),
)
customer_trusted = table_asset(CUSTOMER_TRUSTED)

ACCELEROMETER_TRUSTED = TableSpec(
    "accelerometer_trusted",
    sources=(__file__,),
    inputs=("accelerometer_landing", "customer_trusted"),
    appends=("accelerometer_landing",),
    keyed=keyed("accelerometer_trusted", ("user",), narrowed=("accelerometer_landing",)),
    relations=(TRUSTED_PERSONS,),
    checks=trusted_checks(
        "accelerometer_trusted",
        reads=("accelerometer_landing", "customer_landing"),
        linear=("accelerometer_landing",),
        # a sum over persons: a consent change counts again the readings of those it reaches
        partitions=(("accelerometer_landing", "user"), ("customer_landing", "email")),
    ),
    description=(
        "One row per accelerometer reading whose user is a customer in customer_trusted; "
        "accelerometer columns only."
    ),
)
accelerometer_trusted = table_asset(ACCELEROMETER_TRUSTED)

STEP_TRAINER_TRUSTED = TableSpec(
    "step_trainer_trusted",
    sources=(__file__,),
    inputs=("step_trainer_landing", "customer_curated", "customer_landing", "customer_trusted"),
    appends=("step_trainer_landing",),
    keyed=keyed(
        "step_trainer_trusted",
        ("serialNumber",),
        # in this order: the trusted customers narrowed by the landing records' claimants
        narrowed=(
            "step_trainer_landing",
            "claims",  # the spellings customer_landing has of the serials
            "customer_landing",
            "customer_trusted",
            "customer_curated",
        ),
    ),
    checks=trusted_checks(
        "step_trainer_trusted",
        reads=("step_trainer_landing", "customer_curated", "customer_landing"),
        linear=("step_trainer_landing",),
        # a sum over serials: a change counts again the readings of those it reaches
        partitions=(
            ("step_trainer_landing", "serialNumber"),
            ("customer_curated", "serialNumber"),
            ("customer_landing", "email"),
        ),
    ),
    description=(
        "One row per step-trainer reading whose serialNumber belongs to a customer in "
        "customer_curated and is claimed by no customer without consent; step-trainer columns "
        "only."
    ),
)
step_trainer_trusted = table_asset(STEP_TRAINER_TRUSTED)
