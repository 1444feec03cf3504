"""Trusted and curated tables are Delta tables: each materialization is a version recorded in its
metadata and as its data version; the training table of an earlier run is exported exactly after
later runs added data (`stedi export --run-id`); each version records the versions of the tables it
was computed from; `stedi history` lists the versions; a lakehouse
in the earlier one-file layout is named as such and `stedi migrate` adopts it."""

import shutil
from pathlib import Path

import duckdb
import pytest

from stedi_dagster import cli
from stedi_dagster.lakehouse import Lakehouse, LakehouseError
from stedi_dagster.tables import LANDING_DATASETS, TABLES, files_table
from stedi_dagster_tests.conftest import failed_steps, materialization, materialize, write_jsonl
from stedi_dagster_tests.handmade import reading, step, write_handmade
from stedi_dagster_tests.test_incremental import every_row

TRAINING = TABLES["machine_learning_curated"]


def rows(files: list[str] | str) -> list[tuple]:
    return (
        duckdb.connect().execute("select * from read_parquet(?) order by all", [files]).fetchall()
    )


@pytest.fixture
def env(monkeypatch, tmp_path) -> Lakehouse:
    """The handmade data, and the STEDI_* variables the CLI reads pointing at its lakehouse."""
    landing = write_handmade(tmp_path / "landing")
    monkeypatch.setenv("STEDI_LANDING_ROOT", str(landing))
    monkeypatch.setenv("STEDI_LAKEHOUSE_ROOT", str(tmp_path / "lakehouse"))
    return Lakehouse(landing_root=str(landing), lakehouse_root=str(tmp_path / "lakehouse"))


def test_an_earlier_run_s_training_table_is_exported_exactly_after_later_runs(
    definitions, env, tmp_path, capsys
):
    first = materialize(definitions, env)
    assert first.success
    meta = materialization(first, TRAINING.name)
    assert meta["delta_version"] == 0
    (event,) = [
        e.materialization
        for e in first.get_asset_materialization_events()
        if e.materialization.asset_key == TRAINING.key
    ]
    assert event.tags["dagster/data_version"] == "delta-0"
    then = rows(env.store.files(TRAINING))
    assert len(then) == 7

    # new readings of a consenting customer at a new instant, with its step-trainer reading
    landing = Path(env.landing_root)
    write_jsonl(landing / "accelerometer" / "landing" / "accelerometer-2.json", [reading("a", 900)])
    write_jsonl(landing / "step_trainer" / "landing" / "step_trainer-2.json", [step("S-A", 900)])
    second = materialize(definitions, env)
    assert second.success
    assert materialization(second, TRAINING.name)["delta_version"] == 1
    assert len(rows(env.store.files(TRAINING))) == 8

    out = tmp_path / "then.parquet"
    assert cli.main(["export", TRAINING.name, str(out), "--run-id", first.run_id[:8]]) == 0
    assert rows(str(out)) == then
    assert rows(env.store.files(TRAINING, version=0)) == then
    assert cli.main(["history", TRAINING.name]) == 0
    listed = capsys.readouterr().out
    assert first.run_id in listed and second.run_id in listed

    # each version records the versions of the inputs it was computed from (each rebuilt by the
    # second run: version 1), as its materialization's metadata says
    inputs = ("accelerometer_trusted", "customer_curated", "step_trainer_trusted")
    assert (
        materialization(second, TRAINING.name)["input_versions"]
        == {name: materialization(second, name)["delta_version"] for name in inputs}
        == dict.fromkeys(inputs, 1)
    )
    assert materialization(first, TRAINING.name)["input_versions"] == dict.fromkeys(inputs, 0)
    assert materialization(second, "accelerometer_trusted")["input_versions"] == {
        name: materialization(second, name)["delta_version"]
        for name in ("accelerometer_landing", "customer_trusted")
    }
    assert "from accelerometer_trusted v1, customer_curated v1, step_trainer_trusted v1" in listed

    assert cli.main(["export", TRAINING.name, str(out), "--version", "7"]) == 2
    assert cli.main(["export", "customers", str(out)]) == 2
    assert "no table customers; the tables are: customer_landing" in capsys.readouterr().err


def test_a_lakehouse_of_the_earlier_layout_is_named_and_migrated(definitions, env, capsys):
    assert materialize(definitions, env).success
    before = every_row(env)
    # the earlier layout: no Delta log; trusted and curated one <table>.parquet per folder, a
    # landing table's parts beside _schema.parquet, the landing files read in _bookmarks/
    root = Path(env.lakehouse_root)
    for table in [*TABLES.values(), *map(files_table, LANDING_DATASETS)]:
        folder = Path(env.store.table_folder(table))
        shutil.rmtree(folder / "_delta_log")
        if table.name.endswith("_files"):
            shutil.rmtree(folder)
            continue
        for n, data in enumerate(sorted(folder.glob("part-*.parquet"))):
            name = "_schema" if table.zone == "landing" and n == 0 else table.name
            data.rename(folder / f"{name}.parquet")
        if table.zone == "landing":
            (folder / "_schema.parquet").touch()
    (root / "_bookmarks").mkdir()
    (root / "_bookmarks" / "customer.json").write_text("{}")

    with pytest.raises(LakehouseError, match="earlier version of stedi-dagster.*stedi migrate"):
        env.store.files(TABLES["customer_trusted"])
    result = materialize(definitions, env)
    assert not result.success
    failures = failed_steps(result)
    assert failures and all("stedi migrate" in error for error in failures.values())
    # refused by the first steps, before they write
    assert set(failures) == {"customer_landing", "accelerometer_landing", "step_trainer_landing"}

    assert cli.main(["migrate"]) == 0
    out = capsys.readouterr().out
    assert "customer_trusted: now a Delta table" in out
    assert "customer_landing: removed; the next run reads every landing file again" in out
    assert not (root / "_bookmarks").exists()
    assert rows(env.store.files(TABLES["customer_trusted"])) == before["customer_trusted"]
    assert materialize(definitions, env).success
    assert every_row(env) == before
    assert env.store.delta.version(TABLES["customer_trusted"]) == 1
    assert cli.main(["migrate"]) == 0
    assert "nothing to migrate" in capsys.readouterr().out
