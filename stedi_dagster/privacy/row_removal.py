"""Removing rows from a Delta table, for the erasure (`erasure.py`, `erased_landing.py`): a
new version without the rows a condition is true of, written by rewriting only the data files
that hold any (`remove_rows`), the erasure list's test made of the values the files hold
(`per_value`), and the commit described for the checks the erasure evaluates (`removal`)."""

import contextlib
from collections.abc import Mapping, Sequence

from stedi_dagster.engines import Engine
from stedi_dagster.engines.duckdb_engine import DuckDBEngine
from stedi_dagster.errors import StaleVersion
from stedi_dagster.lakehouse import data_files
from stedi_dagster.lakehouse.resource import Lakehouse
from stedi_dagster.lakehouse.store import TableStore
from stedi_dagster.privacy.erased_spellings import ErasedSpellings
from stedi_dagster.privacy.erased_values import erased_by_value, listed_values
from stedi_dagster.privacy.erasure_contracts import Removal
from stedi_dagster.privacy.identity import PERSON_KEYS, erased_row
from stedi_dagster.sql import any_of, ident, literal
from stedi_dagster.tables import Table

# How often the rows are removed again from a table that a run committed a version of while they
# were removed from the one before.
REMOVAL_ATTEMPTS = 3


def remove_rows(
    engine: DuckDBEngine,
    lakehouse: Lakehouse,
    table: Table,
    where: Sequence[str],
    run_id: str,
    changed: str | None = None,
    spelled: ErasedSpellings | None = None,
) -> dict[str | None, int]:
    """Commit a new version of a Delta table without the rows any of the conditions `where`
    (SQL, each sought alone: `data_files.without`) is true of: the data files holding any
    written again without them, the others kept as they are. The rows removed, per landing
    file for a table whose rows name theirs (`source_column`), else under None; with `changed`,
    also a temporary table of that name holding them. (`forget_history` then removes its earlier
    versions from storage: the customer's rows may be in any of them, even when the current one
    holds none.) A run that commits a version of the table meanwhile has the rows removed from
    its version instead."""
    for _ in range(REMOVAL_ATTEMPTS - 1):
        with contextlib.suppress(StaleVersion):
            return _remove_rows(engine, lakehouse, table, where, run_id, changed, spelled)
    return _remove_rows(engine, lakehouse, table, where, run_id, changed, spelled)


def _remove_rows(
    engine: DuckDBEngine,
    lakehouse: Lakehouse,
    table: Table,
    where: Sequence[str],
    run_id: str,
    changed: str | None,
    spelled: ErasedSpellings | None,
) -> dict[str | None, int]:
    """`remove_rows` on the table's current version; `StaleVersion` if another writer
    committed a version while it was written."""
    store = lakehouse.store
    base = store.delta.version(table)
    urls = {store.zones.local_copy(u): u for u in store.delta.files(table, base)}
    where = [per_value(engine, store, table, list(urls), condition, spelled) for condition in where]
    removing = any_of(where)
    with store.staging() as folder:
        touched, kept, removed = data_files.without(list(urls), where, folder, table, engine.con)
        if changed is not None:
            store.attach(engine, table, touched, view=f"{changed}_files")
            engine.create_table(changed, f"select * from {changed}_files where {removing}")
        if not touched:
            return {}
        source = table.source_column
        counts = {None: removed}
        if source is not None:
            sql = f"select {ident(source)}, count(*) from read_parquet(?) where {removing}"
            counts = dict(engine.rows(f"{sql} group by 1", [touched]))
        gone = [urls[f] for f in touched]
        store.delta.commit(table, kept, run_id, replace=False, removed=gone, base=base)
    return counts


def per_value(
    engine: DuckDBEngine,
    store: TableStore,
    table: Table,
    files: Sequence[str],
    condition: str,
    spelled: ErasedSpellings | None = None,
) -> str:
    """`condition` (SQL over the rows of `table` in data `files`) with the erasure list's test of
    the table's key field (`erased_row`) made of the values the files hold: the erased persons'
    spellings, when the kept spellings tell them (`spelled`, see `erased_spellings.py`), else
    each distinct value tested once (`erased_by_value`); only the values still in the files are
    listed: those of the customers erased before are gone from them."""
    test = erased_row(table.dataset) if table.dataset in PERSON_KEYS else None
    if not files or test is None or test not in condition:
        return condition
    values = spelled.values(engine, store, table, files) if spelled is not None else None
    if values is not None:
        return condition.replace(test, listed_values(table.dataset, values))
    listed = ", ".join(literal(f) for f in files)
    rows = f"read_parquet([{listed}], union_by_name = true)"
    return condition.replace(test, erased_by_value(engine.con, table.dataset, rows))


def removal(
    engine: Engine, table: Table, version: int, keys: Mapping[str, Sequence[str]]
) -> Removal:
    """The erasure's commit of a table from which it removed the rows (`changed_<table>`) of
    its key field's erased values (a landing table, one of `EXACT_ERASURE`): all the rows of
    those values (listed in a temporary table, `Removal.listed_in`); the erased persons (`keys`:
    person keys by kind) own no other row."""
    column, kind = PERSON_KEYS[table.dataset]
    key = ident(column)
    sql = f"select distinct {key} from changed_{table.name} where {key} is not null"
    values = tuple(sorted(v for (v,) in engine.rows(sql)))
    rows = f"{key} in (select value from erased_values_{table.name})"
    found = Removal(version, (rows,), column, tuple(keys.get(kind, ())), table.name, values)
    found.listed_in(engine)
    return found
