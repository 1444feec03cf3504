"""One sensor per landing dataset: when the files under its landing folder change (a file added,
replaced or removed, on local disk or S3, a landing file or not: an unrecognized one is reported by
the run), request a materialization of the dataset's landing table. Trusted and
curated tables follow through their automation conditions (see `stedi_dagster.factory`).

A sensor's first tick (no cursor yet, as when `dagster dev` starts) requests nothing when the
lakehouse already holds every landing file at its current version and no other: it only records
the folder's state, so opening the UI on an up-to-date lakehouse starts no run."""

import hashlib
import json

import dagster as dg

from stedi_dagster.defs.landing.checks import landing_checks
from stedi_dagster.defs.schema_changes import column_schema_change
from stedi_dagster.errors import LakehouseError
from stedi_dagster.lakehouse import Lakehouse
from stedi_dagster.lakehouse.storage import file_name
from stedi_dagster.tables import LANDING_DATASETS, landing_table, quarantine_table

SENSOR_INTERVAL_SECONDS = 30


def fingerprint(versions: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(versions, sort_keys=True).encode()).hexdigest()


def landing_sensor(dataset: str) -> dg.SensorDefinition:
    table = landing_table(dataset)
    assets = [table.key, quarantine_table(dataset).key]
    check_keys = [c.key for c in landing_checks(dataset)] + [
        column_schema_change(t) for t in (table, quarantine_table(dataset))
    ]

    @dg.sensor(
        name=f"{dataset}_landing_files",
        description=f"Materializes {table.name} (reading only new and changed files) when "
        f"any file under {dataset}/landing/ changes.",
        asset_selection=assets,
        minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def _sensor(context: dg.SensorEvaluationContext, lakehouse: Lakehouse):
        try:
            versions = lakehouse.landing.listing(dataset)
        except LakehouseError as e:
            return dg.SkipReason(str(e))
        if not versions:
            folder = lakehouse.landing.folder(dataset)
            return dg.SkipReason(f"no landing files for {dataset}: {folder} holds no file")
        current = fingerprint(versions)
        if context.cursor == current:
            return dg.SkipReason(f"no change in {len(versions)} files under {dataset}/landing")
        first_tick = context.cursor is None
        context.update_cursor(current)
        landing, _ = lakehouse.landing.split(dataset, versions)
        held = lakehouse.ingested.read(dataset)
        names = {file_name(u): v for u, v in landing.items()}
        new = [n for n, v in names.items() if getattr((held or {}).get(n), "version", None) != v]
        if first_tick and held is not None and not new and set(held) == set(names):
            return dg.SkipReason(
                f"the lakehouse holds all {len(names)} {dataset} landing files at their current "
                "versions: nothing to ingest"
            )
        return dg.RunRequest(
            run_key=f"{table.name}-{current[:16]}",
            asset_selection=assets,
            asset_check_keys=check_keys,
            tags={"stedi/landing_files": str(len(versions)), "stedi/new_files": str(len(new))},
        )

    return _sensor


customer_landing_files, accelerometer_landing_files, step_trainer_landing_files = (
    landing_sensor(dataset) for dataset in LANDING_DATASETS
)

automation = dg.AutomationConditionSensorDefinition(
    "stedi_automation",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Materializes trusted and curated tables once their inputs are newer and every "
    "blocking check upstream has passed.",
)
