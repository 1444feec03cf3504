"""The recounts an erasure evaluates on the versions it commits, before it removes their earlier
versions from storage (`privacy.erasure.Recounts`, which this implements): a count summed over
partitions (`Check.partitions`) counts again the partitions the erasure's changes reach, before
and after, as a step does after a withdrawal (`version_checks.recount_on_partitions`), which
needs the inputs' files before the erasure.

Evaluated whole, by the run after the erasure, the training pairs' recount read every step and
accelerometer reading (4.3 s at x1000); recorded with the version instead (`record_inputs`), the
next step reports it again for a version it keeps, or adds to it for one that computes keys
again. The result names the run and version it evaluated; it holds counts alone, no value of
the partitions (the erased customer's milliseconds)."""

from collections.abc import Mapping
from dataclasses import dataclass, replace

import dagster as dg
import duckdb

from stedi_dagster.engines import Engine
from stedi_dagster.factory import reuse
from stedi_dagster.factory.checks import Check
from stedi_dagster.factory.increments import Change
from stedi_dagster.factory.partial_checks import Prior
from stedi_dagster.factory.read_views import ReadViews
from stedi_dagster.factory.version_checks import recount_on_partitions
from stedi_dagster.lakehouse.delta import BASIS
from stedi_dagster.lakehouse.resource import Lakehouse
from stedi_dagster.lakehouse.store import Snapshot, TableStore
from stedi_dagster.privacy.consent import consent_relations
from stedi_dagster.privacy.erasure import Removal
from stedi_dagster.tables import TABLES


@dataclass(frozen=True)
class Recount:
    """A recount's result on the version an erasure committed (of check `check`), and the
    hashes of the data files of the tables it read then (recorded only if they still hold those
    files)."""

    check: str
    result: dg.AssetCheckResult
    reads: dict[str, str]


class ErasedReads(ReadViews):
    """The views of the tables a recount reads, a change that is the erasure's commit alone
    compared among the rows it removed (`Removal`), not row by row (at x1000 the readings of
    the data files it wrote again: 1.2 s)."""

    def __init__(
        self, store: TableStore, reads: dict[str, Snapshot], removals: Mapping[str, Removal]
    ):
        super().__init__(store, reads)
        self.removals = removals

    def since(self, name: str, version: int | None) -> Change | None:
        change = super().since(name, version)
        removal = self.removals.get(name)
        if change is None or removal is None or version != removal.version or change.within:
            return change
        return replace(change, within=removal.rows)


def recount(
    engine: Engine,
    lakehouse: Lakehouse,
    name: str,
    check: Check,
    last: tuple[int, dict] | None,
    removals: Mapping[str, Removal],
) -> Recount | None:
    """`check` (a count summed over partitions) of table `name`'s current version, shown by
    `engine` with the tables it reads, from its result recorded by `last` (the version and
    commit metadata of the table's step before the erasure) and the changes of its reads since;
    None when none was recorded, or the files it read then are gone (an earlier erasure's
    removed them)."""
    if last is None or BASIS not in last[1]:
        return None
    prior = Prior.recorded_by(last, last[1][BASIS], TABLES[name])
    if prior is None or check.name not in prior.recorded:
        return None
    store = lakehouse.store
    reads = store.snapshots(check.reads)
    views = ErasedReads(store, reads, removals)
    try:
        result = recount_on_partitions(check, engine, prior, TABLES[name], views, consent_relations)
    except (duckdb.IOException, FileNotFoundError):
        return None
    return Recount(check.name, result, reuse.read_hashes(reads)) if result is not None else None


@dataclass(frozen=True)
class ErasureRecounts:
    """The counts summed over partitions (table -> its check) that an erasure evaluates on the
    versions it commits (`privacy.erasure.Recounts`)."""

    checks: Mapping[str, Check]

    def evaluate(
        self,
        engine: Engine,
        lakehouse: Lakehouse,
        steps: Mapping[str, tuple | None],
        removals: Mapping[str, Removal],
    ) -> dict[str, Recount]:
        """The recounts (`recount`) of the tables the erasure changed (`steps`: each one's last
        step before it)."""
        found = {}
        for name, check in self.checks.items():
            if name in steps:
                done = recount(engine, lakehouse, name, check, steps[name], removals)
                if done is not None:
                    found[name] = done
        return found

    def recorded(self, lakehouse: Lakehouse, name: str, done: Recount) -> dict[str, str]:
        """The commit metadata recording a recount with the version it evaluated, when the
        tables it read still hold the data files they held then (the erasure's removal of their
        earlier versions commits, but changes no file); else none."""
        now = lakehouse.store.snapshots(self.checks[name].reads)
        if reuse.read_hashes(now) != done.reads:
            return {}
        return reuse.evaluated_on(now, [done.result])
