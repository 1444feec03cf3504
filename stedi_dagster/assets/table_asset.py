"""One asset per table, built the same way for every zone (write, audit, publish):

1. stage a new version on a fresh engine (`Lakehouse.connect`): a trusted or curated table's SQL
   streamed into one Parquet file, or a landing table's new and changed JSON files ingested as
   data files (`stedi_dagster.landing`, which also writes the dataset's quarantine table);
2. evaluate every check of the table on the staged version, whichever were selected (a sensor or
   the automation may request the table alone); unselected ones are recorded as evaluations too;
3. if a blocking check failed, discard the staged version and fail the step, so the previous
   version stays current and nothing downstream runs; otherwise commit it as the table's next
   Delta version (`lakehouse/delta.py`) and report, with the version as the data version.

Selecting only the checks (e.g. "Execute checks" in the UI) evaluates them on the published table.
"""

import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Protocol

import dagster as dg
import duckdb

from stedi_dagster.assets.checks import Check, check_label
from stedi_dagster.assets.source_code import code_references
from stedi_dagster.engines import Engine
from stedi_dagster.lakehouse import Lakehouse, LakehouseError, catalog
from stedi_dagster.privacy.masking import masked_markdown
from stedi_dagster.sql import ident, read_sql
from stedi_dagster.tables import EXTRA_COLUMN, TABLES, Table

PREVIEW_ROWS = 5
OWNER = "team:stedi-data"
# Trusted and curated tables follow their inputs' data versions (each a Delta version: a landing
# run that commits nothing leaves it as it was, and starts nothing downstream), with what builds on
# them in the same run, but never past a failed blocking check (eager alone would still run after
# one).
INPUTS_CHANGED = dg.AutomationCondition.any_deps_match(
    dg.AutomationCondition.data_version_changed() | dg.AutomationCondition.will_be_requested()
)
DOWNSTREAM_AUTOMATION = (
    dg.AutomationCondition.eager().replace("any_deps_updated", INPUTS_CHANGED)
    & dg.AutomationCondition.all_deps_blocking_checks_passed()
)


class Draft(Protocol):
    """A new version of one or more tables: `write` stages it and creates a view named after each
    table over the staged version (returning metadata per table); `publish` makes it current (in
    a commit recording the run's id, and the versions of the tables it was computed from: none
    for landing tables, computed from files) and returns metadata per table: its `path`, and for
    a Delta table its `delta_version`. Used as a context manager around both."""

    tables: tuple[Table, ...]

    def __enter__(self) -> "Draft": ...
    def __exit__(self, *exc) -> None: ...
    def write(self, engine: Engine) -> dict[str, dict]: ...
    def publish(self, run_id: str, inputs: dict[str, int]) -> dict[str, dict]: ...


DraftFactory = Callable[[dg.AssetExecutionContext, Lakehouse, Path], Draft]


# Writes a table's new version as one Parquet file at the given path.
FileWriter = Callable[[Engine, Lakehouse, Path], None]


class FileDraft:
    """A table whose new version is one staged Parquet file, written by `writer`."""

    def __init__(self, lakehouse: Lakehouse, table: Table, writer: FileWriter, folder: Path):
        self.lakehouse, self.table, self.writer = lakehouse, table, writer
        self.tables = (table,)
        self.path = folder / f"{table.name}.parquet"

    def __enter__(self) -> "FileDraft":
        return self

    def __exit__(self, *exc) -> None:
        pass

    def write(self, engine: Engine) -> dict[str, dict]:
        self.writer(engine, self.lakehouse, self.path)
        self.lakehouse.store.attach(engine, self.table, [str(self.path)])
        return {self.table.name: {"parquet_bytes": self.path.stat().st_size}}

    def publish(self, run_id: str, inputs: dict[str, int]) -> dict[str, dict]:
        store = self.lakehouse.store
        version = store.publish(self.table, self.path, run_id, inputs)
        folder = store.table_folder(self.table)
        return {self.table.name: {"path": folder, "delta_version": version}}


def file_draft(name: str, writer: FileWriter) -> DraftFactory:
    return lambda _, lakehouse, folder: FileDraft(lakehouse, TABLES[name], writer, folder)


def sql_draft(sql_module: str, name: str) -> DraftFactory:
    """The table computed by one SQL statement, streamed by the engine into the staged file;
    a `select *` from a landing table leaves its extra fields behind (they stay in landing until
    adopted)."""
    sql, table = read_sql(sql_module, name), TABLES[name]

    def write(engine: Engine, _: Lakehouse, path: Path) -> None:
        computed = f"{name}_computed"
        engine.create_view(computed, sql)
        kept = [c for c in engine.describe(computed) if c != EXTRA_COLUMN or c in table.columns]
        engine.write_parquet(f"select {', '.join(ident(c) for c in kept)} from {computed}", path)

    return file_draft(name, write)


def table_asset(
    name: str,
    *,
    inputs: Sequence[str],
    checks: Sequence[Check],
    description: str,
    sql_module: str = "",
    draft: DraftFactory | None = None,
    also: dict[str, str] | None = None,
    pseudonymous: bool = False,
    profile: Callable[[Engine, Lakehouse, str], Callable[[], dict]] | None = None,
    kinds: frozenset[str] = frozenset({"duckdb", "parquet"}),
    sources: Sequence[str] = (),
) -> dg.AssetsDefinition:
    """The asset for table `name`, computed by `sql/<name>.sql` beside `sql_module` from `inputs`
    (other tables), or by a `draft` (landing tables, from their JSON files) that also writes the
    tables in `also` (name -> description). A `pseudonymous` table's SQL uses pseudonym(), so
    the step first makes sure a pseudonym key applies. `profile` adds metadata computed from the
    new table: it queries the table, and the function it returns (called after the checks,
    which its charts' drawing overlaps) makes the metadata (see `stedi_dagster.assets.profile`).
    `sources`: the files that compute the table besides its SQL file and `sql_module`, linked
    from the asset page ("View source")."""
    draft = draft or sql_draft(sql_module, name)
    outputs = {name: description, **(also or {})}
    check_reads = sorted({r for c in checks for r in c.reads} - set(outputs))
    sql_file = [str(Path(sql_module).parent / "sql" / f"{name}.sql")] if sql_module else []
    references = code_references(name, [*sql_file, *([sql_module] if sql_module else []), *sources])

    @dg.multi_asset(
        name=name,
        specs=[
            dg.AssetSpec(
                TABLES[t].key,
                deps=[TABLES[i].key for i in inputs],
                description=text,
                group_name=TABLES[t].zone,
                kinds=set(kinds),
                owners=[OWNER],
                metadata={"dagster/code_references": references},
                tags={"zone": TABLES[t].zone, "dataset": TABLES[t].dataset},
                automation_condition=None if TABLES[t].zone == "landing" else DOWNSTREAM_AUTOMATION,
            )
            for t, text in outputs.items()
        ],
        check_specs=[c.spec for c in checks],
        can_subset=True,
    )
    def _asset(context: dg.AssetExecutionContext, lakehouse: Lakehouse) -> Iterator:
        selected = [c for c in checks if c.key in context.selected_asset_check_keys]
        materializing = any(TABLES[t].key in context.selected_asset_keys for t in outputs)
        try:
            if materializing:
                yield from _materialize(context, lakehouse, selected)
            else:
                with lakehouse.connect(*outputs, *check_reads) as engine:
                    yield from (c.evaluate(engine, lakehouse) for c in selected)
        except (duckdb.Error, LakehouseError) as e:
            kept = "\nThe previous version of the table stays in place." if materializing else ""
            raise dg.Failure(description=f"{name}: {e}{kept}") from e

    def _materialize(
        context: dg.AssetExecutionContext, lakehouse: Lakehouse, selected: list[Check]
    ) -> Iterator:
        reads = [*inputs, *(r for r in check_reads if r not in inputs)]
        # a trusted or curated table reads its inputs at the versions recorded with it
        pinned = {} if TABLES[name].zone == "landing" else lakehouse.store.versions(reads)
        with (
            lakehouse.connect(*reads, versions=pinned) as engine,
            lakehouse.store.staging() as folder,
            draft(context, lakehouse, folder) as new,
        ):
            privacy = lakehouse.privacy
            key = {"pseudonym_key": privacy.require_pseudonym_key()} if pseudonymous else {}
            clock = Stopwatch()
            metadata = new.write(engine)
            metadata[name] |= key | {"engine": lakehouse.engine, "write_seconds": clock.lap()}
            # the profile queries the new table now; its charts are drawn while the checks run
            profiled = profile(engine, lakehouse, name) if profile else None
            clock.lap()
            # Every check guards publication, whichever were selected (a sensor or automation may
            # request the asset alone); unselected ones are recorded as evaluations too.
            results = [c.evaluate(engine, lakehouse) for c in checks]
            metadata[name]["checks_seconds"] = clock.lap()
            failure = _blocking_failure(name, checks, results)
            if failure:
                yield from _record(context, results, selected)
                yield dg.AssetObservation(  # recorded on the dashboard, then the step fails
                    asset_key=TABLES[name].key,
                    metadata={"publication": "blocked", "reason": failure.description},
                )
                raise failure
            for table in new.tables:
                metadata[table.name] |= _table_metadata(engine, table)
            if profiled:
                metadata[name] |= profiled()
            clock.lap()  # previews and profile are reporting, neither writing nor checking
            built_from = {i: pinned[i] for i in inputs if i in pinned}
            published = new.publish(context.run.run_id, built_from)
            if pinned:
                metadata[name]["input_versions"] = dg.MetadataValue.json(built_from)
            catalog.refresh(lakehouse)  # the catalog's views list the new version's files
            metadata[name]["publish_seconds"] = clock.lap()
        for table in new.tables:
            where = published[table.name]
            meta = metadata[table.name] | {
                "path": dg.MetadataValue.path(where["path"]),
                "dagster/column_schema": table.column_schema,
            }
            version = where.get("delta_version")
            if version is not None:
                meta["delta_version"] = version
            if table.name == name:
                rows = meta["dagster/row_count"]
                at = f" as version {version}" if version is not None else ""
                context.log.info(f"{name}: {rows} rows published to {where['path']}{at}")
            data_version = None if version is None else dg.DataVersion(f"delta-{version}")
            if table.key in context.selected_asset_keys:
                yield dg.MaterializeResult(
                    asset_key=table.key, metadata=meta, data_version=data_version
                )
            else:  # written with its sibling all the same
                context.log_event(dg.AssetMaterialization(asset_key=table.key, metadata=meta))
        yield from _record(context, results, selected)

    return _asset


class Stopwatch:
    """Seconds between laps, for the split of a step's time reported in its metadata."""

    def __init__(self) -> None:
        self.last = time.perf_counter()

    def lap(self) -> float:
        now = time.perf_counter()
        seconds, self.last = now - self.last, now
        return round(seconds, 3)


def _table_metadata(engine: Engine, table: Table) -> dict:
    return {
        "dagster/row_count": engine.scalar(f"select count(*) from {table.name}"),
        "preview": dg.MetadataValue.md(_preview(engine, table)),
    }


def _record(
    context: dg.AssetExecutionContext,
    results: Sequence[dg.AssetCheckResult],
    selected: Sequence[Check],
) -> Iterator[dg.AssetCheckResult]:
    """Yield the results of selected checks; log the others as check evaluations."""
    keys = {c.key for c in selected}
    for r in results:
        if dg.AssetCheckKey(r.asset_key, r.check_name) in keys:
            yield r
        else:
            context.log_event(
                dg.AssetCheckEvaluation(
                    asset_key=r.asset_key,
                    check_name=r.check_name,
                    passed=r.passed,
                    metadata=r.metadata,
                    severity=r.severity,
                    description=r.description,
                )
            )


def _blocking_failure(
    name: str, checks: Sequence[Check], results: Sequence[dg.AssetCheckResult]
) -> dg.Failure | None:
    blocking = {c.key for c in checks if c.blocking}
    failed = [
        r
        for r in results
        if not r.passed and dg.AssetCheckKey(r.asset_key, r.check_name) in blocking
    ]
    if not failed:
        return None
    names = ", ".join(check_label(r) for r in failed)
    return dg.Failure(
        description=f"{name}: blocking check(s) failed: {names}.\n"
        "The previous version of the table stays in place.",
        metadata={check_label(r): dg.MetadataValue.json(_jsonable(r.metadata)) for r in failed},
    )


def _jsonable(metadata: dict) -> dict:
    return {k: getattr(v, "value", v) for k, v in metadata.items()}


def _preview(engine: Engine, table: Table) -> str:
    rows = engine.rows(f"select * from {table.name} limit {PREVIEW_ROWS}")
    return masked_markdown(list(table.columns), rows)
