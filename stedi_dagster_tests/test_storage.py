"""Storage guarantees: a missing landing folder is named, and publication is atomic for
concurrent readers, each commit a version that stays readable. (Bad input: test_bad_input.py.)"""

import shutil
import threading

import duckdb
import pytest
from deltalake import DeltaTable

from stedi_dagster.lakehouse import Lakehouse, LakehouseError
from stedi_dagster.lakehouse.storage import Storage
from stedi_dagster.tables import TABLES
from stedi_dagster_tests.conftest import (
    failed_steps,
    materialize,
    publish_rows,
)


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
    table = TABLES["accelerometer_trusted"]
    sizes = (10_000, 250_000)
    publish_rows(lakehouse, table, sizes[0])
    seen: set[int] = set()
    stop = threading.Event()

    def read() -> None:
        reader = duckdb.connect()
        while not stop.is_set():
            files = lakehouse.store.files(table)  # the current version's, as any reader lists them
            seen.add(
                reader.execute("select count(*) from read_parquet(?)", [files]).fetchall()[0][0]
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
    assert lakehouse.store.delta.version(table) == 30
    reader = duckdb.connect()
    # every version stays readable, with the rows it had: version 0 the first publication,
    # version n the n-th of the loop's
    for version, expected in ((0, sizes[0]), (1, sizes[0]), (2, sizes[1]), (30, sizes[1])):
        files = lakehouse.store.files(table, version)
        rows = reader.execute("select count(*) from read_parquet(?)", [files]).fetchall()[0][0]
        assert rows == expected, version


def test_a_table_read_again_is_its_current_version_whatever_happened_since(tmp_path):
    """A process reads a table's version again and again (about 300 times in an erasure):
    `DeltaTables.latest` brings the table it opened before up to date instead of opening it
    again. It reads what opening it anew reads after commits by another writer (another
    thread), after its history was removed (log entries cleaned up after a checkpoint), and
    after the table was removed and made again with as many versions."""
    lakehouse = Lakehouse(landing_root=str(tmp_path), lakehouse_root=str(tmp_path / "lh"))
    table, delta = TABLES["accelerometer_trusted"], lakehouse.store.delta
    folder = lakehouse.store.table_folder(table)
    reader = duckdb.connect()

    def read_as_opened_anew(rows: int) -> None:
        fresh = DeltaTable(folder)
        assert delta.version(table) == fresh.version()
        assert delta.files(table) == fresh.file_uris()
        assert delta.last_commit(table) == (fresh.version(), fresh.history(1)[0])
        files = lakehouse.store.files(table)
        assert reader.execute("select count(*) from read_parquet(?)", [files]).fetchall() == [
            (rows,)
        ]

    for rows in (10, 20):
        publish_rows(lakehouse, table, rows)
        read_as_opened_anew(rows)
    writer = threading.Thread(target=publish_rows, args=(lakehouse, table, 30))
    writer.start()
    writer.join()
    read_as_opened_anew(30)
    delta.forget_history(table)
    publish_rows(lakehouse, table, 40)
    read_as_opened_anew(40)
    version = delta.version(table)
    shutil.rmtree(folder)
    for rows in range(50, 50 + version + 1):  # versions 0 to `version` again
        publish_rows(lakehouse, table, rows)
    assert delta.version(table) == version
    read_as_opened_anew(50 + version)


def test_a_symlinked_landing_file_is_listed_with_its_target_s_version(tmp_path):
    target = tmp_path / "elsewhere" / "customer-1.json"
    target.parent.mkdir()
    target.write_text('{"email": "a@x.test"}\n')
    folder = tmp_path / "landing" / "customer" / "landing"
    folder.mkdir(parents=True)
    (folder / "linked.json").symlink_to(target)
    lakehouse = Lakehouse(
        landing_root=str(tmp_path / "landing"), lakehouse_root=str(tmp_path / "lh")
    )
    (version,) = lakehouse.landing.versions("customer").values()
    assert version.startswith(f"{target.stat().st_size}:")
    target.write_text('{"email": "a@x.test"}\n{"email": "b@x.test"}\n')
    assert lakehouse.landing.versions("customer") != {str(folder / "linked.json"): version}


def test_a_local_folder_is_listed_as_fsspec_globs_it(tmp_path):
    """The local listing (one scandir per folder) gives what fsspec's `<folder>/**` glob gives:
    files in subfolders and ignored ones too, a linked file by its target, a linked folder not
    entered, with the same version tokens."""
    folder = tmp_path / "customer" / "landing"
    (folder / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "x.json").write_text("{}\n")
    for name in (
        "a.json",
        "b.json.gz",
        ".hidden.json",
        "_SUCCESS",
        "sub/c.csv",
        "sub/deeper/d.json",
    ):
        (folder / name).write_text(name)
    (folder / "linked.json").symlink_to(tmp_path / "outside" / "x.json")
    (folder / "linked-folder").symlink_to(tmp_path / "outside")
    storage = Storage(str(tmp_path))
    pattern = f"{storage.url('customer', 'landing')}/**"
    found = storage.fs.glob(pattern, detail=True)
    found = {p: storage.fs.info(p) if i.get("islink") else i for p, i in found.items()}
    by_fsspec = {
        p: f"{i['size']}:{i['mtime']}" for p, i in sorted(found.items()) if i["type"] == "file"
    }
    assert len(by_fsspec) == 7
    assert storage.versions(pattern) == by_fsspec
