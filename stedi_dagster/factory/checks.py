"""Asset checks: one property of one table each, evaluated on an engine where the table is a view
(over the staged version before it is published, or over the published one).

Zone modules pick the checks that guard their tables; the generic ones are built here.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dagster as dg

from stedi_dagster.engines import Engine
from stedi_dagster.engines.grown import Relation
from stedi_dagster.factory.reuse import EVALUATED_ON
from stedi_dagster.lakehouse import Lakehouse
from stedi_dagster.lakehouse.landing_folder import LandingFolder
from stedi_dagster.privacy.consent import consent_relations
from stedi_dagster.privacy.identity import IDENTIFIERS
from stedi_dagster.privacy.masking import mask
from stedi_dagster.sql import ident
from stedi_dagster.tables import TABLES, Table

Outcome = tuple[bool, dict[str, Any]]
Probe = Callable[[Engine, "CheckSettings"], Outcome]

# How many offending keys a failed check shows (masked) as evidence.
EVIDENCE_ROWS = 5


def check_label(result: dg.AssetCheckResult | dg.AssetCheckEvaluation) -> str:
    """`<table>.<check>` of a check's result, for messages and logs (a check's name is scoped by
    its asset, so it alone does not say which table it is about)."""
    return f"{result.asset_key.to_user_string()}.{result.check_name}"


@dataclass(frozen=True)
class CheckSettings:
    """What a check reads besides its engine's tables: the expected row counts (None when no
    expectations file applies), the largest fraction of a dataset's lines that may be
    quarantined, the landing folder (the files a dataset holds now), and the landing files a
    check growing by files is evaluated on."""

    expectations: dict[str, int] | None
    quarantine_max_fraction: float
    landing: LandingFolder
    # for a check that grows by "files": the landing files it is evaluated on (None: all)
    files: frozenset[str] | None = None

    @classmethod
    def of(cls, lakehouse: Lakehouse) -> "CheckSettings":
        return cls(lakehouse.expectations(), lakehouse.quarantine_max_fraction, lakehouse.landing)


@dataclass(frozen=True)
class Check:
    table: Table
    property: str
    description: str
    probe: Probe
    blocking: bool = True
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR
    reads: tuple[str, ...] = ()  # other tables the probe reads
    # How the check may be evaluated on what a version adds (`factory/drafts.py`), given that it
    # passed on the version before: "violations" when an offending row can only come from new
    # rows of the table or new rows of the `growing` reads (every other read unchanged; a row
    # offends or not by itself, so removing rows never makes an offence);
    # "count" when it compares the table's rows with `independent`, an SQL count linear in the
    # `growing` reads (every other read unchanged); "files" (a landing check) when it holds or
    # fails per landing file, so that a file whose rows and record a run did not change stays as
    # it was (see `CheckSettings.files`); "persons" when an offence is two rows of one person
    # (by the person key of column `per_person`), so that only the persons of the rows a version
    # adds or computes again can offend. "" (the default): always on the whole table.
    grows: str = ""
    growing: tuple[str, ...] = ()
    per_person: str = ""
    independent: str = ""
    # A "count" whose `independent` SQL is a sum over partitions (values of a column of each
    # read in `partitions`: read -> column) that only rows of that partition, and the other
    # reads, count towards: after a change that is not new rows of `growing` reads alone (rows
    # lost, a read changed otherwise), `reach` (SQL over `changed_<read>` views of the rows
    # each read gained or lost, and the reads as they are) gives the partitions it may have
    # changed, and those alone are counted again, before and after the change.
    partitions: tuple[tuple[str, str], ...] = ()
    reach: str = ""
    # A "violations" check whose probe tests each row against a relation it derives from its
    # `growing` reads (its name and SQL: the distinct values, in column `value`, that each read
    # row gives alone; created `shared_over` the reads): after new files of the reads, the rows
    # before can offend only through values that the files before gave none of, so they are
    # tested only when the new files give such a value.
    derived: tuple[str, str] = ()
    # Relations the probe reads (each created `shared_over` the tables it is `over`), which
    # grow from those kept before when those tables only gained files (`engines/grown.py`).
    relations: tuple[Relation, ...] = ()
    # A "violations" check of consent: SQL of the owners (column, value) of the rows whose
    # consent new customer_landing files may have changed, those of the persons of their records
    # (table `consent_persons`: person); after customer_landing only gained files, the rows a
    # version keeps are tested only when they are theirs (the spellings it reads of the table,
    # `<table>_spellings`, are those of the rows it keeps: `privacy/spellings.py`).
    owners: str = ""

    @property
    def by_person(self) -> bool:
        """Whether the `partitions` are persons (their columns identify persons), each given by
        every spelling of them in each read (`reach` lists spellings, which differ between
        reads): a pass over new rows of `growing` reads alone then reads the others whole, not
        narrowed to the new rows' values. (The training pairs' are milliseconds: their reach
        reads spellings to find serials alone.)"""
        return any(column in IDENTIFIERS for _, column in self.partitions)

    @property
    def narrowed_by(self) -> tuple[tuple[str, str], ...]:
        """The partitions by which a count on what a version adds narrows the other reads to
        those of the new rows: its partitions unless they are persons (see `by_person`)."""
        return () if self.by_person else self.partitions

    @property
    def name(self) -> str:
        """The check's name: its property alone, since Dagster scopes a check by its asset (the
        UI lists it under the table, and cuts long names)."""
        return self.property

    @property
    def key(self) -> dg.AssetCheckKey:
        return dg.AssetCheckKey(self.table.key, self.name)

    @property
    def spec(self) -> dg.AssetCheckSpec:
        return dg.AssetCheckSpec(
            self.name,
            asset=self.table.key,
            description=self.description,
            blocking=self.blocking,
            additional_deps=[TABLES[name].key for name in self.reads],
            # whenever automation requests the table, its checks run with it, so that their
            # results belong to the new materialization
            automation_condition=dg.AutomationCondition.any_deps_match(
                dg.AutomationCondition.will_be_requested()
            ).allow(dg.AssetSelection.assets(self.table.key)),
        )

    def evaluate(self, engine: Engine, settings: CheckSettings) -> dg.AssetCheckResult:
        """The check's result on the whole table as the engine's views show it."""
        return self.result(*self.probe(engine, settings))

    def result(
        self, passed: bool, metadata: dict, evaluated_on: str | None = None
    ) -> dg.AssetCheckResult:
        """The check's result with this evidence; reached as `evaluated_on` says, when it was
        not evaluated on the whole table (see `factory/version_checks.py`)."""
        on = {EVALUATED_ON: evaluated_on} if evaluated_on else {}
        return dg.AssetCheckResult(
            asset_key=self.table.key,
            check_name=self.name,
            passed=bool(passed),
            severity=self.severity,
            metadata=metadata | on,
            description=self.description,
        )


# --- generic checks ------------------------------------------------------------------------


def schema_check(table: Table) -> Check:
    def probe(engine: Engine, _: CheckSettings) -> Outcome:
        actual = engine.describe(table.name)
        expected = table.columns
        return list(actual.items()) == list(expected.items()), {
            "missing": sorted(set(expected) - set(actual)),
            "unexpected": sorted(set(actual) - set(expected)),
            "wrong_type": {
                c: f"{actual[c]} (expected {t})"
                for c, t in expected.items()
                if c in actual and actual[c] != t
            },
            "columns": dg.MetadataValue.json(actual),
        }

    return Check(table, "schema", "Exactly the table's columns, in order, with their types.", probe)


def keys_not_null_check(table: Table) -> Check:
    keys = table.keys

    def probe(engine: Engine, _: CheckSettings) -> Outcome:
        nulls = engine.null_counts(table.name, keys)
        return sum(nulls.values()) == 0, {"null_keys": dg.MetadataValue.json(nulls)}

    return Check(
        table,
        "keys_not_null",
        f"No null join key ({', '.join(keys)}).",
        probe,
        grows="violations",
    )


def expected_count_check(table: Table) -> Check:
    def probe(engine: Engine, settings: CheckSettings) -> Outcome:
        rows = engine.count(table.name)
        expected = (settings.expectations or {}).get(table.name)
        if expected is None:
            return True, {"rows": rows, "expected": "no expectation configured"}
        return rows == expected, {"rows": rows, "expected": expected, "difference": rows - expected}

    return Check(
        table,
        "expected_count",
        "Row count equals the expectations file's, when one is configured.",
        probe,
        blocking=False,
    )


def unique_person_check(table: Table, column: str) -> Check:
    """One row per person: no two rows whose `column` (an email) has the same person key."""
    key = f"person_key({ident(column)})"

    def probe(engine: Engine, _: CheckSettings) -> Outcome:
        # one pass: the persons with more than one row, and how many rows more they have
        dupes = engine.rows(
            f"select key, n, sum(n - 1) over () from (select {key} as key, count(*) as n "
            f"from {table.name} group by 1 having count(*) > 1) order by 2 desc, 1 "
            f"limit {EVIDENCE_ROWS}"
        )
        extra = dupes[0][2] if dupes else 0
        return extra == 0, {
            "duplicate_rows": extra,
            "examples": [f"{mask(column, v)} x{n}" for v, n, _ in dupes],
        }

    description = (
        f"One row per person: per {column}, compared by its person key (white space of every "
        "kind removed at both ends, case ignored)."
    )
    return Check(table, f"unique_{column}", description, probe, grows="persons", per_person=column)


def consent_check(table: Table) -> Check:
    """Every row's owner consented, proven by joining back to customer_landing. The SQL file
    `<table>_all_consented.sql` returns one row per offending owner: (owner column, owner, rows).
    Whether a row offends depends on that row and customer_landing alone: while customer_landing
    is unchanged, a version that only adds rows to one that passed offends only in its new rows
    (so it is evaluated on them); after new customer records, only in the rows it writes and the
    rows of the persons of those records (`<table>_consent_owners.sql`: see `Check.owners`)."""
    sql = table.sql("_all_consented")
    owners = table.sql("_consent_owners") if table.sql_file("_consent_owners").exists() else ""

    def probe(engine: Engine, _: CheckSettings) -> Outcome:
        consent_relations(engine)
        offenders = engine.rows(sql)
        rows = sum(n for _, _, n in offenders)
        return rows == 0, {
            "non_consenting_rows": rows,
            "non_consenting_owners": len(offenders),
            "examples": [mask(col, owner) for col, owner, _ in offenders[:EVIDENCE_ROWS]],
        }

    return Check(
        table,
        "all_consented",
        "No row belongs to a customer without research consent (joined back to landing).",
        probe,
        reads=("customer_landing",),
        grows="violations",
        owners=owners,
    )


def reconciliation_check(
    table: Table,
    reads: tuple[str, ...],
    linear: tuple[str, ...] = (),
    partitions: tuple[tuple[str, str], ...] = (),
    relations: tuple[Relation, ...] = (),
) -> Check:
    """Row count equals an independent count from the inputs: `<table>_count_reconciles.sql`,
    a count linear in the `linear` reads (added rows there add to it); with `partitions`, a sum
    over partitions of them, whose partitions a change reaches `<table>_count_reconciles_reach`
    gives (see `Check`); `relations`: those it reads besides the consent relations."""
    sql = table.sql("_count_reconciles")
    reach = table.sql("_count_reconciles_reach") if partitions else ""

    def probe(engine: Engine, _: CheckSettings) -> Outcome:
        consent_relations(engine)
        for relation in relations:
            relation.create(engine)
        rows = engine.count(table.name)
        expected = engine.scalar(sql)
        return rows == expected, {"rows": rows, "independent_count": expected}

    return Check(
        table,
        "count_reconciles",
        "Row count equals an independent count computed from the inputs.",
        probe,
        reads=reads,
        grows="count" if linear or partitions else "",
        growing=linear,
        independent=sql,
        partitions=partitions,
        reach=reach,
        relations=relations,
    )


def derived_checks(
    table: Table,
    reads: tuple[str, ...],
    linear: tuple[str, ...] = (),
    partitions: tuple[tuple[str, str], ...] = (),
    relations: tuple[Relation, ...] = (),
) -> list[Check]:
    """The checks of a trusted or curated table: every table's, consent proven against landing,
    the count reconciled with its inputs (a count linear in the `linear` ones, or summed over
    `partitions`, reading `relations`), and one row per email for customer tables."""
    checks = [
        *table_checks(table),
        consent_check(table),
        reconciliation_check(table, reads, linear, partitions, relations),
    ]
    if "email" in table.columns:
        checks.append(unique_person_check(table, "email"))
    return checks


def table_checks(table: Table) -> list[Check]:
    """The checks every table carries: schema, keys, expected count."""
    return [
        schema_check(table),
        keys_not_null_check(table),
        expected_count_check(table),
    ]
