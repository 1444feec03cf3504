"""One table's step, as a plain class that needs no Dagster context (`TableStep`): given its
`TableSpec`, the lakehouse and what it knows of its run (`StepRun`), it

1. stages a new version on a fresh engine (`Lakehouse.connect`): a trusted or curated table's SQL
   streamed into Parquet, or a landing table's new and changed JSON files ingested as data files
   (`stedi_dagster.landing`, which also writes the dataset's quarantine table);
2. evaluates every check of the table on the staged version, whichever were selected (a sensor or
   the automation may request the table alone);
3. if a blocking check failed, discards the staged version and fails, so the previous version
   stays current and nothing downstream runs; otherwise commits it as the table's next Delta
   version (`lakehouse/delta.py`), or, when another run committed a version since the one it
   planned on (`StaleVersion`), plans again on that version;
4. reports: a materialization per table (its Delta version as the data version) and a result per
   check, as Dagster event objects (`events`).

When the step would compute what the current versions hold (`reuse`), it keeps them and reports
them again. Selecting only checks evaluates them on the published tables.
"""

import time
from collections.abc import Generator, Iterator, Sequence

import dagster as dg
import duckdb

from stedi_dagster.engines import Engine
from stedi_dagster.errors import StaleVersion
from stedi_dagster.factory import reuse
from stedi_dagster.factory.checks import Check, CheckSettings, check_label
from stedi_dagster.factory.drafts import Draft, DraftFactory
from stedi_dagster.factory.step_run import StepRun
from stedi_dagster.factory.table_spec import TableSpec
from stedi_dagster.lakehouse import Lakehouse, LakehouseError, catalog
from stedi_dagster.privacy.masking import masked_markdown
from stedi_dagster.tables import TABLES, Table

PREVIEW_ROWS = 5
# How often a step plans its version again when another run committed one first.
PLANS = 3
# How many of a table's last materializations are searched for a profile to show again.
PROFILE_LOOKBACK = 20


class TableStep:
    """Write, audit, publish and report one `TableSpec`'s tables (see the module's text).
    `events()` yields what the step reports: for a selected table a `MaterializeResult`, for a
    table written with it but not selected an `AssetMaterialization`; for a selected check an
    `AssetCheckResult`, for the others an `AssetCheckEvaluation`; and an `AssetObservation`
    when a blocking check stops publication (then it raises `dg.Failure`)."""

    def __init__(
        self,
        spec: TableSpec,
        lakehouse: Lakehouse,
        run: StepRun,
        draft: DraftFactory | None = None,
    ):
        """`draft`: what stages the new version, the spec's own (`TableSpec.new_draft`) unless
        given."""
        self.spec, self.lakehouse, self.run = spec, lakehouse, run
        self.draft = draft or spec.new_draft()
        self.name = spec.name
        self.selected = [c for c in spec.checks if run.selects_check(c.key)]

    def events(self) -> Iterator:
        """The step's events."""
        outputs = self.spec.outputs
        materializing = any(self.run.selects(TABLES[t].key) for t in outputs)
        try:
            if materializing:
                yield from self._materialize()
            else:
                settings = CheckSettings.of(self.lakehouse)
                with self.lakehouse.connect(*outputs, *self.spec.check_reads) as engine:
                    yield from (c.evaluate(engine, settings) for c in self.selected)
        except (duckdb.Error, LakehouseError) as e:
            kept = "\nThe previous version of the table stays in place." if materializing else ""
            raise dg.Failure(description=f"{self.name}: {e}{kept}") from e

    def _materialize(self) -> Iterator:
        for attempt in range(PLANS):
            try:
                built = yield from self._version()
                break
            except StaleVersion as e:  # another run committed first: plan on its version
                if attempt == PLANS - 1:
                    raise
                self.run.log.warning(f"{e}; {self.name}: planning the step again")
        if built is None:
            return
        tables, results, metadata, published, built_from = built
        for table in tables:
            where = published[table.name]
            version = where["delta_version"]
            meta = metadata[table.name] | where  # with data_files_merged, when it merged any
            meta |= {
                "path": dg.MetadataValue.path(where["path"]),
                "dagster/column_schema": table.column_schema,
                "delta_version": version,
            }
            if table.name == self.name:
                rows = meta["dagster/row_count"]
                self.run.log.info(
                    f"{self.name}: {rows} rows published to {where['path']} as version {version}"
                )
            yield self._materialized(table, meta, version)
        versions = {t.key: published[t.name]["delta_version"] for t in tables}
        yield from self._record([reuse.evaluated(r, versions.get(r.asset_key)) for r in results])

    def _version(self) -> Generator[dg.AssetObservation, None, tuple | None]:
        """Plan, write, audit and publish the step's new version: (its tables, the check
        results, metadata, where published, the input versions it was built from), or None
        when the current versions are kept (reported)."""
        spec, lakehouse, store = self.spec, self.lakehouse, self.lakehouse.store
        # a trusted or curated table reads its inputs at the versions recorded with it
        snapshots = {} if spec.table.zone == "landing" else store.snapshots(spec.reads)
        pinned = {n: s.version for n, s in snapshots.items()}
        built_from = {i: pinned[i] for i in spec.inputs if i in pinned}
        with store.staging() as folder, self.draft(self.run, lakehouse, folder) as new:
            kept = new.kept(snapshots, spec.inputs)  # also plans the new version
            if kept is not None and not self.run.full_refresh:
                yield from self._report_kept(new.tables, kept, built_from)
                return None
            with lakehouse.connect(*spec.reads, versions=pinned) as engine:
                results, metadata, published = yield from self._build(engine, new, built_from)
        return new.tables, results, metadata, published, built_from

    def _build(
        self, engine: Engine, new: Draft, built_from: dict[str, int]
    ) -> Generator[dg.AssetObservation, None, tuple[list, dict, dict]]:
        """Write, audit, publish; (results, metadata, published), or a failure after the check
        results and a blocked-publication observation are reported."""
        spec, lakehouse, name = self.spec, self.lakehouse, self.name
        privacy = lakehouse.privacy
        key = {"pseudonym_key": privacy.require_pseudonym_key()} if spec.pseudonymous else {}
        clock = Stopwatch()
        metadata = new.write(engine)
        metadata[name] |= key | {"engine": lakehouse.engine, "write_seconds": clock.lap()}
        # Every check guards publication, whichever were selected (a sensor or automation may
        # request the asset alone); unselected ones are reported as evaluations too.
        # (on the whole new version, or as the draft can prove the same: `drafts.FileDraft`)
        results, how = new.results(spec.checks, engine, CheckSettings.of(lakehouse))
        metadata[name] |= how | {"checks_seconds": clock.lap()}
        failure = _blocking_failure(name, spec.checks, results)
        if failure:
            yield from self._record(results)
            yield dg.AssetObservation(  # recorded on the dashboard, then the step fails
                asset_key=spec.table.key,
                metadata={"publication": "blocked", "reason": failure.description},
            )
            raise failure
        for table in new.tables:
            metadata[table.name] |= _table_metadata(engine, table)
        if spec.profile:  # the last materialization's, when the table holds the same rows
            again = self._profile_again(spec.profile.shown_again, new.same_rows_as)
            changed = new.changed_rows
            metadata[name] |= again or spec.profile.compute(engine, lakehouse, name, changed)
        clock.lap()  # previews and profile are reporting, neither writing nor checking
        rows = {t.name: metadata[t.name]["dagster/row_count"] for t in new.tables}
        recorded = reuse.recording(new.basis, new.reads, results, rows)
        published = new.publish(self.run.run_id, built_from, recorded)
        if spec.table.zone != "landing":
            metadata[name]["input_versions"] = dg.MetadataValue.json(built_from)
        catalog.refresh(lakehouse, [t.name for t in new.tables])  # views of the new versions
        metadata[name]["publish_seconds"] = clock.lap()
        return results, metadata, published

    def _profile_again(self, entries: Sequence[str], version: int | None) -> dict | None:
        """For a version holding the rows of `version` (None: other rows), the profile's
        `entries` from the last materialization that computed them, if that was of `version`
        (not of rows an erasure has changed since); else None."""
        if version is None or not entries:
            return None
        for run_id, metadata in self.run.materializations(self.spec.table.key, PROFILE_LOOKBACK):
            if entries[0] not in metadata:
                continue  # a step that kept the version
            if getattr(metadata.get("delta_version"), "value", None) != version:
                return None
            again = {k: metadata[k] for k in entries if k in metadata}
            return again | {"profile_of_run": run_id}
        return None

    def _report_kept(
        self, tables: Sequence[Table], kept: reuse.Kept, built_from: dict[str, int]
    ) -> Iterator:
        """Report the kept versions as this run's materializations (their data versions
        unchanged, so nothing downstream is started for them) and the check results recorded
        with them."""
        for table in tables:
            version = kept.versions[table.name]
            # the erasure list is part of landing's basis alone (see `reuse.basis`)
            landing = table.zone == "landing"
            basis = "settings, erasure list and code" if landing else "settings and code"
            meta = kept.metadata.get(table.name, {}) | {
                "path": dg.MetadataValue.path(self.lakehouse.store.table_folder(table)),
                "dagster/column_schema": table.column_schema,
                "dagster/row_count": kept.rows.get(table.name),
                "delta_version": version,
                "kept": f"version {version}, built by run {kept.run_id[:8]} from the same "
                f"inputs, {basis}, is kept: nothing was written",
                "rows_added": 0,
                "rows_removed": 0,
            }
            if not landing:
                meta["input_versions"] = dg.MetadataValue.json(built_from)
            yield self._materialized(table, meta, version)
        self.run.log.info(
            f"{', '.join(t.name for t in tables)}: kept (version "
            f"{', '.join(str(kept.versions[t.name]) for t in tables)}); check results from run "
            f"{kept.run_id[:8]}"
        )
        yield from self._record(reuse.reported(kept, {t.name: t.key for t in tables}))

    def _materialized(
        self, table: Table, metadata: dict, version: int
    ) -> dg.MaterializeResult | dg.AssetMaterialization:
        """A table's materialization, its data version its Delta version; an event of its own
        for a table written with a selected sibling but not selected itself."""
        if self.run.selects(table.key):
            return dg.MaterializeResult(
                asset_key=table.key,
                metadata=metadata,
                data_version=dg.DataVersion(f"delta-{version}"),
            )
        return dg.AssetMaterialization(asset_key=table.key, metadata=metadata)

    def _record(
        self, results: Sequence[dg.AssetCheckResult]
    ) -> Iterator[dg.AssetCheckResult | dg.AssetCheckEvaluation]:
        """The results of selected checks; the others as check evaluations."""
        keys = {c.key for c in self.selected}
        for r in results:
            if dg.AssetCheckKey(r.asset_key, r.check_name) in keys:
                yield r
            else:
                yield dg.AssetCheckEvaluation(
                    asset_key=r.asset_key,
                    check_name=r.check_name,
                    passed=r.passed,
                    metadata=r.metadata,
                    severity=r.severity,
                    description=r.description,
                )


class Stopwatch:
    """Seconds between laps, for the split of a step's time reported in its metadata."""

    def __init__(self) -> None:
        self.last = time.perf_counter()

    def lap(self) -> float:
        now = time.perf_counter()
        seconds, self.last = now - self.last, now
        return round(seconds, 3)


def _table_metadata(engine: Engine, table: Table) -> dict:
    rows = engine.rows(f"select * from {table.name} limit {PREVIEW_ROWS}")
    return {
        "dagster/row_count": engine.count(table.name),
        "preview": dg.MetadataValue.md(masked_markdown(list(table.columns), rows)),
    }


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
    names = ", ".join(f"{check_label(r)}{_counts(r.metadata)}" for r in failed)
    return dg.Failure(
        description=f"{name}: blocking check(s) failed: {names}.\n"
        "The previous version of the table stays in place.",
        metadata={check_label(r): dg.MetadataValue.json(_jsonable(r.metadata)) for r in failed},
    )


def _counts(metadata: dict) -> str:
    """A failed check's counts, as its failure names them: " (rows 9, independent_count 8)"."""
    counts = [
        f"{k} {v:,}"
        for k, v in _jsonable(metadata).items()
        if isinstance(v, int) and not isinstance(v, bool)
    ]
    return f" ({', '.join(counts)})" if counts else ""


def _jsonable(metadata: dict) -> dict:
    return {k: getattr(v, "value", v) for k, v in metadata.items()}
