"""Shared fixtures: the course data's location, handmade landing folders, and a helper that
materializes the code location's assets and checks through Dagster."""

import json
import os
from collections.abc import Iterable
from pathlib import Path

import dagster as dg
import pytest

from stedi_dagster.definitions import defs
from stedi_dagster.lakehouse import PROJECT_ROOT, Lakehouse

COURSE_DATA = Path(
    os.environ.get("STEDI_COURSE_DATA", PROJECT_ROOT.parent / "shared" / "udacity-starter")
)
COURSE_EXPECTATIONS = PROJECT_ROOT / "expectations" / "udacity-starter.json"


@pytest.fixture(scope="session")
def definitions() -> dg.Definitions:
    return defs()


@pytest.fixture(scope="session")
def course_data() -> Path:
    if not (COURSE_DATA / "customer" / "landing").is_dir():
        pytest.fail(
            f"course data not found at {COURSE_DATA}: put the course dataset at "
            "../shared/udacity-starter or set STEDI_COURSE_DATA"
        )
    return COURSE_DATA


def write_jsonl(path: Path, records: Iterable[dict | str]) -> Path:
    """Write records (dicts as JSON, strings as they are) one per line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


def write_landing(
    root: Path,
    customers: Iterable[dict],
    accelerometer: Iterable[dict],
    step_trainer: Iterable[dict],
) -> Path:
    write_jsonl(root / "customer" / "landing" / "customer-1.json", customers)
    write_jsonl(root / "accelerometer" / "landing" / "accelerometer-1.json", accelerometer)
    write_jsonl(root / "step_trainer" / "landing" / "step_trainer-1.json", step_trainer)
    return root


def materialize(
    definitions: dg.Definitions,
    lakehouse: Lakehouse,
    selection: dg.AssetSelection | None = None,
    assets: list | None = None,
) -> dg.ExecuteInProcessResult:
    """Run assets and their checks through Dagster, as the UI or CLI would."""
    return dg.materialize(
        assets if assets is not None else list(definitions.assets),
        resources={"lakehouse": lakehouse},
        selection=selection,
        raise_on_error=False,
    )


def row_counts(result: dg.ExecuteInProcessResult) -> dict[str, int]:
    return {
        e.materialization.asset_key.to_user_string(): e.materialization.metadata[
            "dagster/row_count"
        ].value
        for e in result.get_asset_materialization_events()
    }


def check_outcomes(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


def failed_steps(result: dg.ExecuteInProcessResult) -> dict[str, str]:
    return {
        e.step_key: e.step_failure_data.error.message
        for e in result.all_events
        if e.is_step_failure
    }
