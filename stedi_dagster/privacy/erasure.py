"""Removing erased customers' rows from the zones' Parquet (the work behind the `erase_customer`
job): landing and quarantine parts with their bookmark, and the one-file tables. Always DuckDB,
whichever engine computes the zones."""

from dataclasses import replace

from stedi_dagster.engines.duckdb_engine import DuckDBEngine
from stedi_dagster.lakehouse.bookmarks import held_count
from stedi_dagster.lakehouse.resource import Lakehouse
from stedi_dagster.privacy.identity import PERSON_KEYS, erased_row
from stedi_dagster.sql import json_path, literal, read_sql
from stedi_dagster.tables import TABLES, landing_table, quarantine_table


def erase_from_landing(engine: DuckDBEngine, lakehouse: Lakehouse, dataset: str) -> dict[str, int]:
    """Rewrite the landing and quarantine parts that hold rows of erased customers, and move
    those rows to the bookmark's erased count. Rows removed per table."""
    bookmarks, store, zones = lakehouse.bookmarks, lakehouse.store, lakehouse.zones
    records = bookmarks.read(dataset)
    if records is None:
        return {}
    key, kind = PERSON_KEYS[dataset]
    landing, quarantine = landing_table(dataset), quarantine_table(dataset)
    predicates = {
        landing.name: erased_row(dataset),
        quarantine.name: f"erased_record('{kind}', {literal(json_path(key))}, record)",
    }
    removed = {landing.name: 0, quarantine.name: 0}
    with bookmarks.lock(dataset), store.staging() as folder:
        for name, r in sorted(records.items()):
            for table in (landing, quarantine):
                if not r.holds(table.name):
                    continue
                url = store.part_url(table, r)
                local = zones.local_copy(url)
                where = predicates[table.name]
                n = engine.scalar(f"select count(*) from read_parquet(?) where {where}", [local])
                if not n:
                    continue
                staged = folder / r.part
                engine.write_parquet(
                    f"select * from read_parquet({literal(local)}) where not ({where})", staged
                )
                held = held_count(table.name)
                if n < getattr(r, held):
                    zones.put(staged, url)
                else:
                    zones.remove(url)
                r = replace(r, **{held: getattr(r, held) - n, "erased": r.erased + n})
                records[name] = r
                removed[table.name] += n
        bookmarks.write(dataset, records)
    return removed


def remove_rows(
    engine: DuckDBEngine, lakehouse: Lakehouse, name: str, erased_rows: str, run_id: str
) -> int:
    """Commit a new version of a Delta table without the rows `erased_rows` (SQL) selects, then
    remove its earlier versions from storage (data files and log): the customer's rows may be in
    any of them, even when the current one holds none. The rows removed."""
    table, store = TABLES[name], lakehouse.store
    store.attach(engine, table)
    removed = engine.scalar(f"select count(*) from {name} where {erased_rows}")
    if removed:
        with store.staging() as folder:
            staged = folder / f"{name}.parquet"
            engine.write_parquet(f"select * from {name} where not ({erased_rows})", staged)
            store.publish(table, staged, run_id)
    store.delta.forget_history(table)
    return removed


def customer_records(
    engine: DuckDBEngine, lakehouse: Lakehouse, email_hash: str
) -> list[tuple[str, str | None]]:
    """(email, serialNumber) of every landing customer record whose email the erasure request
    names (by the SHA-256 of its person key)."""
    landing = lakehouse.landing
    files = [landing.storage.local_copy(f) for f in landing.files("customer")]
    sql = read_sql(__file__, "customer_records")
    return engine.rows(sql, {"files": files, "email_sha256": email_hash})
