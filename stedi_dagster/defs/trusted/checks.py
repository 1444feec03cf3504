"""Checks guarding the trusted zone: consent proven against landing, counts reconciled, keys."""

from stedi_dagster.checks import (
    Check,
    consent_check,
    reconciliation_check,
    table_checks,
    unique_check,
)
from stedi_dagster.tables import TABLES


def trusted_checks(name: str, reads: tuple[str, ...]) -> list[Check]:
    table = TABLES[name]
    checks = [
        *table_checks(table),
        consent_check(table, __file__),
        reconciliation_check(table, __file__, reads),
    ]
    if "email" in table.columns:
        checks.append(unique_check(table, "email"))
    return checks
