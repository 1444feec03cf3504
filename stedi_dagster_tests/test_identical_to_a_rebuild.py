"""Maintained equals rebuilt: after any sequence of landing events with runs in between, every
table that the incremental runs kept, added to or built equals, as a multiset of rows, the same
table after a full refresh (every landing file read again, every table built in full)."""

import itertools
import random
from collections import Counter
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from stedi_dagster.defs.curated import checks as curated_checks
from stedi_dagster.factory import increments
from stedi_dagster.factory.checks import check_label
from stedi_dagster.lakehouse import Lakehouse, data_files
from stedi_dagster.lakehouse.store import Snapshot
from stedi_dagster.sql import read_sql
from stedi_dagster.tables import TABLES
from stedi_dagster_tests.conftest import (
    check_outcomes,
    evaluation,
    every_row,
    failed_checks,
    materialization,
    materialize,
    verdicts,
    write_jsonl,
)
from stedi_dagster_tests.handmade import customer, reading, step, write_handmade
from stedi_dagster_tests.test_consent_rules import pseudonym
from stedi_dagster_tests.test_erasure import erase

FULL_REFRESH = {"stedi/full_refresh": "true"}
PEOPLE = "abcdefghij"
SERIALS = {p: f"S-{p.upper()}" for p in PEOPLE} | {"i": "S-H"}
TIMES = (100, 200, 300, 500, 700, 800)


class Events:
    """Random landing events on a lakehouse's landing folder (and the erasure job)."""

    def __init__(self, definitions, lakehouse: Lakehouse, rng: random.Random):
        self.definitions, self.lakehouse, self.rng = definitions, lakehouse, rng
        self.root = Path(lakehouse.landing_root)
        self.count = itertools.count(1)

    def happen(self, event: str) -> None:
        n, rng, person = next(self.count), self.rng, self.rng.choice(PEOPLE)
        if event in ("new readings", "late readings"):
            times = TIMES if event == "new readings" else (50, 60, 150)
            lines = [reading(rng.choice(PEOPLE), rng.choice(times), n) for _ in range(3)]
            self._write("accelerometer", f"readings-{n}", lines)
        elif event == "new steps":
            lines = [step(SERIALS[rng.choice(PEOPLE)], rng.choice(TIMES)) for _ in range(3)]
            self._write("step_trainer", f"steps-{n}", lines)
        elif event == "replaced file":
            path = rng.choice(sorted((self.root / "accelerometer" / "landing").glob("*.json")))
            write_jsonl(path, [reading(person, rng.choice(TIMES), -n)])
        elif event in ("withdrawal", "grant"):
            research = None if event == "withdrawal" else 50 + n
            record = customer(person, SERIALS[person], updated=100 + n, research=research)
            self._write("customer", f"customer-{n}", [record])
        elif event == "serial claimed":
            other = rng.choice(PEOPLE)
            research = rng.choice([None, 60 + n])
            record = customer(person, SERIALS[other], updated=100 + n, research=research)
            self._write("customer", f"claim-{n}", [record])
        elif event == "erasure":
            assert erase(self.definitions, self.lakehouse, f"{person}@x.test").success

    def _write(self, dataset: str, name: str, lines: list[dict]) -> None:
        write_jsonl(self.root / dataset / "landing" / f"{name}.json", lines)


EVENTS = (
    "new readings",
    "late readings",
    "new steps",
    "replaced file",
    "withdrawal",
    "grant",
    "serial claimed",
    "erasure",
)


@pytest.fixture
def small_buckets(monkeypatch):
    """Tables maintained per key spread over data files of a few rows each (as large tables
    are), so that computing a key's rows again writes some of them again and keeps the rest."""
    monkeypatch.setattr(data_files, "BUCKET_ROWS", 1)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(4))
def test_any_sequence_of_events_and_runs_ends_as_a_full_refresh_would(
    definitions, tmp_path, seed, small_buckets, monkeypatch
):
    # seeds 0 and 1 keep every data file as written; 2 and 3 merge a table's small ones as soon
    # as it holds more than two (each pair of seeds plays every kind of event)
    if seed < 2:
        monkeypatch.setattr(data_files, "SMALL_BYTES", 0)
    else:
        monkeypatch.setattr(data_files, "MAX_SMALL_FILES", 2)
    rng = random.Random(seed)
    lakehouse = Lakehouse(
        landing_root=str(write_handmade(tmp_path / "landing")),
        lakehouse_root=str(tmp_path / "lakehouse"),
    )
    assert materialize(definitions, lakehouse).success
    events = Events(definitions, lakehouse, rng)
    # each pair of seeds plays every kind of event once (half each, in a random order), with a
    # random one or two more
    kinds = list(EVENTS)
    random.Random(seed // 2).shuffle(kinds)
    half = len(kinds) // 2
    played = kinds[half:] if seed % 2 else kinds[:half]
    played += [rng.choice(EVENTS) for _ in range(rng.randint(1, 2))]
    for event in played:
        events.happen(event)
        if rng.random() < 0.6:
            assert materialize(definitions, lakehouse).success
    last = materialize(definitions, lakehouse)
    assert last.success
    maintained = every_row(lakehouse)
    rebuilt = materialize(definitions, lakehouse, tags=FULL_REFRESH)
    assert rebuilt.success
    assert every_row(lakehouse) == maintained
    # and every check's verdict and evidence, however it was reached, as on the whole tables
    assert verdicts(last) == verdicts(rebuilt)


def test_new_readings_are_added_to_the_tables_they_reach(definitions, tmp_path):
    """New readings of a consenting customer at a millisecond a step-trainer reading has: the
    trusted readings and the training pairs gain them by appending, which a full refresh
    confirms."""
    lakehouse = Lakehouse(
        landing_root=str(write_handmade(tmp_path / "landing")),
        lakehouse_root=str(tmp_path / "lakehouse"),
    )
    assert materialize(definitions, lakehouse).success
    before = every_row(lakehouse)
    folder = Path(lakehouse.landing_root) / "accelerometer" / "landing"
    write_jsonl(folder / "later.json", [reading("a", 200, 9.0), reading("b", 200, 9.0)])
    result = materialize(definitions, lakehouse)
    assert result.success
    trusted = materialization(result, "accelerometer_trusted")
    assert trusted["built"] == "added to: rows added to accelerometer_landing"
    assert (trusted["rows_added"], trusted["rows_removed"]) == (1, 0)  # a's; b never consented
    pairs = materialization(result, "machine_learning_curated")
    assert pairs["built"] == "added to: rows added to accelerometer_trusted"
    assert (pairs["rows_added"], pairs["rows_removed"]) == (2, 0)  # with S-A@200 and S-F@200
    assert pairs["input_files_added"] == {"accelerometer_trusted": 1}
    after = every_row(lakehouse)
    assert len(after["machine_learning_curated"]) == len(before["machine_learning_curated"]) + 2
    assert materialize(definitions, lakehouse, tags=FULL_REFRESH).success
    assert every_row(lakehouse) == after


# Each table maintained per key, and what identifies a's rows in it.
A_ROWS = {
    "customer_trusted": ("email", "a@x.test"),
    "accelerometer_trusted": ("user", "a@x.test"),
    "customer_curated": ("email", "a@x.test"),
    "step_trainer_trusted": ("serialNumber", "S-A"),
}


NOT_EXACT_AFTER_AN_ERASURE = ("machine_learning_curated", "step_features_curated")


@pytest.mark.parametrize("change", ["withdrawal", "erasure"])
def test_a_consent_change_rewrites_only_the_rows_of_that_person(
    definitions, tmp_path, small_buckets, change
):
    """After a withdraws consent, every table maintained per key computes again the rows of a's
    keys alone (a's user and email, a's serial, the subjects paired with a's readings or Step
    Trainer). After a is erased, the erasure job has removed a's rows already, and the run
    finds those tables as their steps would compute them, but for the training pairs and
    features of the subjects the erasure reached, which it computes again. Either way the data
    files holding none of a's rows stay as they are, and every table equals a full refresh."""
    lakehouse = Lakehouse(
        landing_root=str(write_handmade(tmp_path / "landing")),
        lakehouse_root=str(tmp_path / "lakehouse"),
    )
    assert materialize(definitions, lakehouse).success
    store = lakehouse.store
    files_before = {name: set(store.files(TABLES[name])) for name in TABLES}
    if change == "withdrawal":
        folder = Path(lakehouse.landing_root) / "customer" / "landing"
        write_jsonl(folder / "withdrawal.json", [customer("a", "S-A", updated=50, research=None)])
    else:
        assert erase(definitions, lakehouse, "a@x.test").success
    result = materialize(definitions, lakehouse)
    assert result.success
    for name, (column, value) in A_ROWS.items():
        built = materialization(result, name)
        if change == "withdrawal":
            assert built["built"] == f"recomputed: the rows of 1 {column} values", name
            assert built["keys_recomputed"] == 1 and built["rows_removed"] >= 1, name
        else:
            assert built["built"] == "unchanged", name
            assert built["rows_removed"] == 0, name
        assert built["rows_added"] == 0, name
        with lakehouse.connect(name) as engine:
            assert engine.scalar(f"select count(*) from {name} where {column} = '{value}'") == 0
        files = set(store.files(TABLES[name]))
        assert files & files_before[name], f"{name}: every data file was written again"
        assert files != files_before[name], name
    pairs, features = (materialization(result, n) for n in NOT_EXACT_AFTER_AN_ERASURE)
    if change == "withdrawal":
        for built in (pairs, features):
            assert built["built"].startswith("recomputed: the rows of "), built
            assert built["rows_removed"] > built["rows_added"], built
    else:  # the job removed a's pairs (a's alone: nothing to compute again) and the features
        # of f, whose pairs with a's Step Trainer went: f's are left to this run
        assert pairs["built"] == "unchanged"
        assert features["built"] == "recomputed: the rows of 1 subject_id values"
        assert features["keys_left_by_the_erasure"] == 1 and features["rows_removed"] == 0
    maintained = every_row(lakehouse)
    assert materialize(definitions, lakehouse, tags=FULL_REFRESH).success
    assert every_row(lakehouse) == maintained


def test_the_rows_a_recomputation_changed_are_found_among_the_rows_it_recorded(
    definitions, tmp_path, small_buckets
):
    """A version of a table maintained per key records which rows it may have changed (those of
    the keys it computed again); what a table reading it finds changed among those rows alone
    is what comparing every row of the data files added and removed finds."""
    lakehouse = Lakehouse(
        landing_root=str(write_handmade(tmp_path / "landing")),
        lakehouse_root=str(tmp_path / "lakehouse"),
    )
    assert materialize(definitions, lakehouse).success
    store = lakehouse.store
    before = {name: store.delta.version(TABLES[name]) for name in A_ROWS}
    folder = Path(lakehouse.landing_root) / "customer" / "landing"
    write_jsonl(folder / "withdrawal.json", [customer("a", "S-A", updated=50, research=None)])
    assert materialize(definitions, lakehouse).success
    for name in (*A_ROWS, "machine_learning_curated"):
        table = TABLES[name]
        version = before.get(name, store.delta.version(table) - 1)
        now = Snapshot(store.delta.version(table), store.files(table))
        change = increments.since(store, name, version, now)
        assert change is not None and change.removed and change.within, name
        assert difference(change, change.within) == difference(change), name
        assert difference(change), f"{name}: the withdrawal changed no row"


def difference(change: increments.Change, where: str = "true") -> list[tuple]:
    """The rows (where `where` is true) that the files a change added and those it removed do
    not have in common, as a sorted list."""
    added = Counter(parquet_rows(change.added, where))
    removed = Counter(parquet_rows(change.removed, where))
    return sorted([*(added - removed).elements(), *(removed - added).elements()], key=repr)


def parquet_rows(urls: list[str], where: str) -> list[tuple]:
    if not urls:
        return []
    sql = f"select * from read_parquet($files, union_by_name = true) where {where}"
    return duckdb.connect().execute(sql, {"files": urls}).fetchall()


def test_checks_on_what_was_added_say_what_the_whole_table_would(definitions, tmp_path):
    """A check that passed on the version before and grows (keys, consent, the recount,
    identifiers) is evaluated on the new rows and the reads' new files alone; evaluating every
    check on the whole published tables ("Execute checks") gives the same verdicts and
    evidence."""
    lakehouse = Lakehouse(
        landing_root=str(write_handmade(tmp_path / "landing")),
        lakehouse_root=str(tmp_path / "lakehouse"),
    )
    assert materialize(definitions, lakehouse).success
    folder = Path(lakehouse.landing_root) / "accelerometer" / "landing"
    write_jsonl(folder / "later.json", [reading("a", 200, 9.0), reading("f", 500, 9.0)])
    added = materialize(definitions, lakehouse)
    assert added.success
    assert materialization(added, "accelerometer_trusted")["checks_on_additions"] == [
        "all_consented",
        "count_reconciles",
        "keys_not_null",
    ]
    pairs = materialization(added, "machine_learning_curated")
    assert pairs["checks_on_additions"] == [
        "all_consented",
        "count_reconciles",
        "keys_not_null",
        "no_identifiers",
    ]
    recount = evaluation(added, "machine_learning_curated.count_reconciles")
    assert "new rows" in recount.metadata["evaluated_on"].value
    # counted with the step readings of the new readings' milliseconds alone (a sum over them)
    assert "the same sensorReadingTime or timestamp alone" in recount.metadata["evaluated_on"].value
    # the new readings' users are in landing already: no identifier the rows before could hold
    # is new, so they are not tested again (and the verdicts below are the whole table's)
    identifiers = evaluation(added, "machine_learning_curated.no_identifiers")
    assert "the rows before not tested again" in identifiers.metadata["evaluated_on"].value
    kept, every = kept_identifiers(lakehouse)  # kept as they were: the same values
    assert kept == every
    # landing's keys on the data files the run added (the others are the version before's)
    landing = materialization(added, "accelerometer_landing")
    assert landing["checks_on_additions"] == [
        "accelerometer_landing.all_lines_accounted",
        "accelerometer_landing.keys_not_null",
    ]
    assert materialization(added, "customer_landing")["rows_added"] == 0  # kept: none evaluated
    landing_keys = evaluation(added, "accelerometer_landing.keys_not_null")
    assert "the 1 data files this run adds" in landing_keys.metadata["evaluated_on"].value
    accounted = evaluation(added, "accelerometer_landing.all_lines_accounted")
    assert accounted.passed
    assert "the 1 landing files whose record or rows this run changed" in (
        accounted.metadata["evaluated_on"].value
    )
    checks_only = dg.AssetSelection.checks_for_assets(*(t.key for t in TABLES.values()))
    whole = materialize(definitions, lakehouse, selection=checks_only)
    assert whole.success
    assert verdicts(added) == verdicts(whole)
    assert verdicts(added, ("landing",)) == verdicts(whole, ("landing",))


def test_a_recount_of_relations_that_kept_their_rows_is_the_one_recorded(definitions, tmp_path):
    """customer_curated's recount counts relations alone (the consent relations, each landing
    user's latest reading): after a new reading that is nobody's latest, both hold the rows
    they held, and the independent count recorded with the version before is compared with the
    table's rows as they are, as "Execute checks" would compute it; a row lost from the table
    since fails it."""
    lakehouse = Lakehouse(
        landing_root=str(write_handmade(tmp_path / "landing")),
        lakehouse_root=str(tmp_path / "lakehouse"),
    )
    assert materialize(definitions, lakehouse).success
    folder = Path(lakehouse.landing_root) / "accelerometer" / "landing"
    write_jsonl(folder / "earlier.json", [reading("a", 150)])  # a's latest stays 200
    added = materialize(definitions, lakehouse)
    assert added.success
    assert "count_reconciles" in materialization(added, "customer_curated")["checks_on_additions"]
    label = "customer_curated.count_reconciles"
    recount = evaluation(added, label)
    assert "the independent count recorded at version" in recount.metadata["evaluated_on"].value
    checks_only = dg.AssetSelection.checks_for_assets(TABLES["customer_curated"].key)
    whole = materialize(definitions, lakehouse, selection=checks_only)
    assert verdicts(added)[label] == verdicts(whole)[label] == (True, RECOUNTED)
    # a row lost since: h's (not a's, which the next reading of a would add back: the adder
    # adds the trusted customers with new readings whom the table does not hold)
    (path,) = lakehouse.store.files(TABLES["customer_curated"])
    with duckdb.connect() as con:
        lost = f"select * from '{path}' where email <> 'h@x.test'"
        con.execute(f"copy ({lost}) to '{path}.x' (format parquet)")
    Path(f"{path}.x").replace(path)
    write_jsonl(folder / "earlier-2.json", [reading("a", 160)])
    again = materialize(definitions, lakehouse)
    recount = evaluation(again, label)
    assert not recount.passed and "recorded at version" in recount.metadata["evaluated_on"].value
    assert verdicts(again)[label] == (False, {"rows": 2, "independent_count": 3})


RECOUNTED = {"rows": 3, "independent_count": 3}  # a, f and h


def test_an_identifier_new_to_landing_is_sought_in_the_rows_before(definitions, tmp_path):
    """The rows before are tested against a new landing file's identifiers when one of them is
    new to landing: a value the training pairs hold, written into landing in another spelling,
    stops the pairs' next version (though none of their rows changed); and the landing
    identifiers kept for the runs that follow are those of every landing file."""
    lakehouse = Lakehouse(
        landing_root=str(write_handmade(tmp_path / "landing")),
        lakehouse_root=str(tmp_path / "lakehouse"),
    )
    assert materialize(definitions, lakehouse).success
    with lakehouse.connect("machine_learning_curated") as engine:
        held = engine.scalar("select min(subject_id) from machine_learning_curated")
    folder = Path(lakehouse.landing_root) / "accelerometer" / "landing"
    write_jsonl(folder / "held.json", [{**reading("a", 100), "user": f"\t{held.upper()} "}])
    result = materialize(definitions, lakehouse)
    assert not result.success
    assert failed_checks(result)["machine_learning_curated.no_identifiers"] == "ERROR"
    found = evaluation(result, "machine_learning_curated.no_identifiers")
    assert "new files of accelerometer_landing" in found.metadata["evaluated_on"].value
    assert "not tested again" not in found.metadata["evaluated_on"].value
    assert found.metadata["rows_with_identifiers"].value["subject_id"] > 0

    # the relation kept for the next run, made as the one before plus the new file's, is the
    # one computed from every landing file
    kept, every = kept_identifiers(lakehouse)
    assert kept == every
    assert (held,) in every


def kept_identifiers(lakehouse: Lakehouse) -> tuple[list[tuple], list[tuple]]:
    """The landing identifiers kept for the landing tables as they are (by the key of their
    views), and those computed from them."""
    sql = read_sql(curated_checks.__file__, "landing_identifiers")
    with lakehouse.connect(*curated_checks.LANDING) as engine:
        key = engine._shared_key("landing_identifiers", sql, curated_checks.LANDING)
        kept = lakehouse.shared_tables / f"landing_identifiers-{key[:24]}.parquet"
        return engine.rows(f"select * from read_parquet('{kept}') order by 1"), engine.rows(
            f"{sql} order by 1"
        )


def test_the_owners_of_a_few_step_readings_are_those_every_serial_has(tmp_path):
    """A recount over a few step readings (of the milliseconds new rows or a change reach)
    computes the owners of their serials alone (`curated_owners_narrowed`): each the least
    email key of all who claimed it, as `curated_owners` of every serial says, whatever the
    readings' spellings; no serial they do not hold."""
    owners = curated_checks.CURATED_OWNERS
    lakehouse = Lakehouse(landing_root=str(tmp_path), lakehouse_root=str(tmp_path / "lakehouse"))
    claims = [("zed@x.test", "s-1"), ("amy@x.test", "s-1"), ("bob@x.test", "s-2")]
    claims += [("cat@x.test", "s-3"), ("dan@x.test", "s-3")]
    with lakehouse.connect() as engine:
        engine.fill_table("curated_keys", {"email": "VARCHAR", "serialNumber": "VARCHAR"}, claims)
        engine.fill_table(
            "step_trainer_trusted", {"serialNumber": "VARCHAR"}, [(" S-1\t",), ("s-3",)]
        )
        every = engine.rows(f"select * from ({owners.sql}) order by 1")
        narrowed = engine.rows(f"select * from ({owners.narrowed}) order by 1")
    assert every == [("s-1", "amy@x.test"), ("s-2", "bob@x.test"), ("s-3", "cat@x.test")]
    assert narrowed == [every[0], every[2]]


def test_the_step_readings_of_serials_owned_by_the_keys_are_narrowed_in(tmp_path):
    """The training pairs' narrowed step readings for the keys computed again: those of every
    serial one of them owns (the least email key of all who claimed it, found from the claims
    of their serials alone), in any spelling, and those at the milliseconds of their phones'
    readings; none of a serial another claimant owns."""
    sql = read_sql(
        curated_checks.__file__, "machine_learning_curated_narrowed_step_trainer_trusted"
    )
    lakehouse = Lakehouse(landing_root=str(tmp_path), lakehouse_root=str(tmp_path / "lakehouse"))
    text = {"email": "VARCHAR"}
    claims = [("zed@x.test", "s-1"), ("amy@x.test", "s-1"), ("bob@x.test", "s-2")]
    claims += [("cat@x.test", "s-3")]
    spelled = [("s-1", "S-1 "), ("s-2", "s-2"), ("s-3", "s-3")]
    steps = [("S-1 ", 10), ("s-2", 20), ("s-3", 30), ("s-3", 40)]

    def narrowed(engine, keys: list[str]) -> list[tuple]:
        engine.fill_table(
            "recomputed_keys", {"key": "VARCHAR", "person": "VARCHAR"}, [(k, k) for k in keys]
        )
        return engine.rows(f"select serialNumber, sensorReadingTime from ({sql}) order by 2")

    with lakehouse.connect() as engine:
        engine.fill_table("customer_curated", text, [(e,) for e, _ in claims])
        engine.fill_table("curated_keys", text | {"serialNumber": "VARCHAR"}, claims)
        engine.fill_table(
            "step_trainer_trusted_spellings", {"person": "VARCHAR", "spelling": "VARCHAR"}, spelled
        )
        engine.fill_table(
            "step_trainer_trusted",
            {"serialNumber": "VARCHAR", "sensorReadingTime": "BIGINT"},
            steps,
        )
        engine.fill_table(
            "accelerometer_trusted_spellings",
            {"person": "VARCHAR", "spelling": "VARCHAR"},
            [("amy@x.test", "Amy@x.test")],
        )
        engine.fill_table(
            "accelerometer_trusted",
            {"user": "VARCHAR", "timestamp": "BIGINT"},
            [("Amy@x.test", 30)],
        )
        assert narrowed(engine, ["amy@x.test", "bob@x.test"]) == steps[:3]
        assert narrowed(engine, ["zed@x.test"]) == []  # s-1 is amy's
        assert narrowed(engine, ["cat@x.test"]) == [steps[2], steps[3]]


def handmade_withdrawal(
    definitions, tmp_path: Path, name: str, serial: str
) -> tuple[Lakehouse, dg.ExecuteInProcessResult]:
    """The handmade lakehouse built, then a run after a newer record of customer `name` (of
    serial `serial`) withdraws their consent; and that run, which must succeed."""
    lakehouse = Lakehouse(
        landing_root=str(write_handmade(tmp_path / "landing")),
        lakehouse_root=str(tmp_path / "lakehouse"),
    )
    assert materialize(definitions, lakehouse).success
    folder = Path(lakehouse.landing_root) / "customer" / "landing"
    write_jsonl(folder / "withdrawal.json", [customer(name, serial, updated=50, research=None)])
    withdrawn = materialize(definitions, lakehouse)
    assert withdrawn.success
    return lakehouse, withdrawn


def test_the_recount_after_a_withdrawal_says_what_the_whole_table_would(
    definitions, tmp_path, small_buckets
):
    """After a withdrawal the training pairs' recount counts again the milliseconds the change
    reaches alone, and gives the verdict and count of a recount of the whole tables; a pair
    slipped into rows the change does not reach (a data file written again behind the table's
    back, after its check passed) still fails it."""
    lakehouse, withdrawn = handmade_withdrawal(definitions, tmp_path, "a", "S-A")
    folder = Path(lakehouse.landing_root) / "customer" / "landing"
    # the recount over the milliseconds reached; the checks of one row at a time on the rows
    # the version writes (and the rows kept against the reads' new files)
    on_additions = materialization(withdrawn, "machine_learning_curated")["checks_on_additions"]
    assert {"count_reconciles", "keys_not_null", "no_identifiers"} <= set(on_additions)
    # the landing identifiers that the pairs' no_identifiers read whole, kept from those before
    # and the new customer file's, are those of every landing file
    kept, every = kept_identifiers(lakehouse)
    assert kept == every
    checks_only = dg.AssetSelection.checks_for_assets(
        *(t.key for t in TABLES.values() if t.zone != "landing")
    )
    whole = materialize(definitions, lakehouse, selection=checks_only)
    assert verdicts(withdrawn) == verdicts(whole)

    # a pair of f's written twice into the data file that holds it, under the same name
    table = TABLES["machine_learning_curated"]
    f = pseudonym("f@x.test")
    con = duckdb.connect()
    for url in lakehouse.store.files(table):
        path = url.removeprefix("file://")
        rows = con.execute("select count(*) from read_parquet(?) where subject_id = ?", [path, f])
        if rows.fetchall()[0][0]:
            copy = f"{path}.copy"
            con.execute(
                f"copy (select * from read_parquet('{path}') union all (select * from "
                f"read_parquet('{path}') where subject_id = '{f}' limit 1)) to '{copy}' "
                "(format parquet)"
            )
            Path(copy).replace(path)
            break
    else:
        raise AssertionError("f has no pairs")
    # h withdraws: the milliseconds of h's serial are counted again, f's are not
    write_jsonl(folder / "withdrawal-h.json", [customer("h", "S-H", updated=50, research=None)])
    slipped = materialize(definitions, lakehouse)
    assert "machine_learning_curated.count_reconciles" in failed_checks(slipped)
    failed = evaluation(slipped, "machine_learning_curated.count_reconciles")
    assert "that the changes since reach" in failed.metadata["evaluated_on"].value


CONSENT_TABLES = [t.name for t in TABLES.values() if t.zone in ("trusted", "curated")]


def test_consent_after_new_customer_records_is_proven_on_the_persons_they_reach(
    definitions, tmp_path, small_buckets
):
    """After new customer records, each table's consent check tests the rows its version writes
    and the rows it keeps of the persons of those records alone (no other person's consent
    changed), the trusted counts count again the persons (and serials) they reach, and each
    gives the verdict and evidence of a whole evaluation; a reading of the next
    person to withdraw, in a spelling landing never had, slipped into a data file the step keeps
    (written again behind the table's back, after its check passed), still fails it."""
    lakehouse, withdrawn = handmade_withdrawal(definitions, tmp_path, "h", "S-H")
    folder = Path(lakehouse.landing_root) / "customer" / "landing"
    consent = {
        check_label(e): e
        for e in withdrawn.get_asset_check_evaluations()
        if e.check_name == "all_consented"
    }
    for name in CONSENT_TABLES:
        how = consent[f"{name}.all_consented"].metadata["evaluated_on"].value
        assert "persons of 1 new customer_landing files" in how, (name, how)
    for name in ("accelerometer_trusted", "step_trainer_trusted"):  # sums over persons
        count = evaluation(withdrawn, f"{name}.count_reconciles")
        assert "that the changes since reach" in count.metadata["evaluated_on"].value
    checks_only = dg.AssetSelection.checks_for_assets(*(TABLES[n].key for n in CONSENT_TABLES))
    whole = materialize(definitions, lakehouse, selection=checks_only)
    assert verdicts(withdrawn) == verdicts(whole)

    # a reading of a as " A@X.test ", slipped into a data file holding no reading of a
    con = duckdb.connect()
    for url in lakehouse.store.files(TABLES["accelerometer_trusted"]):
        path = url.removeprefix("file://")
        users = {u for (u,) in con.execute("select user from read_parquet(?)", [path]).fetchall()}
        if users and "a@x.test" not in users:
            copy = f"{path}.copy"
            con.execute(
                f"copy (select * from read_parquet('{path}') union all (select * replace "
                f"(' A@X.test ' as user) from read_parquet('{path}') limit 1)) to '{copy}' "
                "(format parquet)"
            )
            Path(copy).replace(path)
            break
    else:
        raise AssertionError("every data file holds a's readings")
    write_jsonl(folder / "withdrawal-a.json", [customer("a", "S-A", updated=50, research=None)])
    slipped = materialize(definitions, lakehouse)
    found = evaluation(slipped, "accelerometer_trusted.all_consented")
    assert not found.passed and found.metadata["non_consenting_rows"].value == 1
    assert "persons of 1 new customer_landing files" in found.metadata["evaluated_on"].value
    # and the recount of the persons reached: the table holds one row more than it counts
    assert "accelerometer_trusted.count_reconciles" in failed_checks(slipped)
    whole = materialize(definitions, lakehouse, selection=checks_only)
    assert check_outcomes(whole)["accelerometer_trusted.all_consented"] is False


def test_a_version_the_step_did_not_make_is_checked_whole(definitions, tmp_path):
    """A violation put into the rows of a table by a commit that is not its step's (here: an
    email in the training table): the next step trusts nothing of that version, builds the table
    in full and checks it whole."""
    lakehouse = Lakehouse(
        landing_root=str(write_handmade(tmp_path / "landing")),
        lakehouse_root=str(tmp_path / "lakehouse"),
    )
    assert materialize(definitions, lakehouse).success
    table = TABLES["machine_learning_curated"]
    with lakehouse.connect(table.name) as engine, lakehouse.store.staging() as folder:
        staged = folder / "injected.parquet"
        engine.write_parquet(
            f"select * replace ('a@x.test' as subject_id) from {table.name} limit 1", staged
        )
        lakehouse.store.publish(table, [staged], "not the step", replace=False)
    folder = Path(lakehouse.landing_root) / "accelerometer" / "landing"
    write_jsonl(folder / "later.json", [reading("a", 200, 9.0)])
    result = materialize(definitions, lakehouse)
    assert result.success
    pairs = materialization(result, "machine_learning_curated")
    assert pairs["built"] == "in full" and "checks_on_additions" not in pairs
    assert ("a@x.test",) not in {
        (row[-1],) for row in every_row(lakehouse)["machine_learning_curated"]
    }


def test_one_row_per_person_is_proven_on_the_persons_of_the_new_rows(definitions, tmp_path):
    """After a new customer's record, each customer table's unique_email tests the rows its
    version adds and the rows it keeps of their persons alone, with the verdict and evidence of
    a whole evaluation; a row of the next new person in a spelling landing never has, slipped
    into a data file the step keeps (written again behind the table's back, after its check
    passed), is still found as that person's second row, and the version is not published."""
    lakehouse = Lakehouse(
        landing_root=str(write_handmade(tmp_path / "landing")),
        lakehouse_root=str(tmp_path / "lakehouse"),
    )
    assert materialize(definitions, lakehouse).success
    folder = Path(lakehouse.landing_root) / "customer" / "landing"
    write_jsonl(folder / "new-m.json", [customer("m", "S-M", research=5)])
    added = materialize(definitions, lakehouse)
    assert added.success
    unique = {
        check_label(e): e
        for e in added.get_asset_check_evaluations()
        if e.check_name == "unique_email"
    }
    how = unique["customer_trusted.unique_email"].metadata["evaluated_on"].value
    assert "those of the persons of the new rows" in how
    tables = [TABLES[n].key for n in ("customer_trusted", "customer_curated")]
    whole = materialize(
        definitions, lakehouse, selection=dg.AssetSelection.checks_for_assets(*tables)
    )
    assert {k: v for k, v in verdicts(added).items() if k in unique} == {
        k: v for k, v in verdicts(whole).items() if k in unique
    }

    # a row of n as " N@X.test ", slipped into a data file of customer_trusted
    con = duckdb.connect()
    path = lakehouse.store.files(TABLES["customer_trusted"])[0].removeprefix("file://")
    copy = f"{path}.copy"
    con.execute(
        f"copy (select * from read_parquet('{path}') union all (select * replace "
        f"(' N@X.test ' as email) from read_parquet('{path}') limit 1)) to '{copy}' "
        "(format parquet)"
    )
    Path(copy).replace(path)
    write_jsonl(folder / "new-n.json", [customer("n", "S-N", research=5)])
    slipped = materialize(definitions, lakehouse)
    found = evaluation(slipped, "customer_trusted.unique_email")
    assert not found.passed and found.metadata["duplicate_rows"].value == 1
    assert "those of the persons of the new rows" in found.metadata["evaluated_on"].value
    # the version was not published: the table holds the slipped row of n, and the version
    # would have added n's own (two rows of one person, as the check counted)
    assert "customer_trusted.unique_email" in failed_checks(slipped)
    with lakehouse.connect("customer_trusted") as engine:
        rows_of_n = "select count(*) from customer_trusted where person_key(email) = 'n@x.test'"
        assert engine.scalar(rows_of_n) == 1
