"""Checks guarding the trusted zone: consent proven against landing, counts reconciled, keys."""

from stedi_dagster.factory.checks import Check, derived_checks
from stedi_dagster.tables import TABLES


def trusted_checks(name: str, reads: tuple[str, ...], linear: tuple[str, ...] = ()) -> list[Check]:
    return derived_checks(TABLES[name], reads, linear)
