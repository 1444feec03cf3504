"""A table's step without Dagster: `TableStep` runs a `TableSpec` (write, audit, publish, report)
given only the lakehouse and a plain `StepRun`, and reports Dagster's event objects."""

from pathlib import Path

import dagster as dg
import pytest

from stedi_dagster.defs.landing.checks import landing_checks
from stedi_dagster.defs.trusted.assets import TRUSTED_PERSONS
from stedi_dagster.defs.trusted.checks import trusted_checks
from stedi_dagster.factory.drafts import Draft, DraftFactory, file_draft
from stedi_dagster.factory.step_run import StepRun
from stedi_dagster.factory.table_spec import TableSpec
from stedi_dagster.factory.table_step import TableStep
from stedi_dagster.lakehouse import Lakehouse
from stedi_dagster.landing.pipeline import LandingDraft
from stedi_dagster.tables import TABLES
from stedi_dagster_tests.conftest import write_jsonl
from stedi_dagster_tests.handmade import EXPECTED_ROWS, reading, write_handmade


def landing_spec(dataset: str) -> TableSpec:
    return TableSpec(
        f"{dataset}_landing",
        description=f"The {dataset} landing JSON, typed.",
        inputs=(),
        checks=landing_checks(dataset),
        draft=lambda run, lakehouse, folder: LandingDraft(run, lakehouse, dataset, folder),
        also={f"{dataset}_quarantine": "The lines that could not be rows."},
    )


CUSTOMER_LANDING = landing_spec("customer")
CUSTOMER_TRUSTED = TableSpec(
    "customer_trusted",
    description="The customers who consented.",
    inputs=("customer_landing",),
    checks=trusted_checks("customer_trusted", reads=("customer_landing",)),
)


@pytest.fixture
def lakehouse(tmp_path) -> Lakehouse:
    return Lakehouse(
        landing_root=str(write_handmade(tmp_path / "landing")),
        lakehouse_root=str(tmp_path / "lakehouse"),
    )


def by_kind(events: list) -> dict[type, dict[str, object]]:
    """The events by type, each by its table (`<table>.<check>` for a check's)."""
    found: dict[type, dict[str, object]] = {}
    for e in events:
        name = e.asset_key.to_user_string()
        if isinstance(e, (dg.AssetCheckResult, dg.AssetCheckEvaluation)):
            name = f"{name}.{e.check_name}"
        found.setdefault(type(e), {})[name] = e
    return found


def test_a_step_writes_audits_publishes_and_reports_without_dagster(lakehouse):
    landing_key = TABLES["customer_landing"].key
    run = StepRun(run_id="plain-1", selected_tables=frozenset({landing_key}))
    landed = by_kind(list(TableStep(CUSTOMER_LANDING, lakehouse, run).events()))
    # the table selected is materialized; its sibling, written with it, is an event of its own
    assert set(landed[dg.MaterializeResult]) == {"customer_landing"}
    assert set(landed[dg.AssetMaterialization]) == {"customer_quarantine"}
    result = landed[dg.MaterializeResult]["customer_landing"]
    assert result.metadata["dagster/row_count"] == EXPECTED_ROWS["customer_landing"]
    assert result.data_version == dg.DataVersion("delta-0")
    checks = landed[dg.AssetCheckResult]
    assert len(checks) == len(CUSTOMER_LANDING.checks)
    assert all(c.passed for c in checks.values()), checks

    trusted = by_kind(list(TableStep(CUSTOMER_TRUSTED, lakehouse, StepRun("plain-1")).events()))
    metadata = trusted[dg.MaterializeResult]["customer_trusted"].metadata
    assert metadata["dagster/row_count"] == EXPECTED_ROWS["customer_trusted"]
    assert metadata["input_versions"].value == {"customer_landing": 0}
    assert all(c.passed for c in trusted[dg.AssetCheckResult].values())
    with lakehouse.connect("customer_trusted") as engine:
        assert engine.scalar("select count(*) from customer_trusted") == 4

    # run again with nothing new: the version is kept and reported with its check results
    again = by_kind(list(TableStep(CUSTOMER_TRUSTED, lakehouse, StepRun("plain-2")).events()))
    kept = again[dg.MaterializeResult]["customer_trusted"]
    assert kept.data_version == dg.DataVersion("delta-0")
    assert "run plain-1" in kept.metadata["kept"]
    assert set(again[dg.AssetCheckResult]) == set(trusted[dg.AssetCheckResult])


def test_a_failed_blocking_check_leaves_the_published_version(lakehouse):
    list(TableStep(CUSTOMER_LANDING, lakehouse, StepRun("plain-1")).events())
    list(TableStep(CUSTOMER_TRUSTED, lakehouse, StepRun("plain-1")).events())
    columns = ", ".join(f'"{c}"' for c in TABLES["customer_trusted"].columns)

    def leaky(engine, _, path: Path, where: str, spread) -> list[Path]:
        return engine.write_parquet(f"select {columns} from customer_landing", path, spread)

    spec = TableSpec(
        "customer_trusted",
        description="Every customer record, consent ignored (a bug).",
        inputs=("customer_landing",),
        checks=CUSTOMER_TRUSTED.checks,
        draft=file_draft("customer_trusted", leaky),
    )
    # only the consent check selected: every check still guards publication
    consent = dg.AssetCheckKey(TABLES["customer_trusted"].key, "all_consented")
    events = []
    step = TableStep(spec, lakehouse, StepRun("plain-2", selected_checks=frozenset({consent})))
    # the failure names the check and its counts
    failed = r"blocking check.*customer_trusted.all_consented \(non_consenting_rows [1-9]"
    with pytest.raises(dg.Failure, match=failed):
        for event in step.events():
            events.append(event)
    found = by_kind(events)
    assert found[dg.AssetCheckResult]["customer_trusted.all_consented"].passed is False
    assert "customer_trusted.schema" in found[dg.AssetCheckEvaluation]
    (observation,) = found[dg.AssetObservation].values()
    assert observation.metadata["publication"].value == "blocked"
    with lakehouse.connect("customer_trusted") as engine:
        assert engine.scalar("select count(*) from customer_trusted") == 4


def test_consent_on_new_rows_alone_still_stops_a_leak(lakehouse):
    """all_consented is evaluated on what a version adds (customer_landing unchanged): a step
    whose additions let a non-consenting customer's readings in is stopped, naming their rows."""
    columns = ", ".join(f'"{c}"' for c in TABLES["accelerometer_trusted"].columns)
    sql = TABLES["accelerometer_trusted"].sql()

    def write(engine, _, path: Path, where: str, spread) -> list[Path]:
        TRUSTED_PERSONS.create(engine)  # which the SQL reads
        rows = f" where {where}" if where else ""
        return engine.write_parquet(f"select {columns} from ({sql}){rows}", path, spread)

    def leak(engine, _, path: Path, where: str, spread) -> list[Path]:
        return engine.write_parquet(f"select {columns} from accelerometer_landing", path, spread)

    accelerometer = TableSpec(
        "accelerometer_trusted",
        description="Consenting customers' readings; its additions leak (a bug).",
        inputs=("accelerometer_landing", "customer_trusted"),
        checks=trusted_checks(
            "accelerometer_trusted",
            reads=("accelerometer_landing", "customer_landing"),
            linear=("accelerometer_landing",),
        ),
        draft=file_draft(
            "accelerometer_trusted", write, appends=("accelerometer_landing",), adder=leak
        ),
    )
    landing = landing_spec("accelerometer")
    for spec in (CUSTOMER_LANDING, landing, CUSTOMER_TRUSTED, accelerometer):
        list(TableStep(spec, lakehouse, StepRun("plain-1")).events())
    with lakehouse.connect("accelerometer_trusted") as engine:
        before = engine.scalar("select count(*) from accelerometer_trusted")

    folder = Path(lakehouse.landing_root) / "accelerometer" / "landing"
    write_jsonl(folder / "later.json", [reading("a", 700), reading("b", 700), reading("b", 701)])
    list(TableStep(landing, lakehouse, StepRun("plain-2")).events())
    events = []
    with pytest.raises(dg.Failure, match="accelerometer_trusted.all_consented"):
        for event in TableStep(accelerometer, lakehouse, StepRun("plain-2")).events():
            events.append(event)
    consent = by_kind(events)[dg.AssetCheckResult]["accelerometer_trusted.all_consented"]
    assert consent.passed is False
    assert consent.metadata["non_consenting_rows"].value == 2  # b's two new readings
    assert "3 new rows" in consent.metadata["evaluated_on"].value
    with lakehouse.connect("accelerometer_trusted") as engine:
        assert engine.scalar("select count(*) from accelerometer_trusted") == before


class Said:
    """A step's log, kept."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, msg: str) -> None:
        self.lines.append(msg)

    def warning(self, msg: str) -> None:
        self.lines.append(msg)


def overtaken(factory: DraftFactory, other: TableStep) -> DraftFactory:
    """The drafts of `factory`, the first of which, about to commit, is overtaken by the `other`
    step (another run's) committing its version first."""
    made: list[Draft] = []

    def draft(run: StepRun, lakehouse: Lakehouse, folder: Path) -> Draft:
        new = factory(run, lakehouse, folder)
        if not made:
            publish = new.publish

            def publish_second(*args, **kwargs):
                list(other.events())
                return publish(*args, **kwargs)

            new.publish = publish_second
        made.append(new)
        return new

    return draft


def test_a_step_another_run_overtook_plans_again_on_that_run_s_version(lakehouse):
    """Two runs add the same new readings at once: the one committing second computed its
    additions on the version the other has replaced since; it plans again on the other's
    version (which holds them: kept), instead of adding the readings a second time."""
    accelerometer = TableSpec(
        "accelerometer_trusted",
        description="Consenting customers' readings.",
        inputs=("accelerometer_landing", "customer_trusted"),
        appends=("accelerometer_landing",),
        relations=(TRUSTED_PERSONS,),
        checks=trusted_checks(
            "accelerometer_trusted",
            reads=("accelerometer_landing", "customer_landing"),
            linear=("accelerometer_landing",),
        ),
    )
    landing = landing_spec("accelerometer")
    for spec in (CUSTOMER_LANDING, landing, CUSTOMER_TRUSTED, accelerometer):
        list(TableStep(spec, lakehouse, StepRun("plain-1")).events())
    table = TABLES["accelerometer_trusted"]
    with lakehouse.connect("accelerometer_trusted") as engine:
        before = engine.scalar("select count(*) from accelerometer_trusted")
    folder = Path(lakehouse.landing_root) / "accelerometer" / "landing"
    write_jsonl(folder / "later.json", [reading("a", 700), reading("a", 701)])
    list(TableStep(landing, lakehouse, StepRun("plain-2")).events())

    other = TableStep(accelerometer, lakehouse, StepRun("other-run"))
    said = Said()
    second = TableStep(
        accelerometer,
        lakehouse,
        StepRun("plain-3", log=said),
        draft=overtaken(accelerometer.new_draft(), other),
    )
    found = by_kind(list(second.events()))
    with lakehouse.connect("accelerometer_trusted") as engine:
        assert engine.scalar("select count(*) from accelerometer_trusted") == before + 2
    assert lakehouse.store.delta.version(table) == 1  # the other run's, and no more
    (warned,) = [line for line in said.lines if "planning the step again" in line]
    assert "version 1 was committed by another writer (run other-ru)" in warned
    assert "computed on version 0" in warned
    kept = found[dg.MaterializeResult]["accelerometer_trusted"]
    assert "built by run other-ru" in kept.metadata["kept"]
    assert all(c.passed for c in found[dg.AssetCheckResult].values())
