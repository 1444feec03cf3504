"""The DuckDB engine: a connection to the process's in-memory database per step.

Each step's connection is a cursor of one in-memory database per process and settings (about 1 ms
instead of about 50 ms for a new database); its temporary views, tables, macros and variables are
its own. With a root on S3 the connection is a database of its own, with the s3fs filesystem
registered on it.
"""

from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import duckdb

from stedi_dagster.engines.engine import (
    BUCKET_COLUMN,
    Params,
    Spread,
    SqlContext,
    spread_files,
)
from stedi_dagster.privacy.macros import erasure_macros, identity_macros
from stedi_dagster.sql import ident, literal

PARQUET = "(format parquet, compression zstd)"


class DuckDBEngine:
    """`Engine` on a DuckDB connection (`con`, for the DuckDB-only work: landing's reader,
    erasure, the SQL console)."""

    name = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        self.prepared: set[str] = set()

    def rows(self, sql: str, params: Params = None) -> list[tuple]:
        return self.con.execute(sql, params or []).fetchall()

    def scalar(self, sql: str, params: Params = None) -> Any:
        return self.rows(sql, params)[0][0]

    def create_view(self, name: str, sql: str) -> None:
        self.con.execute(f"create or replace temp view {ident(name)} as {sql}")

    def create_table(self, name: str, sql: str) -> None:
        self.con.execute(f"create or replace temp table {ident(name)} as {sql}")

    def view_parquet(self, name: str, paths: Sequence[str], filename: bool = False) -> None:
        listed = "[" + ", ".join(literal(str(p)) for p in paths) + "]"
        option = ", filename = true" if filename else ""
        read = f"read_parquet({listed}, union_by_name = true{option})"
        self.create_view(name, f"select * from {read}")

    def fill_table(self, name: str, columns: dict[str, str], rows: Sequence[Sequence]) -> None:
        declared = ", ".join(f"{ident(c)} {t}" for c, t in columns.items())
        self.con.execute(f"create or replace temp table {ident(name)} ({declared})")
        if rows:  # one insert of a list per column (executemany inserts row by row, slowly)
            lists = [list(column) for column in zip(*rows, strict=True)]
            unnested = ", ".join(f"unnest(?::{t}[])" for t in columns.values())
            self.con.execute(f"insert into {ident(name)} select {unnested}", lists)

    def describe(self, name: str) -> dict[str, str]:
        return {c: t for c, t, *_ in self.rows(f"describe {ident(name)}")}

    def write_parquet(self, sql: str, path: Path, spread: Spread | None = None) -> list[Path]:
        if spread is None or spread.buckets <= 1:
            self.con.execute(f"copy ({sql}) to {literal(str(path))} {PARQUET}")
            return [path]
        out, key = path.with_name(f"{path.stem}-buckets"), ident(spread.column)
        self.con.execute(
            f"copy (select *, hash({key}) % {spread.buckets} as {BUCKET_COLUMN} from ({sql})) "
            f"to {literal(str(out))} "
            f"(format parquet, compression zstd, partition_by ({BUCKET_COLUMN}))"
        )
        return spread_files(out, path)

    def close(self) -> None:
        self.con.close()

    # --- what the project's SQL uses besides tables ----------------------------------------

    def prepare(self, context: SqlContext) -> None:
        """The settings as variables, the pseudonym key's pads, and the privacy macros with the
        erasure list (`privacy/macros.py`)."""
        for name, value in context.variables.items():
            self.con.execute(f"set variable {name} = ?", [value])
        if context.hmac_pads is not None:
            self.con.execute("set variable hmac_inner = ?", [context.hmac_pads[0]])
            self.con.execute("set variable hmac_outer = ?", [context.hmac_pads[1]])
        for statement in identity_macros():
            self.con.execute(statement)
        self.set_erasure_list(context.erased)

    def set_erasure_list(self, erased: Sequence[tuple[str, str]]) -> None:
        """Table erased_keys (kind, sha256), and the macros that read it."""
        self.fill_table("erased_keys", {"kind": "VARCHAR", "sha256": "VARCHAR"}, erased)
        for statement in erasure_macros(kind for kind, _ in erased):
            self.con.execute(statement)


def duckdb_engine(
    context: SqlContext,
    memory_limit: str | None = None,
    threads: int | None = None,
    filesystem: Any = None,
) -> DuckDBEngine:
    """A prepared engine: a cursor of the process's database, or with a `filesystem` (s3fs) a
    database of its own with that filesystem registered."""
    config: dict[str, str | int] = {}
    if memory_limit:
        config["memory_limit"] = memory_limit
    if threads:
        config["threads"] = threads
    if filesystem is not None:
        con = duckdb.connect(":memory:", config=config)
        con.register_filesystem(filesystem)
    else:
        con = _database(tuple(sorted(config.items()))).cursor()
    engine = DuckDBEngine(con)
    try:
        engine.prepare(context)
    except BaseException:
        con.close()
        raise
    return engine


@cache
def _database(config: tuple) -> duckdb.DuckDBPyConnection:
    """The process's in-memory DuckDB database for these settings."""
    return duckdb.connect(":memory:", config=dict(config))
