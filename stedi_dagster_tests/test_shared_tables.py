"""Tables an engine creates `shared_over` views (the consent relations, the landing identifiers)
are computed once for the steps of a run that read the same data with the same settings, and
never served to an engine whose views or settings differ; the rows an engine counts are counted
again once a view they may read is created again."""

import json
from pathlib import Path

import duckdb

from stedi_dagster.defs.curated import checks as curated_checks
from stedi_dagster.engines.shared_tables import SHARED_PER_NAME
from stedi_dagster.lakehouse import Lakehouse
from stedi_dagster.privacy import consent
from stedi_dagster.privacy.consent import consent_relations
from stedi_dagster.privacy.spellings import spellings
from stedi_dagster.sql import read_sql
from stedi_dagster_tests.conftest import check_outcomes, materialization, materialize, write_jsonl
from stedi_dagster_tests.handmade import customer, materialized_handmade, reading

COUNT = "select count(*) as n from customer_landing"


def shared(engine) -> list[str]:
    """The shared tables of `counted` in the process's database: tables computed, views of the
    files kept by an earlier process."""
    return [
        name
        for (name,) in engine.rows(
            "select table_name from duckdb_tables() where not temporary "
            "and starts_with(table_name, 'stedi_shared_counted_') union all "
            "select view_name from duckdb_views() where not temporary "
            "and starts_with(view_name, 'stedi_shared_counted_') order by 1"
        )
    ]


def forget_shared(engine) -> None:
    """The process's database as a new process has it: none of `counted`'s shared tables."""
    for kind in ("table", "view"):
        held = f"select {kind}_name from duckdb_{kind}s() where not temporary"
        for (name,) in engine.rows(f"{held} and starts_with({kind}_name, 'stedi_shared_')"):
            engine.rows(f"drop {kind} {name}")


def counted(lakehouse: Lakehouse, **settings) -> tuple[int, list[str]]:
    """customer_landing's rows, counted into a shared table; the shared tables there are."""
    with lakehouse.connect("customer_landing") as engine:
        engine.create_table("counted", COUNT, shared_over=("customer_landing",))
        return engine.scalar("select n from counted"), shared(engine)


def test_a_shared_table_is_computed_again_when_its_data_or_settings_change(definitions, tmp_path):
    lakehouse = materialized_handmade(definitions, tmp_path)
    rows, tables = counted(lakehouse)
    assert rows == 13
    again, same = counted(lakehouse)  # another engine, the same version: the same table
    assert (again, same) == (rows, tables)
    assert len(tables) >= 1

    # a new version of customer_landing: its rows, not the table of the version before
    write_jsonl(
        tmp_path / "landing" / "customer" / "landing" / "customer-new.json",
        [customer("newperson", "S-NEW", research=1)],
    )
    assert materialize(definitions, lakehouse).success
    newer, now = counted(lakehouse)
    assert newer == rows + 1
    assert set(now) - set(tables)

    # other settings: a table of their own
    other = lakehouse.model_copy(update={"consent_mode": "from_consent_date"})
    _, with_other = counted(other)
    assert set(with_other) - set(now)


def test_the_consent_relations_follow_a_withdrawal_in_the_next_run(definitions, tmp_path):
    lakehouse = materialized_handmade(definitions, tmp_path)

    def consented(email: str) -> bool | None:
        with lakehouse.connect("customer_landing") as engine:
            consent_relations(engine)
            found = engine.rows("select consented from research_consent where email = ?", [email])
        return found[0][0] if found else None

    assert consented("a@x.test") is True
    write_jsonl(
        tmp_path / "landing" / "customer" / "landing" / "customer-withdrawal.json",
        [customer("a", "S-A", research=None, updated=9_999_999_999_999)],
    )
    assert materialize(definitions, lakehouse).success
    assert consented("a@x.test") is False


def test_a_shared_table_is_kept_for_the_runs_that_follow(definitions, tmp_path):
    """A later process (its own in-memory database) reads the table back from the lakehouse's
    folder instead of computing it: the kept file is what it serves."""
    lakehouse = materialized_handmade(definitions, tmp_path)
    rows, _ = counted(lakehouse)
    kept = sorted(lakehouse.shared_tables.glob("counted-*.parquet"))
    assert len(kept) == 1
    # the steps' checks kept the consent relations too
    assert list(lakehouse.shared_tables.glob("research_consent-*.parquet"))

    with lakehouse.connect() as engine:  # as a new process: the database holds none of them
        forget_shared(engine)
        engine.rows(f"copy (select 99 as n) to '{kept[0]}' (format parquet)")
    assert counted(lakehouse)[0] == 99  # read back, not computed

    with lakehouse.connect() as engine:
        forget_shared(engine)
    kept[0].unlink()
    assert counted(lakehouse)[0] == rows  # computed again, and kept again
    assert kept[0].exists()

    # the database's view of a kept file that was pruned since (by the files of newer keys, or
    # by an erasure) is made again, not read
    with lakehouse.connect() as engine:
        forget_shared(engine)
    assert counted(lakehouse)[0] == rows  # the process's database holds a view of the file
    kept[0].unlink()
    assert counted(lakehouse)[0] == rows
    assert kept[0].exists()


def test_the_consent_relations_grow_from_those_kept_and_the_new_customer_files(
    definitions, tmp_path
):
    """After new customer files, the consent relations over customer_landing as it is are grown
    from those kept over its files before and the new files' records, not computed from every
    record (a mark slipped into research_consent and serial_consent kept before is in those kept
    after), and they hold what computing them from every record gives: a withdrawal, a record as
    recent as the latest that disagrees with it (no consent), an older record (changes nothing),
    a new person claiming another's serial, and a grant. research_consent, serial_claims and
    serial_consent are kept as the file kept before and a part of the rows that changed, and
    after another change as a part over the same file (read back by a new process, each is what
    computing it gives; pruning keeps the file the parts read)."""
    lakehouse = materialized_handmade(definitions, tmp_path)
    sql = read_sql(consent.__file__, "research_consent")
    # a person without consent: no check sees it
    mark_kept(
        lakehouse, "research_consent", sql, consent.CUSTOMERS, "'zz-mark', false, null, null, 0"
    )
    serials = read_sql(consent.__file__, "serial_consent")  # a serial nobody claims anew
    mark_kept(lakehouse, "serial_consent", serials, consent.CUSTOMERS, "'zz-serial', true, 0")
    write_jsonl(
        tmp_path / "landing" / "customer" / "landing" / "customer-changes.json",
        [
            customer("a", "S-A", updated=50, research=None),  # withdraws
            customer("h", "S-H", updated=10, research=None),  # as recent as h's consent
            customer("j", "S-J", updated=1, research=None),  # older than j's consent
            customer("k", "S-A", updated=10, research=9),  # a new person, a's serial
            customer("b", "S-B", updated=60, research=8),  # grants
        ],
    )
    assert materialize(definitions, lakehouse).success

    kept, computed = kept_and_computed_consent(lakehouse)
    assert ("zz-mark", False, None, None, 0) in kept["research_consent"]  # grown from before
    kept["research_consent"].remove(("zz-mark", False, None, None, 0))
    kept["serial_consent"].remove(("zz-serial", True, 0))  # grown from before, not computed
    assert kept == computed
    consent_of = {r[0]: r[1] for r in computed["research_consent"]}
    assert [consent_of[f"{p}@x.test"] for p in "ahjkb"] == [False, False, True, True, True]
    serials = {r[0]: r[1] for r in computed["serial_consent"]}
    assert serials["s-a"] is False and serials["s-b"] is True

    bases = [kept_bases(lakehouse)]
    write_jsonl(  # h grants at last: a second part over the same files
        tmp_path / "landing" / "customer" / "landing" / "customer-more.json",
        [customer("h", "S-H", updated=70, research=11)],
    )
    assert materialize(definitions, lakehouse).success
    kept, computed = kept_and_computed_consent(lakehouse)
    kept["research_consent"].remove(("zz-mark", False, None, None, 0))
    kept["serial_consent"].remove(("zz-serial", True, 0))
    assert kept == computed
    assert {r[0]: r[1] for r in computed["research_consent"]}["h@x.test"] is True
    bases.append(kept_bases(lakehouse))
    assert bases[0] == bases[1]


def kept_bases(lakehouse: Lakehouse) -> dict[str, str]:
    """The file each relation kept as a part reads (its newest part's), which must be there."""
    folder, bases = lakehouse.shared_tables, {}
    for name in ("research_consent", "serial_claims", "serial_consent"):
        manifests = sorted(folder.glob(f"{name}-*.part.json"), key=lambda m: m.stat().st_mtime)
        assert manifests, f"{name} is not kept as a part"
        bases[name] = json.loads(manifests[-1].read_text())["base"]
        assert (folder / bases[name]).exists()
    return bases


def kept_and_computed_consent(lakehouse: Lakehouse) -> tuple[dict, dict]:
    """The consent relations kept for customer_landing as it is (each must be), and those
    computed from every landing record, each as its sorted rows."""
    kept, computed = {}, {}
    with lakehouse.connect("customer_landing") as engine:
        forget_shared(engine)  # as a new process: read from the kept files
        for name in consent.NAMES:
            held = engine.kept_table(name, read_sql(consent.__file__, name), consent.CUSTOMERS)
            assert held is not None, f"{name} is not kept"
            kept[name] = engine.rows(f"select * from {held} order by all")
    with lakehouse.connect("customer_landing") as engine:
        for name in consent.NAMES:  # temporary tables, over every record
            engine.create_table(name, read_sql(consent.__file__, name))
            computed[name] = engine.rows(f"select * from {name} order by all")
    return kept, computed


def test_the_latest_readings_grow_from_those_kept_and_the_new_accelerometer_files(
    definitions, tmp_path
):
    """customer_curated's recount reads each landing user's latest reading: after a new
    accelerometer file, grown from the relation kept before (a mark slipped into it is in the
    one kept after) and the new file's readings, by person (a later reading in another
    spelling, an earlier one, a new user), as computing it from every reading gives."""
    lakehouse = materialized_handmade(definitions, tmp_path)
    relation = curated_checks.latest_readings()
    mark_kept(lakehouse, relation.name, relation.sql, relation.over, "'zz-mark', 1")
    write_jsonl(
        tmp_path / "landing" / "accelerometer" / "landing" / "accelerometer-new.json",
        [
            {**reading("a", 900), "user": " A@X.test"},  # later, another spelling
            reading("f", 50),  # earlier than f's latest
            reading("k", 300),  # a user new to landing
        ],
    )
    assert materialize(definitions, lakehouse).success
    kept, computed = kept_and_computed(lakehouse, relation)
    assert ("zz-mark", 1) in kept  # grown from the one before
    kept.remove(("zz-mark", 1))
    assert kept == computed
    latest = dict(computed)
    assert (latest["a@x.test"], latest["f@x.test"], latest["k@x.test"]) == (900, 500, 300)
    # a file giving nobody a later reading (nor a first one) keeps the relation's file as it was,
    # linked for the new version of landing, not written again
    folder = tmp_path / "landing" / "accelerometer" / "landing"
    write_jsonl(folder / "accelerometer-older.json", [reading("a", 100), reading("k", 299)])
    before = set(lakehouse.shared_tables.glob(f"{relation.name}-*"))
    result = materialize(definitions, lakehouse)
    assert result.success and check_outcomes(result)["customer_curated.count_reconciles"]
    (new,) = set(lakehouse.shared_tables.glob(f"{relation.name}-*")) - before
    assert new.is_symlink() and new.resolve() in before  # a link to the one before

    # however many such runs follow, the relation of landing as it is stays kept (each key's
    # link has a time of its own: the one the next run reads is never the one pruned), and the
    # files kept per relation stay few
    for i in range(SHARED_PER_NAME + 1):
        write_jsonl(folder / f"accelerometer-older-{i}.json", [reading("f", 10 + i)])
        assert materialize(definitions, lakehouse).success
        with lakehouse.connect(*relation.over) as engine:
            forget_shared(engine)  # as a new process: read from the kept files
            held = engine.kept_table(relation.name, relation.sql, relation.over)
            assert held is not None, f"run {i}: the relation of landing as it is was pruned"
            rows = engine.rows(f"select * from {held} where email <> 'zz-mark' order by all")
            assert rows == computed
        names = list(lakehouse.shared_tables.glob(f"{relation.name}-*"))
        files = {p.resolve() for p in names}
        assert len(names) <= SHARED_PER_NAME + 1 and all(f.is_file() for f in files)


def test_the_spellings_grow_with_the_new_files_and_find_every_spelling_of_a_withdrawn_person(
    definitions, tmp_path
):
    """Each landing user's spellings, with their person keys, are kept per version of
    accelerometer_landing: after a new file, grown from those kept before (a mark slipped into
    them is in those kept after) by the spellings the file adds, kept as a part, as computing
    them from every reading gives. A withdrawal then computes again the rows of every spelling
    of the person, found there: none of their readings is left in any spelling."""
    lakehouse = materialized_handmade(definitions, tmp_path)
    relation = spellings("accelerometer_landing_spellings")
    mark_kept(lakehouse, relation.name, relation.sql, relation.over, "'zz-mark', 'ZZ-Mark '")
    write_jsonl(
        tmp_path / "landing" / "accelerometer" / "landing" / "accelerometer-new.json",
        [{**reading("a", 900), "user": " A@X.test"}, reading("k", 300), reading("f", 901)],
    )
    assert materialize(definitions, lakehouse).success
    kept, computed = kept_and_computed(lakehouse, relation)
    assert ("zz-mark", "ZZ-Mark ") in kept  # grown from the one before
    kept.remove(("zz-mark", "ZZ-Mark "))
    assert kept == computed
    assert {s for p, s in computed if p == "a@x.test"} == {"a@x.test", " A@X.test"}
    assert list(lakehouse.shared_tables.glob(f"{relation.name}-*.part.json"))

    write_jsonl(  # a withdraws: the rows of both spellings go
        tmp_path / "landing" / "customer" / "landing" / "customer-withdrawal.json",
        [customer("a", "S-A", updated=50, research=None)],
    )
    result = materialize(definitions, lakehouse)
    assert result.success
    assert materialization(result, "accelerometer_trusted")["keys_recomputed"] == 2
    with lakehouse.connect("accelerometer_trusted") as engine:
        left = engine.scalar(
            "select count(*) from accelerometer_trusted where person_key(user) = 'a@x.test'"
        )
    assert left == 0


def kept_and_computed(lakehouse: Lakehouse, relation) -> tuple[list, list]:
    """The rows of the relation kept over the tables it is over as they are, as a new process
    reads it (it must be kept), and those computing it from them gives, each sorted."""
    with lakehouse.connect(*relation.over) as engine:
        forget_shared(engine)
        held = engine.kept_table(relation.name, relation.sql, relation.over)
        assert held is not None, f"{relation.name} is not kept"
        kept = engine.rows(f"select * from {held} order by all")
    with lakehouse.connect(*relation.over) as engine:
        return kept, engine.rows(f"{relation.sql} order by all")


def mark_kept(lakehouse: Lakehouse, name: str, sql: str, over: tuple, row: str) -> None:
    """Slip a row (SQL values) into the relation kept over the tables `over` as they are, as a
    new process finds it: a relation grown from it holds the row too."""
    with lakehouse.connect(*over) as engine:
        forget_shared(engine)
        if name in consent.NAMES:  # the consent relations it reads, as the kept ones
            consent.consent_relations(engine)
        key = engine._shared_key(name, sql, over)
        kept = lakehouse.shared_tables / f"{name}-{key[:24]}.parquet"
        engine.rows(
            f"copy (select * from read_parquet('{kept}') union all select {row}) "
            f"to '{kept}' (format parquet)"
        )


def assert_counts_follow_the_views(engine, folder: Path, by_definition: bool = False) -> None:
    """An engine's `count` of a view, and of a view reading it, before and after that one is
    created again over other rows: counted once while they stay as they are (a view of a new
    name changes no count); `by_definition`, also once per definition of a view over no
    temporary table, however often it is created again (DuckDB). A view over local data files,
    or with the rows of one, is counted from the files' footers, without a query."""
    queries = []
    scalar = engine.scalar

    def counting(sql, params=None):
        queries.append(sql)
        return scalar(sql, params)

    engine.scalar = counting
    engine.create_view("numbers", "select * from (values (1), (2), (3)) as t(n)")
    engine.create_view("positive", "select * from numbers where n > 1")
    assert (engine.count("numbers"), engine.count("positive")) == (3, 2)
    engine.create_view("other", "select 1 as n")
    assert (engine.count("numbers"), engine.count("positive")) == (3, 2)
    assert len(queries) == 2
    engine.create_view("numbers", "select * from (values (1), (2), (3), (4), (5)) as t(n)")
    assert engine.count("numbers") == 5
    engine.create_view("positive", "select * from numbers where n > 1")  # Spark binds it anew
    assert engine.count("positive") == 4
    assert len(queries) == 4
    engine.create_view("numbers", "select * from (values (1), (2), (3)) as t(n)")
    engine.create_view("positive", "select * from numbers where n > 1")
    assert (engine.count("numbers"), engine.count("positive")) == (3, 2)
    assert len(queries) == (4 if by_definition else 6)
    engine.fill_table("numbers_table", {"n": "BIGINT"}, [(1,), (2,)])
    assert engine.count("numbers_table") == 2
    engine.fill_table("numbers_table", {"n": "BIGINT"}, [(1,)])
    assert engine.count("numbers_table") == 1
    engine.create_view("from_table", "select * from numbers_table")  # over a temporary table
    assert engine.count("from_table") == 1
    engine.fill_table("numbers_table", {"n": "BIGINT"}, [(1,), (2,), (3,)])
    engine.create_view("from_table", "select * from numbers_table")  # Spark binds it anew
    assert engine.count("from_table") == 3
    files = [folder / "numbers-1.parquet", folder / "numbers-2.parquet"]
    for path, rows in zip(files, (3, 4), strict=True):
        with duckdb.connect() as con:
            con.execute(f"copy (select range as n from range({rows})) to '{path}' (format parquet)")
    queries.clear()
    engine.view_parquet("numbers_files", [str(p) for p in files])
    engine.create_view("numbers_shown", "select n from numbers_files", rows_of="numbers_files")
    assert (engine.count("numbers_shown"), engine.count("numbers_files")) == (7, 7)
    engine.create_view("numbers_some", "select n from numbers_files where n > 0")
    assert engine.count("numbers_some") == 5
    assert len(queries) == 1  # the filtered one alone


def test_a_count_is_counted_again_when_a_view_it_reads_is_created_again(tmp_path):
    lakehouse = Lakehouse(landing_root=str(tmp_path), lakehouse_root=str(tmp_path / "lakehouse"))
    with lakehouse.connect() as engine:
        assert_counts_follow_the_views(engine, tmp_path, by_definition=True)


def test_data_files_of_one_schema_are_read_by_position_and_others_by_name(tmp_path):
    """A DuckDB view over data files of one schema reads them without union_by_name (which
    merges every file's schema again whenever a query binds the view); files of other columns
    (a column added since some were written) are read by name, the missing column null; a file
    written again under its name is looked at again by the steps that follow."""
    lakehouse = Lakehouse(landing_root=str(tmp_path), lakehouse_root=str(tmp_path / "lakehouse"))
    first, second, third = (str(tmp_path / f"{name}.parquet") for name in "abc")
    with duckdb.connect() as con:
        for path in (first, second):
            con.execute(f"copy (select 1 as n, 'x' as s) to '{path}' (format parquet)")
        con.execute(f"copy (select 2 as n) to '{third}' (format parquet)")
    with lakehouse.connect() as engine:
        engine.view_parquet("same", [first, second])
        assert "union_by_name" not in engine.views["same"]
        engine.view_parquet("mixed", [first, third])
        assert "union_by_name = true" in engine.views["mixed"]
        assert engine.rows("select * from mixed order by n") == [(1, "x"), (2, None)]
    with duckdb.connect() as con:
        con.execute(f"copy (select 3 as n) to '{second}' (format parquet)")
    with lakehouse.connect() as engine:  # a later step's
        engine.view_parquet("rewritten", [first, second])
        assert "union_by_name = true" in engine.views["rewritten"]
        assert engine.rows("select * from rewritten order by n") == [(1, "x"), (3, None)]


def test_a_part_replaces_its_keys_rows_chains_over_one_base_and_grows_whole(tmp_path):
    """kept_files on its own: a part holds the rows of the keys that changed, read in place of
    the base's rows of those keys; a part over a part keeps the first's other keys over the same
    base; a part beyond PART_ROWS rows and an eighth of its base is not kept (written whole by
    the caller); pruning keeps the base every recent part reads."""
    from stedi_dagster.engines import kept_files

    con = duckdb.connect()
    base = kept_files.file(tmp_path, "t", "a" * 24)
    con.execute(
        f"copy (select i as k, i * 10 as v from range(100000) r(i)) to '{base}' "
        f"{kept_files.KEPT_PARQUET}"
    )
    first = kept_files.keep_part(
        con,
        tmp_path,
        "t",
        "b" * 24,
        kept_files.Kept(base),
        "select 1 as k, -1 as v",
        "k",
    )
    second = kept_files.keep_part(
        con, tmp_path, "t", "c" * 24, first, "select 2 as k, -2 as v", "k"
    )
    assert first is not None and second is not None and second.base == base
    rows = dict(con.execute(second.query()).fetchall())
    assert len(rows) == 100000 and (rows[1], rows[2], rows[3]) == (-1, -2, 30)
    assert kept_files.found(tmp_path, "t", "c" * 24) == second
    many = "select i as k, 0 as v from range(70000) r(i)"  # > 65,536 and > 100,000 / 8
    assert kept_files.keep_part(con, tmp_path, "t", "d" * 24, second, many, "k") is None
    for key in "efgh":  # newer tables of other rows: the oldest keys go, not what they read
        path = kept_files.file(tmp_path, "t", key * 24)
        con.execute(f"copy (select 1 as k, 1 as v) to '{path}' {kept_files.KEPT_PARQUET}")
    kept_files.prune(tmp_path, "t", 5)  # the part "c" and four files
    assert kept_files.found(tmp_path, "t", "c" * 24) == second and base.exists()
    assert kept_files.found(tmp_path, "t", "b" * 24) is None


def test_a_table_over_facts_views_is_computed_in_the_step_and_not_kept(tmp_path):
    """A table created `shared_over` views that read facts per data file gets no shared key: it
    is computed in the step, over the facts of the files shown, each time (its random column
    tells), and kept neither in the process's database nor in files."""
    lakehouse = Lakehouse(landing_root=str(tmp_path), lakehouse_root=str(tmp_path / "lakehouse"))
    first, second = (str(tmp_path / f"{name}.parquet") for name in "ab")
    with duckdb.connect() as con:
        con.execute(f"copy (select range as v from range(3)) to '{first}' (format parquet)")
        con.execute(f"copy (select range as v from range(5)) to '{second}' (format parquet)")
    relation = "select count(*) as n, any_value(random()) as drawn from t_facts"

    def made(engine, files: list[str]) -> tuple[int, float]:
        engine.view_parquet("t", files)
        engine.per_file("t_facts", "t", lambda rows: f"with t as ({rows}) select v from t")
        engine.create_table("r", relation, shared_over=("t",))
        return engine.rows("select n, drawn from r")[0]

    with lakehouse.connect() as engine:
        on_first = made(engine, [first])
        assert "t_facts" in engine.facts and "t_facts_computed" not in engine.views  # kept facts
        on_second, again = made(engine, [second]), made(engine, [first])
        assert (on_first[0], on_second[0], again[0]) == (3, 5, 3)
        assert again != on_first and "r" not in engine.shown
        shared = engine.rows("select table_name from duckdb_tables() where not temporary")
    assert not [name for (name,) in shared if name.startswith("stedi_shared_r_")]
    assert not list(lakehouse.shared_tables.glob("r-*"))


def test_a_name_shown_as_a_shared_table_can_be_made_a_table_and_shown_again(tmp_path):
    """A relation computed whole is a view of a shared table; its narrowed rows (a recount's:
    `Relation.narrowed`) a temporary table of the same name; then whole again: DuckDB replaces
    neither kind by the other, the engine drops the one it made."""
    lakehouse = Lakehouse(landing_root=str(tmp_path), lakehouse_root=str(tmp_path / "lakehouse"))
    path = str(tmp_path / "t.parquet")
    with duckdb.connect() as con:
        con.execute(f"copy (select range as v from range(4)) to '{path}' (format parquet)")
    whole = "select count(*) as n from t"
    with lakehouse.connect() as engine:
        engine.view_parquet("t", [path])
        engine.create_table("r", whole, shared_over=("t",))
        assert "r" in engine.shown and engine.scalar("select n from r") == 4
        engine.create_table("r", "select count(*) as n from t where v < 2")
        assert engine.scalar("select n from r") == 2
        engine.create_table("r", whole, shared_over=("t",))
        assert engine.scalar("select n from r") == 4
