"""Landing files as real exports arrive (gzip and zstd, .jsonl and .ndjson, a JSON array, pretty-
printed objects, files that are no landing files) and one identity per customer (an email or
serial compared by its person key: white space of every kind removed at both ends, case ignored,
in consent, readings, pseudonyms and erasure), through `materialize` on both engines, which must
publish the same rows.

The people: Pat consented, then a newer record under "\tpat.doe@x.test \t" (a tab before it, a
space and a tab after it, lower case) withdraws: Pat must be nowhere in trusted or curated,
whatever the spelling of their readings. Sam consents as "Sam.Roe@x.test"; Sam's readings and
step trainer use other spellings, padded with tab, CR, no-break space and em space (U+2003).
Identifiers that are only white space are quarantined, naming the field.
"""

import gzip
import json
import re
from contextlib import ExitStack
from pathlib import Path

import pytest
import zstandard

from stedi_dagster.defs.curated import assets as curated_assets
from stedi_dagster.defs.trusted import assets as trusted_assets
from stedi_dagster.factory.checks import check_label
from stedi_dagster.lakehouse import Lakehouse
from stedi_dagster.privacy import spellings
from stedi_dagster.privacy.identity import erasure_hash, person_key
from stedi_dagster.privacy.pseudonyms import DEVELOPMENT_PSEUDONYM_KEY, pseudonym
from stedi_dagster.privacy.records import ERASURE_LIST
from stedi_dagster.sql import read_sql, words
from stedi_dagster.tables import TABLES
from stedi_dagster_tests.conftest import (
    check_outcomes,
    failed_checks,
    materialization,
    materialize,
    row_counts,
    write_jsonl,
)
from stedi_dagster_tests.handmade import customer
from stedi_dagster_tests.test_checks_fail import run_check

# Every behaviour is asserted on both engines. Spark's run (PySpark and Java: marker `spark`) reads
# the landing files from S3 and publishes to S3 (the test server: marker `s3`), so the same run
# also proves local[2] with both roots on S3.
ENGINES = ("duckdb", pytest.param("spark", marks=[pytest.mark.spark, pytest.mark.s3]))
S3_PSEUDONYM_KEY = DEVELOPMENT_PSEUDONYM_KEY.decode()  # the same subject ids as on local disk
ARRAY = "the file is a JSON array, not newline-delimited JSON"
PRETTY = "the file is pretty-printed JSON (objects over several lines), not newline-delimited JSON"


def reading(user: str, t: int) -> dict:
    return {"user": user, "timestamp": t, "x": 1.0, "y": 2.0, "z": 3.0}


def lines(records: list) -> bytes:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records).encode()


NBSP, EM_SPACE = "\u00a0", "\u2003"
SAM_GZ = [  # sam.json.gz: line 3 is malformed
    reading("SAM.ROE@X.TEST\t", 100),
    reading(f"{NBSP}SAM.ROE@X.TEST", 101),
    '{"user": ',
    reading("sam.roe@x.test", 102),
]
PAT_ZST = [  # pat.json.zst: a blank line 2, line 3 not a BIGINT
    reading(f"PAT.DOE@x.test{NBSP}", 100),
    "",
    '{"user": "pat.doe@x.test", "timestamp": "soon", "x": 1, "y": 2, "z": 3}',
    reading(f"Pat.Doe@X.test{EM_SPACE}", 101),
]
ARRAY_TEXT = (
    "[\n" + ",\n".join(json.dumps(reading("sam.roe@x.test", t)) for t in (105, 106)) + "\n]\n"
)
PRETTY_TEXT = json.dumps(reading("sam.roe@x.test", 107), indent=2) + "\n"


def write_exports(root: Path) -> Path:
    write_jsonl(
        root / "customer" / "landing" / "customers.jsonl",
        [
            customer("x", "S-PAT", updated=1, research=1, email="Pat.Doe@X.test"),
            customer("x", "S-PAT", updated=2, research=0, email="\tpat.doe@x.test \t"),
            customer("x", "S-SAM", updated=1, research=1, email="Sam.Roe@x.test"),
            customer("x", "S-NOBODY", updated=1, research=1, email=f"{EM_SPACE}\t "),
            customer("x", f" {NBSP}", updated=1, research=1, email="kim@x.test"),
        ],
    )
    folder = root / "accelerometer" / "landing"
    folder.mkdir(parents=True)
    (folder / "sam.json.gz").write_bytes(gzip.compress(lines(SAM_GZ)))
    (folder / "pat.json.zst").write_bytes(zstandard.ZstdCompressor().compress(lines(PAT_ZST)))
    (folder / "more.jsonl").write_bytes(lines([reading("Sam.Roe@x.test\r", 103)]))
    (folder / "more.ndjson").write_bytes(lines([reading(f"{EM_SPACE}sam.roe@x.test", 104)]))
    (folder / "blank.jsonl").write_bytes(lines([reading(f"\t{NBSP}\r", 108), reading("", 109)]))
    (folder / "zz-copy.json").write_bytes(lines(SAM_GZ))  # sam.json.gz's text, uncompressed
    (folder / "array.json").write_text(ARRAY_TEXT)
    (folder / "pretty.json").write_text(PRETTY_TEXT)
    (folder / "notes.csv").write_text("user,timestamp\n")
    (folder / "archive").mkdir()
    (folder / "archive" / "old.json").write_bytes(lines([reading("sam.roe@x.test", 1)]))
    (folder / ".DS_Store").write_bytes(b"\0")
    (folder / "_SUCCESS").write_bytes(b"")
    steps = [
        {"sensorReadingTime": t, "serialNumber": serial, "distanceFromObject": 10}
        for serial, t in (
            (f"s-sam{EM_SPACE}", 100),
            ("\tS-SAM", 101),
            (f"S-Sam{NBSP}", 102),
            ("S-PAT\r", 100),
            (f"{NBSP}\t", 103),
        )
    ]
    write_jsonl(root / "step_trainer" / "landing" / "steps.ndjson", steps)
    return root


def exports_lakehouse(landing: Path, root: Path, engine: str) -> Lakehouse:
    """A lakehouse over the export-like landing files, under `root/<engine>`, that publishes
    whatever share of lines is quarantined (the files hold bad lines on purpose)."""
    return Lakehouse(
        landing_root=str(landing),
        lakehouse_root=str(root / engine),
        quarantine_max_fraction=1.0,
        engine=engine,
    )


def exports_on_s3(landing: Path, s3, s3_endpoint: str) -> Lakehouse:
    """The export-like landing files uploaded to s3://exports/landing (every file, the ignored
    and unrecognized ones too), and a Spark lakehouse on s3://exports/lakehouse over them."""
    s3.mkdir("exports")
    for f in sorted(p for p in landing.rglob("*") if p.is_file()):
        s3.put_file(str(f), f"exports/landing/{f.relative_to(landing).as_posix()}")
    return Lakehouse(
        landing_root="s3://exports/landing",
        lakehouse_root="s3://exports/lakehouse",
        s3_endpoint_url=s3_endpoint,
        pseudonym_key=S3_PSEUDONYM_KEY,
        quarantine_max_fraction=1.0,
        engine="spark",
    )


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> tuple[Path, Path]:
    """The export-like landing files, and the folder the engines' lakehouses go in."""
    root = tmp_path_factory.mktemp("exports")
    return write_exports(root / "landing"), root


@pytest.fixture(scope="module")
def runs(definitions, exports, request):
    """engine -> (lakehouse, result) over the same export-like landing files, each engine's run
    made when a test first asks for it (Spark's on S3)."""
    landing, root = exports

    readers, opened = ExitStack(), {}  # engine -> the DuckDB connection its run is read through

    class Runs(dict):
        def __missing__(self, engine: str):
            if engine == "spark":
                s3 = request.getfixturevalue("s3")
                lakehouse = exports_on_s3(landing, s3, request.getfixturevalue("s3_endpoint"))
            else:
                lakehouse = exports_lakehouse(landing, root, engine)
            self[engine] = lakehouse, materialize(definitions, lakehouse)
            return self[engine]

        def rows(self, engine: str, sql: str) -> list[tuple]:
            """A query's rows over the tables of `engine`'s run, read through one connection per
            run (its tables change no more; on S3 a connection costs a second)."""
            if engine not in opened:
                opened[engine] = readers.enter_context(reader(self[engine][0]))
            return opened[engine].rows(sql)

    with readers:
        yield Runs()


def reader(lakehouse: Lakehouse):
    """A DuckDB connection to every table the lakehouse has materialized (a context manager)."""
    names = [name for name in TABLES if lakehouse.store.is_materialized(TABLES[name])]
    return lakehouse.connect(*names, engine="duckdb")


def rows(lakehouse: Lakehouse, sql: str) -> list[tuple]:
    with reader(lakehouse) as engine:
        return engine.rows(sql)


@pytest.mark.parametrize("engine", ENGINES)
def test_compressed_and_renamed_files_land_with_exact_accounting(runs, engine):
    lakehouse, result = runs[engine]
    assert result.success
    # 3 of sam.json.gz, 2 of pat.json.zst, 1 each of more.jsonl and more.ndjson
    assert row_counts(result)["accelerometer_landing"] == 7
    records = lakehouse.ingested.committed("accelerometer")
    accounted = {
        name: (r.lines, r.rows, r.quarantined, r.duplicate_of) for name, r in records.items()
    }
    assert accounted == {
        "sam.json.gz": (4, 3, 1, None),
        "pat.json.zst": (3, 2, 1, None),  # non-blank lines of the decompressed text
        "more.jsonl": (1, 1, 0, None),
        "more.ndjson": (1, 1, 0, None),
        "blank.jsonl": (2, 0, 2, None),
        "zz-copy.json": (4, 0, 4, "sam.json.gz"),  # the same text, compressed or not
        "array.json": (4, 0, 4, None),
        "pretty.json": (len(PRETTY_TEXT.splitlines()), 0, len(PRETTY_TEXT.splitlines()), None),
    }
    assert check_outcomes(result)["accelerometer_landing.all_lines_accounted"] is True
    quarantined = runs.rows(
        engine,
        "select file, line, reason from accelerometer_quarantine "
        "where file in ('sam.json.gz', 'pat.json.zst') order by file",
    )
    assert quarantined == [
        ("pat.json.zst", 3, "timestamp: not a BIGINT"),
        ("sam.json.gz", 3, "malformed JSON"),
    ]


@pytest.mark.parametrize("engine", ENGINES)
def test_json_documents_are_quarantined_saying_what_the_file_is(runs, engine):
    _, result = runs[engine]
    found = runs.rows(
        engine,
        "select file, count(*), min(line), max(line), min(reason), max(reason), "
        "count(record) from accelerometer_quarantine "
        "where file in ('array.json', 'pretty.json') group by file order by file",
    )
    pretty_lines = len(PRETTY_TEXT.splitlines())
    assert [(f, n, lo, hi, texts) for f, n, lo, hi, _, _, texts in found] == [
        ("array.json", 4, 1, 4, 4),  # every line, with its text
        ("pretty.json", pretty_lines, 1, pretty_lines, pretty_lines),
    ]
    reasons = {f: (low, high) for f, _, _, _, low, high, _ in found}
    assert reasons["array.json"][0] == reasons["array.json"][1]
    assert reasons["array.json"][0].startswith(ARRAY)
    assert reasons["pretty.json"][0] == reasons["pretty.json"][1]
    assert reasons["pretty.json"][0].startswith(PRETTY)
    # nothing of theirs became a row (their timestamps were 105 to 107)
    assert runs.rows(
        engine, "select count(*) from accelerometer_landing where timestamp >= 105"
    ) == [(0,)]


@pytest.mark.parametrize("engine", ENGINES)
def test_files_that_are_no_landing_files_are_named_while_the_run_succeeds(runs, engine):
    _, result = runs[engine]
    assert result.success
    outcomes = check_outcomes(result)
    assert outcomes["accelerometer_landing.no_unrecognized_files"] is False
    assert outcomes["customer_landing.no_unrecognized_files"] is True
    assert failed_checks(result)["accelerometer_landing.no_unrecognized_files"] == "WARN"
    (evaluation,) = [
        e
        for e in result.get_asset_check_evaluations()
        if check_label(e) == "accelerometer_landing.no_unrecognized_files"
    ]
    # named, .DS_Store and _SUCCESS ignored
    assert evaluation.metadata["files"].value == ["archive/old.json", "notes.csv"]
    metadata = materialization(result, "accelerometer_landing")
    assert metadata["unrecognized_files"] == ["archive/old.json", "notes.csv"]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_withdrawal_under_another_spelling_removes_the_customer_everywhere(runs, engine):
    _, result = runs[engine]
    pat = "pat.doe@x.test"
    for table in ("customer_trusted", "customer_curated"):
        assert runs.rows(engine, f"select person_key(email) from {table}") == [("sam.roe@x.test",)]
    # Pat's readings landed (under two padded spellings) and none went further
    assert runs.rows(
        engine,
        f"select count(*) from accelerometer_landing where person_key(user) = '{pat}'",
    ) == [(2,)]
    assert runs.rows(
        engine, f"select count(*) from accelerometer_trusted where person_key(user) = '{pat}'"
    ) == [(0,)]
    assert runs.rows(
        engine,
        "select count(*) from step_trainer_trusted where person_key(serialNumber) = 's-pat'",
    ) == [(0,)]
    ids = {pseudonym(pat)}
    for table, columns in (
        ("machine_learning_curated", "subject_id, step_trainer_subject_id"),
        ("step_features_curated", "subject_id, subject_id"),
    ):
        found = runs.rows(engine, f"select {columns} from {table}")
        assert found and ids.isdisjoint({i for pair in found for i in pair})
    assert all(ok for name, ok in check_outcomes(result).items() if "consented" in name)


@pytest.mark.parametrize("engine", ENGINES)
def test_identifiers_that_are_only_white_space_are_quarantined_naming_the_field(runs, engine):
    found = runs.rows(
        engine,
        "select 'customer', line, reason from customer_quarantine "
        "union all select 'accelerometer', line, reason from accelerometer_quarantine "
        "where file = 'blank.jsonl' "
        "union all select 'step_trainer', line, reason from step_trainer_quarantine "
        "order by 1, 2",
    )
    assert found == [
        ("accelerometer", 1, "key field user is empty or only white space"),
        ("accelerometer", 2, "key field user is empty or only white space"),
        ("customer", 4, "key field email is empty or only white space"),
        ("customer", 5, "key field serialNumber is empty or only white space"),
        ("step_trainer", 5, "key field serialNumber is empty or only white space"),
    ]
    # no person was made of them: no empty key anywhere in landing
    assert runs.rows(
        engine,
        "select (select count(*) from customer_landing where person_key(email) = '' "
        "or person_key(serialNumber) = ''), "
        "(select count(*) from accelerometer_landing where person_key(user) = ''), "
        "(select count(*) from step_trainer_landing where person_key(serialNumber) = '')",
    ) == [(0, 0, 0)]


@pytest.mark.parametrize("engine", ENGINES)
def test_readings_and_serials_in_other_spellings_join_their_customer(runs, engine):
    # Sam's readings in four spellings: 100, 101, 102 (sam.json.gz), 103, 104
    assert runs.rows(engine, "select timestamp from accelerometer_trusted order by 1") == [
        (t,) for t in (100, 101, 102, 103, 104)
    ]
    # Sam's serial as "s-sam ", "S-SAM" and "S-Sam"
    assert runs.rows(engine, "select sensorReadingTime from step_trainer_trusted order by 1") == [
        (100,),
        (101,),
        (102,),
    ]


@pytest.mark.parametrize("engine", ENGINES)
def test_two_spellings_of_one_email_give_one_pseudonym(runs, engine):
    _, result = runs[engine]
    pairs = runs.rows(
        engine,
        "select distinct subject_id, step_trainer_subject_id from machine_learning_curated",
    )
    assert pairs == [(pseudonym("sam.roe@x.test"), pseudonym("sam.roe@x.test"))]
    spellings = ("SAM.ROE@X.TEST\t", f"{NBSP}sam.roe@x.test\r", f"Sam.Roe@x.test{EM_SPACE}")
    assert {pseudonym(s) for s in spellings} == {pseudonym("sam.roe@x.test")}
    assert row_counts(result)["machine_learning_curated"] == 3
    assert check_outcomes(result)["machine_learning_curated.cross_customer_pairs"] is True


@pytest.mark.spark
@pytest.mark.s3
def test_spark_on_s3_publishes_each_table_version_in_one_put(runs, s3):
    """local[2] reaches S3 as the DuckDB engine does: landing files and inputs copied to the
    driver's disk once per version, each new table version uploaded in one PUT (one data file
    and one log entry per curated table)."""
    _, result = runs["spark"]
    assert result.success
    assert materialization(result, "machine_learning_curated")["engine"] == "spark"
    published = s3.find("exports/lakehouse/curated")
    assert sorted(re.sub(r"part-[0-9a-f]{32}", "part-<uuid>", o) for o in published) == [
        f"exports/lakehouse/curated/{name}/{file}"
        for name in ("customer_curated", "machine_learning_curated", "step_features_curated")
        for file in (f"_delta_log/{0:020}.json", "part-<uuid>.parquet")
    ]


@pytest.mark.spark
@pytest.mark.s3
def test_both_engines_publish_the_same_rows(runs):
    tables = {
        engine: {
            name: sorted(runs.rows(engine, f"select * from {name}"), key=repr) for name in TABLES
        }
        for engine in ("duckdb", "spark")
    }
    assert tables["spark"] == tables["duckdb"]
    assert check_outcomes(runs["spark"][1]) == check_outcomes(runs["duckdb"][1])


def test_erasure_under_another_spelling_keeps_every_spelling_out(definitions, tmp_path):
    """The erasure list holds a person key's hash: a later run keeps every spelling's records
    and readings out of landing (on Spark: test_spark_engine.py, whose landing files hold the
    erased customer's email and serial in several spellings, compared with DuckDB's)."""
    lakehouse = exports_lakehouse(write_exports(tmp_path / "landing"), tmp_path, "duckdb")
    spelling = f"{NBSP}\tSAM.roe@X.test{EM_SPACE}"
    lakehouse.privacy.append_log(
        ERASURE_LIST, [{"kind": "email", "sha256": erasure_hash(spelling)}]
    )
    assert materialize(definitions, lakehouse).success
    # Sam's customer record and Sam's five readings are erased, and so are the three lines of
    # the JSON documents that name Sam (by the words in them); Pat's record and readings stay
    assert rows(
        lakehouse,
        "select (select count(*) from customer_landing), "
        "(select count(*) from accelerometer_landing), "
        "(select coalesce(sum(erased), 0) from accelerometer_files)",
    ) == [(2, 2, 8)]


def test_the_erasure_job_removes_every_spelling_of_the_person(definitions, tmp_path):
    """Erasing Sam (asked under yet another spelling) removes, in the job itself, every row whose
    email, user or serial is Sam's by its person key, however it is spelled (the job finds them by
    the values the erasure list's test is true of): from landing and from every trusted and
    curated table; Pat's, Kim's and the other rows stay."""
    from stedi_dagster_tests.test_erasure import erase

    lakehouse = exports_lakehouse(write_exports(tmp_path / "landing"), tmp_path, "duckdb")
    assert materialize(definitions, lakehouse).success
    owners = {"customer": "email", "accelerometer": "user", "step_trainer": "serialNumber"}
    sams = {"sam.roe@x.test", "s-sam"}

    def rows_by_owner() -> dict[str, tuple[int, int]]:
        """Per table of a landing dataset: (Sam's rows, everyone else's)."""
        found = {}
        for name, table in TABLES.items():
            if table.dataset not in owners or name.endswith("_quarantine"):
                continue
            owner = owners[table.dataset]
            values = [v for (v,) in rows(lakehouse, f"select {owner} from {name}")]
            sam = sum(1 for v in values if v is not None and person_key(v) in sams)
            found[name] = (sam, len(values) - sam)
        return found

    before = rows_by_owner()
    assert all(before[n][0] for n in ("accelerometer_landing", "step_trainer_landing"))
    assert before["accelerometer_landing"][0] >= 5  # in four spellings
    assert erase(definitions, lakehouse, f"{EM_SPACE}sam.ROE@x.test\r").success
    after = rows_by_owner()
    assert after == {name: (0, others) for name, (_, others) in before.items()}


def test_json_documents_are_recognized_without_parsing_newline_delimited_files(tmp_path):
    from stedi_dagster.landing.scan import json_document

    cases = {
        "ndjson.json": '{"a": 1}\n{"a": \n',
        "array.json": ARRAY_TEXT,
        "one-line-array.json": '[{"a": 1}, {"a": 2}]\n',
        "pretty.json": PRETTY_TEXT + PRETTY_TEXT,
        "csv.json": "a,b\n1,2\n",
        "broken-array.json": '[{"a": 1},\n',
    }
    kinds = {}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        kinds[name] = json_document(str(tmp_path / name))
    assert kinds == {
        "ndjson.json": None,
        "array.json": "a JSON array",
        "one-line-array.json": "a JSON array",
        "pretty.json": "pretty-printed JSON (objects over several lines)",
        "csv.json": None,
        "broken-array.json": None,
    }


def weaker_key(sql: str) -> str:
    """A transform's SQL with the person key weakened to the old spaces-only rule."""
    return re.sub(r"person_key\(([^()]*)\)", r"lower(trim(\1))", sql)


def test_consent_checks_catch_a_transform_with_a_weaker_key(definitions, tmp_path):
    """The consent checks compute consent from landing with the person key of their own: a
    transform whose key keeps a tab (spaces-only trim) lets the tab-padded withdrawal's older,
    consenting record through, and every `*_all_consented` check it reaches fails."""
    lakehouse = exports_lakehouse(write_exports(tmp_path / "landing"), tmp_path, "duckdb")
    assert materialize(definitions, lakehouse).success
    landing = [t.name for t in TABLES.values() if t.zone == "landing"]
    users = spellings.FileSpellings("accelerometer_trusted_spellings")
    for name, module in (
        ("customer_trusted", trusted_assets.__file__),
        ("accelerometer_trusted", trusted_assets.__file__),
        ("customer_curated", curated_assets.__file__),
    ):
        sql = read_sql(module, name)
        # the kept person keys its SQL reads, keyed the weaker way too
        kept = {trusted_assets.TRUSTED_PERSONS.name: trusted_assets.TRUSTED_PERSONS.sql}
        kept[users.name] = spellings.spellings_of(*spellings.SPELLINGS[users.name])
        read = {k: v for k, v in kept.items() if k in words(sql)}
        assert any(weaker_key(s) != s for s in [sql, *read.values()])
        (path,) = map(Path, lakehouse.store.files(TABLES[name]))
        staged = path.with_name(path.name + ".weaker")
        with lakehouse.connect(*landing, "customer_trusted", "accelerometer_trusted") as engine:
            for relation, computed in read.items():
                engine.create_table(relation, weaker_key(computed))
            engine.write_parquet(weaker_key(sql), staged)
        staged.replace(path)
    pat = "select count(*) from customer_trusted where person_key(email) = 'pat.doe@x.test'"
    assert rows(lakehouse, pat) == [(1,)]
    for check in (
        "customer_trusted.all_consented",
        "accelerometer_trusted.all_consented",
        "customer_curated.all_consented",
    ):
        evaluation = run_check(definitions, lakehouse, check)
        assert not evaluation.passed, check
        assert evaluation.metadata["non_consenting_rows"].value > 0
