"""The checks of a trusted or curated table's new version (a `drafts.FileDraft`): reported again
when their reads did not change, evaluated on what the version adds (or, a count over partitions,
on the partitions a change reaches; consent, after new customer records, on the rows of the
persons they reach) when they passed on the version before and grow (see `checks.Check`), else
on the whole table. How the parts are put together: `partial_checks.py`; the checks proven on
persons' rows: `person_checks.py`."""

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import dagster as dg

from stedi_dagster.engines import Engine
from stedi_dagster.engines.grown import Relation, grow
from stedi_dagster.factory import reuse
from stedi_dagster.factory.checks import Check, CheckSettings
from stedi_dagster.factory.increments import Change
from stedi_dagster.factory.partial_checks import Prior, combined, independent
from stedi_dagster.factory.person_checks import PersonChecks
from stedi_dagster.factory.read_views import ReadViews
from stedi_dagster.lakehouse.delta import READ_VERSIONS
from stedi_dagster.privacy import spellings
from stedi_dagster.privacy.consent import (
    CUSTOMERS,
    RELATIONS,
    consent_relations,
    consent_relations_of_rows,
)
from stedi_dagster.privacy.consent import NAMES as CONSENT_RELATIONS
from stedi_dagster.sql import words
from stedi_dagster.tables import Table

if TYPE_CHECKING:
    from stedi_dagster.factory.drafts import FileDraft


class VersionChecks(PersonChecks):
    """The checks of a draft's version, once it is written (from its state: the version before,
    the files it holds, stages and leaves out, the views of its reads)."""

    def __init__(self, d: "FileDraft"):
        self.table, self.store, self.views = d.table, d.store, d.views
        self.last, self.basis, self.reads = d.last, d.basis, d.reads
        self.replace, self.touched, self.rows_added = d.replace, d.touched, d.rows_added
        self.staged, self.current, self.same_rows_as = d.staged, d.current, d.same_rows_as
        # the rows new to the table (added, or computed again), and the rows it holds of the
        # version before: its data files kept, and those written again without some rows (a
        # check row by row that passed on the version before holds on them as it did)
        self.written = [str(p) for p in d.staged if p not in d.rewritten]
        kept = [f for f in d.current if f not in d.touched]
        self.held = [*kept, *(str(p) for p in d.rewritten)]
        self.files = d.files

    def results(
        self, checks: Sequence[Check], engine: Engine, settings: CheckSettings
    ) -> tuple[list[dg.AssetCheckResult], dict]:
        """Every check's result on the new version, and metadata saying how they were reached:
        a version that adds no row reports again the results of the checks whose reads did not
        change (`reuse.still_true`); a check that passed on the version before and `grows`
        (see `Check`) is evaluated on what was added alone, or, a count over partitions, on the
        partitions the changes reach; every other on the whole table."""
        same_rows = self.same_rows_as is not None
        again = reuse.still_true(self.last, self.basis, self.reads, checks) if same_rows else {}
        prior = self._prior()
        results, on_additions = [], []
        for check in checks:
            result = again.get(check.key)
            if result is None and CUSTOMERS[0] in check.reads:
                self._consent_relations(engine)
            if result is None and prior is not None:
                result = self._on_additions(check, engine, settings, prior)
                if result is not None:
                    on_additions.append(check.name)
            if result is None and prior is not None and check.owners:
                result = self._on_consent_change(check, engine, settings, prior)
                if result is not None:
                    on_additions.append(check.name)
            if result is None and self._derive(check, engine) and prior is not None:
                result = self._same_count(check, engine, prior)
                if result is not None:
                    on_additions.append(check.name)
            results.append(result or check.evaluate(engine, settings))
        if self.staged:  # kept for the steps and runs that look persons up in the table
            self._spellings(engine, spellings.of_table(self.table.name), self.staged)
        metadata = {}
        if again:
            metadata["checks_reported_again"] = sorted(k.name for k in again)
        if on_additions:
            metadata["checks_on_additions"] = sorted(on_additions)
        return results, metadata

    def _consent_relations(self, engine: Engine) -> None:
        """The consent relations over the reads as they are: grown from those over
        customer_landing as the version before read it, when it only gained files since and
        they were kept (see `privacy.consent`)."""
        if RELATIONS in engine.prepared:  # created by an earlier check of the step
            return
        changed = self._grew(CUSTOMERS)
        growth = self.views.growth(engine, changed, CUSTOMERS) if changed else None
        consent_relations(engine, growth)

    def _grew(self, reads: Sequence[str]) -> dict[str, Change] | None:
        """The reads that gained data files since the versions the version before was built
        and checked from, with their changes, when they lost none; else None."""
        if self.last is None:
            return None
        read_versions = json.loads(self.last[1].get(READ_VERSIONS, "{}"))
        changes = {read: self.views.since(read, read_versions.get(read)) for read in reads}
        if any(change is None or change.removed for change in changes.values()):
            return None
        return {read: change for read, change in changes.items() if change.added}

    def _prior(self) -> Prior | None:
        """For a version that adds to the one before (of the same basis): that one; else
        None."""
        if self.last is None or self.replace:
            return None
        return Prior.recorded_by(self.last, self.basis, self.table)

    def _on_additions(
        self,
        check: Check,
        engine: Engine,
        settings: CheckSettings,
        prior: Prior,
    ) -> dg.AssetCheckResult | None:
        """The check's result from what was added since `prior`, where it passed: None when it
        cannot be (it does not grow, it did not pass, or a read changed otherwise than by new
        files of a growing read, or, for a count not summed over partitions, the table lost
        rows). A "violations" check is row by row: the rows a version keeps of the one before
        (in its data files, or in those written again without some rows) offend only against
        the reads' new files, and the rows new to the table (added, computed again) are tested
        whole. A count builds on the independent count recorded before whatever its verdict
        then (`Prior.counted`)."""
        if not check.grows or not (prior.passed(check) or prior.counted(check)):
            return None
        changed = self._appended(check, prior.read_versions)
        if self.touched and check.grows == "count":
            changed = None
        if changed is None and check.partitions:
            return recount_on_partitions(
                check, engine, prior, self.table, self.views, self._consent_relations
            )
        if changed is None or (not self.staged and not changed):
            return None
        self._consent_relations(engine)  # over the reads as they are, before any is narrowed
        what = [self._new_rows()] if self.written else []
        what += [f"new files of {name}" for name in changed]
        note = ""
        if check.grows == "persons":
            found = self._persons(check, engine, settings)
            if found is None:
                return None
            (passed, metadata), what = found, what or ["no new rows"]
            note = "; among the rows it keeps, those of the persons of the new rows"
        elif check.grows == "count":
            passed, metadata = self._count(check, engine, prior.recorded[check.name], changed)
            if check.narrowed_by:  # see `_count`
                values = " or ".join(column for _, column in check.narrowed_by)
                note = f"; with the rows of the other reads of the same {values} alone"
        else:
            passed, metadata, note = self._violations(check, engine, settings, changed)
        on = f"{' and '.join(what)}; the table before {prior.basis(check)}{note}"
        return check.result(passed, metadata, on)

    def _appended(self, check: Check, read_versions: dict) -> dict | None:
        """The reads of the check that gained data files since the versions its last evaluation
        read, with their changes, when those are all the changes and they are of growing reads;
        else None."""
        changed = {}
        for name in check.reads:
            change = self.views.since(name, read_versions.get(name))
            if change is None or change.removed or (change.added and name not in check.growing):
                return None
            if change.added:
                changed[name] = change
        return changed

    def _violations(
        self, check: Check, engine: Engine, settings: CheckSettings, changed: dict
    ) -> tuple[bool, dict, str]:
        """Offending rows among the new rows (against every read as it is), and among the rows
        before against the new rows of the reads (the rest of each read held none), unless
        those give no value of the relation the check derives from them that the reads did not
        give before (see `_fresh`: then said in the note returned)."""
        parts, note = [], ""
        # first, so that the relation it keeps for the reads as they are serves the new rows
        fresh = self._fresh(check, engine, changed) if changed else True
        if self.written or not changed:  # (on no rows: the evidence of none found)
            self.store.attach(engine, self.table, self.written)
            parts.append(check.probe(engine, settings))
        if changed:
            rows_before = self.held
            if not fresh:
                rows_before = []  # the probe on no rows: the evidence of none found
                note = (
                    f"; the rows before not tested again: the new files give no "
                    f"{check.derived[0]} value that the files before did not"
                )
            self.store.attach(engine, self.table, rows_before)
            for name in check.reads:
                self.views.attach(engine, name, changed[name].added if name in changed else [])
            parts.append(check.probe(engine, settings))
            self.views.restore(engine, check.reads)
        self._attach_version(engine)
        return *combined(parts), note

    def _new_rows(self) -> str:
        """How a result on parts names the rows new to the table."""
        if self.touched:
            return f"the {self.rows_added} rows computed again"
        return f"{self.rows_added} new rows"

    def _attach_version(self, engine: Engine) -> None:
        """The table's view over the new version again, after a check's parts."""
        self.store.attach(engine, self.table, self.files)

    def _derive(self, check: Check, engine: Engine) -> bool:
        """Before a check is evaluated whole: the relations it reads that grow (its derived
        relation, see `_fresh`, and its `relations`), over its reads as they are, grown from
        those kept before when the reads only gained files since the version before was checked,
        for the probe to find instead of computing them from every file. Whether it has
        `relations` and each holds the rows it held when the version before was checked (the
        tables it is over did not change since, or it grew to the same rows)."""
        changed = self._grew(check.reads) if check.derived else None
        if changed:
            self._fresh(check, engine, changed)
        same = bool(check.relations)
        for relation in check.relations:
            changed = self._grew(relation.over)
            if changed:
                grown = grow(engine, [relation], self.views.growth(engine, changed, relation.over))
                same = same and grown is True
            else:
                same = same and changed is not None
        return same

    def _same_count(self, check: Check, engine: Engine, prior: Prior) -> dg.AssetCheckResult | None:
        """A count whose independent SQL reads only relations (none of the check's reads
        directly), each holding the rows it held when the version before was checked (see
        `_derive`; the consent relations: customer_landing unchanged since): the table's rows
        against the independent count recorded then; None when it cannot be."""
        evidence = prior.recorded.get(check.name, {}).get("metadata", {})
        read = words(check.independent)
        if "independent_count" not in evidence or read & set(check.reads):
            return None
        if read & set(CONSENT_RELATIONS) and self._grew(CUSTOMERS) != {}:
            return None
        expected, rows = evidence["independent_count"], engine.count(self.table.name)
        return check.result(
            rows == expected,
            {"rows": rows, "independent_count": expected},
            f"the table's rows; the independent count recorded at version {prior.version} (run "
            f"{prior.run[:8]}), the relations it counts holding the rows they held then",
        )

    def _fresh(self, check: Check, engine: Engine, changed: dict) -> bool:
        """Whether the rows before may offend against the reads' new files: for a check that
        tests rows against a relation it derives from its reads (`Check.derived`), only when the
        new files give values that the files before gave none of. The relation over the reads
        as they are now is then kept for the steps and runs that follow, grown from the one
        kept before (`engines/grown.py`: the same file when nothing is new, else the union);
        when none was kept before, the rows before are tested."""
        if not check.derived:
            return True
        name, sql = check.derived
        added, fresh = f"{name}_of_new_files", 0

        def union(_: Engine, before: str) -> str | None:
            nonlocal fresh  # (the values before looked up by the new ones, not the reverse)
            fresh = engine.scalar(
                f"select count(*) from (select value from {added} except "
                f"select value from {before} where value in (select value from {added}))"
            )
            return f"select * from {before} union select * from {added}" if fresh else None

        growth = self.views.growth(engine, changed, check.reads)
        if grow(engine, [Relation(name, sql, union)], growth) is None:
            return True
        return fresh > 0

    def _count(
        self, check: Check, engine: Engine, recorded: dict, changed: dict
    ) -> tuple[bool, dict]:
        """The table's rows against the independent count recorded before plus what the reads'
        new rows add to it: one pass per changed read, as in `_add` (a count over partitions
        that are not persons: with the other reads' rows of the partitions of the new rows
        alone; at x1000 the training pairs' recount of a new file's 50 readings read the 14
        million step readings whole, 0.4 s, narrowed 8 ms)."""
        rows = engine.count(self.table.name)
        expected = recorded["metadata"]["independent_count"]
        for i in range(len(changed)):
            self.views.narrow(engine, changed, i, check.narrowed_by)
            expected += independent(check, engine)
        self.views.restore(engine, check.reads)
        return rows == expected, {"rows": rows, "independent_count": expected}


def recount_on_partitions(
    check: Check,
    engine: Engine,
    prior: Prior,
    table: Table,
    views: ReadViews,
    consent: Callable[[Engine], None],
) -> dg.AssetCheckResult | None:
    """A count summed over partitions (see `Check`) of `table`'s version shown by `engine`: its
    rows against the count recorded at `prior`, less what the partitions a change of the reads
    since (`views`: the reads as they are) reached counted before, plus what they count now;
    None when a read's change cannot be told, or none was recorded. `consent`: makes the
    consent relations over customer_landing as it is."""
    if not prior.counted(check):
        return None
    expected = prior.recorded[check.name]["metadata"]["independent_count"]
    changes = {}
    for name in check.reads:
        change = views.since(name, prior.read_versions.get(name))
        if change is None:
            return None
        changes[name] = change
    for name, change in changes.items():
        views.attach_changed(engine, name, change if change.added or change.removed else None)
    views.spellings(engine, check.reach)  # over the reads as they are
    # a count over persons' consent: the relations over the reached persons' records alone
    uses_consent = bool(words(check.independent) & set(CONSENT_RELATIONS))
    if uses_consent:
        consent(engine)  # those over customer_landing as it is, kept first
    engine.create_table("reached_partitions", check.reach)
    reached = engine.scalar("select count(*) from reached_partitions")
    columns = dict(check.partitions)
    held = {  # the data files both versions of a read hold: their rows scanned once
        name: [url for url in changes[name].before if url in views.reads[name].urls]
        for name in columns
    }
    for name, shared in held.items():
        if shared:
            views.hold(engine, name, shared, columns[name], "reached_partitions")
    for sign, before in ((-1, True), (1, False)):
        for name in check.reads:
            urls = changes[name].before if before else views.reads[name].urls
            if name in columns:
                views.within(engine, name, urls, columns[name], "reached_partitions", held[name])
            else:
                views.attach(engine, name, urls)
        if uses_consent:
            consent_relations_of_rows(engine)
        expected += sign * independent(check, engine)
    views.restore(engine, check.reads)
    if uses_consent:  # those over customer_landing as it is, shown again
        engine.prepared.discard(RELATIONS)
        consent_relations(engine)
    rows = engine.count(table.name)
    return check.result(
        rows == expected,
        {"rows": rows, "independent_count": expected},
        f"the {reached} values of {', '.join(columns.values())} that the changes since "
        f"reach, counted before and after; the table before {prior.basis(check)}",
    )
