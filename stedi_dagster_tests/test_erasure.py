"""Right to erasure on the course data (and on generated data, for a checkout without it): a
consenting customer erased by the `erase_customer` job has zero rows in every table, after the job
and after a full re-materialization; the job is idempotent; the erasure list and audit trail hold
hashes, never the email."""

import hashlib
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from stedi_dagster.defs.privacy.erasure import LANDING_RELATIONS, erase_customer
from stedi_dagster.engines.file_facts import identity
from stedi_dagster.factory.checks import check_label
from stedi_dagster.lakehouse import Lakehouse, data_files
from stedi_dagster.landing import duckdb_reader
from stedi_dagster.privacy import erased_spellings
from stedi_dagster.privacy.erased_landing import customer_records
from stedi_dagster.privacy.erasure import CUSTOMER_SPELLINGS
from stedi_dagster.tables import TABLES
from stedi_dagster_tests.conftest import (
    COURSE_DATA,
    check_outcomes,
    evaluation,
    every_row,
    failed_checks,
    generated_twin,
    materialization,
    materialize,
    row_counts,
    table_files,
    verdicts,
    write_jsonl,
)
from stedi_dagster_tests.handmade import (
    customer,
    handmade_at,
    materialized_handmade,
    reading,
    step,
    write_handmade,
)
from stedi_dagster_tests.test_consent_rules import pseudonym
from stedi_dagster_tests.test_course_data import COURSE_COUNTS
from stedi_dagster_tests.test_shared_tables import forget_shared

WITH_ROWS = [name for name in TABLES if not name.endswith("_quarantine")]


def rows_of(lakehouse: Lakehouse, email: str, serials: list[str]) -> dict[str, int]:
    """Rows of the customer in every table, found by email, serial or pseudonym."""
    con = duckdb.connect()
    owner = {
        "customer": "email = $email",
        "accelerometer": "user = $email",
        "step_trainer": "list_contains($serials, serialNumber)",
        "machine_learning": "subject_id = $id or step_trainer_subject_id = $id",
        "step_features": "subject_id = $id",
    }
    found = {}
    for name, table in TABLES.items():
        quarantined = "contains(coalesce(record, ''), $email)"
        where = quarantined if name.endswith("_quarantine") else owner[table.dataset]
        params = {"email": email, "serials": serials, "id": pseudonym(email)}
        params = {k: v for k, v in params.items() if f"${k}" in where}
        files = lakehouse.store.files(table)
        sql = f"select count(*) from read_parquet($files) where {where}"
        found[name] = con.execute(sql, params | {"files": files}).fetchall()[0][0] if files else 0
    return found


def erase(definitions, lakehouse: Lakehouse, email: str) -> dg.ExecuteInProcessResult:
    job = dg.Definitions(jobs=[erase_customer], resources={"lakehouse": lakehouse})
    return job.resolve_job_def("erase_customer").execute_in_process(
        run_config={"ops": {"remove_customer": {"config": {"email": email}}}}
    )


@pytest.fixture(
    scope="module", params=["generated", pytest.param("course", marks=pytest.mark.course)]
)
def erased(request, definitions, tmp_path_factory):
    """(lakehouse, email, serial, rows before, the job's result, the landing counts) of a curated
    customer erased from a whole run on the course data or on generated data."""
    if request.param == "course":
        landing, counts = COURSE_DATA, COURSE_COUNTS
    else:
        landing = tmp_path_factory.mktemp("generated")
        counts = generated_twin(landing)
        (landing / "expectations.json").unlink()  # an erasure lowers the counts, as intended
    lakehouse = Lakehouse(
        landing_root=str(landing), lakehouse_root=str(tmp_path_factory.mktemp("lakehouse"))
    )
    assert materialize(definitions, lakehouse).success
    con = duckdb.connect()
    email, serial = con.execute(
        "select email, serialNumber from read_parquet(?) order by email limit 1",
        [lakehouse.store.files(TABLES["customer_curated"])],
    ).fetchall()[0]
    before = rows_of(lakehouse, email, [serial])
    assert traces(lakehouse, email, serial), "the customer is stored before the erasure"
    first = erase(definitions, lakehouse, f"\t{email.upper()}\u00a0")  # any spelling
    return lakehouse, email, serial, before, first, counts


def traces(lakehouse: Lakehouse, email: str, serial: str) -> list[str]:
    """Every file under the lakehouse root holding the email or the serial, in any letter case:
    in its raw bytes, or, for a Parquet file (data files of every version, Delta checkpoints),
    in any of its values once decompressed."""
    spellings = {v.encode() for s in (email, serial) for v in (s, s.lower(), s.upper())}
    con = duckdb.connect()
    found = []
    for path in sorted(p for p in Path(lakehouse.lakehouse_root).rglob("*") if p.is_file()):
        if any(spelling in path.read_bytes() for spelling in spellings):
            found.append(str(path))
        elif path.suffix == ".parquet":
            hits = con.execute(  # a row cast to text holds every column's value
                "select count(*) from (select lower(t::varchar) as v from read_parquet(?) t) "
                "where contains(v, ?) or contains(v, ?)",
                [str(path), email.lower(), serial.lower()],
            ).fetchall()[0][0]
            if hits:
                found.append(str(path))
    return found


def test_the_customer_had_rows_everywhere(erased):
    _, _, _, before, _, _ = erased
    assert all(n > 0 for name, n in before.items() if name in WITH_ROWS), before


def test_erasure_removes_every_row_and_reports_it(erased):
    lakehouse, email, serial, before, first, _ = erased
    assert first.success
    assert rows_of(lakehouse, email, [serial]) == dict.fromkeys(TABLES, 0)
    (output,) = [e for e in first.all_events if e.event_type_value == "STEP_OUTPUT"]
    metadata = output.step_output_data.metadata
    assert metadata["rows_removed"].value == before


def test_no_byte_of_the_customer_is_left_under_the_lakehouse_root(erased):
    """Not in the current version, nor in an earlier one (data files, Delta logs and their
    checkpoints), nor in the catalog, quarantine, bookmarks or privacy records."""
    lakehouse, email, serial, before, first, _ = erased
    assert first.success
    assert traces(lakehouse, email, serial) == []
    for name, rows in before.items():
        if rows:  # the versions that held the customer are gone, log entries included
            assert lakehouse.store.delta.open(TABLES[name]).history()[-1]["version"] > 0, name


def test_lists_and_audit_hold_the_hash_never_the_email(erased):
    lakehouse, email, serial, before, first, _ = erased
    privacy = Path(lakehouse.lakehouse_root) / "_privacy"
    email_hash = hashlib.sha256(email.lower().encode()).hexdigest()
    listed = (privacy / "erasure_list.jsonl").read_text()
    audit = (privacy / "erasure_audit.jsonl").read_text()
    assert email_hash in listed and email_hash in audit
    assert hashlib.sha256(serial.lower().encode()).hexdigest() in listed
    for text in (listed, audit):
        assert email.lower() not in text.lower() and serial not in text
    assert f'"tables_touched": {sorted(WITH_ROWS)}'.replace("'", '"') in audit


def test_erasing_again_changes_nothing(definitions, erased):
    lakehouse, email, serial, _, _, _ = erased
    tables = {n: table_files(lakehouse, t) for n, t in TABLES.items()}
    listed = (Path(lakehouse.lakehouse_root) / "_privacy" / "erasure_list.jsonl").read_text()
    again = erase(definitions, lakehouse, email)
    assert again.success
    assert {n: table_files(lakehouse, t) for n, t in TABLES.items()} == tables
    assert (
        Path(lakehouse.lakehouse_root) / "_privacy" / "erasure_list.jsonl"
    ).read_text() == listed


@pytest.mark.parametrize("tags", [{}, {"stedi/full_refresh": "true"}], ids=["rerun", "refresh"])
def test_erased_customer_stays_out_of_later_runs(definitions, erased, tags):
    lakehouse, email, serial, before, _, expected = erased
    result = materialize(definitions, lakehouse, tags=tags)
    assert result.success
    assert rows_of(lakehouse, email, [serial]) == dict.fromkeys(TABLES, 0)
    counts = row_counts(result)
    for landing in ("customer_landing", "accelerometer_landing", "step_trainer_landing"):
        assert counts[landing] == expected[landing] - before[landing]
    assert counts["customer_trusted"] == expected["customer_trusted"] - 1
    assert failed_checks(result) == {"machine_learning_curated.cross_customer_pairs": "WARN"}
    for dataset in ("customer", "accelerometer", "step_trainer"):
        (landed,) = [
            e
            for e in result.get_asset_check_evaluations()
            if check_label(e) == f"{dataset}_landing.all_lines_accounted"
        ]
        assert landed.passed
        assert landed.metadata["erased"].value == before[f"{dataset}_landing"]


def test_erasure_reaches_quarantined_lines(definitions, tmp_path):
    """A customer's line that could not be parsed is found by the words in it and erased too."""
    landing = write_handmade(tmp_path / "landing")
    write_jsonl(
        landing / "accelerometer" / "landing" / "accelerometer-2.json",
        ['{"user": "a@x.test", "timestamp": 5, "x": 1,', '{"user": "b@x.test", "x": 1}'],
    )
    lakehouse = Lakehouse(
        landing_root=str(landing),
        lakehouse_root=str(tmp_path / "lh"),
        quarantine_max_fraction=1.0,
    )
    assert materialize(definitions, lakehouse).success
    assert rows_of(lakehouse, "a@x.test", ["S-A"])["accelerometer_quarantine"] == 1
    job = erase(definitions, lakehouse, "a@x.test")
    removed = next(
        e.step_output_data.metadata["rows_removed"].value
        for e in job.all_events
        if e.event_type_value == "STEP_OUTPUT"
    )
    assert removed["accelerometer_quarantine"] == 1
    assert rows_of(lakehouse, "a@x.test", ["S-A"]) == dict.fromkeys(TABLES, 0)
    assert rows_of(lakehouse, "b@x.test", ["S-B"])["accelerometer_quarantine"] == 1
    for tags in ({}, {"stedi/full_refresh": "true"}):
        result = materialize(definitions, lakehouse, tags=tags)
        assert result.success
        assert check_outcomes(result)["accelerometer_landing.all_lines_accounted"]
        assert rows_of(lakehouse, "a@x.test", ["S-A"]) == dict.fromkeys(TABLES, 0)


def test_erasure_takes_the_serial_from_the_pairs_of_whoever_else_owns_it(definitions, tmp_path):
    """Another consenting customer claims a's Step Trainer and owns it in the pairs (the smaller
    email): erasing a removes the serial's readings from every pair at once, the other owner's
    too (the job leaves that owner's pairs to the next run), and the next run computes again the
    rows of the subjects it reached alone, ending as a full refresh would."""
    landing = write_handmade(tmp_path / "landing")
    write_jsonl(
        landing / "customer" / "landing" / "customer-2.json",
        [customer("0", "S-A", research=5)],
    )
    write_jsonl(
        landing / "accelerometer" / "landing" / "accelerometer-2.json",
        [reading("0", 100), reading("0", 500)],
    )
    lakehouse = Lakehouse(landing_root=str(landing), lakehouse_root=str(tmp_path / "lakehouse"))
    assert materialize(definitions, lakehouse).success
    owner = pseudonym("0@x.test")
    with lakehouse.connect("machine_learning_curated") as engine:
        owned = "select count(*) from machine_learning_curated where step_trainer_subject_id = ?"
        assert engine.scalar(owned, [owner]) > 0, "0 owns S-A in the pairs before the erasure"
    job = erase(definitions, lakehouse, "a@x.test")
    assert job.success
    left = next(
        e.step_output_data.metadata["rows_left_to_compute_again"].value
        for e in job.all_events
        if e.event_type_value == "STEP_OUTPUT"
    )
    assert left["machine_learning_curated"] > 0 and left["step_features_curated"] > 0
    for name in ("machine_learning_curated", "step_features_curated"):
        log = Path(lakehouse.store.table_folder(TABLES[name])) / "_delta_log"
        logged = "".join(p.read_text(errors="replace") for p in log.rglob("*") if p.is_file())
        assert "keys_to_recompute" in logged, name
        assert pseudonym("a@x.test") not in logged, f"{name}: the log names the erased"
    with lakehouse.connect("machine_learning_curated", "step_features_curated") as engine:
        assert engine.scalar(owned, [owner]) == 0
        subjects = "select count(*) from step_features_curated where subject_id = ?"
        assert engine.scalar(subjects, [owner]) == 0, "0's features spanned the pairs removed"
    result = materialize(definitions, lakehouse)
    assert result.success
    for name in ("machine_learning_curated", "step_features_curated"):
        built = materialization(result, name)
        assert built["built"].startswith("recomputed: the rows of "), name
        assert built["keys_left_by_the_erasure"] >= 1, name
    assert rows_of(lakehouse, "a@x.test", ["S-A"]) == dict.fromkeys(TABLES, 0)
    with lakehouse.connect("machine_learning_curated") as engine:
        assert engine.scalar(owned, [owner]) == 0, "S-A's readings are gone for good"
        paired = "select count(*) from machine_learning_curated where subject_id = ?"
        assert engine.scalar(paired, [owner]) > 0, "0's own readings pair with other serials"
    maintained = every_row(lakehouse)
    refreshed = materialize(definitions, lakehouse, tags={"stedi/full_refresh": "true"})
    assert refreshed.success
    assert every_row(lakehouse) == maintained


def test_the_facts_of_the_data_files_the_erasure_left_are_kept(definitions, tmp_path, monkeypatch):
    """The facts kept per data file (`engines/file_facts.py`) of the files an erasure left stay,
    and the next run reads them instead of computing every table's again; those of the files it
    wrote again or removed, which held the customer's rows, are gone. (Tables spread over data
    files of a few rows each, as large tables are.)"""
    monkeypatch.setattr(data_files, "BUCKET_ROWS", 1)
    lakehouse = materialized_handmade(definitions, tmp_path)
    folder = lakehouse.shared_tables / "file_facts"
    before = {p.name: p.stat().st_ino for p in folder.iterdir()}
    assert erase(definitions, lakehouse, "a@x.test").success
    kept = {p.name: p.stat().st_ino for p in folder.iterdir()}
    current = {
        identity(url)
        for table in TABLES.values()
        if lakehouse.store.is_materialized(table)
        for url in lakehouse.store.files(table)
    }
    assert {Path(name).stem.partition("-")[2] for name in kept} <= current
    assert kept and set(kept) < set(before)  # the rewritten files' facts gone, the others kept
    assert kept == {name: before[name] for name in kept}
    result = materialize(definitions, lakehouse)
    assert result.success
    assert rows_of(lakehouse, "a@x.test", ["S-A"]) == dict.fromkeys(TABLES, 0)
    assert {name: (folder / name).stat().st_ino for name in kept} == kept  # read, not computed


def test_a_landing_data_file_holds_a_bounded_batch_and_the_erasure_rewrites_only_its_own(
    definitions, tmp_path, monkeypatch
):
    """Landing reads new files in batches of at most `BATCH_BYTES` of JSON (or one file larger
    than that), one data file each: a customer's erasure rewrites the data file holding their
    record, whatever the size of the table, and keeps the others as they are."""
    write_handmade(tmp_path / "landing")
    folder = tmp_path / "landing" / "customer" / "landing"
    others = [customer(name, f"S-{name.upper()}", research=5) for name in "klmn"]
    for i, record in enumerate(others):
        write_jsonl(folder / f"customer-{i + 2}.json", [record])
    sizes = sorted(f.stat().st_size for f in folder.iterdir())
    # two one-record files fill a batch, the handmade file is one alone
    monkeypatch.setattr(duckdb_reader, "BATCH_BYTES", 2 * sizes[0])
    assert sizes[1] < 2 * sizes[0] < sizes[-1]
    lakehouse = handmade_at(tmp_path)
    assert materialize(definitions, lakehouse).success
    table = TABLES["customer_landing"]
    before = set(lakehouse.store.files(table))
    assert len(before) == 3  # the handmade file; k and l; m and n
    assert erase(definitions, lakehouse, "a@x.test").success
    after = set(lakehouse.store.files(table))
    assert len(before - after) == 1 and len(after - before) == 1  # a's data file alone
    assert rows_of(lakehouse, "a@x.test", ["S-A"])["customer_landing"] == 0


# The relations the erasure keeps again (the others of LANDING_RELATIONS are read, not kept).
KEPT_AGAIN = [relation for relation in LANDING_RELATIONS if relation.erased is not None]


def kept_and_computed_from_landing(lakehouse: Lakehouse) -> tuple[dict, dict]:
    """The relations an erasure keeps again, kept for landing as it is as a new process finds
    them (each must be kept), and those computing them from landing gives, each as its sorted
    rows, by name."""
    landing = ("customer_landing", "accelerometer_landing", "step_trainer_landing")
    kept, computed = {}, {}
    with lakehouse.connect(*landing) as engine:
        forget_shared(engine)  # as a new process: read from the kept files
        for relation in KEPT_AGAIN:  # each creates the view the next may read
            held = engine.kept_table(relation.name, relation.sql, relation.over)
            assert held is not None, f"{relation.name} is not kept"
            kept[relation.name] = engine.rows(f"select * from {held} order by all")
    with lakehouse.connect(*landing) as engine:
        for relation in KEPT_AGAIN:  # temporary tables, over every landing row
            engine.create_table(relation.name, relation.sql)
            computed[relation.name] = engine.rows(f"select * from {relation.name} order by all")
    return kept, computed


def test_the_relations_kept_from_landing_are_kept_again_without_the_customer(definitions, tmp_path):
    """The relations the checks compute from landing and keep between runs (consent, latest
    readings, identifiers) are kept again by the erasure for landing as it leaves it, each as
    computing it from landing then gives: another customer claims one of a's serials, whose
    consent is computed again and which stays an identifier, as do a's other serial (a reading's
    user) and a's email (a Step Trainer's serial), which landing holds in rows the erasure does
    not remove. The run after reads them: none is computed again, and every check passes."""
    landing = write_handmade(tmp_path / "landing")
    write_jsonl(
        landing / "customer" / "landing" / "customer-2.json",
        [customer("0", "S-A", research=5), customer("a", "S-A2", updated=5, research=5)],
    )
    write_jsonl(
        landing / "accelerometer" / "landing" / "accelerometer-2.json",
        [{**reading("z", 100), "user": "s-a2 "}],
    )
    write_jsonl(landing / "step_trainer" / "landing" / "step-2.json", [step(" A@X.test", 100)])
    lakehouse = Lakehouse(landing_root=str(landing), lakehouse_root=str(tmp_path / "lakehouse"))
    assert materialize(definitions, lakehouse).success
    kept, _ = kept_and_computed_from_landing(lakehouse)
    assert "a@x.test" in {email for email, *_ in kept["research_consent"]}
    job = erase(definitions, lakehouse, "a@x.test")
    assert job.success
    (output,) = [e for e in job.all_events if e.event_type_value == "STEP_OUTPUT"]
    said = output.step_output_data.metadata["relations_kept_again"].value
    assert said == sorted(relation.name for relation in KEPT_AGAIN)
    kept, computed = kept_and_computed_from_landing(lakehouse)
    assert kept == computed
    assert "a@x.test" not in {email for email, *_ in computed["research_consent"]}
    identifiers = {value for (value,) in computed["landing_identifiers"]}
    assert {"s-a", "s-a2", "a@x.test"} <= identifiers  # each still in a row of landing
    serials = computed["serial_consent"]
    assert [row for row in serials if row[0] == "s-a"] == [("s-a", True, 5)]  # 0 alone consents

    def kept_files() -> dict[str, int]:
        names = {relation.name for relation in KEPT_AGAIN}
        return {
            path.name: path.lstat().st_ino
            for path in lakehouse.shared_tables.iterdir()
            if path.name.rpartition("-")[0] in names
        }

    spared = kept_files()
    assert len(spared) >= len(KEPT_AGAIN)
    landing = ("customer_landing", "accelerometer_landing", "step_trainer_landing")
    with lakehouse.connect(*landing) as engine:  # in their first column's order, as every kept
        # file (lookups skip row groups by it): the files they filter were, but for the rows of
        # a's keys computed again (the serials' consent, the identifiers still in landing)
        forget_shared(engine)
        for relation in KEPT_AGAIN:
            engine.kept_table(relation.name, relation.sql, relation.over)
            base = engine.kept_in_files(relation.name).base
            rows = engine.rows(f"select * from read_parquet('{base}')")
            firsts = [v for v, *_ in rows if v not in {"a@x.test", "s-a", "s-a2"}]
            assert firsts == sorted(firsts, key=lambda v: (v is None, v)), relation.name
    result = materialize(definitions, lakehouse)
    assert result.success and not failed_checks(result)
    assert kept_files() == spared  # read, none computed again


def changed_tables(lakehouse: Lakehouse) -> set[str]:
    """The tables of rows changed between versions in the process's database (which its other
    connections see)."""
    with lakehouse.connect() as engine:
        found = engine.rows(
            "select table_name from duckdb_tables() where not temporary "
            "and table_name like '%changed%'"
        )
    return {name for (name,) in found}


@pytest.mark.parametrize("erased", ["a", "f", "h"])
def test_the_erasure_evaluates_the_checks_that_the_run_after_reports_or_builds_on(
    definitions, tmp_path, erased
):
    """The job counts again the training pairs of the milliseconds its changes reach, and the
    trusted readings of the persons and serials they reach, before the inputs' files before it
    go, and evaluates every check row by row (or per person) of the trusted and curated tables
    on the rows of the values it removed (none left), and records the results with each
    version; the run after reports them again (f: no other subject
    reached, each version is what its step computes) or adds to them (a: 0 claims a's serial
    too, and its pairs are left to compute again: the version recorded then held fewer pairs
    than counted; h: i claims h's serial too, without consent, so its readings were never
    trusted, and its recount reaches i's records), instead of evaluating them on the whole
    tables. Either way the run after's
    verdict and evidence are those of every check evaluated on the whole tables ("Execute
    checks"). The results name the job's run and the version."""
    landing = write_handmade(tmp_path / "landing")
    write_jsonl(
        landing / "customer" / "landing" / "customer-2.json", [customer("0", "S-A", research=5)]
    )
    write_jsonl(
        landing / "accelerometer" / "landing" / "accelerometer-2.json",
        [reading("0", 100), reading("0", 500)],
    )
    lakehouse = Lakehouse(landing_root=str(landing), lakehouse_root=str(tmp_path / "lakehouse"))
    assert materialize(definitions, lakehouse).success
    pairs = TABLES["machine_learning_curated"]
    before = changed_tables(lakehouse)  # (other tests' runs in this process may have left some)
    job = erase(definitions, lakehouse, f"{erased}@x.test")
    assert job.success
    (output,) = [e for e in job.all_events if e.event_type_value == "STEP_OUTPUT"]
    metadata = output.step_output_data.metadata
    evaluated = metadata["checks_evaluated"].value
    row_by_row = ["keys_not_null", "all_consented"]
    assert erased != "h" or evaluated["step_trainer_trusted"] == ["count_reconciles"]
    assert erased == "h" or evaluated == {
        "customer_trusted": [*row_by_row, "unique_email"],
        "accelerometer_trusted": [*row_by_row, "count_reconciles"],
        "step_trainer_trusted": [*row_by_row, "count_reconciles"],
        "customer_curated": [*row_by_row, "unique_email"],
        "machine_learning_curated": [*row_by_row, "count_reconciles", "no_identifiers"],
        "step_features_curated": [*row_by_row, "no_identifiers"],
    }
    left = metadata["rows_left_to_compute_again"].value.get("machine_learning_curated", 0)
    assert (left > 0) == (erased == "a")
    version, _ = lakehouse.store.delta.last_commit(pairs)
    # the rows it removed, which the recount compared, are in no table the process's other
    # connections see
    assert changed_tables(lakehouse) - before == set()
    after = materialize(definitions, lakehouse)
    assert after.success
    recount = evaluation(after, "machine_learning_curated.count_reconciles")
    on = recount.metadata["evaluated_on"].value
    if erased != "a":  # reported again, as the job evaluated it
        assert recount.metadata["evaluated_in_run"].value == job.run_id
        assert recount.metadata["evaluated_delta_version"].value == version
        assert "counted before and after; the table before passed at version" in on
    else:  # added to: the count recorded with a version that lacked 0's pairs
        assert materialization(after, "machine_learning_curated")["built"].startswith(
            "recomputed: the rows of "
        )
        assert f"the table before counted at version {version} (run {job.run_id[:8]})" in on
    for name, checks in evaluated.items():  # reported again, or built on
        for check in checks:
            found = evaluation(after, f"{name}.{check}").metadata
            again = found.get("evaluated_in_run")
            if again is None or again.value != job.run_id:
                assert f"(run {job.run_id[:8]})" in found["evaluated_on"].value, (name, check)
    checks_only = dg.AssetSelection.checks_for_assets(*(t.key for t in TABLES.values()))
    whole = materialize(definitions, lakehouse, selection=checks_only)
    assert whole.success
    assert verdicts(after) == verdicts(whole)


def job_metadata(job: dg.ExecuteInProcessResult) -> dict:
    """The erasure job's output metadata, values unwrapped."""
    output = next(e for e in job.all_events if e.event_type_value == "STEP_OUTPUT")
    return {k: getattr(v, "value", v) for k, v in output.step_output_data.metadata.items()}


def test_the_rows_are_found_by_the_kept_spellings_while_every_erasure_before_completed(
    definitions, tmp_path
):
    """An erasure finds its customer's rows by the spellings kept beside the tables
    (`privacy/erased_spellings.py`) while every erasure before it completed. After one that
    listed f and stopped (f's rows still everywhere), the next makes the erasure list's test of
    every value, which removes f's rows with a's. Each leaves what a full refresh builds."""
    lakehouse = materialized_handmade(definitions, tmp_path)
    assert rows_of(lakehouse, "h@x.test", ["S-H"])["customer_curated"] == 1
    job = erase(definitions, lakehouse, " H@X.test")  # in any spelling
    assert job.success
    assert job_metadata(job)["found_by_spellings"] == [
        "accelerometer_landing",
        "accelerometer_trusted",
        "customer_curated",
        "customer_landing",
        "customer_trusted",
        "step_trainer_landing",
        "step_trainer_trusted",
    ]
    assert rows_of(lakehouse, "h@x.test", ["S-H"]) == dict.fromkeys(TABLES, 0)
    f_rows = rows_of(lakehouse, "f@x.test", ["S-F"])
    assert f_rows["accelerometer_trusted"] and f_rows["machine_learning_curated"]
    listed = [("email", b"f@x.test"), ("serial", b"s-f")]  # as an erasure of f lists them
    lakehouse.privacy.append_log(
        "erasure_list.jsonl",
        [{"kind": kind, "sha256": hashlib.sha256(key).hexdigest()} for kind, key in listed],
    )
    job = erase(definitions, lakehouse, "a@x.test")
    assert job.success
    assert rows_of(lakehouse, "f@x.test", ["S-F"]) == dict.fromkeys(TABLES, 0)
    assert job_metadata(job)["found_by_spellings"] == []
    assert rows_of(lakehouse, "a@x.test", ["S-A"]) == dict.fromkeys(TABLES, 0)
    assert materialize(definitions, lakehouse).success
    maintained = every_row(lakehouse)
    assert materialize(definitions, lakehouse, tags={"stedi/full_refresh": "true"}).success
    assert every_row(lakehouse) == maintained


def test_the_customer_s_records_are_read_from_landing_and_from_the_files_not_read_yet(
    definitions, tmp_path
):
    """The customer's records, and the serials they claimed, come from what landing keeps of
    the files ingested as they are (their rows, in any spelling; the text of their quarantined
    lines) and from the raw files a run has not read yet, not from every raw file
    (`erased_landing.customer_records`): the same records as reading every raw file, for every
    customer. Each serial goes with them."""
    landing = write_handmade(tmp_path / "landing")
    customers = landing / "customer" / "landing"
    write_jsonl(
        customers / "customer-2.json",
        [
            customer("a", "S-L", updated=5, research=5) | {"email": "A@X.TEST "},
            customer("a", "S-Q", research=5, birthDay="last spring") | {"email": " A@x.test"},
        ],
    )
    write_jsonl(
        landing / "step_trainer" / "landing" / "step_trainer-2.json",
        [step(serial, 900) for serial in ("S-L", "S-Q", "S-N")],
    )
    lakehouse = Lakehouse(
        landing_root=str(landing),
        lakehouse_root=str(tmp_path / "lakehouse"),
        quarantine_max_fraction=1.0,
    )
    assert materialize(definitions, lakehouse).success
    write_jsonl(customers / "customer-3.json", [customer("a", "S-N", research=5)])  # not read
    serials = ["S-A", "S-L", "S-Q", "S-N"]
    with lakehouse.connect("customer_landing", "customer_quarantine", engine="duckdb") as con:
        kept = erased_spellings.kept_before(con)[CUSTOMER_SPELLINGS]
        for name in "abcdefghij":
            raw, files = customer_records(con, lakehouse, f"{name}@x.test")
            assert files == 3
            assert customer_records(con, lakehouse, f"{name}@x.test", kept) == (raw, 1), name
        found, _ = customer_records(con, lakehouse, "a@x.test", kept)
        assert sorted(serial for _, serial in found) == sorted(serials)
    assert rows_of(lakehouse, "a@x.test", serials)["step_trainer_landing"] == 2 + 3
    job = erase(definitions, lakehouse, "a@x.test")
    assert job.success
    assert job_metadata(job)["customer_files_read"] == 1
    (entry,) = lakehouse.privacy.read_log("erasure_audit.jsonl")
    assert (entry["serials"], entry["landing_records"]) == (4, 4)
    assert rows_of(lakehouse, "a@x.test", serials) == dict.fromkeys(TABLES, 0)


def test_rows_of_the_erased_left_fail_the_job_and_the_checks_that_it_evaluated(
    definitions, tmp_path, monkeypatch
):
    """A violation in the rows a version kept: the erasure's removal from accelerometer_trusted
    misses a spelling of a's (a fault injected), so a row of a's is left where a no longer
    consents. The checks the job evaluates on its versions find it by the spellings the
    version's data files hold: the job fails naming the check, writes no audit entry, and the
    run after reports all_consented failed, as evaluating it on the whole table does. Erasing a
    again (the erasure list's test of every value, the erasure before not complete) removes the
    row."""
    landing = write_handmade(tmp_path / "landing")
    write_jsonl(
        landing / "accelerometer" / "landing" / "accelerometer-2.json",
        [{**reading("a", 300), "user": " A@X.test"}],
    )
    lakehouse = Lakehouse(landing_root=str(landing), lakehouse_root=str(tmp_path / "lakehouse"))
    assert materialize(definitions, lakehouse).success
    values = erased_spellings.ErasedSpellings.values

    def missing_one(self, engine, store, table, files):
        found = values(self, engine, store, table, files)
        if table.name != "accelerometer_trusted" or found is None:
            return found
        return [v for v in found if v != " A@X.test"]

    monkeypatch.setattr(erased_spellings.ErasedSpellings, "values", missing_one)
    job = dg.Definitions(jobs=[erase_customer], resources={"lakehouse": lakehouse})
    failed = job.resolve_job_def("erase_customer").execute_in_process(
        run_config={"ops": {"remove_customer": {"config": {"email": "a@x.test"}}}},
        raise_on_error=False,
    )
    assert not failed.success
    (failure,) = [e for e in failed.all_events if e.event_type_value == "STEP_FAILURE"]
    message = failure.event_specific_data.error.cause.message
    assert "did not complete: accelerometer_trusted.all_consented failed" in message
    assert not (Path(lakehouse.lakehouse_root) / "_privacy" / "erasure_audit.jsonl").exists()
    assert rows_of(lakehouse, "a@x.test", [])["accelerometer_trusted"] == 0
    with lakehouse.connect("accelerometer_trusted") as engine:
        left = "select count(*) from accelerometer_trusted where user = ' A@X.test'"
        assert engine.scalar(left) == 1
    monkeypatch.undo()
    after = materialize(definitions, lakehouse)
    consent = evaluation(after, "accelerometer_trusted.all_consented")
    assert not consent.passed
    assert consent.metadata["evaluated_in_run"].value == failed.run_id
    checks_only = dg.AssetSelection.checks_for_assets(*(t.key for t in TABLES.values()))
    whole = verdicts(materialize(definitions, lakehouse, selection=checks_only))
    reported = verdicts(after)  # (the tables reading accelerometer_trusted not built: it failed)
    assert "accelerometer_trusted.all_consented" in reported
    assert {k: whole[k] for k in reported} == reported
    again = erase(definitions, lakehouse, "a@x.test")
    assert again.success and job_metadata(again)["found_by_spellings"] == []
    assert materialize(definitions, lakehouse).success
    assert rows_of(lakehouse, "a@x.test", ["S-A"]) == dict.fromkeys(TABLES, 0)
    with lakehouse.connect("accelerometer_trusted") as engine:
        assert engine.scalar(left) == 0
