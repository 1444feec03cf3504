"""Drafts: a table's next version, from the step's plan to its commit (write, audit, publish).

A landing table's draft is `landing.pipeline.LandingDraft`; a trusted or curated table's is a
`FileDraft`: its version kept (see `reuse`), the rows its inputs' new rows give added (see
`increments`), or built in full by a writer into one Parquet file.
"""

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import dagster as dg

from stedi_dagster.assets import increments, reuse
from stedi_dagster.assets.checks import Check
from stedi_dagster.engines import Engine
from stedi_dagster.lakehouse import Lakehouse
from stedi_dagster.lakehouse.store import Snapshot
from stedi_dagster.sql import ident, read_sql
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

    def __enter__(self) -> "Draft": ...
    def __exit__(self, *exc) -> None: ...
    def kept(self, reads: dict[str, Snapshot], inputs: Sequence[str]) -> reuse.Kept | None: ...
    def write(self, engine: Engine) -> dict[str, dict]: ...
    def reused(self, checks: Sequence[Check]) -> dict[dg.AssetCheckKey, dg.AssetCheckResult]: ...
    def publish(
        self, run_id: str, inputs: dict[str, int], recorded: dict[str, str]
    ) -> dict[str, dict]: ...


DraftFactory = Callable[[dg.AssetExecutionContext, Lakehouse, Path], Draft]


# Writes a table's new version as one Parquet file at the given path.
FileWriter = Callable[[Engine, Lakehouse, Path], None]


class FileDraft:
    """A trusted or curated table computed from its inputs (given to `kept`) by `writer`, whose
    `code` (besides the package's) is given. With `appends` (the inputs its writer is linear in,
    or those its `adder` takes the new rows of), rows added to those inputs are computed alone
    and appended: by the `adder` if there is one (it reads the table as it was under its own
    name), else the writer."""

    def __init__(
        self,
        lakehouse: Lakehouse,
        table: Table,
        writer: FileWriter,
        folder: Path,
        code: str = "",
        appends: Sequence[str] = (),
        adder: FileWriter | None = None,
    ):
        self.lakehouse, self.table, self.writer, self.code = lakehouse, table, writer, code
        self.adder = adder or writer
        self.appends, self.folder = appends, folder
        self.store = lakehouse.store
        self.tables = (table,)
        self.staged: list[Path] = []
        self.replace = True

    def __enter__(self) -> "FileDraft":
        return self

    def __exit__(self, *exc) -> None:
        pass

    def kept(self, reads: dict[str, Snapshot], inputs: Sequence[str]) -> reuse.Kept | None:
        self.reads, self.inputs = reads, inputs
        self.basis = reuse.basis(self.lakehouse, table_code=self.code)
        self.last = self.store.delta.last_commit(self.table)
        if self.last is None:
            return None
        version, commit = self.last
        fingerprint = reuse.fingerprint(self.basis, reads)
        return reuse.kept(commit, fingerprint, {self.table.name: version})

    def write(self, engine: Engine) -> dict[str, dict]:
        found = None
        if self.last is not None:
            commit = self.last[1]
            found = increments.changes(
                self.store, commit, self.basis, self.inputs, self.reads, self.appends
            )
        current = self.store.files(self.table) if self.last is not None else []
        metadata = self._build(engine, current) if found is None else self._add(engine, found)
        held = [] if self.replace else current
        self.store.attach(engine, self.table, [*held, *(str(p) for p in self.staged)])
        return {self.table.name: metadata}

    def _build(self, engine: Engine, current: list[str]) -> dict:
        """The table in full; kept as it is (nothing staged) when its rows are those it holds."""
        path = self.folder / f"{self.table.name}.parquet"
        self.writer(engine, self.lakehouse, path)
        built = {"built": "in full", "parquet_bytes": path.stat().st_size}
        if current and increments.same_rows(self.table, [str(path)], current):
            self.replace = False  # nothing staged: the commit records the step, adds no row
            return built | {"rows_added": 0, "rows_removed": 0, "same_rows": True}
        self.staged = [path]
        return built | {
            "rows_added": increments.rows([path]),
            "rows_removed": increments.rows(current),
        }

    def _add(self, engine: Engine, found: dict[str, increments.Change]) -> dict:
        """The rows that the inputs' new rows give, one pass per changed input: that input's new
        files, the inputs before it in their new version, those after it in their old one."""
        self.replace = False
        changed = list(found)
        if changed:  # the table as it is, for an adder that leaves out what it holds already
            self.store.attach(engine, self.table, self.store.files(self.table))
        for i in range(len(changed)):
            for j, other in enumerate(changed):
                if j < i:
                    files = self.reads[other].urls
                else:
                    files = found[other].added if j == i else found[other].before
                self._attach(engine, other, files)
            path = self.folder / f"{self.table.name}-added-{i}.parquet"
            self.adder(engine, self.lakehouse, path)
            if increments.rows([path]):
                self.staged.append(path)
        for name in changed:  # the checks read the inputs as they are now
            self._attach(engine, name, self.reads[name].urls)
        return {
            "built": f"added to: rows added to {', '.join(changed)}" if changed else "unchanged",
            "rows_added": increments.rows(self.staged),
            "rows_removed": 0,
            "input_files_added": dg.MetadataValue.json(
                {name: len(change.added) for name, change in found.items()}
            ),
        }

    def reused(self, checks: Sequence[Check]) -> dict[dg.AssetCheckKey, dg.AssetCheckResult]:
        if self.last is None or self.replace or self.staged:
            return {}  # rows changed: every check runs
        return reuse.still_true(self.last, self.basis, self.reads, checks)

    def _attach(self, engine: Engine, name: str, urls: list[str]) -> None:
        local = [self.store.zones.local_copy(u) for u in urls]
        self.store.attach(engine, TABLES[name], local)

    def publish(
        self, run_id: str, inputs: dict[str, int], recorded: dict[str, str]
    ) -> dict[str, dict]:
        version = self.store.publish(
            self.table, self.staged, run_id, inputs, recorded, replace=self.replace
        )
        folder = self.store.table_folder(self.table)
        return {self.table.name: {"path": folder, "delta_version": version}}


def file_draft(
    name: str,
    writer: FileWriter,
    code: str = "",
    appends: Sequence[str] = (),
    adder: FileWriter | None = None,
) -> DraftFactory:
    """The table written by `writer` (see `FileDraft`)."""
    return lambda _, lakehouse, folder: FileDraft(
        lakehouse, TABLES[name], writer, folder, code, appends, adder
    )


def sql_draft(sql_module: str, name: str, appends: Sequence[str] = ()) -> DraftFactory:
    """The table computed by one SQL statement (`sql/<name>.sql`), streamed by the engine into
    the staged file; a `select *` from a landing table leaves its extra fields behind (they stay
    in landing until adopted). `appends`: the inputs the SQL is linear in, or, when there is a
    `sql/<name>_added.sql`, those whose new rows it turns into the table's new rows (see
    `increments`)."""
    sql, table = read_sql(sql_module, name), TABLES[name]
    added = Path(sql_module).parent / "sql" / f"{name}_added.sql"
    added_sql = read_sql(sql_module, f"{name}_added") if added.exists() else None

    def writer(statement: str) -> FileWriter:
        def write(engine: Engine, _: Lakehouse, path: Path) -> None:
            computed = f"{name}_computed"
            engine.create_view(computed, statement)
            kept = [c for c in engine.describe(computed) if c != EXTRA_COLUMN or c in table.columns]
            columns = ", ".join(ident(c) for c in kept)
            engine.write_parquet(f"select {columns} from {computed}", path)

        return write

    adder = writer(added_sql) if added_sql else None
    return file_draft(name, writer(sql), sql + (added_sql or ""), appends, adder)
