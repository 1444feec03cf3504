"""Checks guarding the trusted zone: consent proven against landing, counts reconciled, keys."""

from stedi_dagster.factory.checks import Check, derived_checks
from stedi_dagster.tables import TABLES


def trusted_checks(
    name: str,
    reads: tuple[str, ...],
    linear: tuple[str, ...] = (),
    partitions: tuple[tuple[str, str], ...] = (),
) -> list[Check]:
    """A trusted table's checks (see `derived_checks`); `partitions`: the reads and columns its
    count is summed over (by person: all the spellings of each), whose partitions a change
    reaches `sql/<name>_count_reconciles_reach.sql` gives."""
    return derived_checks(TABLES[name], reads, linear, partitions)
