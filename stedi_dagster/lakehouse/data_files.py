"""Data files of a table rewritten: without some rows (a key's rows computed again, an erased
customer's rows removed), or spread over files by key so that such a rewrite stays small."""

import os
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import duckdb

from stedi_dagster.engines.engine import spread_files
from stedi_dagster.engines.parquet import parquet_options
from stedi_dagster.lakehouse import scratch
from stedi_dagster.lakehouse.delta import parquet_rows
from stedi_dagster.lakehouse.storage import file_name
from stedi_dagster.sql import any_of, ident, literal
from stedi_dagster.tables import Table

# The rows of one data file of a table maintained per key (see `buckets`), and the most data files
# such a table is spread over: beyond MAX_BUCKETS * BUCKET_ROWS rows its files grow instead. Each
# data file costs every view and query over the table a footer to bind (at x1000, 318 files of
# accelerometer_trusted made a new file's run 0.3 s slower than at x100); a key's rows computed
# again rewrite one file, a 32nd of the table or less.
BUCKET_ROWS = 250_000
MAX_BUCKETS = 32


# A data file of fewer bytes than SMALL_BYTES is small: what a run appends, or the rows of the
# keys it computed again (a bucket holds 250,000 rows or more: 0.7 MB and more at x100). A commit
# that would leave more than MAX_SMALL_FILES of them in a table merges those of the version before
# into one (`merged`), so that however many runs add to a table, its data files stay about as
# many as its buckets. (Told by size, not rows: no footer read, 138 of them at x1000.)
SMALL_BYTES = 256 * 1024
MAX_SMALL_FILES = 8


@dataclass(frozen=True)
class Sizes:
    """How a table maintained per key departs from the usual data files (see `buckets`): up to
    `more` times as many, of a `finer`-th of the rows each."""

    more: int = 1
    finer: int = 1


USUAL = Sizes()  # most tables'


def buckets(rows: int, sizes: Sizes = USUAL) -> int:
    """How many data files a table maintained per key with about this many rows is spread over
    (`sizes`: as its `Keyed.files` says)."""
    per_file = max(1, BUCKET_ROWS // sizes.finer)
    return min(MAX_BUCKETS * sizes.more, -(-rows // per_file))


def without(
    files: Sequence[str],
    where: Sequence[str],
    folder: Path,
    table: Table,
    con: duckdb.DuckDBPyConnection | None = None,
) -> tuple[list[str], list[Path], int]:
    """The data files of `table` holding rows that any of the conditions `where` (SQL on their
    columns, run on `con` if they need what a connection prepared) is true of, each written
    again into `folder` without those rows: (those files, their new versions (none for a file
    left empty), the rows left out). Each condition is sought alone: a filter on one column
    skips the row groups its statistics and Bloom filters rule out, an `or` of two does not
    (the training pairs' two subject columns: 0.23 s against 0.02 s at x1000)."""
    if not files or not where:
        return [], [], 0
    listed = ", ".join(literal(f) for f in files)
    with nullcontext(con) if con is not None else scratch.cursor() as con:
        found = sorted(
            {
                file
                for condition in where
                for (file,) in con.execute(
                    f"select distinct filename from read_parquet([{listed}], filename = true, "
                    f"union_by_name = true) where {condition}"
                ).fetchall()
            }
        )
        found_rows = any_of(where)
        written = []
        for i, file in enumerate(found):
            path = folder / f"{table.name}-kept-{i}.parquet"
            con.execute(
                f"copy (select * from read_parquet({literal(file)}) "
                f"where not coalesce({found_rows}, false)) to {literal(str(path))} "
                f"{parquet_options(table.row_group_rows)}"
            )
            written.append(path)
    kept = [p for p in written if parquet_rows([p])]
    return found, kept, parquet_rows(found) - parquet_rows(kept)


def bucketed(
    path: Path,
    column: str,
    folder: Path,
    table: Table,
    sizes: Sizes = USUAL,
) -> list[Path]:
    """The rows of `table` in the Parquet file at `path` spread over files (as many as `buckets`
    says) by their key (`column`), keys taken in the order of their hashes: the rows of one key
    stay together, so that computing a key's rows again writes one such file again, not the
    table."""
    count = buckets(parquet_rows([path]), sizes)
    if count <= 1:
        return [path]
    out, key, file = folder / f"{path.stem}-buckets", ident(column), literal(str(path))
    with scratch.cursor() as con:  # keys spread evenly, in the order of their hashes
        con.execute(
            f"copy (select t.*, k.stedi_bucket from read_parquet({file}) t "
            f"join (select {key}, (row_number() over (order by hash({key}), {key}) - 1) "
            f"* {count} // count(*) over () as stedi_bucket "
            f"from (select distinct {key} from read_parquet({file}))) k "
            f"on t.{key} is not distinct from k.{key}) to {literal(str(out))} "
            f"{parquet_options(table.row_group_rows, 'stedi_bucket')}"
        )
    path.unlink()
    return spread_files(out, folder / path.name)


@dataclass(frozen=True)
class Merge:
    """Small data files of a table's version (`removed`: their URLs) written into one (`into`,
    staged), or nothing (no file)."""

    into: Path | None = None
    removed: tuple[str, ...] = ()

    @property
    def added(self) -> list[Path]:
        return [self.into] if self.into is not None else []

    @property
    def metadata(self) -> dict[str, int]:
        """What the materialization says of it: `data_files_merged`, when there are any."""
        return {"data_files_merged": len(self.removed)} if self.removed else {}

    @property
    def merged(self) -> dict[Path, list[str]]:
        """What the commit records (`DeltaTables.commit`): the new file, by the names of those
        merged into it."""
        return {self.into: [file_name(u) for u in self.removed]} if self.into else {}


def merged(held: dict[str, str], folder: Path, table: Table) -> Merge:
    """When more than MAX_SMALL_FILES of the data files `table`'s new version keeps (`held`:
    local path -> URL) are smaller than SMALL_BYTES, those merged into one file in `folder` (a
    column some of them lack read as null in their rows, as a reader of the table reads it);
    else nothing."""
    if len(held) <= MAX_SMALL_FILES:
        return Merge()
    small = sorted(file for file in held if os.path.getsize(file) < SMALL_BYTES)
    if len(small) <= MAX_SMALL_FILES:
        return Merge()
    path = folder / f"{table.name}-merged.parquet"
    listed = ", ".join(literal(f) for f in small)
    with scratch.cursor() as con:
        con.execute(
            f"copy (select * from read_parquet([{listed}], union_by_name = true)) "
            f"to {literal(str(path))} {parquet_options(table.row_group_rows)}"
        )
    return Merge(path, tuple(held[f] for f in small))
