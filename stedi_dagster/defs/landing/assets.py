"""Landing zone: a typed, faithful copy of each landing JSON dataset, one row per good JSON line,
and beside it the dataset's quarantine table of the lines that could not be rows.

Files are ingested incrementally (`stedi_dagster.landing`): a run reads only new or changed files;
a run tagged `stedi/full_refresh=true` (the `lakehouse_full_refresh` job, `stedi run
--full-refresh`) reads every file again. JSON is read with the explicit schema in
`stedi_dagster.tables`, never inferred.
"""

from pathlib import Path

import dagster as dg

from stedi_dagster.defs.landing.checks import landing_checks
from stedi_dagster.factory.step_run import StepRun
from stedi_dagster.factory.table_asset import table_asset
from stedi_dagster.factory.table_spec import TableSpec
from stedi_dagster.lakehouse import Lakehouse
from stedi_dagster.landing import pipeline
from stedi_dagster.landing.pipeline import LandingDraft
from stedi_dagster.tables import LANDING_DATASETS, landing_table, quarantine_table

# What computes the landing tables, linked from their asset pages: the landing package's modules
# and SQL files, the pipeline first (listed, not imported: Spark's reader needs the spark extra).
LANDING_CODE = Path(pipeline.__file__).parent
LANDING_SOURCES = sorted(
    (
        p
        for p in [*LANDING_CODE.glob("*.py"), *LANDING_CODE.glob("sql/*.sql")]
        if p.stem != "__init__"
    ),
    key=lambda p: (p.name != "pipeline.py", p.suffix, p.name),
)


def landing_asset(dataset: str) -> dg.AssetsDefinition:
    what = dataset.replace("_", " ")

    def draft(run: StepRun, lakehouse: Lakehouse, folder: Path) -> LandingDraft:
        return LandingDraft(run, lakehouse, dataset, folder)

    quarantine = quarantine_table(dataset).name
    return table_asset(
        TableSpec(
            landing_table(dataset).name,
            inputs=(),
            checks=landing_checks(dataset),
            description=f"One row per good line of the {what} landing JSON, typed; no line is "
            f"lost: the others are in {quarantine}.",
            draft=draft,
            sources=(__file__, *map(str, LANDING_SOURCES)),
            also={
                quarantine: f"The {what} landing lines that could not be rows (malformed JSON, a "
                "wrong type, a missing key field, a duplicate file), with file, line number and "
                "reason."
            },
        )
    )


customer_landing, accelerometer_landing, step_trainer_landing = (
    landing_asset(dataset) for dataset in LANDING_DATASETS
)
