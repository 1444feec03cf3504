"""Right to erasure: the `erase_customer` job removes one customer from every zone, landing Parquet
included, and puts them on the erasure list, which the landing tables honour on every later run
even though the customer's raw JSON is still in the landing folder.

The email is matched by the SHA-256 of its trimmed lower-case text; the list and the audit trail
(`<lakehouse_root>/_privacy/`) hold only such hashes, never the email. The job is idempotent:
running it again removes nothing more and adds an audit entry saying so.
"""

import hashlib
from datetime import UTC, datetime

import dagster as dg
import duckdb
from pydantic import Field

from stedi_dagster.ingest import erase_from_landing, erased_row
from stedi_dagster.lakehouse import ERASURE_AUDIT, ERASURE_LIST, Lakehouse
from stedi_dagster.sql_file import read_sql
from stedi_dagster.tables import LANDING_DATASETS, TABLES

# The rows of each table that belong to a customer on the erasure list (or, for the training
# table, to one of the emails being erased, as pseudonyms).
ERASED_ROWS = {dataset: erased_row(dataset) for dataset in LANDING_DATASETS} | {
    "machine_learning": "subject_id in (select id from erasure_subjects) "
    "or step_trainer_subject_id in (select id from erasure_subjects)",
}


def erasure_hash(value: str) -> str:
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()


class ErasureRequest(dg.Config):
    email: str = Field(description="Email of the customer to erase from every zone.")


@dg.op(
    name="remove_customer",
    description="Removes one customer's rows from every table and keeps them out of later runs.",
)
def remove_customer(
    context: dg.OpExecutionContext, config: ErasureRequest, lakehouse: Lakehouse
) -> dg.Output:
    email_hash = erasure_hash(config.email)
    if lakehouse.is_materialized(TABLES["machine_learning_curated"]):
        lakehouse.require_pseudonym_key()  # its rows are found by pseudonym
    with lakehouse.connect(engine="duckdb") as con:
        files = [lakehouse.landing.local_copy(f) for f in lakehouse.landing_files("customer")]
        records = con.execute(read_sql(__file__, "customer_records"), [files, email_hash])
        records = records.fetchall()
        serial_hashes = sorted({erasure_hash(serial) for _, serial in records if serial})
        listed = set(lakehouse.erasure_keys())
        wanted = [("email", email_hash)] + [("serial", h) for h in serial_hashes]
        new = [{"kind": k, "sha256": h} for k, h in wanted if (k, h) not in listed]
        if new:
            lakehouse.append_privacy_log(ERASURE_LIST, new)
        lakehouse.attach_erasure_list(con)
        con.execute("create temp table erasure_subjects (id varchar)")
        for email in sorted({email for email, _ in records}):
            con.execute("insert into erasure_subjects select pseudonym(?)", [email])
        removed = {}
        for dataset in LANDING_DATASETS:  # landing and quarantine parts, and the bookmark
            removed |= erase_from_landing(con, lakehouse, dataset)
        for name, table in TABLES.items():
            if not table.per_file and lakehouse.is_materialized(table):
                removed[name] = _remove_rows(con, lakehouse, name, ERASED_ROWS[table.dataset])
    entry = {
        "erased_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "email_sha256": email_hash,
        "serials": len(serial_hashes),
        "landing_records": len(records),
        "rows_removed": removed,
        "tables_touched": sorted(name for name, n in removed.items() if n),
        "run_id": context.run_id,
    }
    lakehouse.append_privacy_log(ERASURE_AUDIT, [entry])
    context.log.info(
        f"erased customer sha256:{email_hash[:12]}: {sum(removed.values())} rows removed from "
        f"{len(entry['tables_touched'])} tables; on the erasure list for later runs"
    )
    return dg.Output(
        None,
        metadata={
            "email_sha256": email_hash,
            "rows_removed": dg.MetadataValue.json(removed),
            "newly_listed": len(new),
        },
    )


def _remove_rows(
    con: duckdb.DuckDBPyConnection, lakehouse: Lakehouse, name: str, erased_rows: str
) -> int:
    table = TABLES[name]
    lakehouse.attach_table(con, table)
    removed = con.execute(f"select count(*) from {name} where {erased_rows}").fetchall()[0][0]
    if removed:
        with lakehouse.staging() as folder:
            staged = folder / f"{name}.parquet"
            con.sql(f"select * from {name} where not ({erased_rows})").to_parquet(
                str(staged), compression="zstd"
            )
            lakehouse.publish(table, staged)
    return removed


@dg.job(
    name="erase_customer",
    description="Right to erasure: remove one customer (config: email) from every zone and keep "
    "them out of later runs. Records an audit entry with a hash of the email, never the email.",
    tags={"stedi/privacy": "erasure"},
)
def erase_customer():
    remove_customer()
