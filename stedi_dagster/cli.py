"""`stedi`: generate sample data, run the lakehouse job, query the zones with SQL, read or export
a table as of an earlier version."""

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb

from stedi_dagster.factory.checks import check_label
from stedi_dagster.factory.reuse import EVALUATION_KEYS
from stedi_dagster.generate import generate
from stedi_dagster.lakehouse import Lakehouse, LakehouseError, catalog
from stedi_dagster.lakehouse.ddl import athena_ddl
from stedi_dagster.lakehouse.delta import INPUTS, RUN_ID
from stedi_dagster.sql import ident, literal
from stedi_dagster.tables import TABLES, Table

# Where the earlier layout kept which landing files were read (`stedi migrate` removes it).
EARLIER_BOOKMARKS = "_bookmarks"


def _lakehouse() -> Lakehouse:
    """The lakehouse as the code location configures it (STEDI_* variables, else the sample)."""
    return Lakehouse.from_env().process_config_and_initialize()


def cmd_generate(args: argparse.Namespace) -> int:
    def progress(done: int, total: int) -> None:
        if done == total or done % (16 * 50) == 0:
            print(f"  customers {done}/{total}", file=sys.stderr)

    counts = generate(
        Path(args.out),
        scale=args.scale,
        seed=args.seed,
        rows_per_file=args.rows_per_file,
        progress=progress,
    )
    print(f"wrote {args.out} (scale {args.scale}, seed {args.seed}); expected rows:")
    for name, n in counts.items():
        print(f"  {name:<26} {n:>12,}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from stedi_dagster.definitions import defs
    from stedi_dagster.defs.jobs import FULL_REFRESH_JOB, LAKEHOUSE_JOB

    job = defs().resolve_job_def(FULL_REFRESH_JOB if args.full_refresh else LAKEHOUSE_JOB)
    home = os.environ.get("DAGSTER_HOME")
    if home:  # runs are recorded there, for the UI; a new home is made as `make run` makes it
        Path(home).expanduser().mkdir(parents=True, exist_ok=True)
    instance = dg.DagsterInstance.get() if home else dg.DagsterInstance.ephemeral()
    result = job.execute_in_process(
        instance=instance,
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": args.log_level}}}},
    )
    materialized = {
        e.materialization.asset_key.to_user_string(): e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    rows = {name: m["dagster/row_count"].value for name, m in materialized.items()}
    evaluations = result.get_asset_check_evaluations()
    print(f"\nrun {result.run_id}: {'success' if result.success else 'FAILED'}\n")
    print(f"{'zone':<8} {'table':<26} {'rows':>10}  checks")
    for name, table in TABLES.items():
        mine = [e for e in evaluations if e.asset_key == table.key]
        passed = sum(e.passed for e in mine)
        warned = sum(not e.passed and e.severity == dg.AssetCheckSeverity.WARN for e in mine)
        count = f"{rows[name]:,}" if name in rows else "-"
        warnings = f", {warned} warning" if warned else ""
        kept = materialized.get(name, {}).get("kept")
        kept = f"  (kept: version {materialized[name]['delta_version'].value})" if kept else ""
        print(
            f"{table.zone:<8} {name:<26} {count:>10}  {passed}/{len(mine)} passed{warnings}{kept}"
        )
    errors = [e for e in evaluations if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR]
    for e in (e for e in evaluations if not e.passed):
        label = "FAILED" if e in errors else "WARN"
        evidence = {
            k: getattr(v, "value", v) for k, v in e.metadata.items() if k not in EVALUATION_KEYS
        }
        # Dagster's own checks (column_schema_change) say what they found in the description
        said = evidence or " ".join((e.description or "").split())
        print(f"  {label} {check_label(e)}: {said}")
    if not result.success:
        for event in result.all_events:
            if event.is_step_failure:
                print(f"  step {event.step_key} failed: {event.step_failure_data.error.message}")
    lakehouse = _lakehouse()
    if catalog.materialized_tables(lakehouse):
        path = catalog.write_catalog(lakehouse)
        print(f"\ncatalog: {path}  (a DuckDB file with one view per table)")
    return 0 if result.success and not errors else 1


def cmd_sql(args: argparse.Namespace) -> int:
    lakehouse = _lakehouse()
    with catalog.connect(lakehouse) as (con, tables):
        if not tables:
            raise LakehouseError(
                f"no table is materialized under {lakehouse.lakehouse_root}: run `stedi run` first"
            )
        try:
            relation = con.sql(args.query)
            if relation is not None:
                relation.show(max_rows=args.max_rows, max_width=10_000)
        except duckdb.Error as e:
            raise LakehouseError(f"{e}\ntables: {', '.join(tables)}") from e
    return 0


def cmd_catalog(args: argparse.Namespace) -> int:
    print(catalog.write_catalog(_lakehouse(), args.out))
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    table = _table(args.table)
    delta = _lakehouse().store.delta.open(table)
    if delta is None:
        raise LakehouseError(f"table {table.name} has not been materialized yet")
    print(f"{'version':>7}  {'committed (UTC)':<19}  {'operation':<14}  run")
    for entry in delta.history():
        when = datetime.fromtimestamp(entry["timestamp"] / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
        run = entry.get(RUN_ID) or ""
        inputs = json.loads(entry.get(INPUTS) or "{}")
        built = "  from " + ", ".join(f"{t} v{v}" for t, v in inputs.items()) if inputs else ""
        print(f"{entry['version']:>7}  {when:<19}  {entry.get('operation', ''):<14}  {run}{built}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    lakehouse, table = _lakehouse(), _table(args.table)
    version = args.version
    if args.run_id:
        version = lakehouse.store.delta.version_of_run(table, args.run_id)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    kind = "csv, header" if out.suffix == ".csv" else "parquet, compression zstd"
    with lakehouse.connect(engine="duckdb") as engine:
        lakehouse.store.attach(engine, table, version=version)  # its columns, as the steps see
        copy = f"copy {ident(table.name)} to {literal(str(out))} (format {kind})"
        ((rows,),) = engine.rows(copy)  # COPY answers the rows it wrote
    at = "current version" if version is None else f"version {version}"
    print(f"{table.name} at {at}: {rows:,} rows written to {out}")
    return 0


def _table(name: str) -> Table:
    table = TABLES.get(name)
    if table is None:
        raise LakehouseError(f"no table {name}; the tables are: {', '.join(TABLES)}")
    return table


def cmd_migrate(args: argparse.Namespace) -> int:
    lakehouse = _lakehouse()
    delta, zones = lakehouse.store.delta, lakehouse.zones
    earlier = [t for t in TABLES.values() if delta.in_earlier_layout(t)]
    for table in earlier:
        if table.zone == "landing":  # its parts lack the source file column: read again
            zones.remove_folder(delta.uri(table))
            print(f"  {table.name}: removed; the next run reads every landing file again")
        else:
            delta.adopt(table)
            print(f"  {table.name}: now a Delta table (version 0 is its earlier file)")
    bookmarks = zones.url(EARLIER_BOOKMARKS)
    if zones.exists(bookmarks):
        zones.remove_folder(bookmarks)
    if not earlier:
        print(f"nothing to migrate under {lakehouse.lakehouse_root}")
    elif catalog.materialized_tables(lakehouse):
        catalog.write_catalog(lakehouse)
    return 0


def cmd_ddl(args: argparse.Namespace) -> int:
    print(athena_ddl(args.location, args.database), end="")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stedi", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("generate", help="write STEDI-shaped landing JSON and its expectations")
    p.add_argument("--out", required=True, help="folder to write customer/, accelerometer/, ...")
    p.add_argument("--scale", type=float, default=1.0, help="size relative to the course data")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rows-per-file", type=int, default=100_000, help="lines per JSON file")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("run", help="materialize and check every table; print counts and checks")
    p.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    p.add_argument(
        "--full-refresh",
        action="store_true",
        help="read every landing file again, not only new and changed ones",
    )
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("sql", help="run SQL over every materialized table, by name")
    p.add_argument("query")
    p.add_argument("--max-rows", type=int, default=40)
    p.set_defaults(func=cmd_sql)

    p = sub.add_parser("catalog", help="write a DuckDB file with one view per table")
    p.add_argument("--out", help="catalog file (default <lakehouse>/catalog.duckdb)")
    p.set_defaults(func=cmd_catalog)

    p = sub.add_parser("history", help="list a table's versions and the runs that wrote them")
    p.add_argument("table")
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("export", help="write a table, as now or as of a version or run, to a file")
    p.add_argument("table")
    p.add_argument("out", help="file to write: .parquet, or .csv")
    when = p.add_mutually_exclusive_group()
    when.add_argument("--version", type=int, help="the table's Delta version (`stedi history`)")
    when.add_argument("--run-id", help="the Dagster run (its id, or the start of it)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("migrate", help="turn a lakehouse of the earlier layout into Delta tables")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("ddl", help="print DDL registering every table in another catalog")
    p.add_argument("--dialect", choices=["athena"], default="athena")
    p.add_argument("--location", required=True, help="the lakehouse root, s3://bucket/prefix")
    p.add_argument("--database", default="stedi")
    p.set_defaults(func=cmd_ddl)

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except LakehouseError as e:
        print(f"stedi: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
