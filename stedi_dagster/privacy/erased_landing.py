"""The erasure in the landing zone (`erasure.py`): the customer's raw records found by the
hash of their email (`customer_records`), their rows removed from the landing and quarantine
tables and moved to their files' erased counts (`erase_from_landing`), and the earlier versions
of those tables removed from storage (`forget_landing_history`)."""

from collections.abc import Mapping, Sequence
from dataclasses import replace

from stedi_dagster.engines.duckdb_engine import DuckDBEngine
from stedi_dagster.lakehouse.resource import Lakehouse
from stedi_dagster.privacy.erased_spellings import ErasedSpellings
from stedi_dagster.privacy.erasure_contracts import Removal
from stedi_dagster.privacy.identity import PERSON_KEYS, erased_row
from stedi_dagster.privacy.row_removal import removal, remove_rows
from stedi_dagster.sql import json_path, literal, read_sql
from stedi_dagster.tables import files_table, landing_table, quarantine_table


def customer_records(
    engine: DuckDBEngine, lakehouse: Lakehouse, email_hash: str
) -> list[tuple[str, str | None]]:
    """(email, serialNumber) of every landing customer record whose email the erasure request
    names (by the SHA-256 of its person key)."""
    landing = lakehouse.landing
    files = [landing.storage.local_copy(f) for f in landing.files("customer")]
    sql = read_sql(__file__, "customer_records")
    return engine.rows(sql, {"files": files, "email_sha256": email_hash})


def erase_from_landing(
    engine: DuckDBEngine,
    lakehouse: Lakehouse,
    dataset: str,
    run_id: str,
    spelled: ErasedSpellings | None = None,
    removals: dict[str, Removal] | None = None,
    keys: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, int]:
    """Rewrite the landing and quarantine data files that hold rows of erased customers (one
    commit per table), and move those rows to their files' erased counts; the landing table's
    commit described in `removals`, if given (`keys`: the erased person keys by kind). Rows
    removed per table. (Their earlier versions stay until `forget_landing_history`.)"""
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
            base = store.delta.version(table)
            changed = f"changed_{table.name}" if table is landing and removals is not None else None
            where = [predicates[table.name]]
            erased = remove_rows(engine, lakehouse, table, where, run_id, changed, spelled)
            for name, n in erased.items():
                r = records[name]
                records[name] = replace(r, **{held: getattr(r, held) - n, "erased": r.erased + n})
                removed[table.name] += n
            if changed and erased and store.delta.version(table) == base + 1:
                removals[table.name] = removal(engine, table, base, keys or {})
        if any(removed.values()):  # the files ingested name the versions they describe
            ingested.attach(engine, dataset, records)
            ingested.commit(dataset, ingested.stage(engine, dataset, folder), run_id)
    return removed


def forget_landing_history(lakehouse: Lakehouse, dataset: str, run_id: str) -> None:
    """Remove the earlier versions of the dataset's landing and quarantine tables and of its
    files ingested from storage, the records describing the versions left (removing them
    commits, changing no data file)."""
    ingested, store = lakehouse.ingested, lakehouse.store
    if not store.is_materialized(landing_table(dataset)):
        return
    with ingested.lock(dataset):
        for table in (landing_table(dataset), quarantine_table(dataset)):
            store.delta.forget_history(table)
        if ingested.described(dataset) != ingested.latest_versions(dataset):
            ingested.describe_latest(dataset, run_id)
    store.delta.forget_history(files_table(dataset))
