"""Checks guarding the curated zone: consent proven against landing, counts reconciled, keys,
and no identifier in the training tables."""

from collections.abc import Mapping

import dagster as dg

from stedi_dagster.defs.curated.profile import pairs_facts
from stedi_dagster.engines import Engine
from stedi_dagster.engines.grown import Relation
from stedi_dagster.factory.checks import Check, CheckSettings, Outcome, derived_checks
from stedi_dagster.sql import ident, read_sql
from stedi_dagster.tables import TABLES


def curated_checks(
    name: str,
    reads: tuple[str, ...],
    linear: tuple[str, ...] = (),
    partitions: tuple[tuple[str, str], ...] = (),
    relations: tuple[Relation, ...] = (),
) -> list[Check]:
    return derived_checks(TABLES[name], reads, linear, partitions, relations)


def latest_readings() -> Relation:
    """Each landing accelerometer user's latest reading (by person key), which customer_curated's
    recount reads: grown from the one kept before by the latest of both, per person; the one
    before itself (not written again: 0.2 s at x1000) when the new files give no person a
    later reading or a first one."""
    name = "landing_latest_readings"

    def grown(engine: Engine, before: str) -> str | None:
        if not engine.scalar(read_sql(__file__, f"{name}_later", before=before)):
            return None
        return read_sql(__file__, f"{name}_grown", before=before)

    return Relation(
        name,
        read_sql(__file__, name),
        grown,
        over=("accelerometer_landing",),
        erased=lambda before: read_sql(__file__, f"{name}_erased", before=before[name]),
    )


# The person keys of each curated customer's email and serial, which customer_curated's adder
# and the training pairs' SQL read (kept per data file of customer_curated); and each serial's
# owner among them (from those), which the pairs' recount reads: of every serial for the whole
# table, of the serials of the step readings counted for a recount of a few milliseconds.
CURATED_KEYS = Relation(
    "curated_keys", read_sql(__file__, "curated_keys"), over=("customer_curated",), per_file=True
)
CURATED_OWNERS = Relation(
    "curated_owners",
    read_sql(__file__, "curated_owners"),
    over=("customer_curated",),
    narrowed=read_sql(__file__, "curated_owners_narrowed"),  # for a recount of a few pairs
)


LANDING = ("customer_landing", "accelerometer_landing", "step_trainer_landing")
# The person key of every email and serial that landing holds, which the training tables' checks
# derive from landing (`no_identifiers`); an erasure keeps it again (`_identifiers_erased`).
LANDING_IDENTIFIERS = Relation(
    "landing_identifiers",
    read_sql(__file__, "landing_identifiers"),
    over=LANDING,
    erased=lambda before: _identifiers_erased(before),
)


def _identifiers_erased(before: Mapping[str, str]) -> str | None:
    """SQL of the landing identifiers kept before as an erasure leaves landing: found again in
    the accelerometer users' latest readings and the Step Trainer serials' spellings kept before
    (None when one of them was not)."""
    reads = ("landing_identifiers", "landing_latest_readings", "step_trainer_landing_spellings")
    if not all(name in before for name in reads):
        return None
    identifiers, users, serials = (before[name] for name in reads)
    return read_sql(
        __file__, "landing_identifiers_erased", before=identifiers, users=users, serials=serials
    )


# The training pairs pair readings of the same millisecond alone: their SQL and their recount
# are sums over milliseconds, whose partitions these columns are.
PAIRED_BY_MILLISECOND = (
    ("step_trainer_trusted", "sensorReadingTime"),
    ("accelerometer_trusted", "timestamp"),
)


def no_identifiers(name: str) -> Check:
    """No text column of a training table holds a value that landing has as an email or a serial
    number, in any spelling (compared by person key)."""
    table = TABLES[name]
    text_columns = [c for c, t in table.columns.items() if t == "VARCHAR"]
    # the landing identifiers: the relation the probe derives from landing (`Check.derived`)
    identifiers = (LANDING_IDENTIFIERS.name, LANDING_IDENTIFIERS.sql)

    def probe(engine: Engine, _: CheckSettings) -> Outcome:
        engine.create_table(*identifiers, shared_over=LANDING)
        found = {  # each distinct value keyed once, not each row
            column: engine.scalar(
                f"select coalesce(sum(n), 0) from (select {ident(column)} as value, count(*) as n "
                f"from {table.name} group by 1) "
                "where person_key(value) in (select value from landing_identifiers)",
            )
            for column in text_columns
        }
        return sum(found.values()) == 0, {"rows_with_identifiers": dg.MetadataValue.json(found)}

    return Check(
        table,
        "no_identifiers",
        "No column holds a value that appears as an email or serial number in landing, in any "
        "spelling (compared by person key).",
        probe,
        reads=LANDING,
        # an identifier found is a value of the table's rows that one landing row holds
        grows="violations",
        growing=LANDING,
        derived=identifiers,
    )


def cross_customer_pairs() -> Check:
    """Pairs of one customer's step-trainer reading with another customer's accelerometer reading
    (expected with ml_pairing 'timestamp', none with 'same_customer')."""
    table = TABLES["machine_learning_curated"]

    def probe(engine: Engine, _: CheckSettings) -> Outcome:
        facts = pairs_facts(engine, table.name)  # each data file's counts, kept per file
        crossed, rows = engine.rows(
            f"select coalesce(sum(crossed), 0), coalesce(sum(pairs), 0) from {facts}"
        )[0]
        share = round(crossed / rows, 4) if rows else 0.0
        return crossed == 0, {"cross_customer_pairs": crossed, "rows": rows, "share": share}

    return Check(
        table,
        "cross_customer_pairs",
        "Pairs whose step trainer and phone belong to different customers (set "
        "STEDI_ML_PAIRING=same_customer to exclude them).",
        probe,
        blocking=False,
        severity=dg.AssetCheckSeverity.WARN,
    )


def machine_learning_checks() -> list[Check]:
    return [
        *curated_checks(
            "machine_learning_curated",
            reads=("step_trainer_trusted", "accelerometer_trusted", "customer_curated"),
            linear=("step_trainer_trusted", "accelerometer_trusted"),
            # and a sum over milliseconds: a change counts again those it reaches
            partitions=PAIRED_BY_MILLISECOND,
            relations=(CURATED_KEYS, CURATED_OWNERS),  # in the order they read each other
        ),
        no_identifiers("machine_learning_curated"),
        cross_customer_pairs(),
    ]


def step_features_checks() -> list[Check]:
    return [
        *curated_checks(
            "step_features_curated",
            reads=("machine_learning_curated",),
            linear=("machine_learning_curated",),
        ),
        no_identifiers("step_features_curated"),
    ]
