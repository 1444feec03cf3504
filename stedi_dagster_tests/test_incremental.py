"""Incremental ingestion, like Glue job bookmarks but without Glue's re-run duplicates: a run reads
only new or changed landing files, re-running anything never duplicates a row, and a full refresh
(one job, one command) gives exactly what the incremental runs built."""

import os
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from stedi_dagster.cli import main as stedi
from stedi_dagster.lakehouse import Lakehouse
from stedi_dagster.landing.duckdb_reader import DuckDBReader
from stedi_dagster.tables import TABLES
from stedi_dagster_tests.conftest import (
    check_outcomes,
    every_row,
    failed_checks,
    materialization,
    materialize,
    table_files,
    write_jsonl,
)
from stedi_dagster_tests.handmade import (
    EXPECTED_ROWS,
    AsBuilt,
    reading,
    write_handmade,
)
from stedi_dagster_tests.test_bad_input import evaluation
from stedi_dagster_tests.test_erasure import erase

FULL_REFRESH = {"stedi/full_refresh": "true"}


@pytest.fixture(scope="module")
def built(definitions, tmp_path_factory) -> AsBuilt:
    return AsBuilt(definitions, tmp_path_factory.mktemp("incremental") / "handmade")


@pytest.fixture
def lakehouse(built) -> Lakehouse:
    return built.restore()


def accelerometer_folder(lakehouse: Lakehouse) -> Path:
    return Path(lakehouse.landing_root) / "accelerometer" / "landing"


def files_recorded(lakehouse: Lakehouse) -> list[str]:
    """The rows of the accelerometer's files table: one file name each."""
    with duckdb.connect() as con:
        rows = con.execute(
            "select file from read_parquet(?) order by all",
            [lakehouse.ingested.files("accelerometer")],
        ).fetchall()
    return [file for (file,) in rows]


def test_a_run_with_nothing_new_reads_no_file_and_changes_nothing(definitions, lakehouse):
    before = {name: table_files(lakehouse, t) for name, t in TABLES.items() if t.zone == "landing"}
    result = materialize(definitions, lakehouse)
    assert result.success
    landing = materialization(result, "accelerometer_landing")
    assert (landing["files_read"], landing["files_kept"], landing["dagster/row_count"]) == (
        0,
        1,
        12,
    )
    after = {name: table_files(lakehouse, t) for name, t in TABLES.items() if t.zone == "landing"}
    assert after == before  # no commit, no data file written


def test_a_run_with_nothing_new_reports_the_files_as_the_run_that_read_them(definitions, lakehouse):
    """It keeps the versions from the listing alone (the files at their versions are those the
    last commit holds) and reports their figures as recorded; a file at a new version under the
    same name is read again."""
    folder = accelerometer_folder(lakehouse)
    write_jsonl(folder / "accelerometer-2.json", [reading("a", 900 + i) for i in range(40)])
    write_jsonl(folder / "accelerometer-3.json", [reading("a", 1000)])
    (folder / "accelerometer-empty.json").write_text("")
    # a copy, read first (files are read by name): the original is the duplicate, 1 line of 54
    copy = folder / "accelerometer-3 (copy).json"
    copy.write_bytes((folder / "accelerometer-3.json").read_bytes())
    read = materialize(definitions, lakehouse)
    kept = materialize(definitions, lakehouse)
    figures = {
        "accelerometer_landing": ("source_files", "json_lines", "erased_lines"),
        "accelerometer_quarantine": ("duplicate_files", "empty_files"),
    }
    for table, names in figures.items():
        before, now = materialization(read, table), materialization(kept, table)
        assert {n: now[n] for n in names} == {n: before[n] for n in names}, table
    landing = materialization(kept, "accelerometer_landing")
    assert (landing["files_read"], landing["source_files"], landing["json_lines"]) == (0, 5, 54)
    quarantine = materialization(kept, "accelerometer_quarantine")
    assert quarantine["duplicate_files"] == ["accelerometer-3.json"]
    assert quarantine["empty_files"] == ["accelerometer-empty.json"]
    changed = folder / "accelerometer-2.json"
    mtime = changed.stat().st_mtime_ns + 10**9
    os.utime(changed, ns=(mtime, mtime))  # the same bytes at a new version
    again = materialization(materialize(definitions, lakehouse), "accelerometer_landing")
    assert (again["files_read"], again["files_kept"], again["dagster/row_count"]) == (1, 4, 53)


def test_a_hundred_new_files_are_the_only_ones_read(definitions, lakehouse):
    folder = accelerometer_folder(lakehouse)
    for i in range(100):
        write_jsonl(folder / f"accelerometer-new-{i:03d}.json", [reading("a", 10_000 + i)])
    result = materialize(definitions, lakehouse)
    assert result.success
    landing = materialization(result, "accelerometer_landing")
    assert (landing["files_read"], landing["files_kept"]) == (100, 1)
    assert landing["dagster/row_count"] == 112
    assert materialization(result, "accelerometer_trusted")["dagster/row_count"] == 106
    assert materialization(result, "customer_landing")["files_read"] == 0
    again = materialize(definitions, lakehouse)
    assert materialization(again, "accelerometer_landing")["files_read"] == 0
    assert materialization(again, "accelerometer_landing")["dagster/row_count"] == 112


@pytest.mark.slow  # several whole runs
def test_rerunning_and_refreshing_never_duplicates_a_row(definitions, lakehouse):
    write_jsonl(accelerometer_folder(lakehouse) / "accelerometer-2.json", [reading("a", 900)])
    assert materialize(definitions, lakehouse).success
    incremental = every_row(lakehouse)
    assert len(incremental["accelerometer_landing"]) == 13
    for _ in range(2):  # the same files processed again, by a re-run and by a full refresh
        assert materialize(definitions, lakehouse).success
        refresh = materialize(definitions, lakehouse, tags=FULL_REFRESH)
        assert refresh.success
        assert materialization(refresh, "accelerometer_landing")["files_read"] == 2
        assert every_row(lakehouse) == incremental
    assert failed_checks(refresh) == {"machine_learning_curated.cross_customer_pairs": "WARN"}


def test_a_changed_file_is_read_again_and_a_removed_one_leaves(definitions, lakehouse):
    original = every_row(lakehouse)
    first = lakehouse.ingested.committed("accelerometer")["accelerometer-1.json"]
    extra = accelerometer_folder(lakehouse) / "accelerometer-2.json"
    write_jsonl(extra, [reading("a", 900)])
    assert materialize(definitions, lakehouse).success
    write_jsonl(extra, [reading("a", 900), reading("a", 901), reading("f", 902)])
    result = materialize(definitions, lakehouse)
    landing = materialization(result, "accelerometer_landing")
    assert (landing["files_read"], landing["dagster/row_count"]) == (1, 15)
    # the files ingested: the file kept as it was recorded, the changed one as this run read it
    records = lakehouse.ingested.committed("accelerometer")
    assert records["accelerometer-1.json"] == first
    changed = records["accelerometer-2.json"]
    assert (changed.lines, changed.rows, changed.run_id) == (3, 3, result.run_id)
    assert files_recorded(lakehouse) == ["accelerometer-1.json", "accelerometer-2.json"]
    assert materialization(result, "accelerometer_trusted")["dagster/row_count"] == 9
    assert check_outcomes(result)["accelerometer_landing.all_lines_accounted"]
    assert (
        "the 1 landing files whose record or rows this run changed"
        in (evaluation(result, "accelerometer_landing.all_lines_accounted")["evaluated_on"])
    )
    extra.unlink()
    result = materialize(definitions, lakehouse)
    assert materialization(result, "accelerometer_landing")["dagster/row_count"] == 12
    assert every_row(lakehouse) == original
    assert lakehouse.ingested.committed("accelerometer") == {"accelerometer-1.json": first}
    assert files_recorded(lakehouse) == ["accelerometer-1.json"]
    # the rows of the file that left are out of the current version's data files
    landing = TABLES["accelerometer_landing"]
    with duckdb.connect() as con:
        sources = con.execute(
            "select distinct source_file from read_parquet(?)", [lakehouse.store.files(landing)]
        ).fetchall()
    assert sources == [("accelerometer-1.json",)]


def test_lines_are_accounted_on_the_files_a_run_changed(definitions, lakehouse, monkeypatch):
    """Once it passed, all_lines_accounted counts the lines and rows of the files a run read
    (and of those with rows in a data file it rewrote) alone, every other file's rows being in
    data files of the version where it passed: a row of a new file lost between reading and
    staging fails it, naming that file, and nothing is published."""
    read = DuckDBReader.read

    def losing_a_row(self, files):
        done = read(self, files)
        for path in done.staged.get("accelerometer_landing", []):
            with duckdb.connect() as con:
                con.execute(
                    "copy (select * from read_parquet(?) offset 1) to ? (format parquet)",
                    [str(path), f"{path}.x"],
                )
            Path(f"{path}.x").replace(path)
        return done

    monkeypatch.setattr(DuckDBReader, "read", losing_a_row)
    before = table_files(lakehouse, TABLES["accelerometer_landing"])
    write_jsonl(accelerometer_folder(lakehouse) / "later.json", [reading("a", 950)] * 2)
    result = materialize(definitions, lakehouse)
    accounted = evaluation(result, "accelerometer_landing.all_lines_accounted")
    assert not accounted["passed"]
    assert "the 1 landing files whose record or rows" in accounted["evaluated_on"]
    assert accounted["unaccounted_files"] == [
        "later.json: 2 lines, 1 rows + 0 quarantined + 0 erased"
    ]
    assert table_files(lakehouse, TABLES["accelerometer_landing"]) == before


def test_full_refresh_from_the_command_line(lakehouse, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("STEDI_LANDING_ROOT", lakehouse.landing_root)
    monkeypatch.setenv("STEDI_LAKEHOUSE_ROOT", lakehouse.lakehouse_root)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "new-dagster-home"))  # made when missing
    assert stedi(["run", "--full-refresh", "--log-level", "WARNING"]) == 0
    out = capsys.readouterr().out
    assert "success" in out
    assert f"{EXPECTED_ROWS['accelerometer_landing']:>10}" in out
    assert (tmp_path / "new-dagster-home").is_dir()
    with duckdb.connect() as con:
        assert con.execute(
            "select count(*) from read_parquet(?)",
            [lakehouse.store.files(TABLES["accelerometer_landing"])],
        ).fetchall() == [(12,)]


def test_a_landing_run_stopped_between_its_commits_is_invisible_and_read_again(
    definitions, lakehouse, tmp_path
):
    """The files ingested are the dataset's commit point: a landing table committed without
    them (as by a run killed in between) is not what readers see, and the next run reads every
    file of the dataset again."""
    before = every_row(lakehouse)
    landing = TABLES["accelerometer_landing"]
    stray = tmp_path / "stray.parquet"
    with duckdb.connect() as con:
        con.execute(
            "copy (select 'z@x.test' as user, 1::bigint as timestamp, 0.0 as x, 0.0 as y, "
            f"0.0 as z, 'stray.json' as source_file) to '{stray}' (format parquet)"
        )
    lakehouse.store.delta.commit(landing, [stray], "killed-run", replace=False)
    assert every_row(lakehouse) == before  # readers see the dataset's last whole run
    assert lakehouse.ingested.read("accelerometer") is None  # the writer sees the stop

    result = materialize(definitions, lakehouse)
    assert result.success
    meta = materialization(result, "accelerometer_landing")
    assert (meta["files_read"], meta["files_kept"]) == (1, 0)
    assert every_row(lakehouse) == before
    assert check_outcomes(result)["accelerometer_landing.all_lines_accounted"]


def test_a_training_table_with_the_same_rows_shows_the_profile_it_had(definitions, tmp_path):
    """New readings that pair with no step-trainer reading leave the training pairs' rows as
    they were: the step shows the profile of the run that computed it (its charts are not drawn
    again; runs that kept the version between do not matter), saying which run that was. Once
    the pairs change, in a run or by an erasure (whose rows the old profile may show), the
    profile is computed again."""
    lakehouse = Lakehouse(
        landing_root=str(write_handmade(tmp_path / "landing")),
        lakehouse_root=str(tmp_path / "lakehouse"),
    )
    with dg.DagsterInstance.ephemeral() as instance:  # the runs' materializations, in memory
        first = materialize(definitions, lakehouse, instance=instance)
        assert materialize(definitions, lakehouse, instance=instance).success  # keeps all
        write_jsonl(accelerometer_folder(lakehouse) / "unpaired.json", [reading("a", 999, 9.0)])
        same = materialize(definitions, lakehouse, instance=instance)
        assert same.success
        pairs = materialization(same, "machine_learning_curated")
        assert pairs["rows_added"] == 0 and pairs["built"].startswith("added to")
        assert pairs["profile_of_run"] == first.run_id
        assert pairs["profile"] == materialization(first, "machine_learning_curated")["profile"]
        write_jsonl(accelerometer_folder(lakehouse) / "paired.json", [reading("a", 100, 7.0)])
        changed = materialize(definitions, lakehouse, instance=instance)
        assert changed.success
        pairs = materialization(changed, "machine_learning_curated")
        assert pairs["rows_added"] > 0 and "profile_of_run" not in pairs
        assert erase(definitions, lakehouse, "a@x.test").success  # a's pairs leave the table
        write_jsonl(accelerometer_folder(lakehouse) / "later.json", [reading("f", 999, 9.0)])
        after = materialize(definitions, lakehouse, instance=instance)
        assert after.success
        pairs = materialization(after, "machine_learning_curated")
        assert pairs["rows_added"] == 0 and "profile_of_run" not in pairs
