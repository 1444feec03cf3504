"""The erasure in the landing zone (`erasure.py`): the customer's records found by the
hash of their email (`customer_records`), their rows removed from the landing and quarantine
tables and moved to their files' erased counts (`erase_from_landing`), and the earlier versions
of those tables removed from storage (`forget_landing_history`)."""

from collections.abc import Mapping, Sequence
from dataclasses import replace

from stedi_dagster.engines.duckdb_engine import DuckDBEngine
from stedi_dagster.lakehouse.resource import Lakehouse
from stedi_dagster.lakehouse.storage import file_name
from stedi_dagster.landing.plan import still_valid
from stedi_dagster.privacy.erased_spellings import ErasedSpellings, spelled_in
from stedi_dagster.privacy.erasure_contracts import Removal
from stedi_dagster.privacy.identity import PERSON_KEYS, erased_row, erasure_hash, person_key
from stedi_dagster.privacy.row_removal import removal, remove_rows
from stedi_dagster.sql import json_path, literal, read_sql
from stedi_dagster.tables import files_table, landing_table, quarantine_table

CUSTOMER = landing_table("customer")


def customer_records(
    engine: DuckDBEngine, lakehouse: Lakehouse, email: str, spellings: str | None = None
) -> tuple[list[tuple[str, str | None]], int]:
    """(email, serialNumber) of every landing customer record of the person the erasure names
    (whose email's person key has the SHA-256 of `email`'s): read from every raw customer file;
    or, given the customer_landing spellings kept for the version the engine shows (`spellings`:
    SQL of their files; while the customer is not on the erasure list, so that none of their
    lines was erased when read), from what landing keeps of the files ingested as they are now
    (their rows in customer_landing, their quarantined lines' text) and the raw files that are
    not (new or changed since the last run). Under the customer dataset's lock: the files
    ingested describe the versions the engine shows. With the number of raw files read."""
    landing, email_hash = lakehouse.landing, erasure_hash(email)
    urls = landing.files("customer")
    held = _ingested_as_they_are(lakehouse, urls) if spellings is not None else set()
    found: set[tuple[str, str | None]] = set()
    if spellings is not None and held:
        values = spelled_in(engine, spellings, [person_key(email)])
        sql = read_sql(__file__, "customer_records_kept")
        found.update(engine.rows(sql, {"spellings": values, "email_sha256": email_hash}))
    raw = [landing.storage.local_copy(u) for u in urls if u not in held]
    if raw:
        sql = read_sql(__file__, "customer_records")
        found.update(engine.rows(sql, {"files": raw, "email_sha256": email_hash}))
    return sorted(found, key=lambda r: (r[0], r[1] or "")), len(raw)


def _ingested_as_they_are(lakehouse: Lakehouse, urls: Sequence[str]) -> set[str]:
    """The customer files (of `urls`) whose every line the current customer_landing and
    customer_quarantine versions account for: read at the version they have now (`still_valid`)
    by the run whose records describe those versions (none when a run stopped between its
    commits)."""
    records = lakehouse.ingested.read("customer")
    if not records:
        return set()
    versions = lakehouse.landing.versions("customer")
    valid = still_valid(records, {file_name(u): versions[u] for u in urls}, CUSTOMER.fields)
    return {u for u in urls if file_name(u) in valid}


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
