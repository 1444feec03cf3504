"""How the DuckDB engine and the writers of data files write Parquet (COPY's options)."""


def parquet_options(
    row_group_rows: int | None = None, partition_by: str = "", compression: str = "zstd"
) -> str:
    """COPY's options for a table's data files: zstd (or `compression`), in row groups of
    `row_group_rows` rows (None: DuckDB's 122,880), one folder per value of `partition_by`, if
    given."""
    options = ["format parquet", f"compression {compression}"]
    if row_group_rows:
        options.append(f"row_group_size {row_group_rows}")
    if partition_by:
        options.append(f"partition_by ({partition_by})")
    return f"({', '.join(options)})"


PARQUET = parquet_options()
