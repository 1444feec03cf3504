"""The one job: materialize and check every table of every zone."""

import dagster as dg

LAKEHOUSE_JOB = "lakehouse"

lakehouse = dg.define_asset_job(
    LAKEHOUSE_JOB,
    selection=dg.AssetSelection.all(),
    description="Materialize and check every table of the landing, trusted and curated zones.",
)
