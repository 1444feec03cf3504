"""Checks guarding the landing zone: every JSON line landed, no unknown field."""

import duckdb

from stedi_dagster.checks import Check, Outcome, scalar, table_checks
from stedi_dagster.lakehouse import Lakehouse
from stedi_dagster.sql_file import read_sql
from stedi_dagster.tables import TABLES, Table


def json_lines(path: str, chunk_bytes: int = 1 << 24) -> int:
    """Non-blank lines of a newline-delimited JSON file, counted without parsing JSON."""
    lines, tail = 0, b""
    with open(path, "rb") as f:
        while chunk := f.read(chunk_bytes):
            *complete, tail = (tail + chunk).split(b"\n")
            lines += sum(1 for line in complete if line.strip())
    return lines + (1 if tail.strip() else 0)


# The field that ties a landing record to a person, and the erasure list kind it is matched as.
ERASURE_KEYS = {
    "customer": ("$.email", "email"),
    "accelerometer": ("$.user", "email"),
    "step_trainer": ("$.serialNumber", "serial"),
}


def all_rows_landed(table: Table) -> Check:
    erased_sql = read_sql(__file__, "erased_json_records")

    def probe(con: duckdb.DuckDBPyConnection, lakehouse: Lakehouse) -> Outcome:
        files = [lakehouse.landing.local_copy(f) for f in lakehouse.landing_files(table.dataset)]
        lines = sum(json_lines(f) for f in files)
        erased = scalar(con, erased_sql, [files, *ERASURE_KEYS[table.dataset]])
        rows = scalar(con, f"select count(*) from {table.name}")
        return rows + erased == lines, {
            "rows": rows,
            "erased_rows": erased,
            "json_lines": lines,
            "files": len(files),
        }

    return Check(
        table,
        "all_rows_landed",
        "One row per non-blank line of the landing JSON files, but for the lines of erased "
        "customers: no row dropped or invented.",
        probe,
    )


def no_unknown_fields(table: Table) -> Check:
    sql = read_sql(__file__, "unknown_json_fields")

    def probe(con: duckdb.DuckDBPyConnection, lakehouse: Lakehouse) -> Outcome:
        files = lakehouse.landing_files(table.dataset)
        local = [lakehouse.landing.local_copy(f) for f in files]
        found = con.execute(sql, [local, list(table.columns)]).fetchall()
        return not found, {
            "unknown_fields": {field: n for field, n in found},
            "known_fields": list(table.columns),
        }

    return Check(
        table,
        "no_unknown_fields",
        "Every JSON field is one the schema knows, so nothing in the files is silently dropped.",
        probe,
    )


def landing_checks(name: str) -> list[Check]:
    table = TABLES[name]
    return [
        *table_checks(table, null_keys_block=False),
        all_rows_landed(table),
        no_unknown_fields(table),
    ]
