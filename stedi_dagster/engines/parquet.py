"""How the DuckDB engine and the writers of data files write Parquet (COPY's options), and the
columns of the data files the engines read (from their footers, once per file)."""

import os
from collections.abc import Sequence

import duckdb

# zstd's level for data files: 1 writes a training pairs' data file (1.27 million rows at x1000)
# in 0.16 s instead of level 3's 0.21 s, 1 to 6% larger; a withdrawal writes a few such files
# again in every table it reaches.
ZSTD_LEVEL = 1


def parquet_options(
    row_group_rows: int | None = None, partition_by: str = "", compression: str = "zstd"
) -> str:
    """COPY's options for a table's data files: zstd at ZSTD_LEVEL (or `compression`), in row
    groups of `row_group_rows` rows (None: DuckDB's 122,880), one folder per value of
    `partition_by`, if given."""
    options = ["format parquet", f"compression {compression}"]
    if compression == "zstd":
        options.append(f"compression_level {ZSTD_LEVEL}")
    if row_group_rows:
        options.append(f"row_group_size {row_group_rows}")
    if partition_by:
        options.append(f"partition_by ({partition_by})")
    return f"({', '.join(options)})"


PARQUET = parquet_options()


# The columns (names and types, in order) of each local data file read in this process, by its
# path, modification time and size: a view over files of one schema is read by position, not
# with union_by_name, which merges every file's schema again each time a query binds the view
# (3.5 ms more per query over the 318 data files of a table at x1000).
_COLUMNS: dict[tuple[str, int, int], tuple[tuple[str, str], ...]] = {}
MAX_FILES_KNOWN = 200_000


def file_columns(
    con: duckdb.DuckDBPyConnection, paths: Sequence[str]
) -> tuple[dict[str, str], bool] | None:
    """The columns of local Parquet files (every one any file has, in the order first met, with
    its DuckDB type in the file that has it first), and whether the files all have the same
    ones, in the same order, of the same types (their footers read on `con` once per version of
    a file); None for remote files."""
    if any("://" in p for p in paths):
        return None
    try:
        keys = {p: (p, (st := os.stat(p)).st_mtime_ns, st.st_size) for p in paths}
    except OSError:  # gone: the query naming it says so
        return None
    unknown = [p for p, key in keys.items() if key not in _COLUMNS]
    if unknown and len(_COLUMNS) > MAX_FILES_KNOWN:  # a long-lived process (`dagster dev`)
        _COLUMNS.clear()
    if unknown:
        found = con.execute(
            "select file_name, list((name, duckdb_type) order by column_id) "
            "from parquet_schema(?) where column_id > 0 group by 1",
            [unknown],
        ).fetchall()
        for path, columns in found:
            _COLUMNS[keys[path]] = tuple(tuple(c) for c in columns)
    schemas = [_COLUMNS.get(key, ()) for key in keys.values()]
    columns: dict[str, str] = {}
    for schema in schemas:
        for name, duckdb_type in schema:
            columns.setdefault(name, duckdb_type)
    return columns, len(set(schemas)) <= 1
