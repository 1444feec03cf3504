"""Landing: one landing dataset's new and changed JSON files become rows of its landing table and
lines of its quarantine table (Delta tables), with a record per file that accounts for every line.

`pipeline.py` runs the steps (plan from the files ingested, scan, read, classify, stage, account,
commit); the reading and classifying is a reader's (`duckdb_reader.py`, `spark_reader.py`), chosen
by the engine; `scan.py` counts bytes, `plan.py` decides what to read.
"""
