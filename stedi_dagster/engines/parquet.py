"""How the DuckDB engine and the writers of data files write Parquet (COPY's options)."""

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
