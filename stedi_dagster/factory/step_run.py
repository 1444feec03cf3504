"""What a table's step knows of its Dagster run, as plain values (`StepRun`), so that the step
(`table_step.TableStep`) and its drafts run without a Dagster context."""

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import dagster as dg

# A run with this tag set to "true" rebuilds every table from the landing files alone: landing
# reads every file again, whatever was ingested before, and no step keeps its version.
FULL_REFRESH_TAG = "stedi/full_refresh"


class Log(Protocol):
    def info(self, msg: str) -> None: ...
    def warning(self, msg: str) -> None: ...


def no_materializations(key: dg.AssetKey, limit: int) -> list[tuple[str, Mapping]]:
    return []


@dataclass(frozen=True)
class StepRun:
    """A step's run: its id and tags, the tables and checks selected (None: all of the step's),
    where it logs, and `materializations(key, limit)`: a table's last materializations, newest
    first, as (run id, metadata), from which a profile is shown again."""

    run_id: str
    tags: Mapping[str, str] = field(default_factory=dict)
    selected_tables: frozenset[dg.AssetKey] | None = None
    selected_checks: frozenset[dg.AssetCheckKey] | None = None
    log: Log = logging.getLogger("stedi_dagster")
    materializations: Callable[[dg.AssetKey, int], list[tuple[str, Mapping]]] = no_materializations

    @classmethod
    def of(cls, context: dg.AssetExecutionContext) -> "StepRun":
        """The run of a Dagster step."""

        def materializations(key: dg.AssetKey, limit: int) -> list[tuple[str, Mapping]]:
            found = context.instance.fetch_materializations(key, limit=limit)
            return [(r.run_id, r.asset_materialization.metadata) for r in found.records]

        return cls(
            run_id=context.run.run_id,
            tags=dict(context.run.tags),
            selected_tables=frozenset(context.selected_asset_keys),
            selected_checks=frozenset(context.selected_asset_check_keys),
            log=context.log,
            materializations=materializations,
        )

    @property
    def full_refresh(self) -> bool:
        """Whether the run rebuilds every table from the landing files alone."""
        return self.tags.get(FULL_REFRESH_TAG, "").lower() == "true"

    def selects(self, key: dg.AssetKey) -> bool:
        return self.selected_tables is None or key in self.selected_tables

    def selects_check(self, key: dg.AssetCheckKey) -> bool:
        return self.selected_checks is None or key in self.selected_checks
