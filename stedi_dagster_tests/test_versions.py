"""Trusted and curated tables are Delta tables: each materialization is a version recorded in its
metadata and as its data version; the training table of an earlier run is exported exactly after
later runs added data (`stedi export --run-id`); each version records the versions of the tables it
was computed from; `stedi history` lists the versions; a lakehouse
in the earlier one-file layout is named as such and `stedi migrate` adopts it."""

import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import pytest

from stedi_dagster import cli
from stedi_dagster.errors import StaleVersion
from stedi_dagster.lakehouse import Lakehouse, LakehouseError
from stedi_dagster.lakehouse.delta import RUN_ID
from stedi_dagster.lakehouse.store import empty_columns
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


def staged_rows(folder: Path, name: str, table, rows: int) -> Path:
    """A Parquet file of `rows` rows of the table's columns (typed nulls), to commit."""
    path = folder / f"{name}.parquet"
    columns = empty_columns(table)
    sql = f"copy (select {columns} from range({rows})) to '{path}' (format parquet)"
    duckdb.connect().execute(sql)
    return path


def at_once(lakehouse: Lakehouse, table, staged: list[Path]):
    """A function committing `staged[i]` as writer i, once all the writers are ready."""
    start = threading.Barrier(len(staged))

    def write(i: int) -> int:
        start.wait()
        return lakehouse.store.delta.commit(table, [staged[i]], f"run-{i}")

    return write


def test_writers_that_create_a_table_at_once_leave_one_writer_s_version(tmp_path):
    """Two runs building a table's first version at the same moment: the table holds one
    writer's rows, whole (delta-rs alone would rebase the loser's commit as a second CREATE
    TABLE beside the first: every row twice), and its versions are one writer's each."""
    table = TABLES["customer_trusted"]
    writers = 4
    for attempt in range(8):
        lakehouse = Lakehouse(
            landing_root=str(tmp_path), lakehouse_root=str(tmp_path / f"lakehouse-{attempt}")
        )
        folder = tmp_path / f"staged-{attempt}"
        folder.mkdir()
        staged = [staged_rows(folder, f"w{i}", table, i + 1) for i in range(writers)]
        with ThreadPoolExecutor(writers) as pool:
            versions = list(pool.map(at_once(lakehouse, table, staged), range(writers)))
        delta = lakehouse.store.delta.open(table)
        (rows,) = (
            duckdb.connect()
            .execute("select count(*) from read_parquet(?)", [delta.file_uris()])
            .fetchone()
        )
        assert len(delta.file_uris()) == 1, delta.file_uris()
        assert rows in range(1, writers + 1)
        assert sorted(versions) == list(range(writers))  # each committed a version of its own
        last = lakehouse.store.delta.last_commit(table)[1]
        assert last[RUN_ID] == f"run-{rows - 1}"  # the last writer's rows are the version


def test_an_addition_to_a_version_another_writer_overtook_is_refused(tmp_path):
    """A commit adding to version 0 after another writer committed version 1 is refused, naming
    the table and the writer, and leaves version 1 as it was; a replacing commit is made on top
    of it (the last writer's version wins, whole)."""
    table = TABLES["customer_trusted"]
    lakehouse = Lakehouse(landing_root=str(tmp_path), lakehouse_root=str(tmp_path / "lakehouse"))
    delta = lakehouse.store.delta
    assert delta.commit(table, [staged_rows(tmp_path, "first", table, 2)], "run-a") == 0
    assert (
        delta.commit(table, [staged_rows(tmp_path, "b", table, 3)], "run-b", replace=False, base=0)
        == 1
    )
    with pytest.raises(
        StaleVersion,
        match="customer_trusted: version 1 was committed by another "
        r"writer \(run run-b\).*computed on version 0",
    ):
        delta.commit(table, [staged_rows(tmp_path, "c", table, 5)], "run-c", replace=False, base=0)
    assert delta.version(table) == 1
    assert len(rows(delta.files(table))) == 5
    assert delta.commit(table, [staged_rows(tmp_path, "d", table, 7)], "run-d") == 2
    assert len(rows(delta.files(table))) == 7
