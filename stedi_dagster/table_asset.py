"""One asset per table, built the same way for every zone (write, audit, publish):

1. run the table's SQL in a fresh in-memory DuckDB and stream the result into a staged Parquet file;
2. evaluate every check of the table on the staged file, whichever were selected (a sensor or the
   automation may request the table alone); unselected ones are recorded as evaluations too;
3. if a blocking check failed, discard the staged file and fail the step, so the previous version
   stays published and nothing downstream runs; otherwise publish atomically and report.

Selecting only the checks (e.g. "Execute checks" in the UI) evaluates them on the published table.
"""

import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import dagster as dg
import duckdb

from stedi_dagster.checks import Check, scalar
from stedi_dagster.lakehouse import Lakehouse, LakehouseError
from stedi_dagster.privacy import masked_markdown
from stedi_dagster.sql_file import read_sql
from stedi_dagster.tables import TABLES, Table

PREVIEW_ROWS = 5
OWNER = "team:stedi-data"
# Trusted and curated tables follow their inputs, but never past a failed blocking check
# (eager alone would still run after one).
DOWNSTREAM_AUTOMATION = (
    dg.AutomationCondition.eager() & dg.AutomationCondition.all_deps_blocking_checks_passed()
)


def table_asset(
    name: str,
    *,
    sql_module: str,
    inputs: Sequence[str],
    checks: Sequence[Check],
    description: str,
    pseudonymous: bool = False,
    profile: Callable[[duckdb.DuckDBPyConnection, str], dict] | None = None,
) -> dg.AssetsDefinition:
    """The asset for table `name`, computed by `sql/<name>.sql` beside `sql_module` from `inputs`
    (other tables, or for a landing table its JSON files). A `pseudonymous` table's SQL uses
    pseudonym(), so the step first makes sure a pseudonym key applies. `profile` adds metadata
    computed from the new table (see `stedi_dagster.profile`)."""
    table = TABLES[name]
    sql = read_sql(sql_module, name)
    check_reads = sorted({r for c in checks for r in c.reads} - {name})

    @dg.multi_asset(
        name=name,
        specs=[
            dg.AssetSpec(
                table.key,
                deps=[TABLES[i].key for i in inputs],
                description=description,
                group_name=table.zone,
                kinds={"duckdb", "parquet"},
                owners=[OWNER],
                tags={"zone": table.zone, "dataset": table.dataset},
                automation_condition=None if table.zone == "landing" else DOWNSTREAM_AUTOMATION,
            )
        ],
        check_specs=[c.spec for c in checks],
        can_subset=True,
    )
    def _asset(context: dg.AssetExecutionContext, lakehouse: Lakehouse) -> Iterator:
        selected = [c for c in checks if c.key in context.selected_asset_check_keys]
        materializing = table.key in context.selected_asset_keys
        try:
            if materializing:
                yield from _materialize(context, lakehouse, selected)
            else:
                with lakehouse.connect(name, *check_reads) as con:
                    yield from (c.evaluate(con, lakehouse) for c in selected)
        except (duckdb.Error, LakehouseError) as e:
            kept = "\nThe previous version of the table stays in place." if materializing else ""
            raise dg.Failure(description=f"{name}: {e}{kept}") from e

    def _materialize(
        context: dg.AssetExecutionContext, lakehouse: Lakehouse, selected: list[Check]
    ) -> Iterator:
        with (
            lakehouse.connect(*inputs, *(r for r in check_reads if r not in inputs)) as con,
            lakehouse.staged(table) as staged,
        ):
            metadata = {"pseudonym_key": lakehouse.require_pseudonym_key()} if pseudonymous else {}
            metadata |= _write(con, lakehouse, table, sql, staged)
            # Every check guards publication, whichever were selected (a sensor or automation may
            # request the asset alone); unselected ones are recorded as evaluations too.
            results = [c.evaluate(con, lakehouse) for c in checks]
            failure = _blocking_failure(table, checks, results)
            if failure:
                yield from _record(context, results, selected)
                yield dg.AssetObservation(  # recorded on the dashboard, then the step fails
                    asset_key=table.key,
                    metadata={"publication": "blocked", "reason": failure.description},
                )
                raise failure
            metadata["dagster/row_count"] = metadata.pop("rows")
            metadata["preview"] = dg.MetadataValue.md(_preview(con, table))
            if profile:
                metadata |= profile(con, table.name)
            path = lakehouse.publish(table, staged)
        metadata["path"] = dg.MetadataValue.path(path)
        metadata["dagster/column_schema"] = table.column_schema
        context.log.info(f"{name}: {metadata['dagster/row_count']} rows published to {path}")
        yield dg.MaterializeResult(asset_key=table.key, metadata=metadata)
        yield from _record(context, results, selected)

    return _asset


def _record(
    context: dg.AssetExecutionContext,
    results: Sequence[dg.AssetCheckResult],
    selected: Sequence[Check],
) -> Iterator[dg.AssetCheckResult]:
    """Yield the results of selected checks; log the others as check evaluations."""
    names = {c.name for c in selected}
    for r in results:
        if r.check_name in names:
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


def _write(
    con: duckdb.DuckDBPyConnection, lakehouse: Lakehouse, table: Table, sql: str, staged: Path
) -> dict:
    metadata: dict = {}
    if table.zone == "landing":
        files = lakehouse.attach_landing_json(con, table)
        metadata["source_files"] = len(files)
    started = time.perf_counter()
    con.sql(sql).to_parquet(str(staged), compression="zstd")
    metadata["duckdb_seconds"] = round(time.perf_counter() - started, 3)
    lakehouse.attach_table(con, table, staged)
    metadata["rows"] = scalar(con, f"select count(*) from {table.name}")
    metadata["parquet_bytes"] = staged.stat().st_size
    return metadata


def _blocking_failure(
    table: Table, checks: Sequence[Check], results: Sequence[dg.AssetCheckResult]
) -> dg.Failure | None:
    blocking = {c.name for c in checks if c.blocking}
    failed = [r for r in results if not r.passed and r.check_name in blocking]
    if not failed:
        return None
    names = ", ".join(r.check_name for r in failed)
    return dg.Failure(
        description=f"{table.name}: blocking check(s) failed: {names}.\n"
        "The previous version of the table stays in place.",
        metadata={r.check_name: dg.MetadataValue.json(_jsonable(r.metadata)) for r in failed},
    )


def _jsonable(metadata: dict) -> dict:
    return {k: getattr(v, "value", v) for k, v in metadata.items()}


def _preview(con: duckdb.DuckDBPyConnection, table: Table) -> str:
    rows = con.execute(f"select * from {table.name} limit {PREVIEW_ROWS}").fetchall()
    return masked_markdown(list(table.columns), rows)
