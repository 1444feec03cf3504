"""Landing sensors (local folder and S3 prefix) and the automation that carries new landing data
into trusted and curated, never past a failed blocking check."""

from pathlib import Path

import dagster as dg
import pytest

from stedi_dagster.defs.landing.sensors import customer_landing_files
from stedi_dagster.lakehouse import Lakehouse
from stedi_dagster.tables import TABLES
from stedi_dagster_tests.conftest import materialize, write_jsonl
from stedi_dagster_tests.handmade import CUSTOMERS, customer, write_handmade


def tick(sensor: dg.SensorDefinition, lakehouse: Lakehouse, cursor: str | None):
    context = dg.build_sensor_context(cursor=cursor, resources={"lakehouse": lakehouse})
    result = sensor(context)
    return result, context.cursor


def assert_sensor_follows_the_files(lakehouse: Lakehouse, add_file) -> None:
    first, cursor = tick(customer_landing_files, lakehouse, None)
    assert isinstance(first, dg.RunRequest)
    assert first.asset_selection == [
        dg.AssetKey("customer_landing"),
        dg.AssetKey("customer_quarantine"),
    ]
    assert first.tags["stedi/new_files"] == "1"  # nothing was ingested yet

    same, same_cursor = tick(customer_landing_files, lakehouse, cursor)
    assert isinstance(same, dg.SkipReason) and same_cursor == cursor
    assert "no change" in same.skip_message

    add_file()
    new, new_cursor = tick(customer_landing_files, lakehouse, cursor)
    assert isinstance(new, dg.RunRequest)
    assert new.run_key != first.run_key and new_cursor != cursor
    assert new.tags["stedi/landing_files"] == "2"
    assert new.tags["stedi/new_files"] == "2"  # the lakehouse has not ingested either yet


def test_local_sensor_requests_a_run_for_new_files_only(tmp_path):
    landing = write_handmade(tmp_path / "landing")
    lakehouse = Lakehouse(landing_root=str(landing), lakehouse_root=str(tmp_path / "lh"))
    assert_sensor_follows_the_files(
        lakehouse,
        lambda: write_jsonl(
            landing / "customer" / "landing" / "customer-2.json", [customer("k", "S-K", research=5)]
        ),
    )


def test_first_tick_on_an_up_to_date_lakehouse_requests_nothing(definitions, tmp_path):
    """As when `dagster dev` starts on a lakehouse that holds every landing file: no run; a
    later change (a new file, a removed one) still requests one."""
    landing = write_handmade(tmp_path / "landing")
    lakehouse = Lakehouse(landing_root=str(landing), lakehouse_root=str(tmp_path / "lh"))
    (tmp_path / "landing" / "customer" / "landing" / "notes.csv").write_text("a,b\n")
    assert materialize(definitions, lakehouse).success
    first, cursor = tick(customer_landing_files, lakehouse, None)
    assert isinstance(first, dg.SkipReason), first
    assert "holds all 1 customer landing files" in first.skip_message
    assert cursor is not None
    added = landing / "customer" / "landing" / "customer-2.json"
    write_jsonl(added, [customer("k", "S-K", research=5)])
    new, new_cursor = tick(customer_landing_files, lakehouse, cursor)
    assert isinstance(new, dg.RunRequest) and new.tags["stedi/new_files"] == "1"
    added.unlink()  # back to what the lakehouse holds, but the cursor saw the new file
    again, _ = tick(customer_landing_files, lakehouse, new_cursor)
    assert isinstance(again, dg.RunRequest) and again.tags["stedi/new_files"] == "0"
    # a file the lakehouse holds is removed: its rows must leave, so the first tick asks too
    (landing / "customer" / "landing" / "customer-1.json").rename(added)
    moved, _ = tick(customer_landing_files, lakehouse, None)
    assert isinstance(moved, dg.RunRequest)


@pytest.mark.s3
def test_s3_sensor_requests_a_run_for_new_files_only(s3, s3_endpoint):
    s3.mkdir("stedi-sensor")
    s3.pipe("stedi-sensor/in/customer/landing/customer-1.json", b'{"email": "a@x.test"}\n')
    lakehouse = Lakehouse(
        landing_root="s3://stedi-sensor/in",
        lakehouse_root="s3://stedi-sensor/lh",
        s3_endpoint_url=s3_endpoint,
    )
    assert_sensor_follows_the_files(
        lakehouse,
        lambda: s3.pipe("stedi-sensor/in/customer/landing/customer-2.json", b'{"email": "b"}\n'),
    )


def test_sensor_skips_with_the_reason_when_there_are_no_files(tmp_path):
    lakehouse = Lakehouse(landing_root=str(tmp_path / "empty"), lakehouse_root=str(tmp_path))
    result, cursor = tick(customer_landing_files, lakehouse, None)
    assert isinstance(result, dg.SkipReason) and cursor is None
    assert "no landing files for customer" in result.skip_message


def test_sensors_and_automation_start_running(definitions):
    sensors = {s.name: s for s in definitions.sensors}
    assert set(sensors) == {
        "customer_landing_files",
        "accelerometer_landing_files",
        "step_trainer_landing_files",
        "stedi_automation",
    }
    assert all(s.default_status == dg.DefaultSensorStatus.RUNNING for s in sensors.values())


def requested(definitions, instance, cursor) -> tuple[set[str], object]:
    result = dg.evaluate_automation_conditions(defs=definitions, instance=instance, cursor=cursor)
    keys = {k.to_user_string() for k in definitions.resolve_asset_graph().get_all_asset_keys()}
    return {k for k in keys if result.get_num_requested(dg.AssetKey(k))}, result.cursor


@pytest.fixture
def landed(definitions, tmp_path):
    """The automation cursor after the handmade data's landing tables were materialized."""
    lakehouse = Lakehouse(
        landing_root=str(write_handmade(tmp_path / "landing")),
        lakehouse_root=str(tmp_path / "lh"),
    )
    instance = dg.DagsterInstance.ephemeral()
    before, cursor = requested(definitions, instance, None)
    assert before == set()  # nothing is there to build on yet
    result = dg.materialize(
        list(definitions.assets),
        resources={"lakehouse": lakehouse},
        instance=instance,
        selection=dg.AssetSelection.groups("landing"),
    )
    assert result.success
    return lakehouse, instance, cursor


def test_new_landing_data_flows_into_trusted(definitions, landed):
    _, instance, cursor = landed
    # the whole chain downstream of landing, in one tick: each table's blocking checks run
    # with it, so what builds on it waits for them within the same run
    assert requested(definitions, instance, cursor)[0] == {
        name for name, table in TABLES.items() if table.zone != "landing"
    }


def test_a_failed_blocking_check_holds_the_flow(definitions, landed):
    lakehouse, instance, cursor = landed
    # a landing file arrives after landing was published: all_lines_accounted now fails
    write_jsonl(
        Path(lakehouse.landing_root) / "customer" / "landing" / "customer-2.json", CUSTOMERS[:1]
    )
    key = dg.AssetCheckKey(dg.AssetKey("customer_landing"), "all_lines_accounted")
    checked = dg.materialize(
        list(definitions.assets),
        resources={"lakehouse": lakehouse},
        instance=instance,
        selection=dg.AssetSelection.checks(key),
        raise_on_error=False,
    )
    assert [e.passed for e in checked.get_asset_check_evaluations()] == [False]
    assert "customer_trusted" not in requested(definitions, instance, cursor)[0]


def test_a_landing_run_that_reads_nothing_new_starts_nothing_downstream(definitions, landed):
    """Automation follows the inputs' data versions (Delta versions): a landing run that commits
    nothing requests no rebuild downstream; one that commits new data requests the chain."""
    lakehouse, instance, cursor = landed
    assets = [*definitions.assets, *definitions.asset_checks]
    run = {"resources": {"lakehouse": lakehouse}, "instance": instance}
    assert dg.materialize(assets, **run).success  # every table, as the job does
    _, cursor = requested(definitions, instance, cursor)
    keys = [table.key for table in TABLES.values() if table.zone == "landing"]
    # with their checks, as the sensors request them
    landing = dg.AssetSelection.assets(*keys) | dg.AssetSelection.checks_for_assets(*keys)
    again = dg.materialize(assets, selection=landing, **run)  # nothing new to read
    assert again.success and again.get_asset_check_evaluations()
    assert requested(definitions, instance, cursor)[0] == set()
    write_jsonl(
        Path(lakehouse.landing_root) / "customer" / "landing" / "customer-2.json",
        [customer("k", "S-K", research=5)],
    )
    assert dg.materialize(assets, selection=landing, **run).success
    assert requested(definitions, instance, cursor)[0] == {
        name for name, table in TABLES.items() if table.zone != "landing"
    }
