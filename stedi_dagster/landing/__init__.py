"""Landing: one landing dataset's new and changed JSON files become Parquet parts of its landing
table and quarantine table, with a bookmark that accounts for every line.

`pipeline.py` runs the steps (plan from the bookmark, scan, read, classify, stage, account,
publish); the reading and classifying is a reader's (`duckdb_reader.py`, `spark_reader.py`), chosen
by the engine; `scan.py` counts bytes, `plan.py` decides what to read.
"""
