"""Facts of a table's data files (`engines/file_facts.py`): what a query computes over each data
file alone, computed once per file and kept, summed by the training pairs' profile and their
cross_customer_pairs check, which then scan only the files a version writes."""

import os

import duckdb
from deltalake import DeltaTable

from stedi_dagster.defs.curated import profile
from stedi_dagster.engines.file_facts import FOLDER, facts_key, forget_all_but, identity
from stedi_dagster.lakehouse import Lakehouse
from stedi_dagster.sql import read_sql
from stedi_dagster_tests.conftest import materialization, materialize, write_jsonl
from stedi_dagster_tests.handmade import customer, materialized_handmade

PAIRS_FACTS = "pairs_facts"


def per_key(rows: str) -> str:
    return f"select k, count(*) as n, sum(v) as total from ({rows}) group by k"


def summed(engine, view: str) -> list[tuple]:
    """The facts of the view's data files summed per key, and the query over the whole view."""
    engine.per_file("facts", view, per_key)
    facts = engine.rows("select k, sum(n), sum(total) from facts group by k order by k")
    return [facts, engine.rows(f"select k, n, total from ({per_key(view)}) order by k")]


def test_facts_are_computed_once_per_data_file_and_follow_it_when_it_is_moved(tmp_path):
    """Each data file's facts are computed once and kept; summed, they are the query over the
    whole view. Facts asked for another file leave those of the others kept; a file moved into
    place (as a commit publishes a staged file) keeps its facts; a file written again under its
    name has its facts computed again."""
    lakehouse = Lakehouse(landing_root=str(tmp_path), lakehouse_root=str(tmp_path / "lakehouse"))
    files = [str(tmp_path / f"{i}.parquet") for i in range(3)]
    with duckdb.connect() as con:
        for i, path in enumerate(files):  # keys shared between the files
            con.execute(
                f"copy (select r % 5 as k, r * {i + 1} as v from range(100) t(r)) "
                f"to '{path}' (format parquet)"
            )
    folder = lakehouse.shared_tables / "file_facts"
    with lakehouse.connect() as engine:
        engine.view_parquet("t", files[:2])
        facts, whole = summed(engine, "t")
    assert facts == whole and len(whole) == 5
    first = {p: p.stat().st_ino for p in folder.glob("*.parquet")}
    assert len(first) == 2

    with lakehouse.connect() as engine:  # facts asked for another file leave these be
        engine.view_parquet("t", files[2:])
        assert summed(engine, "t")[0]
    assert set(first) <= set(folder.glob("*.parquet"))

    published = str(tmp_path / "published.parquet")
    os.replace(files[1], published)
    with lakehouse.connect() as engine:
        engine.view_parquet("t", [files[0], published, files[2]])
        facts, whole = summed(engine, "t")
    assert facts == whole
    second = {p: p.stat().st_ino for p in folder.glob("*.parquet")}
    assert len(set(second) - set(first)) == 1  # the third file's, computed once
    assert all(second[p] == inode for p, inode in first.items())  # the others read, not written

    with duckdb.connect() as con:  # another file under the first one's name
        con.execute(f"copy (select 7 as k, 1000 as v) to '{files[0]}' (format parquet)")
    with lakehouse.connect() as engine:
        engine.view_parquet("t", [files[0], published])
        facts, whole = summed(engine, "t")
    assert facts == whole and (7, 1, 1000) in whole


def test_the_pairs_profile_and_cross_customer_count_after_a_withdrawal_read_kept_facts(
    definitions, tmp_path
):
    """After a withdrawal, the training pairs' profile and cross_customer_pairs count what the
    published table holds, from the facts of the data files the new version wrote (computed) and
    of those it kept (read)."""
    lakehouse = materialized_handmade(definitions, tmp_path)
    table = f"{lakehouse.lakehouse_root}/curated/machine_learning_curated"
    before = set(DeltaTable(table).file_uris())
    folder = lakehouse.shared_tables / "file_facts"
    pairs = facts_key(lambda rows: read_sql(profile.__file__, PAIRS_FACTS, rows=rows))
    facts_before = set(folder.glob(f"{pairs}-*.parquet"))
    write_jsonl(
        tmp_path / "landing" / "customer" / "landing" / "customer-withdrawal.json",
        [customer("a", "S-A", updated=50, research=None)],
    )
    result = materialize(definitions, lakehouse)
    assert result.success
    added = set(DeltaTable(table).file_uris()) - before
    assert added and len(set(folder.glob(f"{pairs}-*.parquet")) - facts_before) == len(added)

    metadata = materialization(result, "machine_learning_curated")
    (crossed,) = [
        e.metadata["cross_customer_pairs"].value
        for e in result.get_asset_check_evaluations()
        if e.asset_key.to_user_string() == "machine_learning_curated"
        and e.check_name == "cross_customer_pairs"
    ]
    files = sorted(DeltaTable(table).file_uris())
    expected = (
        duckdb.connect()
        .execute(
            "select count(distinct subject_id), round(avg(distanceFromObject), 3), "
            "count(*) filter (where subject_id <> step_trainer_subject_id) from read_parquet(?)",
            [files],
        )
        .fetchall()[0]
    )
    assert (metadata["subjects"], metadata["distance_mean"], crossed) == expected


def test_forgetting_facts_keeps_those_of_the_files_named_alone(tmp_path):
    """`forget_all_but` (as an erasure calls it): the facts of the files named stay, those of
    any other file go, as does a partial write; with no facts kept there is nothing to do."""
    forget_all_but(tmp_path, [])  # no facts folder: nothing to do, no error
    files = [str(tmp_path / f"{i}.parquet") for i in range(2)]
    for path in files:
        with open(path, "wb") as f:
            f.write(path.encode())
    folder = tmp_path / FOLDER
    folder.mkdir()
    kept = f"0123456789abcdef-{identity(files[0])}.parquet"
    for path in files:
        (folder / f"0123456789abcdef-{identity(path)}.parquet").write_bytes(b"facts")
    (folder / f"0123456789abcdef-{identity(files[0])}.42.partial").write_bytes(b"half")
    forget_all_but(tmp_path, [files[0], str(tmp_path / "gone.parquet")])
    assert [p.name for p in folder.iterdir()] == [kept]
