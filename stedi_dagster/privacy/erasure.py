"""Removing erased customers' rows from the zones' Delta tables, current version and storage (the
work behind the `erase_customer` job): landing and quarantine data files with the files ingested,
then the trusted and curated tables. Always DuckDB, whichever engine computes the zones."""

import json
from collections.abc import Sequence
from dataclasses import replace

from stedi_dagster.engines.duckdb_engine import DuckDBEngine
from stedi_dagster.lakehouse import data_files
from stedi_dagster.lakehouse.delta import BASIS, INPUTS, KEYS_TO_RECOMPUTE
from stedi_dagster.lakehouse.resource import Lakehouse
from stedi_dagster.privacy.identity import PERSON_KEYS, erased_row
from stedi_dagster.sql import ident, json_path, literal, read_sql
from stedi_dagster.tables import TABLES, Table, files_table, landing_table, quarantine_table


def erase_from_landing(
    engine: DuckDBEngine, lakehouse: Lakehouse, dataset: str, run_id: str
) -> dict[str, int]:
    """Rewrite the landing and quarantine data files that hold rows of erased customers (one
    commit per table), move those rows to their files' erased counts, and remove the tables'
    earlier versions from storage. Rows removed per table."""
    ingested, store = lakehouse.ingested, lakehouse.store
    records = ingested.read(dataset)
    if records is None:
        return {}
    key, kind = PERSON_KEYS[dataset]
    landing, quarantine = landing_table(dataset), quarantine_table(dataset)
    predicates = {
        landing.name: erased_row(dataset),
        quarantine.name: f"erased_record('{kind}', {literal(json_path(key))}, record)",
    }
    removed = {landing.name: 0, quarantine.name: 0}
    with ingested.lock(dataset), store.staging() as folder:
        for table in (landing, quarantine):
            held = "quarantined" if table is quarantine else "rows"
            erased = remove_rows(engine, lakehouse, table, predicates[table.name], run_id)
            for name, n in erased.items():
                r = records[name]
                records[name] = replace(r, **{held: getattr(r, held) - n, "erased": r.erased + n})
                removed[table.name] += n
            store.delta.forget_history(table)
        # the files ingested name the versions they describe: those left after the upkeep
        if any(removed.values()) or ingested.described(dataset) != ingested.latest_versions(
            dataset
        ):
            ingested.attach(engine, dataset, records)
            ingested.commit(dataset, ingested.stage(engine, dataset, folder), run_id)
    store.delta.forget_history(files_table(dataset))
    return removed


def remove_rows(
    engine: DuckDBEngine,
    lakehouse: Lakehouse,
    table: Table,
    erased_rows: str,
    run_id: str,
    changed: str | None = None,
) -> dict[str | None, int]:
    """Commit a new version of a Delta table without the rows `erased_rows` (SQL) selects: the
    data files holding any written again without them, the others kept as they are. The rows
    removed, per landing file for a table whose rows name theirs (`source_column`), else under
    None; with `changed`, also a temporary table of that name holding them. (`forget_history`
    then removes its earlier versions from storage: the customer's rows may be in any of them,
    even when the current one holds none.)"""
    store = lakehouse.store
    urls = {store.zones.local_copy(u): u for u in store.delta.files(table)}
    with store.staging() as folder:
        touched, kept, removed = data_files.without(
            list(urls), erased_rows, folder, table.name, engine.con
        )
        if changed is not None:
            store.attach(engine, table, touched, view=f"{changed}_files")
            engine.create_table(changed, f"select * from {changed}_files where {erased_rows}")
        if not touched:
            return {}
        source = table.source_column
        counts = {None: removed}
        if source is not None:
            sql = f"select {ident(source)}, count(*) from read_parquet(?) where {erased_rows}"
            counts = dict(engine.rows(f"{sql} group by 1", [touched]))
        gone = [urls[f] for f in touched]
        store.delta.commit(table, kept, run_id, replace=False, removed=gone)
    return counts


def record_inputs(
    lakehouse: Lakehouse, name: str, step: dict | None, run_id: str, keys: Sequence[str] = ()
) -> None:
    """Record, in a commit that adds no row, that the table's version (from which an erasure
    removed a customer's rows) is what its step computes from its inputs' current versions (from
    which the erasure removed them too), under the basis of its last step, but for the rows of
    `keys` (of a table maintained per key), removed, which its next step computes again with
    those its last commit left (`KEYS_TO_RECOMPUTE`). The next run then adds to it, or computes
    keys again, instead of building it in full (its checks are evaluated again: none is
    recorded). `step`: the metadata of the table's last commit before the erasure."""
    table, store = TABLES[name], lakehouse.store
    if step is None or INPUTS not in step or BASIS not in step:
        return
    now = store.snapshots(json.loads(step[INPUTS]))
    inputs = json.dumps({n: s.version for n, s in now.items()}, sort_keys=True)
    pending = sorted(set(json.loads(step.get(KEYS_TO_RECOMPUTE, "[]"))) | set(keys))
    if inputs == step[INPUTS] and not keys:
        return  # nothing changed (an erasure repeated)
    metadata = {BASIS: step[BASIS], INPUTS: inputs}
    if pending:
        metadata[KEYS_TO_RECOMPUTE] = json.dumps(pending)
    store.delta.commit(table, [], run_id, replace=False, metadata=metadata)


def customer_records(
    engine: DuckDBEngine, lakehouse: Lakehouse, email_hash: str
) -> list[tuple[str, str | None]]:
    """(email, serialNumber) of every landing customer record whose email the erasure request
    names (by the SHA-256 of its person key)."""
    landing = lakehouse.landing
    files = [landing.storage.local_copy(f) for f in landing.files("customer")]
    sql = read_sql(__file__, "customer_records")
    return engine.rows(sql, {"files": files, "email_sha256": email_hash})
