"""The checks of a table's new version proven on the rows of some persons (`VersionChecks`
inherits them): one row per person, on the persons of the rows new to the table
(`Check.per_person`), and consent after new customer records, on the persons of those records
(`Check.owners`: no other person's consent changed). The rows the version keeps of those persons
are looked up by the spellings of its kept data files (`privacy/spellings.py`); more owners than
MAX_OWNERS, and the check is evaluated whole."""

from collections.abc import Sequence

import dagster as dg

from stedi_dagster.engines import Engine
from stedi_dagster.factory.checks import Check, CheckSettings
from stedi_dagster.factory.partial_checks import Prior, combined, owned
from stedi_dagster.privacy import spellings
from stedi_dagster.privacy.consent import CUSTOMERS
from stedi_dagster.sql import ident, words

# More owners than this whose rows a consent change reaches: the check is evaluated whole.
MAX_OWNERS = 10_000


class PersonChecks:
    """What `VersionChecks` proves on persons' rows, from its state: the table, its store and
    read views, the rows the version writes (`written`) and holds of the version before
    (`held`), and its `_attach_version`, `_new_rows` and `_consent_relations`."""

    def _persons(
        self, check: Check, engine: Engine, settings: CheckSettings
    ) -> tuple[bool, dict] | None:
        """A check whose offence is two rows of one person (`Check.per_person`): on the rows new
        to the table and the rows the version keeps of their persons (looked up by the spellings
        of the kept files: `privacy/spellings.py`), the rows before holding none among
        themselves; None when those persons' spellings are more than MAX_OWNERS."""
        name, column = self.table.name, check.per_person
        self.store.attach(engine, self.table, self.written, view=f"{name}_written")
        rows = f"select * from {name}_written"
        if self.written:
            spelled = [s for s in spellings.of_table(name) if s.column == column]
            self._spellings(engine, spelled, self.held)
            found = engine.rows(
                f"select spelling from {spelled[0].name} where person in "
                f"(select person_key({ident(column)}) from {name}_written)"
            )
            if len(found) > MAX_OWNERS:
                return None
            self.store.attach(engine, self.table, self.held, view=f"{name}_kept")
            rows += f" union all {owned(f'{name}_kept', [(column, s) for (s,) in found])}"
        engine.create_view(name, rows)
        outcome = check.probe(engine, settings)
        self._attach_version(engine)
        return outcome

    def _on_consent_change(
        self,
        check: Check,
        engine: Engine,
        settings: CheckSettings,
        prior: Prior,
    ) -> dg.AssetCheckResult | None:
        """A consent check that passed on the version before, whose reads changed since by new
        customer_landing files alone: offending rows among the rows the version writes, and
        among the rows it keeps of the persons of the new files' records (`Check.owners`: no
        other person's consent can have changed), against the reads as they are; None when it
        cannot be (another change, or more owners than MAX_OWNERS)."""
        if not prior.passed(check):
            return None
        changes = {n: self.views.since(n, prior.read_versions.get(n)) for n in check.reads}
        for name, change in changes.items():
            if change is None or change.removed or (change.added and name not in CUSTOMERS):
                return None
        added = [url for change in changes.values() for url in change.added]
        self._consent_relations(engine)
        self.views.attach(engine, CUSTOMERS[0], added, "consent_records")
        engine.create_table(
            "consent_persons",
            "select distinct person_key(email) as person from consent_records "
            "where email is not null",
        )
        read = words(check.owners)  # the table's spellings it reads: those of the kept rows
        kept = [s for s in spellings.of_table(self.table.name) if s.name in read]
        self._spellings(engine, kept, self.held)
        owners = engine.rows(check.owners)
        if len(owners) > MAX_OWNERS:
            return None
        parts = []
        if self.written:
            self.store.attach(engine, self.table, self.written)
            parts.append(check.probe(engine, settings))
        name = self.table.name
        self.store.attach(engine, self.table, self.held, view=f"{name}_kept")
        engine.create_view(name, owned(f"{name}_kept", owners))
        parts.append(check.probe(engine, settings))
        self._attach_version(engine)
        persons = engine.scalar("select count(*) from consent_persons")
        written = f"{self._new_rows()} and " if self.written else ""
        return check.result(
            *combined(parts),
            f"{written}the rows it keeps of the {persons} persons of {len(added)} new "
            f"customer_landing files ({len(owners)} owners: no other person's consent changed); "
            f"the table before {prior.basis(check)}",
        )

    def _spellings(
        self, engine: Engine, kept: Sequence[spellings.FileSpellings], files: Sequence
    ) -> None:
        """These spellings of the table's identifiers, as these data files of it hold them
        (facts kept per file, computed for the files that have none)."""
        if not kept:
            return
        view = f"{self.table.name}_spelled"
        self.store.attach(engine, self.table, [str(f) for f in files], view=view)
        for found in kept:
            found.create(engine, view)
