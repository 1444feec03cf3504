"""The table factory: what the Dagster definitions in `defs/` are built from. `table_asset` makes
one table's asset (write, audit, publish); `drafts` stages its new version (built in full, added
to, or computed again per key, with `increments` and `reuse`); `checks` is the check type and the
checks every table carries; `source_code` links each asset page to the code that computes it."""
