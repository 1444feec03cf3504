"""What the steps and checks ask of an engine, as named operations.

Every query is the project's SQL (DuckDB's dialect, the one definition of every transform and
check); an engine that speaks another dialect translates it. Tables and views an engine creates are
temporary and private to it, and are named after the tables they stand for.
"""

import hashlib
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from stedi_dagster.sql import ident

Params = Sequence[Any] | Mapping[str, Any] | None

# The column a partitioned write puts each row's file number in (never a table's column).
BUCKET_COLUMN = "stedi_bucket"


@dataclass(frozen=True)
class Spread:
    """Rows spread over `buckets` files by the hash of their `column`: the rows of one key stay
    together, so that computing a key's rows again writes one such file again, not the table."""

    column: str
    buckets: int


def footer_rows(con: Any, paths: Sequence[str]) -> int:
    """The rows of Parquet files from their footers (read on a DuckDB connection `con`, whose
    database keeps them: a count over 318 data files at x1000 took 4 ms instead of 20 ms)."""
    sql = "select coalesce(sum(num_rows), 0) from parquet_file_metadata(?)"
    return con.execute(sql, [list(paths)]).fetchall()[0][0]


def footer_nulls(con: Any, paths: Sequence[str], columns: Sequence[str]) -> dict[str, int] | None:
    """The nulls of each column of Parquet files from the statistics in their footers (read on a
    DuckDB connection `con`), or None when they cannot say: a file without the column (a view
    reads it as null there) or a row group whose statistics do not count its nulls. (At x1000,
    accelerometer_landing's 138 data files: 0.03 s instead of a scan of 0.4 s.)"""
    found = con.execute(
        "select path_in_schema, count(distinct file_name), "
        "count(*) filter (where stats_null_count is null), coalesce(sum(stats_null_count), 0) "
        "from parquet_metadata(?) where path_in_schema in (select unnest(?)) group by 1",
        [list(paths), list(columns)],
    ).fetchall()
    stats = {column: (files, unknown, nulls) for column, files, unknown, nulls in found}
    files = len(set(paths))
    if any(c not in stats or stats[c][0] != files or stats[c][1] for c in columns):
        return None
    return {c: int(stats[c][2]) for c in columns}


def counted_nulls(engine: "Engine", name: str, columns: Sequence[str]) -> dict[str, int]:
    """The nulls of each column of a table or view, counted by a query."""
    counts = engine.rows(
        "select "
        + ", ".join(f"count(*) filter (where {ident(c)} is null)" for c in columns)
        + f" from {ident(name)}"
    )[0]
    return dict(zip(columns, counts, strict=True))


def spread_files(out: Path, path: Path) -> list[Path]:
    """The files of a write partitioned by BUCKET_COLUMN into folder `out`, moved out of its
    `stedi_bucket=<n>` folders (which readers would take for a column) to `<stem>-<i>.parquet`
    beside `path`."""
    files = [
        part.rename(path.parent / f"{path.stem}-{i}.parquet")
        for i, part in enumerate(sorted(out.rglob("*.parquet")))
    ]
    shutil.rmtree(out)
    return files


class RowCounts:
    """The rows an engine counted per table or view, forgotten whenever one it created is
    created again (another may read it): a step's checks and metadata ask for the same counts.
    A count `kept` is of a key that states the rows (a view's definition down to its data
    files, and the settings): forgotten only with the settings. It also knows which views are
    over data files, or have the rows of one (a projection), whose footers give their count."""

    def __init__(self) -> None:
        self.counted: dict[str, int] = {}
        self.kept: dict[str, int] = {}
        self.named: set[str] = set()
        self.files: dict[str, list[str]] = {}  # a view over data files -> those files
        self.rows_of: dict[str, str] = {}  # a view -> the view whose rows it has

    def of(self, name: str, count: Callable[[], int], kept: bool = False) -> int:
        counted = self.kept if kept else self.counted
        if name not in counted:
            counted[name] = count()
        return counted[name]

    def creating(
        self, name: str, files: Sequence[str] | None = None, rows_of: str | None = None
    ) -> None:
        """A table or view `name` is created (over these data `files`, or with the rows of the
        view `rows_of`)."""
        if name in self.named:
            self.counted.clear()
        self.named.add(name)
        self.files.pop(name, None)
        self.rows_of.pop(name, None)
        if files is not None:
            self.files[name] = [str(f) for f in files]
        if rows_of is not None:
            self.rows_of[name] = rows_of

    def data_files(self, name: str) -> list[str] | None:
        """The data files whose rows the view `name` has, one for one, if it is known."""
        seen = set()
        while name in self.rows_of and name not in seen:
            seen.add(name)
            name = self.rows_of[name]
        return self.files.get(name)

    def forget(self) -> None:
        """Every count (what the queries compute changed: settings, macros)."""
        self.counted.clear()
        self.kept.clear()


@dataclass(frozen=True)
class Part:
    """How a table to keep differs from one kept before (`before`: the name of the relation
    holding it): `rows` (SQL) in place of its rows of the values of column `key` they hold, every
    value that changed among them; with no key, rows it gained. An engine may keep the table as
    that one's files and a small file of these rows (`kept_files.keep_part`) instead of writing
    it whole."""

    before: str
    rows: str
    key: str = ""


@dataclass(frozen=True)
class SqlContext:
    """What the project's SQL may use besides tables: the settings (`getvariable('name')`), the
    pseudonym key (`pseudonym(value)`: HMAC-SHA256, computed from the key's pads) and the erasure
    list (`erased(kind, value)`, as (kind, sha256) pairs)."""

    variables: dict[str, str]
    pseudonym_key: bytes | None = None
    erased: list[tuple[str, str]] = field(default_factory=list)

    @property
    def hmac_pads(self) -> tuple[bytes, bytes] | None:
        """HMAC-SHA256's inner and outer key pads, from which SQL computes the same HMAC."""
        key = self.pseudonym_key
        if key is None:
            return None
        block = (hashlib.sha256(key).digest() if len(key) > 64 else key).ljust(64, b"\0")
        return bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)


class Engine(Protocol):
    name: str
    # What has been prepared on the engine for the step's checks (e.g. the consent relations,
    # `privacy/consent.py`), so that each is created once per engine.
    prepared: set[str]

    def rows(self, sql: str, params: Params = None) -> list[tuple]:
        """A query's rows."""
        ...

    def scalar(self, sql: str, params: Params = None) -> Any:
        """The first column of a query's first row."""
        ...

    def count(self, name: str) -> int:
        """The rows of a table or view, counted once while the engine's views, tables and
        settings stay as they are (a step's checks and metadata ask for the same counts); a view
        over local data files (or with the rows of one) from their footers."""
        ...

    def null_counts(self, name: str, columns: Sequence[str]) -> dict[str, int]:
        """The nulls of each of these columns of a table or view; for a view over local data
        files (or with the rows of one, its columns by name) from their footers' statistics
        when they count them (`footer_nulls`)."""
        ...

    def per_file(self, name: str, table: str, query: Callable[[str], str]) -> None:
        """A relation `name` (a table, or a view of files kept) holding what `query` (given the
        SQL of some rows of the view `table`) computes over each data file of `table` alone,
        all together: an engine may keep each file's result and compute it once
        (`file_facts.py`), or compute it over the whole view at once (the same rows when `query`
        aggregates per a key and its consumers sum)."""
        ...

    def create_view(self, name: str, sql: str, rows_of: str | None = None) -> None:
        """A view (replacing any of that name) over a query; `rows_of`: a view whose rows it
        has, one for one (it selects some of its columns), which it is counted as."""
        ...

    def create_table(
        self, name: str, sql: str, shared_over: Sequence[str] = (), kept: bool = True
    ) -> None:
        """A table (replacing any of that name) holding a query's result, computed once. With
        `shared_over` (the views the query reads; it must read no other view, setting or macro
        than the engine's), an engine may compute it once for every engine of the process
        whose views of those are the same and whose settings are (DuckDB keeps it in the
        process's database, for the steps of a run that follow, and, `kept`, for the
        processes that follow: see `keep_table`)."""
        ...

    def kept_table(self, name: str, sql: str, shared_over: Sequence[str]) -> str | None:
        """When the table `create_table(name, sql, shared_over)` would create over these views
        is kept (see `keep_table`), create it (a view of it) and return the name of the
        relation that holds it, which later queries may read under that name; else None, and
        nothing is created."""
        ...

    def keep_table(
        self,
        name: str,
        sql: str,
        shared_over: Sequence[str],
        computed_as: str | None = None,
        part: Part | None = None,
    ) -> None:
        """Keep for the engines that follow the table `create_table(name, sql, shared_over)`
        would create over these views, unless it is kept already: its rows computed by
        `computed_as` (a query of the same rows from tables at hand, e.g. a union of the table
        over fewer files and over the others; kept as `part` of the one kept before, if given,
        while that stays small), or (None) those of the table `name` as this engine created it
        last, `shared_over` other views; an engine that keeps no table does nothing."""
        ...

    def view_parquet(self, name: str, paths: Sequence[str], filename: bool = False) -> None:
        """A view over Parquet files, with a `filename` column (each row's file path) if asked.
        Columns are matched by name: the view has every column of any file, null in the rows of
        files without it (files written before a column was added)."""
        ...

    def fill_table(self, name: str, columns: dict[str, str], rows: Sequence[Sequence]) -> None:
        """A small table of these columns (name -> DuckDB type) holding `rows`."""
        ...

    def describe(self, name: str) -> dict[str, str]:
        """A table's or view's columns and their types, as DuckDB names them."""
        ...

    def write_parquet(
        self,
        sql: str,
        path: Path,
        spread: Spread | None = None,
        row_group_rows: int | None = None,
    ) -> list[Path]:
        """Stage a query's result as exactly one Parquet file (zstd) at `path`, or, `spread`,
        as Parquet files beside it (`<stem>-<i>.parquet`), each key's rows in one; the files
        written. `row_group_rows`: the rows of a row group (`Table.row_group_rows`; Spark sizes
        its row groups in bytes and leaves it)."""
        ...

    def close(self) -> None: ...
