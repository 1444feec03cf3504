"""The checks an erasure evaluates on the versions it commits (which this implements:
`privacy.erasure_contracts.ErasedChecks`), recorded with each version (`record_inputs`), so that
the run after it reports them again for a version it keeps, or adds to them for one that computes
keys again, instead of evaluating them on the whole table. Each builds on the check's result on
the version right before the erasure's commit, which removed from the table and from the tables
it reads the rows of the persons it erased alone:

- a count summed over partitions (`Check.partitions`) counts again the partitions the erasure's
  changes reach, before and after, as a step does after a withdrawal
  (`version_checks.recount_on_partitions`), before the reads' earlier files go: the training
  pairs' (over trusted and curated tables, `evaluate`); the trusted tables' (over landing too,
  `over_landing`) once the relations kept from landing are kept again, the partitions the
  changes reach found in the landing spellings kept before the erasure, which hold every
  spelling landing holds after it and the erased persons' (at x1000 evaluated whole by the run
  after: 0.7 and 0.5 s);
- a check row by row (`grows` "violations") or of two rows of one person ("persons") that passed
  is evaluated on the rows of the new version that hold the values the erasure removed (its
  `Removal`): none may be left, which a count proves, and the evidence of none found is then that
  of the result that passed (such a check's evidence counts offences alone); any left would be
  tested against the reads as they are. No other row's verdict can have changed: a removed row
  never makes an offence; a read's rows lost can, but only for the persons whose rows they were
  (their consent; a serial they claimed, every reading of which the erasure removes), while a
  check finding values of its reads (`no_identifiers`) only finds fewer. At x1000 the run after
  an erasure evaluated these whole: consent 1.2 s, identifiers 0.9 s, keys and persons 0.4 s.

The results name the run and version they evaluated; they hold counts alone, no erased value."""

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

import dagster as dg
import duckdb

from stedi_dagster.engines import Engine
from stedi_dagster.factory import reuse
from stedi_dagster.factory.checks import Check, CheckSettings
from stedi_dagster.factory.increments import Change
from stedi_dagster.factory.partial_checks import Prior
from stedi_dagster.factory.read_views import ReadViews
from stedi_dagster.factory.version_checks import recount_on_partitions
from stedi_dagster.lakehouse.delta import BASIS
from stedi_dagster.lakehouse.resource import Lakehouse
from stedi_dagster.lakehouse.store import Snapshot, TableStore
from stedi_dagster.privacy.consent import consent_relations
from stedi_dagster.privacy.erased_spellings import of_persons
from stedi_dagster.privacy.erasure_contracts import Removal
from stedi_dagster.privacy.spellings import read_by
from stedi_dagster.sql import listed
from stedi_dagster.tables import TABLES

# The kinds of check evaluated on the rows an erasure removed (see above).
ROW_BY_ROW = ("violations", "persons")


@dataclass(frozen=True)
class Evaluated:
    """A check's result on the version an erasure committed, and the hashes of the data files
    of the tables it read then (recorded only if they still hold those files)."""

    check: str
    result: dg.AssetCheckResult
    reads: dict[str, str]
    # whether it must pass: a check row by row fails only on rows of the erased left (a recount
    # fails on a version whose keys the next step computes again, until it does)
    must_pass: bool = False

    @property
    def failed(self) -> bool:
        return self.must_pass and not self.result.passed


class ErasedReads(ReadViews):
    """The views of the tables a recount reads, a change that is the erasure's commit alone
    compared among the rows it removed (`Removal`), not row by row (at x1000 the readings of
    the data files it wrote again: 1.2 s)."""

    def __init__(
        self,
        store: TableStore,
        reads: dict[str, Snapshot],
        removals: Mapping[str, Removal],
        spellings_before: Mapping[str, str] | None = None,
    ):
        super().__init__(store, reads)
        self.removals, self.spellings_before = removals, spellings_before or {}

    def spellings(self, engine: Engine, sql: str) -> None:
        """A landing table's spellings as they were kept before the erasure, when they were
        (`spellings_before`): every spelling it holds now, and those of the erased persons,
        whose partitions the counts before the erasure need (at x1000 each computed again
        from landing took 0.3 to 0.5 s)."""
        for relation in read_by(sql):
            if relation.name in self.spellings_before:
                engine.create_view(
                    relation.name, f"select * from {self.spellings_before[relation.name]}"
                )
            else:
                relation.create(engine)

    def since(self, name: str, version: int | None) -> Change | None:
        change = super().since(name, version)
        removal = self.removals.get(name)
        if change is None or removal is None or version != removal.version or change.within:
            return change
        return replace(change, within=removal.rows)


@dataclass(frozen=True)
class ErasureChecks:
    """The checks of each trusted and curated table (table -> its checks), of which an erasure
    evaluates those it can on the versions it commits (`privacy.erasure_contracts.ErasedChecks`)."""

    checks: Mapping[str, Sequence[Check]]

    def evaluate(
        self,
        engine: Engine,
        lakehouse: Lakehouse,
        steps: Mapping[str, tuple | None],
        removals: Mapping[str, Removal],
    ) -> dict[str, list[Evaluated]]:
        """The results (see above) on the tables the erasure changed, shown by `engine` as they
        are (`steps`: each one's last commit before the erasure; `removals`: its commit), while
        their reads' files before it are there."""
        found: dict[str, list[Evaluated]] = {}
        read = sorted({r for checks in self.checks.values() for c in checks for r in c.reads})
        now = lakehouse.store.snapshots(read)  # the tables read, as they are (each looked up once)
        left: dict[str, int] = {}  # per table, the rows of the values the erasure removed left
        for name, prior, check in self._built_on(steps):
            reads = {r: now[r] for r in check.reads if r in now}
            done = None
            if check.partitions and not _over_landing(check):
                views = ErasedReads(lakehouse.store, reads, removals)
                done = _recount(engine, check, prior, views)
            elif check.grows in ROW_BY_ROW and name in removals and prior.passed(check):
                if name not in left:
                    left[name] = _removed_values(engine, lakehouse, name, removals[name])
                done = _on_removed_values(engine, lakehouse, check, prior, reads, left[name])
            if done is not None:
                found.setdefault(name, []).append(done)
        return found

    def over_landing(
        self,
        engine: Engine,
        lakehouse: Lakehouse,
        steps: Mapping[str, tuple | None],
        removals: Mapping[str, Removal],
        spellings_before: Mapping[str, str],
    ) -> dict[str, list[Evaluated]]:
        """The counts summed over partitions that read landing tables (the trusted tables',
        over persons or serials), on the versions the erasure committed, shown by `engine` with
        landing as it is and the relations kept from it kept again, while landing's files
        before the erasure are there; the partitions the changes reach found in the landing
        spellings kept before it (`spellings_before`, by name)."""
        found: dict[str, list[Evaluated]] = {}
        for name, prior, check in self._built_on(steps):
            if check.partitions and _over_landing(check):
                reads = lakehouse.store.snapshots(check.reads)
                views = ErasedReads(lakehouse.store, reads, removals, spellings_before)
                done = _recount(engine, check, prior, views)
                if done is not None:
                    found.setdefault(name, []).append(done)
        return found

    def recorded(
        self, lakehouse: Lakehouse, name: str, done: Sequence[Evaluated]
    ) -> dict[str, str]:
        """The commit metadata recording the results with the version they evaluated, those
        whose reads still hold the data files they held then (the erasure's removal of their
        earlier versions commits, but changes no file)."""
        checks = {c.name: c for c in self.checks[name]}
        now = lakehouse.store.snapshots(sorted({r for d in done for r in checks[d.check].reads}))
        hashes = reuse.read_hashes(now)
        kept = [d.result for d in done if all(hashes.get(r) == h for r, h in d.reads.items())]
        return reuse.evaluated_on(now, kept) if kept else {}

    def _built_on(self, steps: Mapping[str, tuple | None]) -> Iterator[tuple[str, Prior, Check]]:
        """(table, the version before the erasure's commit with the results it recorded,
        check) of each check of the tables whose last commit before it (`steps`: its number
        and metadata) recorded results."""
        for name, checks in self.checks.items():
            last = steps.get(name)
            if last is None or BASIS not in last[1]:
                continue
            prior = Prior.recorded_by(last, last[1][BASIS], TABLES[name])
            for check in checks if prior is not None else ():
                yield name, prior, check


def _removed_values(engine: Engine, lakehouse: Lakehouse, name: str, removal: Removal) -> int:
    """The rows of table `name` in the version the erasure committed (`removal`) that hold the
    values it removed, or, of a table whose rows belong to persons by its key field, a spelling
    of an erased person that its data files hold (facts kept per file, computed for the files
    the erasure wrote): none may be left. Counted, and shown as `<name>_erased_rows`."""
    version = f"{name}_erased_version"
    lakehouse.store.attach(engine, TABLES[name], view=version)
    conditions = list(removal.conditions)
    if removal.column:
        spelled = of_persons(engine, name, removal.column, version, removal.persons) or []
        conditions.append(listed(removal.column, spelled))
    rows = replace(removal, conditions=tuple(conditions)).of(version)
    engine.create_view(f"{name}_erased_rows", rows)
    return engine.scalar(f"select count(*) from {name}_erased_rows")


def _on_removed_values(
    engine: Engine,
    lakehouse: Lakehouse,
    check: Check,
    prior: Prior,
    reads: dict[str, Snapshot],
    left: int,
) -> Evaluated:
    """A check row by row (or per person) that passed at `prior`, on the version the erasure
    committed: on its rows that hold the values the erasure removed (`left` of them, shown as
    `<table>_erased_rows`: none may be; were there any, tested against the reads as they are);
    every other row stands as it stood (see above). `reads`: the tables it reads, as they are."""
    store, name = lakehouse.store, check.table.name
    if left:
        for read in check.reads:
            store.attach(engine, TABLES[read])
        engine.create_view(name, f"select * from {name}_erased_rows")
        passed, metadata = check.probe(engine, CheckSettings.of(lakehouse))
        store.attach(engine, check.table)  # the version whole again
    else:  # the evidence of none found, which the result that passed holds (counts of offences)
        passed, metadata = True, prior.evidence(check)
    result = check.result(
        passed,
        metadata,
        f"the rows holding the values the erasure removed ({left} left); the rows it kept of "
        f"the table before, which {prior.basis(check)}, stand as they stood: the erasure removed "
        "the rows of the persons it erased alone, from the table and the tables it reads",
    )
    return Evaluated(check.name, result, reuse.read_hashes(reads), must_pass=True)


def _over_landing(check: Check) -> bool:
    """Whether the check reads a landing table."""
    return any(TABLES[r].zone == "landing" for r in check.reads)


def _recount(engine: Engine, check: Check, prior: Prior, views: ErasedReads) -> Evaluated | None:
    """`check` (a count summed over partitions) of its table's current version, shown by
    `engine` with the tables it reads (`views`, as they are), from its result recorded at
    `prior` and the changes of its reads since; None when none was recorded, or the files it
    read then are gone (an earlier erasure's removed them)."""
    if check.name not in prior.recorded:
        return None
    try:
        result = recount_on_partitions(check, engine, prior, check.table, views, consent_relations)
    except (duckdb.IOException, FileNotFoundError):
        return None
    if result is None:
        return None
    return Evaluated(check.name, result, reuse.read_hashes(views.reads))
