"""The DuckDB engine: a connection to the process's in-memory database per step.

Each step's connection is a cursor of one in-memory database per process and settings (about 1 ms
instead of about 50 ms for a new database); its temporary views, tables, macros and variables are
its own. With a root on S3 the connection is a database of its own, with the s3fs filesystem
registered on it.

A table created `shared_over` views is kept in the process's database for the steps that follow,
and, given a folder (`kept_in`: the lakehouse's, on local disk), as Parquet files there for the
runs that follow (`shared_tables.py`): the consent relations of an unchanged customer_landing
are read where queried (a view of the file) instead of computed (about 2 s at scale 1000).
`keep_table` keeps a table for views it was not computed over (the landing identifiers of
landing as it is, from those of landing before and of its new files: `factory/version_checks.py`).
"""

import hashlib
import json
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import duckdb

from stedi_dagster.engines.engine import (
    BUCKET_COLUMN,
    Params,
    Part,
    RowCounts,
    Spread,
    SqlContext,
    counted_nulls,
    footer_nulls,
    footer_rows,
    spread_files,
)
from stedi_dagster.engines.file_facts import kept_facts
from stedi_dagster.engines.kept_files import Kept
from stedi_dagster.engines.parquet import file_columns, parquet_options
from stedi_dagster.engines.shared_tables import SharedTables, shared_name
from stedi_dagster.privacy.macros import erasure_macros, identity_macros
from stedi_dagster.sql import ident, literal, words

PARQUET_VIEW = "select * from read_parquet("  # how a view of Parquet files begins


class DuckDBEngine:
    """`Engine` on a DuckDB connection (`con`, for the DuckDB-only work: landing's reader,
    erasure, the SQL console)."""

    name = "duckdb"

    def __init__(
        self, con: duckdb.DuckDBPyConnection, shares: bool = False, kept_in: Path | None = None
    ):
        """`shares`: whether `con` is a cursor of the process's database, where tables created
        `shared_over` views are kept for the engines that follow; `kept_in`: the folder where
        they are also kept as Parquet files for the processes that follow."""
        self.con, self.shares = con, shares
        self.shared = SharedTables(con, kept_in)
        self.context = SqlContext({})
        self.prepared: set[str] = set()
        self.shown: dict[str, str] = {}  # a name created `shared_over` views -> its table's key
        self.views: dict[str, str] = {}  # the temporary views created, by name: their queries
        self.described: dict[tuple[str, str], dict[str, str]] = {}  # (view, query) -> columns
        # the data files' columns, by the files a view reads (see view_parquet)
        self.schemas: dict[tuple[str, ...], tuple[dict[str, str], bool] | None] = {}
        self.settings_key = ""  # what the engine's settings, key and erasure list hash to
        self.counts = RowCounts()
        self.facts: set[str] = set()  # the views `per_file` made
        self.tables: set[str] = set()  # the names `create_table` made temporary tables of

    def rows(self, sql: str, params: Params = None) -> list[tuple]:
        return self.con.execute(sql, params or []).fetchall()

    def scalar(self, sql: str, params: Params = None) -> Any:
        return self.rows(sql, params)[0][0]

    def count(self, name: str) -> int:
        query = f"select count(*) from {ident(name)}"
        key = self._shared_key("", query, [name]) if name in self.views else None
        if key is None:  # over a temporary table, whose rows no definition states
            return self.counts.of(name, lambda: self.scalar(query))
        files = self.counts.data_files(name)

        def count() -> int:
            return self.scalar(query) if files is None else footer_rows(self.con, files)

        # a view over data files (which a Delta table never writes again): counted once per
        # definition, whichever name it had then and however often it was created again
        return self.counts.of(key, count, kept=True)

    def null_counts(self, name: str, columns: Sequence[str]) -> dict[str, int]:
        files = self.counts.data_files(name)
        found = footer_nulls(self.con, files, columns) if files else None
        return found if found is not None else counted_nulls(self, name, columns)

    def per_file(self, name: str, table: str, query: Callable[[str], str]) -> None:
        """A view `name` of the facts files, read where queried: most queries seek a few
        persons in them (a withdrawal at x1000 reads about 20 facts: copying each into a table
        took 0.05-0.1 s)."""
        files, kept_in = self.counts.data_files(table), self.shared.kept_in
        facts = kept_facts(self.con, kept_in, query, files) if files and kept_in else None
        if facts is None:  # its files unknown or remote, or nothing kept: computed whole
            self.create_table(f"{name}_computed", query(f"select * from {ident(table)}"))
            sql = f"select * from {ident(name + '_computed')}"
        else:
            listed = ", ".join(literal(str(path)) for path in facts)
            sql = f"select * from read_parquet([{listed}])"
        self.create_view(name, sql)
        self.facts.add(name)

    def create_view(self, name: str, sql: str, rows_of: str | None = None) -> None:
        self._view(name, sql, rows_of=rows_of)

    def _view(
        self, name: str, sql: str, rows_of: str | None = None, files: Sequence[str] | None = None
    ) -> None:
        """A view (see `create_view`), or one over these data `files` (`view_parquet`)."""
        if self.views.get(name) == sql:  # DuckDB binds a view again (its files' footers read)
            return
        self.counts.creating(name, files=files, rows_of=rows_of)
        if name in self.tables:  # a table the engine made of the name (see `_as_table`)
            self.tables.discard(name)
            self.con.execute(f"drop table if exists {ident(name)}")
        self.con.execute(f"create or replace temp view {ident(name)} as {sql}")
        self.views[name] = sql

    def create_table(
        self, name: str, sql: str, shared_over: Sequence[str] = (), kept: bool = True
    ) -> None:
        key = self._shared_key(name, sql, shared_over) if shared_over and self.shares else None
        if key is None:  # computed here (it reads a temporary table, or facts per data file)
            self._as_table(name)
            self.con.execute(f"create or replace temp table {ident(name)} as {sql}")
            return
        self.counts.creating(name)
        shared = self.shared.table(name, key, sql, kept=kept)
        self.create_view(name, f"select * from {ident(shared)}")
        self.shown[name] = key

    def _as_table(self, name: str) -> None:
        """Name `name` about to be made a temporary table: a view of it that the engine made
        (a shared table shown, e.g. a relation computed whole before its narrowed rows) dropped,
        as DuckDB replaces no view by a table, nor a table by a view (`_view` drops the table)."""
        self.counts.creating(name)
        if self.views.pop(name, None) is not None:
            self.con.execute(f"drop view if exists {ident(name)}")
        self.tables.add(name)

    def kept_table(self, name: str, sql: str, shared_over: Sequence[str]) -> str | None:
        key = self._shared_key(name, sql, shared_over) if self.shares else None
        if key is None:
            return None
        if not self.shared.held(name, key):
            return None
        self.create_table(name, sql, shared_over)
        return shared_name(name, key)

    def keep_table(
        self,
        name: str,
        sql: str,
        shared_over: Sequence[str],
        computed_as: str | None = None,
        part: Part | None = None,
        in_order: bool = False,
    ) -> None:
        """`Engine.keep_table`; `in_order`: `computed_as` gives the rows in the order of a kept
        file (it filters one): kept as they come, not loaded and sorted again (an erasure's)."""
        key = self._shared_key(name, sql, shared_over) if self.shares else None
        if key is None:
            return
        if computed_as is not None:
            self.shared.table(name, key, computed_as, part=part, in_order=in_order)
            return
        shown = self.shown[name]  # the same rows: its kept file linked, not written again
        same = f"select * from {ident(shared_name(name, shown))}"
        self.shared.table(name, key, same, same_as=self.shared.kept_file(name, shown))

    def kept_in_files(self, name: str) -> Kept | None:
        """The files that keep the shared table the view `name` shows (created `shared_over`
        views, or kept), if it is kept in files."""
        key = self.shown.get(name)
        return self.shared.found(name, key) if key is not None else None

    def _shared_key(self, name: str, sql: str, views: Sequence[str]) -> str | None:
        """What a query over these views computes (as table `name`), as a hash: of the query, of
        the definitions of these views and of every view it reads, and of those of the views
        they read, down to their data files (which a Delta table never writes again), and of
        the engine's settings. None when the query or a view reads a temporary table, whose rows
        no definition states, or a view of facts per data file (a table kept over them, the
        training pairs' curated_owners, costs more to keep than to compute). (Not of the view
        `name` of an earlier such table, which its SQL names in its opening comment.)"""
        defined = {view: sql for view, sql in self.views.items() if view != name}
        tables = {t for (t,) in self.rows("select table_name from duckdb_tables() where temporary")}
        tables -= {name}
        closure: dict[str, str] = {}
        todo = [*views, *(words(sql) & set(defined))]
        while todo:
            view = todo.pop()
            if view in closure or view not in defined:
                continue
            closure[view] = defined[view]
            todo += sorted((words(defined[view]) & set(defined)) - set(closure))
        read = set().union(*(words(text) for text in [sql, *closure.values()]))
        if read & (tables | self.facts - {name}):
            return None
        stated = json.dumps([sql, sorted(closure.items()), self.settings_key])
        return hashlib.sha256(stated.encode()).hexdigest()

    def view_parquet(self, name: str, paths: Sequence[str], filename: bool = False) -> None:
        files = tuple(str(p) for p in paths)
        if files not in self.schemas:  # (files do not change during a step)
            self.schemas[files] = file_columns(self.con, files)
        schema = self.schemas[files]
        option = "" if schema is not None and schema[1] else ", union_by_name = true"
        option += ", filename = true" if filename else ""
        listed = "[" + ", ".join(map(literal, files)) + "]"
        self._view(name, f"{PARQUET_VIEW}{listed}{option})", files=files)

    def fill_table(self, name: str, columns: dict[str, str], rows: Sequence[Sequence]) -> None:
        declared = ", ".join(f"{ident(c)} {t}" for c, t in columns.items())
        self._as_table(name)
        self.con.execute(f"create or replace temp table {ident(name)} ({declared})")
        if rows:  # one insert of a list per column (executemany inserts row by row, slowly)
            lists = [list(column) for column in zip(*rows, strict=True)]
            unnested = ", ".join(f"unnest(?::{t}[])" for t in columns.values())
            self.con.execute(f"insert into {ident(name)} select {unnested}", lists)

    def describe(self, name: str) -> dict[str, str]:
        view = self.views.get(name, "")  # of Parquet files, which are never written again:
        files = view.startswith(PARQUET_VIEW)  # its columns known once read
        if files and (name, view) in self.described:
            return self.described[name, view]
        columns = {c: t for c, t, *_ in self.rows(f"describe {ident(name)}")}
        if files:
            self.described[name, view] = columns
        return columns

    def write_parquet(
        self,
        sql: str,
        path: Path,
        spread: Spread | None = None,
        row_group_rows: int | None = None,
    ) -> list[Path]:
        if spread is None or spread.buckets <= 1:
            options = parquet_options(row_group_rows)
            self.con.execute(f"copy ({sql}) to {literal(str(path))} {options}")
            return [path]
        out, key = path.with_name(f"{path.stem}-buckets"), ident(spread.column)
        self.con.execute(
            f"copy (select *, hash({key}) % {spread.buckets} as {BUCKET_COLUMN} from ({sql})) "
            f"to {literal(str(out))} {parquet_options(row_group_rows, BUCKET_COLUMN)}"
        )
        return spread_files(out, path)

    def close(self) -> None:
        self.con.close()

    # --- what the project's SQL uses besides tables ----------------------------------------

    def prepare(self, context: SqlContext) -> None:
        """The settings as variables, the pseudonym key's pads, and the privacy macros with the
        erasure list (`privacy/macros.py`)."""
        self.context = context
        self.counts.forget()
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
        context = self.context
        self.settings_key = hashlib.sha256(
            json.dumps(
                [sorted(context.variables.items()), context.hmac_pads is not None, list(erased)]
            ).encode()
            + b"".join(context.hmac_pads or ())
        ).hexdigest()
        for statement in erasure_macros(kind for kind, _ in erased):
            self.con.execute(statement)


def duckdb_engine(
    context: SqlContext,
    memory_limit: str | None = None,
    threads: int | None = None,
    filesystem: Any = None,
    kept_in: Path | None = None,
) -> DuckDBEngine:
    """A prepared engine: a cursor of the process's database, or with a `filesystem` (s3fs) a
    database of its own with that filesystem registered; `kept_in`: where tables created
    `shared_over` views are kept for later processes (see `DuckDBEngine`)."""
    config: dict[str, str | int] = {}
    if memory_limit:
        config["memory_limit"] = memory_limit
    if threads:
        config["threads"] = threads
    if filesystem is not None:
        con = _caching_footers(duckdb.connect(":memory:", config=config))
        con.register_filesystem(filesystem)
    else:
        con = _database(tuple(sorted(config.items()))).cursor()
    shares = filesystem is None
    engine = DuckDBEngine(con, shares, kept_in if shares else None)
    try:
        engine.prepare(context)
    except BaseException:
        con.close()
        raise
    return engine


@cache
def _database(config: tuple) -> duckdb.DuckDBPyConnection:
    """The process's in-memory DuckDB database for these settings."""
    return _caching_footers(duckdb.connect(":memory:", config=dict(config)))


def _caching_footers(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """`con`, its database keeping the Parquet footers it read (checked against each file's
    modification time): a table's data files are listed by many views and queries of a step,
    and of the steps after it in the process (at scale 1000 a table has 100 to 300 data files,
    whose footers every view reading them by name, and every count, read again)."""
    con.execute("set global parquet_metadata_cache = true")
    return con
