"""The right to erasure: removing one customer from every zone's Delta tables, current version
and storage, and keeping them out of every later run (the work behind the `erase_customer` job,
`defs/privacy/erasure.py`, which calls `erase`).

The customer is named by email and found by the SHA-256 of its person key (`identity.py`); the
erasure list and the audit trail (`records.py`) hold only such hashes, never the email. `erase`:

1. finds the customer's landing records (and the serials they claimed) and puts their hashes on
   the erasure list, which the landing tables honour on every later run although the raw JSON
   stays in the landing folder;
2. rewrites the landing and quarantine data files holding their rows (`erase_from_landing`),
   moving those lines to their files' erased counts (`erased_landing.py`);
3. removes their rows from the trusted and curated tables, in the order the tables read each
   other (`row_removal.remove_rows`): from the `EXACT_ERASURE` tables that leaves what their
   step computes without the customer; from a table maintained per key (the training pairs and
   their features, whose other subjects may share the customer's serial or windows) it removes
   every subject the erasure reaches and leaves them for its next step to compute again
   (`record_inputs`);
4. evaluates the checks it can on the versions it commits (`ErasedChecks`) and records them
   with them, for the run after to report again or build on;
5. removes every earlier version of the tables from storage, and the tables the checks computed
   from landing and kept between runs (`Lakehouse.shared_tables`; but those it keeps again
   without the customer's rows for landing as it leaves it, `erased_relations.py`; of the facts
   kept per data file, those of files the erasure wrote again or removed: the others hold no
   row of the customer, and the next run reads them instead of computing every table's again),
   even when a step before failed, and appends an audit entry.

It is idempotent: erasing again removes nothing more and adds an audit entry saying so. Always
DuckDB, whichever engine computes the zones.
"""

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stedi_dagster.engines.duckdb_engine import DuckDBEngine
from stedi_dagster.engines.grown import Relation
from stedi_dagster.errors import LakehouseError
from stedi_dagster.lakehouse import catalog
from stedi_dagster.lakehouse.delta import BASIS, INPUTS, KEYS_TO_RECOMPUTE
from stedi_dagster.lakehouse.resource import Lakehouse
from stedi_dagster.privacy import erased_relations, erased_spellings
from stedi_dagster.privacy.erased_landing import (
    customer_records,
    erase_from_landing,
    forget_landing_history,
)
from stedi_dagster.privacy.erased_spellings import ErasedSpellings
from stedi_dagster.privacy.erasure_contracts import ErasedChecks, KeyedTable, Removal
from stedi_dagster.privacy.identity import erased_row, erasure_hash, person_key
from stedi_dagster.privacy.records import ERASURE_AUDIT, ERASURE_LIST
from stedi_dagster.privacy.row_removal import removal, remove_rows
from stedi_dagster.sql import any_of, ident, listed
from stedi_dagster.tables import LANDING_DATASETS, TABLES, landing_table, quarantine_table

# The columns of the training table and its features that name subjects (pseudonyms).
SUBJECT_COLUMNS = {
    "machine_learning": ("subject_id", "step_trainer_subject_id"),
    "step_features": ("subject_id",),
}

# The relation of the customer_landing emails' spellings kept per version (`privacy/spellings.py`).
CUSTOMER_SPELLINGS = "customer_landing_spellings"

# The tables from which removing the customer's rows leaves what their step computes from their
# inputs without the customer's rows: one row per person (or per reading of a person), or per
# Step Trainer serial, all of whose readings go when a customer who claimed it is erased. In the
# order they read each other.
EXACT_ERASURE = (
    "customer_trusted",
    "accelerometer_trusted",
    "customer_curated",
    "step_trainer_trusted",
)


@dataclass(frozen=True)
class ErasureReport:
    """What an erasure did, as its audit entry says it (hashes and counts, never the email)."""

    email_sha256: str
    serials: int  # Step Trainer serials the customer's records claimed, now on the list too
    landing_records: int
    newly_listed: int  # entries added to the erasure list (0 when erasing again)
    rows_removed: dict[str, int]  # the customer's own rows, per table
    # other subjects' rows, removed with the customer's, which the next run computes again
    rows_left_to_compute_again: dict[str, int]
    # the relations kept from landing between runs that it kept again without the customer
    relations_kept_again: list[str]
    # the checks it evaluated on the versions it committed, per table (`ErasedChecks`)
    checks_evaluated: dict[str, list[str]]
    # the tables whose erased rows it found by the kept spellings (`erased_spellings.py`)
    found_by_spellings: list[str]
    # the raw customer files read for the customer's records (`erased_landing.customer_records`)
    customer_files_read: int

    @property
    def tables_touched(self) -> list[str]:
        return sorted(name for name, n in self.rows_removed.items() if n)


def erase(
    lakehouse: Lakehouse,
    email: str,
    run_id: str,
    maintained_per_key: Mapping[str, KeyedTable],
    landing_relations: Sequence[Relation] = (),
    checks: ErasedChecks | None = None,
) -> ErasureReport:
    """Remove the customer with this email from every zone and put them on the erasure list
    (the steps above). `maintained_per_key`: the derived tables, outside `EXACT_ERASURE`, from
    which the rows of every subject the erasure reaches are removed, to be computed again by
    their next step. `landing_relations`: those computed from landing and kept between runs
    that the erasure keeps again without the customer's rows (`erased_relations.py`), in the
    order they read each other. `checks`: those it evaluates on the versions it commits
    (`ErasedChecks`)."""
    email_hash = erasure_hash(email)
    store, privacy = lakehouse.store, lakehouse.privacy
    if store.is_materialized(TABLES["machine_learning_curated"]):
        privacy.require_pseudonym_key()  # its rows are found by pseudonym
    landing = [t.name for t in map(landing_table, LANDING_DATASETS) if store.is_materialized(t)]
    kept: dict[str, str] = {}
    listed = set(privacy.erasure_keys())
    completed = erased_spellings.complete(privacy, len(listed))
    quarantine = [quarantine_table("customer").name] if "customer_landing" in landing else []
    with (
        lakehouse.ingested.lock("customer"),  # its records describe the versions shown
        lakehouse.connect(*landing, *quarantine, engine="duckdb") as before,  # the list before
    ):
        spellings_before = erased_spellings.kept_before(before)
        of_landing = completed and ("email", email_hash) not in listed
        customer_spellings = spellings_before.get(CUSTOMER_SPELLINGS) if of_landing else None
        records, raw_read = customer_records(before, lakehouse, email, customer_spellings)
        keys = {
            "email": [person_key(email)],
            "serial": sorted({person_key(serial) for _, serial in records if serial}),
        }
        spelled = erased_spellings.found(before, keys, spellings_before) if completed else None
        if landing_relations and lakehouse.shared_tables is not None:  # kept on local disk alone
            kept = erased_relations.held(before, landing_relations)
    derived = [n for n, t in TABLES.items() if t.zone != "landing" and store.is_materialized(t)]
    again: dict[str, list[Path]] = {}
    try:
        with lakehouse.connect(engine="duckdb") as engine:
            serial_hashes = sorted({erasure_hash(serial) for _, serial in records if serial})
            wanted = [("email", email_hash)] + [("serial", h) for h in serial_hashes]
            new = [{"kind": k, "sha256": h} for k, h in wanted if (k, h) not in listed]
            if new:
                privacy.append_log(ERASURE_LIST, new)
            engine.set_erasure_list(privacy.erasure_keys())
            emails = sorted({email for email, _ in records})
            engine.fill_table("erasure_emails", {"email": "VARCHAR"}, [(e,) for e in emails])
            engine.create_table(
                "erasure_subjects", "select pseudonym(email) as id from erasure_emails"
            )
            removed: dict[str, int] = {}
            removals: dict[str, Removal] = {}  # each table's commit, for the checks
            for dataset in LANDING_DATASETS:  # landing and quarantine, and the files ingested
                removed |= erase_from_landing(
                    engine, lakehouse, dataset, run_id, spelled, removals, keys
                )
            upkeep = _erase_from_derived(
                engine, lakehouse, run_id, maintained_per_key, checks, spelled, removals, keys
            )
        done = {name: list(found) for name, found in upkeep.done.items()}
        with lakehouse.connect(*landing, *derived, engine="duckdb") as after:  # as they are
            if kept:
                serials = [serial for _, serial in records if serial]
                again = erased_relations.keep_without(
                    after, landing_relations, kept, [email, *emails], serials
                )
            if checks:  # the counts over landing, its files before the erasure still there
                for commit in removals.values():
                    commit.listed_in(after)
                last, before = upkeep.last, spellings_before
                for name, found in checks.over_landing(
                    after, lakehouse, last, removals, before
                ).items():
                    done.setdefault(name, []).extend(found)
    finally:  # every earlier version, and what was computed from landing before the erasure:
        # gone even when a step above failed
        lakehouse.forget_shared_tables(but=[path for files in again.values() for path in files])
        _forget_history(lakehouse, run_id, derived)
    for name in (*EXACT_ERASURE, *maintained_per_key):  # in read order: the versions recorded
        if name in upkeep.last:  # stay
            checked = checks.recorded(lakehouse, name, done[name]) if name in done else {}
            last = upkeep.last[name]
            step = last[1] if last else None
            record_inputs(lakehouse, name, step, run_id, upkeep.left.get(name, ()), checked)
    catalog.refresh(lakehouse)  # its views list the files of the new versions
    failed = sorted(f"{name}.{d.check}" for name, found in done.items() for d in found if d.failed)
    if failed:  # no audit entry: the next erasure makes the erasure list's test of every value
        raise LakehouseError(
            f"the erasure of customer sha256:{email_hash[:12]} did not complete: "
            f"{', '.join(failed)} failed on the versions it committed (rows of the erased left); "
            "the next run's checks report them: run the erasure again"
        )
    report = ErasureReport(
        email_sha256=email_hash,
        serials=len(serial_hashes),
        landing_records=len(records),
        newly_listed=len(new),
        rows_removed=removed | upkeep.removed,
        rows_left_to_compute_again=upkeep.recompute,
        relations_kept_again=sorted(again),
        checks_evaluated={n: [d.check for d in found] for n, found in done.items()},
        found_by_spellings=sorted(spelled.told) if spelled is not None else [],
        customer_files_read=raw_read,
    )
    entry = {
        "erased_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "email_sha256": email_hash,
        "serials": report.serials,
        "landing_records": report.landing_records,
        "rows_removed": report.rows_removed,
        "rows_left_to_compute_again": upkeep.recompute,
        "tables_touched": report.tables_touched,
        "run_id": run_id,
        erased_spellings.LISTED: len(listed) + len(new),  # the erasures before it all completed
    }
    privacy.append_log(ERASURE_AUDIT, [entry])
    return report


@dataclass(frozen=True)
class Upkeep:
    """What removing the rows from the trusted and curated tables did (`_erase_from_derived`):
    the customer's own rows removed and the other subjects' rows left to compute again, per
    table; each table's last commit before the erasure, and the subjects it left; the results
    of the checks evaluated on its versions."""

    removed: dict[str, int]
    recompute: dict[str, int]
    last: dict[str, tuple | None]
    left: dict[str, list[str]]
    done: Mapping[str, Sequence[Any]]


def _erase_from_derived(
    engine: DuckDBEngine,
    lakehouse: Lakehouse,
    run_id: str,
    maintained_per_key: Mapping[str, KeyedTable],
    checks: ErasedChecks | None,
    spelled: ErasedSpellings | None,
    removals: dict[str, Removal],
    keys: Mapping[str, Sequence[str]],
) -> Upkeep:
    """Remove the erased customers' rows from every materialized trusted and curated table, each
    after the tables it reads (each commit described in `removals`, beside landing's), and
    evaluate the `checks` on the versions committed (`Upkeep`). `keys`: the erased person keys
    by kind (email, serial)."""
    store = lakehouse.store
    erased_ids = {id_ for (id_,) in engine.rows("select id from erasure_subjects")}
    derived = [n for n, t in TABLES.items() if t.zone != "landing" and store.is_materialized(t)]
    last = {n: store.delta.last_commit(TABLES[n]) for n in derived}
    versions = {n: store.delta.version(TABLES[n]) for n in derived}
    removed, left, recompute = {}, {}, {}
    for name in derived:  # each after the tables it reads
        table = TABLES[name]
        own = erased_rows(table.dataset, erased_ids)
        where = own
        keyed = maintained_per_key.get(name)
        if keyed is not None:
            reached = keyed.keys(engine)  # over the `changed_` tables of its inputs
            where = [*keyed.conditions(reached), *own]
            # the erased have no rows to compute again, and their pseudonyms are not kept
            left[name] = sorted(set(reached) - erased_ids)
        erased = remove_rows(engine, lakehouse, table, where, run_id, f"changed_{name}", spelled)
        removed[name] = sum(erased.values())
        if keyed is not None:  # the customer's own rows, and the others' left to compute
            removed[name] = engine.scalar(
                f"select count(*) from changed_{name} where {any_of(own)}"
            )
            recompute[name] = sum(erased.values()) - removed[name]
        if erased and store.delta.version(table) == versions[name] + 1:  # its commit alone
            if keyed is not None:
                removals[name] = Removal(versions[name], tuple(where))
            else:
                removals[name] = removal(engine, table, versions[name], keys)
        store.attach(engine, table)  # as it is now, for the keys of the tables reading it
    for name in [*derived, *removals]:  # the rows removed: the checks show changes as steps do
        engine.con.execute(f"drop table if exists {ident(f'changed_{name}')}")
    # before the inputs' files before the erasure go (the recounts count their partitions)
    done = checks.evaluate(engine, lakehouse, last, removals) if checks else {}
    return Upkeep(removed, recompute, last, left, done)


def _forget_history(lakehouse: Lakehouse, run_id: str, derived: Iterable[str]) -> None:
    """Remove every earlier version of the landing tables, their quarantine and files ingested,
    and the trusted and curated tables (`derived`) from storage: the customer's rows may be in
    any of them, even when the current one holds none."""
    store = lakehouse.store
    for dataset in LANDING_DATASETS:
        forget_landing_history(lakehouse, dataset, run_id)
    for name in derived:
        store.delta.forget_history(TABLES[name])


def erased_rows(dataset: str, subjects: Collection[str]) -> list[str]:
    """SQL conditions, any of which is true of a row of a trusted or curated table of the
    dataset that belongs to a customer on the erasure list: by its key field (`erased_row`), or,
    in the training table and its features, by the pseudonyms of the emails being erased
    (`subjects`), listed, one condition per subject column (none for no subject)."""
    columns = SUBJECT_COLUMNS.get(dataset)
    if columns is None:
        return [erased_row(dataset)]
    return [listed(c, sorted(subjects)) for c in columns] if subjects else []


def record_inputs(
    lakehouse: Lakehouse,
    name: str,
    step: dict | None,
    run_id: str,
    keys: Sequence[str] = (),
    checked: Mapping[str, str] | None = None,
) -> None:
    """Record, in a commit that adds no row, that the table's version (from which an erasure
    removed a customer's rows) is what its step computes from its inputs' current versions (from
    which the erasure removed them too), under the basis of its last step, but for the rows of
    `keys` (of a table maintained per key), removed, which its next step computes again with
    those its last commit left (`KEYS_TO_RECOMPUTE`). The next run then adds to it, or computes
    keys again, instead of building it in full (its checks are evaluated again, but those
    the erasure evaluated, recorded with `checked`: `ErasedChecks.recorded`). `step`: the
    metadata of the table's last commit before the erasure."""
    table, store = TABLES[name], lakehouse.store
    if step is None or INPUTS not in step or BASIS not in step:
        return
    now = store.snapshots(json.loads(step[INPUTS]))
    inputs = json.dumps({n: s.version for n, s in now.items()}, sort_keys=True)
    pending = sorted(set(json.loads(step.get(KEYS_TO_RECOMPUTE, "[]"))) | set(keys))
    if inputs == step[INPUTS] and not keys:
        return  # nothing changed (an erasure repeated)
    metadata = {BASIS: step[BASIS], INPUTS: inputs, **(checked or {})}
    if pending:
        metadata[KEYS_TO_RECOMPUTE] = json.dumps(pending)
    store.delta.commit(table, [], run_id, replace=False, metadata=metadata)
