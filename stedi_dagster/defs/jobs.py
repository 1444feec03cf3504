"""The jobs: materialize and check every table of every zone, incrementally (new and changed
landing files only), all at once in parallel processes, or reading every landing file again."""

import dagster as dg

from stedi_dagster.factory.step_run import FULL_REFRESH_TAG

LAKEHOUSE_JOB = "lakehouse"
FULL_REFRESH_JOB = "lakehouse_full_refresh"

lakehouse = dg.define_asset_job(
    LAKEHOUSE_JOB,
    selection=dg.AssetSelection.all(),
    description="Materialize and check every table of the landing, trusted and curated zones.",
)

lakehouse_parallel = dg.define_asset_job(
    "lakehouse_parallel",
    selection=dg.AssetSelection.all(),
    executor_def=dg.multiprocess_executor,
    description="The lakehouse job with every step in its own process, as many at once as the "
    "machine has CPUs (Dagster's multiprocess default): steps share no DuckDB database, so they "
    "never contend for a lock.",
)

lakehouse_full_refresh = dg.define_asset_job(
    FULL_REFRESH_JOB,
    selection=dg.AssetSelection.all(),
    tags={FULL_REFRESH_TAG: "true"},
    description="The lakehouse job, but every landing file is read again whatever was ingested "
    "before (after a change of the landing code or schema, or to rebuild from the files alone).",
)
