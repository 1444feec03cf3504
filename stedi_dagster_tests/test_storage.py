"""Storage guarantees: bad input fails loudly naming file and line, a failed run leaves the last
good version of every table readable, and publication is atomic for concurrent readers."""

import threading
from pathlib import Path

import duckdb
import pytest

from stedi_dagster.lakehouse import Lakehouse, LakehouseError
from stedi_dagster.tables import TABLES
from stedi_dagster_tests.conftest import (
    failed_steps,
    materialize,
    publish_rows,
    row_counts,
    write_jsonl,
)
from stedi_dagster_tests.handmade import ACCELEROMETER, EXPECTED_ROWS, write_handmade


@pytest.fixture
def lakehouse(definitions, tmp_path) -> Lakehouse:
    lakehouse = Lakehouse(
        landing_root=str(write_handmade(tmp_path / "landing")),
        lakehouse_root=str(tmp_path / "lakehouse"),
    )
    assert materialize(definitions, lakehouse).success
    return lakehouse


def published_count(lakehouse: Lakehouse, table: str) -> int:
    path = str(lakehouse.table_file(TABLES[table]))
    return duckdb.connect().execute("select count(*) from read_parquet(?)", [path]).fetchall()[0][0]


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ('{"user":"a@x.test","timestamp":900,"x":"abc","y":1,"z":1}', "Failed to cast value"),
        ('{"user":"a@x.test","timestamp":900,"x":1,', "Malformed JSON"),
    ],
)
def test_bad_json_fails_naming_the_file_and_keeps_every_table(
    definitions, lakehouse, bad_line, message
):
    bad_file = write_jsonl(
        Path(lakehouse.landing_root) / "accelerometer" / "landing" / "accelerometer-2.json",
        [ACCELEROMETER[0], bad_line],
    )
    result = materialize(definitions, lakehouse)
    assert not result.success
    error = failed_steps(result)["accelerometer_landing"]
    assert str(bad_file) in error and message in error
    assert "line" in error
    built = set(row_counts(result))
    assert {
        "accelerometer_landing",
        "accelerometer_trusted",
        "machine_learning_curated",
    }.isdisjoint(built)
    for table, count in EXPECTED_ROWS.items():
        assert published_count(lakehouse, table) == count, table
    assert list((Path(lakehouse.lakehouse_root) / "_staging").iterdir()) == []


def test_missing_landing_folder_is_named_in_the_error(definitions, tmp_path):
    lakehouse = Lakehouse(
        landing_root=str(tmp_path / "nowhere"), lakehouse_root=str(tmp_path / "lh")
    )
    result = materialize(definitions, lakehouse)
    assert not result.success
    error = failed_steps(result)["customer_landing"]
    assert f"no landing files for customer: no *.json in {tmp_path / 'nowhere'}" in error
    with (
        pytest.raises(LakehouseError, match="has not been materialized yet"),
        lakehouse.connect("customer_trusted"),
    ):
        pass


def test_readers_see_the_old_or_the_new_version_never_a_mix(tmp_path):
    lakehouse = Lakehouse(landing_root=str(tmp_path), lakehouse_root=str(tmp_path / "lh"))
    table = TABLES["accelerometer_landing"]
    sizes = (10_000, 250_000)
    publish_rows(lakehouse, table, sizes[0])
    seen: set[int] = set()
    stop = threading.Event()

    def read() -> None:
        reader = duckdb.connect()
        glob = f"{lakehouse.table_folder(table)}/*.parquet"
        while not stop.is_set():
            seen.add(
                reader.execute("select count(*) from read_parquet(?)", [glob]).fetchall()[0][0]
            )

    thread = threading.Thread(target=read)
    thread.start()
    try:
        for i in range(30):
            publish_rows(lakehouse, table, sizes[i % 2])
    finally:
        stop.set()
        thread.join()
    assert seen <= set(sizes)
    assert len(seen) == 2
    assert [p.name for p in Path(lakehouse.table_folder(table)).iterdir()] == [
        "accelerometer_landing.parquet"
    ]
