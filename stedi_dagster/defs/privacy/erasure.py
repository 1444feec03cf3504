"""Right to erasure: the `erase_customer` job removes one customer from every zone, landing Parquet
included, and puts them on the erasure list, which the landing tables honour on every later run
even though the customer's raw JSON is still in the landing folder.

The email is matched by the SHA-256 of its person key (`privacy/identity.py`); the list and the
audit trail (`<lakehouse_root>/_privacy/`) hold only such hashes, never the email. The job is
idempotent: running it again removes nothing more and adds an audit entry saying so.
"""

from datetime import UTC, datetime

import dagster as dg
from pydantic import Field

from stedi_dagster.defs.curated.assets import STEP_FEATURES_KEYED, TRAINING_PAIRS_KEYED
from stedi_dagster.lakehouse import Lakehouse, catalog
from stedi_dagster.lakehouse.privacy_records import ERASURE_AUDIT, ERASURE_LIST
from stedi_dagster.privacy.erasure import (
    customer_records,
    erase_from_landing,
    record_inputs,
    remove_rows,
)
from stedi_dagster.privacy.identity import erased_row, erasure_hash
from stedi_dagster.tables import LANDING_DATASETS, TABLES

# The rows of each table that belong to a customer on the erasure list (or, for the training
# table, to one of the emails being erased, as pseudonyms).
ERASED_ROWS = {dataset: erased_row(dataset) for dataset in LANDING_DATASETS} | {
    "machine_learning": "subject_id in (select id from erasure_subjects) "
    "or step_trainer_subject_id in (select id from erasure_subjects)",
    "step_features": "subject_id in (select id from erasure_subjects)",
}


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
# Not so the training pairs (another customer may own, or pair readings with, the erased serial)
# or their features (another subject's windows span the pairs removed): from these the job
# removes the rows of every subject the erasure reaches (by their `affected` SQL over the rows
# removed from their inputs), and leaves those subjects for the next step to compute again.
LEFT_FOR_THE_NEXT_STEP = {
    "machine_learning_curated": TRAINING_PAIRS_KEYED,
    "step_features_curated": STEP_FEATURES_KEYED,
}


class ErasureRequest(dg.Config):
    email: str = Field(description="Email of the customer to erase from every zone.")


@dg.op(
    name="remove_customer",
    description="Removes one customer's rows from every table and keeps them out of later runs.",
)
def remove_customer(
    context: dg.OpExecutionContext, config: ErasureRequest, lakehouse: Lakehouse
) -> dg.Output:
    email_hash, run_id = erasure_hash(config.email), context.run.run_id
    store, privacy = lakehouse.store, lakehouse.privacy
    if store.is_materialized(TABLES["machine_learning_curated"]):
        privacy.require_pseudonym_key()  # its rows are found by pseudonym
    with lakehouse.connect(engine="duckdb") as engine:
        records = customer_records(engine, lakehouse, email_hash)
        serial_hashes = sorted({erasure_hash(serial) for _, serial in records if serial})
        listed = set(privacy.erasure_keys())
        wanted = [("email", email_hash)] + [("serial", h) for h in serial_hashes]
        new = [{"kind": k, "sha256": h} for k, h in wanted if (k, h) not in listed]
        if new:
            privacy.append_log(ERASURE_LIST, new)
        engine.set_erasure_list(privacy.erasure_keys())
        emails = sorted({email for email, _ in records})
        engine.fill_table("erasure_emails", {"email": "VARCHAR"}, [(e,) for e in emails])
        engine.create_table("erasure_subjects", "select pseudonym(email) as id from erasure_emails")
        erased_ids = {id_ for (id_,) in engine.rows("select id from erasure_subjects")}
        removed = {}
        for dataset in LANDING_DATASETS:  # landing and quarantine, and the files ingested
            removed |= erase_from_landing(engine, lakehouse, dataset, run_id)
        derived = [n for n, t in TABLES.items() if t.zone != "landing" and store.is_materialized(t)]
        steps = {n: (store.delta.last_commit(TABLES[n]) or (None, None))[1] for n in derived}
        left, recompute = {}, {}
        for name in derived:  # each after the tables it reads
            table, where = TABLES[name], ERASED_ROWS[TABLES[name].dataset]
            keyed = LEFT_FOR_THE_NEXT_STEP.get(name)
            if keyed is not None:
                reached = keyed.keys(engine)  # over the `changed_` tables of its inputs
                where = f"({keyed.rows_of(reached)}) or ({where})"
                # the erased have no rows to compute again, and their pseudonyms are not kept
                left[name] = sorted(set(reached) - erased_ids)
            erased = remove_rows(engine, lakehouse, table, where, run_id, f"changed_{name}")
            removed[name] = sum(erased.values())
            if keyed is not None:  # the customer's own rows, and the others' left to compute
                own = ERASED_ROWS[table.dataset]
                removed[name] = engine.scalar(f"select count(*) from changed_{name} where {own}")
                recompute[name] = sum(erased.values()) - removed[name]
            store.attach(engine, table)  # as it is now, for the keys of the tables reading it
        for name in derived:
            store.delta.forget_history(TABLES[name])
        for name in (*EXACT_ERASURE, *LEFT_FOR_THE_NEXT_STEP):  # after every table's upkeep,
            if name in derived:  # in read order: the versions recorded stay
                record_inputs(lakehouse, name, steps[name], run_id, left.get(name, ()))
    catalog.refresh(lakehouse)  # its views list the files of the new versions
    entry = {
        "erased_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "email_sha256": email_hash,
        "serials": len(serial_hashes),
        "landing_records": len(records),
        "rows_removed": removed,
        "rows_left_to_compute_again": recompute,
        "tables_touched": sorted(name for name, n in removed.items() if n),
        "run_id": run_id,
    }
    privacy.append_log(ERASURE_AUDIT, [entry])
    context.log.info(
        f"erased customer sha256:{email_hash[:12]}: {sum(removed.values())} rows removed from "
        f"{len(entry['tables_touched'])} tables; on the erasure list for later runs"
    )
    return dg.Output(
        None,
        metadata={
            "email_sha256": email_hash,
            "rows_removed": dg.MetadataValue.json(removed),
            # other subjects' rows, removed with the customer's, which the next run computes
            "rows_left_to_compute_again": dg.MetadataValue.json(recompute),
            "newly_listed": len(new),
        },
    )


@dg.job(
    name="erase_customer",
    description="Right to erasure: remove one customer (config: email) from every zone and keep "
    "them out of later runs. Records an audit entry with a hash of the email, never the email.",
    tags={"stedi/privacy": "erasure"},
)
def erase_customer():
    remove_customer()
