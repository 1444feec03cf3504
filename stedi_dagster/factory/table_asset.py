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
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass

import dagster as dg
import duckdb

from stedi_dagster.engines import Engine
from stedi_dagster.factory import reuse
from stedi_dagster.factory.checks import Check, CheckSettings, check_label
from stedi_dagster.factory.drafts import Draft, DraftFactory, Keyed, sql_draft
from stedi_dagster.factory.source_code import code_references, linked_to_git
from stedi_dagster.lakehouse import Lakehouse, LakehouseError, catalog
from stedi_dagster.privacy.masking import masked_markdown
from stedi_dagster.tables import TABLES, Table

# A run with this tag set to "true" rebuilds every table from the landing files alone: landing
# reads every file again, whatever was ingested before, and no step keeps its version.
FULL_REFRESH_TAG = "stedi/full_refresh"
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


# How many of a table's last materializations are searched for a profile to show again.
PROFILE_LOOKBACK = 20


@dataclass(frozen=True)
class Profile:
    """Metadata computed from a table's new version: `compute(engine, lakehouse, name)` queries
    the table and returns the function that makes the metadata, called after the checks (which
    drawing charts may overlap). `shown_again`: its entries, which a version holding the rows of
    the version before shows again from the materialization that computed them (none: computed
    on every version)."""

    compute: Callable[[Engine, Lakehouse, str], Callable[[], dict]]
    shown_again: tuple[str, ...] = ()


def table_asset(
    name: str,
    *,
    inputs: Sequence[str],
    checks: Sequence[Check],
    description: str,
    appends: Sequence[str] = (),
    keyed: Keyed | None = None,
    draft: DraftFactory | None = None,
    also: dict[str, str] | None = None,
    pseudonymous: bool = False,
    profile: Profile | None = None,
    kinds: frozenset[str] = frozenset({"duckdb", "parquet"}),
    sources: Sequence[str] = (),
) -> dg.AssetsDefinition:
    """The asset for table `name`, computed from `inputs` (other tables) by its SQL
    (`Table.sql_file`: `defs/<zone>/sql/<name>.sql`), or by a `draft` (landing tables, from their
    JSON files) that also writes the tables in `also` (name -> description). A `pseudonymous`
    table's SQL uses pseudonym(), so the step first makes sure a pseudonym key applies.
    `profile` adds metadata computed from the new table (`Profile`). `sources`: the Python files
    that compute the table (its definition's module among them), linked from the asset page
    ("View source") after its SQL file."""
    sql_file = [] if draft else [str(TABLES[name].sql_file())]
    draft = draft or sql_draft(name, appends, keyed)
    outputs = {name: description, **(also or {})}
    check_reads = sorted({r for c in checks for r in c.reads} - set(outputs))
    references = code_references(name, [*sql_file, *sources])

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
                settings = CheckSettings.of(lakehouse)
                with lakehouse.connect(*outputs, *check_reads) as engine:
                    yield from (c.evaluate(engine, settings) for c in selected)
        except (duckdb.Error, LakehouseError) as e:
            kept = "\nThe previous version of the table stays in place." if materializing else ""
            raise dg.Failure(description=f"{name}: {e}{kept}") from e

    def _materialize(
        context: dg.AssetExecutionContext, lakehouse: Lakehouse, selected: list[Check]
    ) -> Iterator:
        reads = [*inputs, *(r for r in check_reads if r not in inputs)]
        # a trusted or curated table reads its inputs at the versions recorded with it
        landing = TABLES[name].zone == "landing"
        snapshots = {} if landing else lakehouse.store.snapshots(reads)
        pinned = {n: s.version for n, s in snapshots.items()}
        built_from = {i: pinned[i] for i in inputs if i in pinned}
        with lakehouse.store.staging() as folder, draft(context, lakehouse, folder) as new:
            kept = new.kept(snapshots, inputs)  # also plans the new version
            if kept is not None and not full_refresh(context.run.tags):
                folders = {t.name: lakehouse.store.table_folder(t) for t in new.tables}
                yield from _report_kept(context, new.tables, kept, folders, built_from, selected)
                return
            with lakehouse.connect(*reads, versions=pinned) as engine:
                results, metadata, published = yield from _build(
                    context, lakehouse, engine, new, built_from, selected
                )
        for table in new.tables:
            where = published[table.name]
            version = where["delta_version"]
            meta = metadata[table.name] | {
                "path": dg.MetadataValue.path(where["path"]),
                "dagster/column_schema": table.column_schema,
                "delta_version": version,
            }
            if table.name == name:
                rows = meta["dagster/row_count"]
                context.log.info(
                    f"{name}: {rows} rows published to {where['path']} as version {version}"
                )
            yield from _materialized(context, table, meta, version)
        versions = {t.key: published[t.name]["delta_version"] for t in new.tables}
        yield from _record(
            context, [reuse.evaluated(r, versions.get(r.asset_key)) for r in results], selected
        )

    def _build(
        context: dg.AssetExecutionContext,
        lakehouse: Lakehouse,
        engine: Engine,
        new: Draft,
        built_from: dict[str, int],
        selected: list[Check],
    ) -> Generator[dg.AssetObservation, None, tuple[list, dict, dict]]:
        """Write, audit, publish; (results, metadata, published), or a failure after the check
        results and a blocked-publication observation are recorded."""
        privacy = lakehouse.privacy
        key = {"pseudonym_key": privacy.require_pseudonym_key()} if pseudonymous else {}
        clock = Stopwatch()
        metadata = new.write(engine)
        metadata[name] |= key | {"engine": lakehouse.engine, "write_seconds": clock.lap()}
        # the profile queries the new table now; its charts are drawn while the checks run
        # (the last materialization's, when the table holds the same rows)
        profiled = None
        if profile:
            again = _profile_again(context, name, profile.shown_again, new.same_rows_as)
            profiled = (lambda: again) if again else profile.compute(engine, lakehouse, name)
        clock.lap()
        # Every check guards publication, whichever were selected (a sensor or automation may
        # request the asset alone); unselected ones are recorded as evaluations too.
        # (on the whole new version, or as the draft can prove the same: `drafts.FileDraft`)
        results, how = new.results(checks, engine, CheckSettings.of(lakehouse))
        metadata[name] |= how | {"checks_seconds": clock.lap()}
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
        rows = {t.name: metadata[t.name]["dagster/row_count"] for t in new.tables}
        recorded = reuse.recording(new.basis, new.reads, results, rows)
        published = new.publish(context.run.run_id, built_from, recorded)
        if TABLES[name].zone != "landing":
            metadata[name]["input_versions"] = dg.MetadataValue.json(built_from)
        catalog.refresh(lakehouse, [t.name for t in new.tables])  # views of the new versions
        metadata[name]["publish_seconds"] = clock.lap()
        return results, metadata, published

    return linked_to_git([_asset])[0]


def _profile_again(
    context: dg.AssetExecutionContext, name: str, entries: Sequence[str], version: int | None
) -> dict | None:
    """For a version holding the rows of `version` (None: other rows), the profile's `entries`
    from the last materialization that computed them, if that was of `version` (not of rows an
    erasure has changed since); else None."""
    if version is None or not entries:
        return None
    found = context.instance.fetch_materializations(TABLES[name].key, limit=PROFILE_LOOKBACK)
    for record in found.records:
        metadata = record.asset_materialization.metadata
        if entries[0] not in metadata:
            continue  # a step that kept the version
        if getattr(metadata.get("delta_version"), "value", None) != version:
            return None
        again = {k: metadata[k] for k in entries if k in metadata}
        return again | {"profile_of_run": record.run_id}
    return None


def _report_kept(
    context: dg.AssetExecutionContext,
    tables: Sequence[Table],
    kept: reuse.Kept,
    folders: dict[str, str],
    built_from: dict[str, int],
    selected: Sequence[Check],
) -> Iterator:
    """Report the kept versions as this run's materializations (their data versions unchanged, so
    nothing downstream is started for them) and the check results recorded with them."""
    for table in tables:
        version = kept.versions[table.name]
        # the erasure list is part of landing's basis alone (see `reuse.basis`)
        landing = table.zone == "landing"
        basis = "settings, erasure list and code" if landing else "settings and code"
        meta = kept.metadata.get(table.name, {}) | {
            "path": dg.MetadataValue.path(folders[table.name]),
            "dagster/column_schema": table.column_schema,
            "dagster/row_count": kept.rows.get(table.name),
            "delta_version": version,
            "kept": f"version {version}, built by run {kept.run_id[:8]} from the same inputs, "
            f"{basis}, is kept: nothing was written",
            "rows_added": 0,
            "rows_removed": 0,
        }
        if table.zone != "landing":
            meta["input_versions"] = dg.MetadataValue.json(built_from)
        yield from _materialized(context, table, meta, version)
    context.log.info(
        f"{', '.join(t.name for t in tables)}: kept (version "
        f"{', '.join(str(kept.versions[t.name]) for t in tables)}); check results from run "
        f"{kept.run_id[:8]}"
    )
    yield from _record(context, reuse.reported(kept, {t.name: t.key for t in tables}), selected)


def _materialized(
    context: dg.AssetExecutionContext, table: Table, metadata: dict, version: int
) -> Iterator[dg.MaterializeResult]:
    """A table's materialization, its data version its Delta version; logged as an event for a
    table written with a selected sibling but not selected itself."""
    if table.key in context.selected_asset_keys:
        yield dg.MaterializeResult(
            asset_key=table.key, metadata=metadata, data_version=dg.DataVersion(f"delta-{version}")
        )
    else:  # written with its sibling all the same
        context.log_event(dg.AssetMaterialization(asset_key=table.key, metadata=metadata))


def full_refresh(tags: dict[str, str]) -> bool:
    """Whether a run (by its tags) rebuilds every table from the landing files alone."""
    return tags.get(FULL_REFRESH_TAG, "").lower() == "true"


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
