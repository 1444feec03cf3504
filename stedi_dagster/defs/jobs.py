"""The one job: materialize and check every table of every zone."""

import dagster as dg

LAKEHOUSE_JOB = "lakehouse"

lakehouse = dg.define_asset_job(
    LAKEHOUSE_JOB,
    selection=dg.AssetSelection.all(),
    description="Materialize and check every table of the landing, trusted and curated zones.",
)

lakehouse_parallel = dg.define_asset_job(
    "lakehouse_parallel",
    selection=dg.AssetSelection.all(),
    executor_def=dg.multiprocess_executor,
    description="The lakehouse job with every step in its own process, two at a time: steps share "
    "no DuckDB database, so they never contend for a lock.",
)
