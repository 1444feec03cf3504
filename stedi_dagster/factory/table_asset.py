"""A table's Dagster asset (`table_asset`): the `TableSpec`'s tables as asset specs (lineage,
zone group, kinds, owner, automation, source links) with its checks, and a step body that runs
the plain `TableStep` (write, audit, publish, report) on the step's run and hands its events to
Dagster.

Selecting only the checks (e.g. "Execute checks" in the UI) evaluates them on the published table.
"""

from collections.abc import Iterator

import dagster as dg

from stedi_dagster.factory.source_code import code_references, linked_to_git
from stedi_dagster.factory.step_run import StepRun
from stedi_dagster.factory.table_spec import TableSpec
from stedi_dagster.factory.table_step import TableStep
from stedi_dagster.lakehouse import Lakehouse
from stedi_dagster.tables import TABLES

OWNER = "team:stedi-data"
# Trusted and curated tables follow their inputs' data versions (each a Delta version: a landing
# run that commits nothing leaves it as it was, and starts nothing downstream), with what builds on
# them in the same run, but never past a failed blocking check (eager alone would still run after
# one).
INPUTS_CHANGED = dg.AutomationCondition.any_deps_match(
    dg.AutomationCondition.data_version_changed() | dg.AutomationCondition.will_be_requested()
)
DOWNSTREAM_AUTOMATION = (
    dg.AutomationCondition.eager().replace("any_deps_updated", INPUTS_CHANGED)
    & dg.AutomationCondition.all_deps_blocking_checks_passed()
)


def table_asset(spec: TableSpec) -> dg.AssetsDefinition:
    """The asset of the spec's tables, its checks among its check specs."""
    references = code_references(spec.name, spec.code_files)
    draft = spec.new_draft()

    @dg.multi_asset(
        name=spec.name,
        specs=[
            dg.AssetSpec(
                TABLES[t].key,
                deps=[TABLES[i].key for i in spec.inputs],
                description=text,
                group_name=TABLES[t].zone,
                kinds=set(spec.kinds),
                owners=[OWNER],
                metadata={"dagster/code_references": references},
                tags={"zone": TABLES[t].zone, "dataset": TABLES[t].dataset},
                automation_condition=None if TABLES[t].zone == "landing" else DOWNSTREAM_AUTOMATION,
            )
            for t, text in spec.outputs.items()
        ],
        check_specs=[c.spec for c in spec.checks],
        can_subset=True,
    )
    def _asset(context: dg.AssetExecutionContext, lakehouse: Lakehouse) -> Iterator:
        step = TableStep(spec, lakehouse, StepRun.of(context), draft)
        for event in step.events():
            # a sibling table or a check that was not selected is reported as an event of its own
            if isinstance(event, (dg.AssetMaterialization, dg.AssetCheckEvaluation)):
                context.log_event(event)
            else:
                yield event

    return linked_to_git([_asset])[0]
