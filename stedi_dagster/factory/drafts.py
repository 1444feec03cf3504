"""Drafts: a table's next version, from the step's plan to its commit (write, audit, publish).

A landing table's draft is `landing.pipeline.LandingDraft`; a trusted or curated table's is a
`FileDraft`: its version kept (see `reuse`), the rows its inputs' new rows give added (see
`increments`), the rows of the keys an input's change reaches computed again (see `keyed`), or
built in full by a writer into one Parquet file; over views of its inputs (`read_views`), and
checked as `version_checks` says.
"""

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import dagster as dg

from stedi_dagster.engines import Engine
from stedi_dagster.engines.engine import Spread
from stedi_dagster.engines.grown import Relation, grow
from stedi_dagster.factory import increments, reuse
from stedi_dagster.factory.checks import Check, CheckSettings
from stedi_dagster.factory.keyed import MAX_KEYS, MAX_KEYS_RECORDED, Keyed
from stedi_dagster.factory.read_views import ReadViews
from stedi_dagster.factory.step_run import StepRun
from stedi_dagster.factory.version_checks import VersionChecks
from stedi_dagster.lakehouse import Lakehouse, data_files
from stedi_dagster.lakehouse.delta import (
    CHANGED_ROWS,
    KEYS_TO_RECOMPUTE,
    parquet_rows,
)
from stedi_dagster.lakehouse.store import Snapshot
from stedi_dagster.privacy import spellings
from stedi_dagster.sql import ident, words
from stedi_dagster.tables import EXTRA_COLUMN, TABLES, Table


class Draft(Protocol):
    """A new version of one or more tables: `kept` says whether the current versions stay (the
    step would compute the same: see `reuse`), given the snapshots of the tables the step reads;
    otherwise `write` stages it and creates a view named after each table over the staged version
    (returning metadata per table), and `publish` makes it current (in a commit recording the
    run's id, the versions of the tables it was computed from (none for landing tables, computed
    from files) and `recorded`: the step's fingerprint and check results) and returns metadata
    per table: its `path`, and for a Delta table its `delta_version`. Used as a context manager
    around all three."""

    tables: tuple[Table, ...]
    basis: str  # set by `kept`
    reads: dict[str, Snapshot]  # set by `kept`
    same_rows_as: int | None  # after `write`: the version before, if its rows are the same
    changed_rows: str | None  # after `write`: SQL true of every row added or removed, if known

    def __enter__(self) -> "Draft": ...
    def __exit__(self, *exc) -> None: ...
    def kept(self, reads: dict[str, Snapshot], inputs: Sequence[str]) -> reuse.Kept | None: ...
    def write(self, engine: Engine) -> dict[str, dict]: ...
    def results(
        self, checks: Sequence[Check], engine: Engine, settings: CheckSettings
    ) -> tuple[list[dg.AssetCheckResult], dict]: ...
    def publish(
        self, run_id: str, inputs: dict[str, int], recorded: dict[str, str]
    ) -> dict[str, dict]: ...


# What stages a table's next version in a step: given the step's run, the lakehouse and the
# staging folder.
DraftFactory = Callable[[StepRun, Lakehouse, Path], Draft]


# Writes a table's new version as one Parquet file at the given path; with a condition (SQL over
# the table's columns), only the rows it is true of; with a Spread, over files by key if it can
# (else the draft spreads the one file). Returns the files written.
FileWriter = Callable[[Engine, Lakehouse, Path, str, Spread | None], list[Path]]


class FileDraft:
    """A trusted or curated table computed from its inputs (given to `kept`) by `writer`, whose
    `code` (besides the package's) is given. With `appends` (the inputs its writer is linear in,
    or those its `adder` takes the new rows of), rows added to those inputs are computed alone
    and appended: by the `adder` if there is one (it reads the table as it was under its own
    name), else the writer; with `partitions` (input -> column: the writer pairs rows only
    within a partition), against the rows of the same partitions of the other inputs alone. A
    `keyed` table's other changes compute again the rows of the keys they reach, and its full
    builds are spread over data files by key."""

    def __init__(
        self,
        lakehouse: Lakehouse,
        table: Table,
        writer: FileWriter,
        folder: Path,
        code: str = "",
        appends: Sequence[str] = (),
        adder: FileWriter | None = None,
        keyed: Keyed | None = None,
        partitions: Sequence[tuple[str, str]] = (),
    ):
        self.lakehouse, self.table, self.writer, self.code = lakehouse, table, writer, code
        self.adder = adder or writer
        self.appends, self.keyed, self.folder = appends, keyed, folder
        self.partitions = tuple(partitions)
        self.store = lakehouse.store
        self.tables = (table,)
        self.staged: list[Path] = []
        self.touched: list[str] = []  # current data files the new version leaves out
        # staged files holding rows of the version before alone: the touched ones written again
        # without the rows of the keys computed again
        self.rewritten: list[Path] = []
        self.files: list[str] = []  # after `write`: the new version's data files
        self.rows_added = 0
        self.replace = True
        self.changed_rows: str | None = None  # SQL true of every row added or removed

    def __enter__(self) -> "FileDraft":
        return self

    def __exit__(self, *exc) -> None:
        pass

    def kept(self, reads: dict[str, Snapshot], inputs: Sequence[str]) -> reuse.Kept | None:
        self.reads, self.inputs = reads, inputs
        self.views = ReadViews(self.store, reads)
        self.basis = reuse.basis(self.lakehouse, table_code=self.code)
        self.last = self.store.delta.last_commit(self.table)
        if self.last is None:
            return None
        version, commit = self.last
        fingerprint = reuse.fingerprint(self.basis, reads)
        return reuse.kept(commit, fingerprint, {self.table.name: version})

    @property
    def same_rows_as(self) -> int | None:
        """The version before, when the version written holds its rows (it adds and removes no
        data file); else None."""
        if self.last is None or self.replace or self.staged or self.touched:
            return None
        return self.last[0]

    def write(self, engine: Engine) -> dict[str, dict]:
        found = None
        if self.last is not None:
            found = increments.changes(
                self.store, self.last[1], self.basis, self.inputs, self.reads
            )
        # the files of the version planned on (another run may have committed one since)
        urls = self.store.delta.files(self.table, self.last[0]) if self.last is not None else []
        self.current = [self.store.zones.local_copy(u) for u in urls]
        self.urls = dict(zip(self.current, urls, strict=True))
        pending = json.loads(self.last[1].get(KEYS_TO_RECOMPUTE, "[]")) if self.last else []
        adding = found is not None and not pending and increments.appendable(found, self.appends)
        if self.keyed is not None:
            self._keep_relations(engine, self.keyed, found or {}, needed=not adding)
        metadata = None
        if found is not None and adding:
            metadata = self._add(engine, found)
        elif found is not None and self.keyed is not None:
            metadata = self._recompute(engine, found, self.keyed, pending)
        if metadata is None:
            metadata = self._build(engine)
        held = [] if self.replace else [f for f in self.current if f not in self.touched]
        self.files = [*held, *(str(p) for p in self.staged)]
        self.store.attach(engine, self.table, self.files)
        return {self.table.name: metadata}

    def _keep_relations(
        self, engine: Engine, keyed: Keyed, found: dict[str, increments.Change], needed: bool
    ) -> None:
        """The relations `keyed`'s SQL reads, over the reads as they are, kept for this run's
        steps and the runs that follow: one that grows, grown from the one kept over a read's
        files before, when it only gained files since the version before was built (whether or
        not the step reads it: a run that adds rows keeps it current for one that computes keys
        again); else, when `needed`, found kept or computed."""
        for relation in keyed.relations:
            if isinstance(relation, Relation) and relation.grows:
                changes = {read: found[read] for read in relation.over if read in found}
                if changes and all(change.appended for change in changes.values()):
                    growth = self.views.growth(engine, changes, relation.over)
                    if grow(engine, [relation], growth) is not None:
                        continue
            if needed:
                relation.create(engine)

    def _build(self, engine: Engine) -> dict:
        """The table in full; kept as it is (nothing staged) when its rows are those it holds."""
        path = self.folder / f"{self.table.name}.parquet"
        spread = self._spread(engine, self.keyed) if self.keyed else None
        files = self.writer(engine, self.lakehouse, path, "", spread)
        built = {"built": "in full", "parquet_bytes": sum(f.stat().st_size for f in files)}
        if self.current and increments.same_rows(self.table, [str(f) for f in files], self.current):
            self.replace = False  # nothing staged: the commit records the step, adds no row
            return built | {"rows_added": 0, "rows_removed": 0, "same_rows": True}
        self.rows_added = parquet_rows(files)
        if self.keyed is not None and len(files) == 1:  # a writer that does not spread its rows
            column, sizes = self.keyed.columns[0], self.keyed.files
            files = data_files.bucketed(files[0], column, self.folder, self.table, sizes)
        self.staged = files
        return built | {"rows_added": self.rows_added, "rows_removed": parquet_rows(self.current)}

    def _spread(self, engine: Engine, keyed: Keyed) -> Spread:
        """How a full build spreads the table over files by key: as many as the rows of the
        input that bounds its rows would fill, else its largest input's (its own rows are not
        known before it is written); customer_curated, bounded by customer_trusted, was spread
        over 159 files of 2,900 rows at x1000 by accelerometer_trusted's 40 million rows."""
        inputs = [keyed.bounded_by] if keyed.bounded_by else self.inputs
        rows = max((engine.count(name) for name in inputs), default=0)
        return Spread(keyed.columns[0], data_files.buckets(rows, keyed.files))

    def _add(self, engine: Engine, found: dict[str, increments.Change]) -> dict:
        """The rows that the inputs' new rows give, one pass per changed input: that input's new
        files, the inputs before it in their new version, those after it in their old one (the
        `partitions` inputs restricted to the partitions of the new rows)."""
        self.replace = False
        changed = list(found)
        if changed:  # the table as it is, for an adder that leaves out what it holds already
            self.store.attach(engine, self.table, self.current)
        for i in range(len(changed)):
            self.views.narrow(engine, found, i, self.partitions)
            path = self.folder / f"{self.table.name}-added-{i}.parquet"
            self.adder(engine, self.lakehouse, path, "", None)
            if parquet_rows([path]):
                self.staged.append(path)
        self.views.restore(engine, self.inputs)  # the checks read the inputs as they are now
        self.rows_added = parquet_rows(self.staged)
        if self.keyed is not None:
            self.changed_rows = self._keys_added(engine, self.keyed)
        return {
            "built": f"added to: rows added to {', '.join(changed)}" if changed else "unchanged",
            "rows_added": self.rows_added,
            "rows_removed": 0,
            "input_files_added": dg.MetadataValue.json(
                {name: len(change.added) for name, change in found.items()}
            ),
        }

    def _keys_added(self, engine: Engine, keyed: Keyed) -> str | None:
        """SQL true of every row a version that only adds rows adds (those of their keys; false
        when it adds none), for the steps reading the table to compare only those rows when it
        later loses some (`increments.Change.within`); None when the keys are many or null."""
        if not self.staged:
            return "false"
        self.store.attach(engine, self.table, [str(p) for p in self.staged], view="rows_added")
        keys = set()
        for column in map(ident, keyed.columns):
            found = engine.rows(f"select distinct {column} from rows_added limit {MAX_KEYS + 1}")
            keys |= {value for (value,) in found}
        if None in keys or len(keys) > MAX_KEYS_RECORDED:
            return None
        return keyed.rows_of(sorted(keys))

    def _recompute(
        self,
        engine: Engine,
        found: dict[str, increments.Change],
        keyed: Keyed,
        pending: Sequence[str] = (),
    ) -> dict | None:
        """The rows of the keys whose rows may have changed (see `Keyed`), and of those the
        version's commit left `pending` (`KEYS_TO_RECOMPUTE`), computed again: the data files
        holding any of their rows written again without them, and their rows computed from the
        inputs as they are; None (build in full) when the keys are many."""
        for name in self.inputs:
            self.views.attach_changed(engine, name, found.get(name))
        persons = keyed.found(engine)
        keys = sorted(set(persons) | set(pending))
        if len(keys) > MAX_KEYS:
            return None
        self.replace = False
        rows_of_keys = keyed.rows_of(keys)
        where = rows_of_keys if keys else ""
        if len(keys) <= MAX_KEYS_RECORDED:
            self.changed_rows = rows_of_keys
        touched, kept, removed = data_files.without(
            self.current, keyed.conditions(keys), self.folder, self.table
        )
        self.touched, self.staged, self.rewritten = touched, kept, list(kept)
        if keys:
            path = self.folder / f"{self.table.name}-recomputed.parquet"
            self._narrow_to(engine, keyed, [(k, persons.get(k)) for k in keys])
            self.writer(engine, self.lakehouse, path, where, None)
            self.views.restore(engine, [n for n, _ in keyed.narrowed if n in self.inputs])
            self.rows_added = parquet_rows([path])
            if self.rows_added:
                self.staged.append(path)
        return {
            "built": f"recomputed: the rows of {len(keys)} {' or '.join(keyed.columns)} values"
            if keys
            else "unchanged",
            "keys_recomputed": len(keys),
            "keys_left_by_the_erasure": len(pending),
            "rows_added": self.rows_added,
            "rows_removed": removed,
            "input_files_changed": dg.MetadataValue.json(
                {
                    name: {"added": len(change.added), "removed": len(change.removed)}
                    for name, change in found.items()
                }
            ),
        }

    def _narrow_to(
        self, engine: Engine, keyed: Keyed, keys: Sequence[tuple[str, str | None]]
    ) -> None:
        """The views of the inputs `keyed` narrows, over the rows the keys' rows can come from
        (`keys`: each with the person its change found behind it, or None: see `Keyed.found`)."""
        if not keyed.narrowed:
            return
        engine.fill_table("recomputed_keys", {"key": "VARCHAR", "person": "VARCHAR"}, keys)
        for name, sql in keyed.narrowed:
            engine.create_table(f"narrowed_{name}", sql)
        for name, _ in keyed.narrowed:
            if name in self.inputs:  # else a table the others read
                engine.create_view(name, f"select * from narrowed_{name}")

    def results(
        self, checks: Sequence[Check], engine: Engine, settings: CheckSettings
    ) -> tuple[list[dg.AssetCheckResult], dict]:
        """Every check's result on the new version, and how they were reached (see
        `VersionChecks`)."""
        return VersionChecks(self).results(checks, engine, settings)

    def publish(
        self, run_id: str, inputs: dict[str, int], recorded: dict[str, str]
    ) -> dict[str, dict]:
        removed = [self.urls[f] for f in self.touched]
        if self.changed_rows is not None:
            recorded = recorded | {CHANGED_ROWS: self.changed_rows}
        merge = data_files.Merge()
        if not self.replace and (self.staged or self.touched):  # its small files merged
            held = {f: self.urls[f] for f in self.current if f not in self.touched}
            merge = data_files.merged(held, self.folder, self.table)
        base = self.last[0] if self.last is not None else None
        version = self.store.publish(
            self.table,
            [*self.staged, *merge.added],
            run_id,
            inputs,
            recorded,
            self.replace,
            [*removed, *merge.removed],
            base,
            merge.merged,
        )
        folder = self.store.table_folder(self.table)
        return {self.table.name: {"path": folder, "delta_version": version} | merge.metadata}


def file_draft(
    name: str,
    writer: FileWriter,
    code: str = "",
    appends: Sequence[str] = (),
    adder: FileWriter | None = None,
    keyed: Keyed | None = None,
    partitions: Sequence[tuple[str, str]] = (),
) -> DraftFactory:
    """The table written by `writer` (see `FileDraft`)."""
    return lambda _, lakehouse, folder: FileDraft(
        lakehouse, TABLES[name], writer, folder, code, appends, adder, keyed, partitions
    )


def sql_draft(
    name: str,
    appends: Sequence[str] = (),
    keyed: Keyed | None = None,
    partitions: Sequence[tuple[str, str]] = (),
    relations: Sequence[Relation] = (),
) -> DraftFactory:
    """The table computed by one SQL statement (`sql/<name>.sql`), streamed by the engine into
    the staged file; a `select *` from a landing table leaves its extra fields behind (they stay
    in landing until adopted). `appends`: the inputs the SQL is linear in, or, when there is a
    `sql/<name>_added.sql`, those whose new rows it turns into the table's new rows (see
    `increments`). `keyed`: how it is maintained per key (see `Keyed`). `relations`: tables
    the SQL (or its adder) reads, each computed from the inputs it is `over` as they are (never
    narrowed to a pass) and kept for the steps and runs that read the same versions of them;
    a statement creates those it names."""
    table = TABLES[name]
    sql = table.sql()
    added_sql = table.sql("_added") if table.sql_file("_added").exists() else None

    def writer(statement: str) -> FileWriter:
        read = words(statement)  # the relations it reads among them

        def write(
            engine: Engine, _: Lakehouse, path: Path, where: str, spread: Spread | None
        ) -> list[Path]:
            for relation in [*relations, *spellings.read_by(statement)]:
                if relation.name in read:
                    relation.create(engine)
            computed = f"{name}_computed"
            engine.create_view(computed, statement)
            kept = [c for c in engine.describe(computed) if c != EXTRA_COLUMN or c in table.columns]
            columns = ", ".join(ident(c) for c in kept)
            rows = f" where {where}" if where else ""
            return engine.write_parquet(
                f"select {columns} from {computed}{rows}", path, spread, table.row_group_rows
            )

        return write

    adder = writer(added_sql) if added_sql else None
    code = sql + (added_sql or "") + (keyed.affected if keyed else "")
    code += "".join(relation.sql for relation in relations)
    code += "".join(sql for _, sql in keyed.narrowed) if keyed else ""
    return file_draft(name, writer(sql), code, appends, adder, keyed, partitions)
