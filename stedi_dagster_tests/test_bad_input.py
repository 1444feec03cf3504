"""Bad landing input: good rows still flow, each bad line lands in its dataset's quarantine table
with file, line number and reason, the run log names them, every line stays accounted for, and
above the configured fraction nothing is published."""

import json
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from stedi_dagster.factory.checks import check_label
from stedi_dagster.lakehouse import Lakehouse
from stedi_dagster.tables import LANDING_DATASETS, TABLES
from stedi_dagster_tests.conftest import (
    check_outcomes,
    failed_checks,
    failed_steps,
    materialization,
    materialize,
    row_counts,
    table_files,
    write_jsonl,
)
from stedi_dagster_tests.handmade import (
    ACCELEROMETER,
    CUSTOMERS,
    EXPECTED_ROWS,
    STEP_TRAINER,
    AsBuilt,
    write_handmade,
)

WARNING_ONLY = {"machine_learning_curated.cross_customer_pairs": "WARN"}


@pytest.fixture(scope="module")
def built(definitions, tmp_path_factory) -> AsBuilt:
    """The handmade data, materialized; quarantine may hold up to all lines (so that one bad
    line among a dozen does not stop the run)."""
    return AsBuilt(
        definitions, tmp_path_factory.mktemp("bad-input") / "handmade", quarantine_max_fraction=1.0
    )


@pytest.fixture
def lakehouse(built) -> Lakehouse:
    return built.restore()


def landing_file(lakehouse: Lakehouse, dataset: str, name: str) -> Path:
    return Path(lakehouse.landing_root) / dataset / "landing" / name


def query(lakehouse: Lakehouse, sql: str) -> list[tuple]:
    names = [n for n, t in TABLES.items() if t.zone == "landing"]
    with lakehouse.connect(*names) as engine:
        return engine.rows(sql)


def run_logged(definitions, lakehouse: Lakehouse) -> tuple[dg.ExecuteInProcessResult, str]:
    """Materialize everything; the result and the run's log messages as one text."""
    with dg.DagsterInstance.ephemeral() as instance:
        result = materialize(definitions, lakehouse, instance=instance)
        messages = "\n".join(e.user_message for e in instance.all_logs(result.run_id))
    return result, messages


def evaluation(result: dg.ExecuteInProcessResult, check: str) -> dict:
    (e,) = [e for e in result.get_asset_check_evaluations() if check_label(e) == check]
    return {"passed": e.passed} | {k: getattr(v, "value", v) for k, v in e.metadata.items()}


BAD_LINES = [
    # (dataset, good record, bad line, reason)
    (
        "accelerometer",
        ACCELEROMETER[0],
        '{"user":"a@x.test","timestamp":900,"x":1,',
        "malformed JSON",
    ),
    (
        "accelerometer",
        ACCELEROMETER[0],
        '{"user":"a@x.test","timestamp":9,"x":"abc","y":1,"z":1}',
        "x: not a DOUBLE",
    ),
    (
        "accelerometer",
        ACCELEROMETER[0],
        '{"timestamp":900,"x":1,"y":1,"z":1}',
        "missing key field user",
    ),
    (
        "accelerometer",
        ACCELEROMETER[0],
        '{"user":"a@x.test","x":1,"y":1,"z":1}',
        "missing key field timestamp",
    ),
    ("accelerometer", ACCELEROMETER[0], "[1, 2, 3]", "not a JSON object"),
    (
        "step_trainer",
        STEP_TRAINER[0],
        '{"serialNumber":"S-A","distanceFromObject":1}',
        "missing key field sensorReadingTime",
    ),
    (
        "step_trainer",
        STEP_TRAINER[0],
        '{"sensorReadingTime":9,"distanceFromObject":1}',
        "missing key field serialNumber",
    ),
    (
        "customer",
        CUSTOMERS[0],
        json.dumps({**CUSTOMERS[0], "email": None}),
        "missing key field email",
    ),
    (
        "customer",
        CUSTOMERS[0],
        json.dumps({**CUSTOMERS[0], "birthDay": "last spring"}),
        "birthDay: not a DATE",
    ),
    (
        "customer",
        CUSTOMERS[0],
        json.dumps({**CUSTOMERS[0], "registrationDate": "yesterday"}),
        "registrationDate: not a BIGINT",
    ),
]


@pytest.fixture(scope="module")
def bad_lines_run(definitions, tmp_path_factory):
    """One run over the handmade data plus, for each case, a file of one good and one bad line."""
    root = tmp_path_factory.mktemp("bad-lines")
    lakehouse = Lakehouse(
        landing_root=str(write_handmade(root / "landing")),
        lakehouse_root=str(root / "lakehouse"),
        quarantine_max_fraction=1.0,
    )
    for case, (dataset, good, bad, _) in enumerate(BAD_LINES):
        write_jsonl(landing_file(lakehouse, dataset, f"case-{case}.json"), [good, bad])
    result, log = run_logged(definitions, lakehouse)
    return lakehouse, result, log


def test_bad_lines_leave_the_run_successful_with_a_warning_each(bad_lines_run):
    _, result, _ = bad_lines_run
    assert result.success
    assert failed_checks(result) == WARNING_ONLY | {
        f"{dataset}_quarantine.quarantined_rows": "WARN" for dataset in LANDING_DATASETS
    }
    for dataset in LANDING_DATASETS:
        cases = sum(d == dataset for d, *_ in BAD_LINES)
        landing = f"{dataset}_landing"
        rows = materialization(result, landing)["dagster/row_count"]
        assert rows == EXPECTED_ROWS[landing] + cases  # every good line flowed
        accounted = evaluation(result, f"{landing}.all_lines_accounted")
        assert accounted["passed"]
        assert (accounted["json_lines"], accounted["quarantined"]) == (
            EXPECTED_ROWS[landing] + 2 * cases,
            cases,
        )


@pytest.mark.parametrize("case", range(len(BAD_LINES)), ids=[r for *_, r in BAD_LINES])
def test_a_bad_line_is_quarantined_with_file_line_and_reason(bad_lines_run, case):
    lakehouse, _, log = bad_lines_run
    dataset, _, bad, reason = BAD_LINES[case]
    quarantined = query(
        lakehouse, f"select * from {dataset}_quarantine where file = 'case-{case}.json'"
    )
    assert quarantined == [(f"case-{case}.json", 2, reason, bad)]
    assert f"case-{case}.json: 1 of 2 lines quarantined" in log
    assert (
        f"case-{case}.json: 1 of 2 lines quarantined in {dataset}_quarantine: line 2: {reason}"
        in log
    )


def test_an_empty_file_adds_nothing_and_is_reported(definitions, lakehouse):
    landing_file(lakehouse, "step_trainer", "step_trainer-2.json").write_bytes(b"")
    landing_file(lakehouse, "step_trainer", "step_trainer-3.json").write_bytes(b"\n  \n")
    result, log = run_logged(definitions, lakehouse)
    assert result.success
    assert failed_checks(result) == WARNING_ONLY
    assert materialization(result, "step_trainer_landing")["dagster/row_count"] == 12
    assert materialization(result, "step_trainer_quarantine")["empty_files"] == [
        "step_trainer-2.json",
        "step_trainer-3.json",
    ]
    assert "step_trainer landing file step_trainer-2.json is empty" in log


def test_a_file_that_is_not_json_is_quarantined_line_by_line(definitions, lakehouse):
    landing_file(lakehouse, "accelerometer", "export.json").write_bytes(
        b"user,timestamp,x,y,z\na@x.test,1,0,0,0\n\x89PNG\r\n\x1a\n"
    )
    result = materialize(definitions, lakehouse)
    assert result.success
    assert query(lakehouse, "select line, reason from accelerometer_quarantine") == [
        (1, "malformed JSON"),
        (2, "malformed JSON"),
        (3, "not UTF-8 text"),
        (4, "malformed JSON"),
    ]
    assert materialization(result, "accelerometer_landing")["dagster/row_count"] == 12
    assert check_outcomes(result)["accelerometer_landing.all_lines_accounted"]


def test_a_file_copied_under_a_new_name_adds_no_row(definitions, lakehouse):
    original = landing_file(lakehouse, "accelerometer", "accelerometer-1.json")
    copy = landing_file(lakehouse, "accelerometer", "accelerometer-1 (copy).json")
    copy.write_bytes(original.read_bytes())
    result = materialize(definitions, lakehouse)
    assert result.success
    assert materialization(result, "accelerometer_landing")["dagster/row_count"] == 12
    assert materialization(result, "accelerometer_trusted")["dagster/row_count"] == 6
    assert query(
        lakehouse,
        "select file, count(*), min(line), max(line), any_value(reason), count(record) "
        "from accelerometer_quarantine group by file",
    ) == [("accelerometer-1 (copy).json", 12, 1, 12, "duplicate of accelerometer-1.json", 0)]
    assert materialization(result, "accelerometer_quarantine")["duplicate_files"] == [
        "accelerometer-1 (copy).json"
    ]
    # once the original is gone, the copy is the file that holds the rows
    original.unlink()
    result = materialize(definitions, lakehouse)
    assert materialization(result, "accelerometer_landing")["dagster/row_count"] == 12
    assert materialization(result, "accelerometer_quarantine")["dagster/row_count"] == 0
    assert check_outcomes(result)["accelerometer_landing.all_lines_accounted"]


def test_quarantine_above_the_fraction_publishes_nothing(definitions, tmp_path):
    lakehouse = Lakehouse(
        landing_root=str(write_handmade(tmp_path / "landing")),
        lakehouse_root=str(tmp_path / "lakehouse"),
    )  # the default: at most 5% of a dataset's lines in quarantine
    assert materialize(definitions, lakehouse).success
    before = {name: table_files(lakehouse, t) for name, t in TABLES.items()}
    write_jsonl(
        landing_file(lakehouse, "accelerometer", "accelerometer-2.json"),
        [ACCELEROMETER[0], '{"user":"a@x.test","timestamp":900,"x":1,'],
    )
    result = materialize(definitions, lakehouse)
    assert not result.success
    error = failed_steps(result)["accelerometer_landing"]
    assert "accelerometer_quarantine.quarantine_fraction" in error
    assert "previous version of the table stays in place" in error
    fraction = evaluation(result, "accelerometer_quarantine.quarantine_fraction")
    assert (fraction["quarantined_rows"], fraction["json_lines"]) == (1, 14)
    assert fraction["max_fraction"] == 0.05
    # the blocked tables and everything built on them are exactly as they were
    held = {
        "accelerometer_landing",
        "accelerometer_quarantine",
        "accelerometer_trusted",
        "customer_curated",
        "step_trainer_trusted",
        "machine_learning_curated",
        "step_features_curated",
    }
    assert held.isdisjoint(row_counts(result))
    assert {name: table_files(lakehouse, TABLES[name]) for name in held} == {
        name: before[name] for name in held
    }
    assert list((Path(lakehouse.lakehouse_root) / "_staging").iterdir()) == []
    with duckdb.connect() as con:  # the published parts are still whole and readable
        assert con.execute(
            "select count(*) from read_parquet(?)",
            [lakehouse.store.files(TABLES["accelerometer_landing"])],
        ).fetchall() == [(12,)]


CLEAN_BUT_ODD = [  # colons in a value, a null, a key spelled with an escape: no unknown field
    '{"user": "a:b@x.test", "timestamp": 1, "x": 1, "y": 2, "z": 3}',
    '{"user": "c@x.test", "timestamp": 2, "x": 1, "y": 2, "z": null}',
    '{"us\\u0065r": "d@x.test", "timestamp": 3, "x": 1, "y": 2, "z": 3}',
]
UNKNOWN = [  # each hides an unknown key from a count of keys alone
    '{"user": "e@x.test", "timestamp": 4, "x": 1, "y": 2, "speed": 3}',  # z missing
    '{"user": "f@x.test", "timestamp": 5, "x": 1, "y": 2, "Z": 3}',  # case differs
    '{"user": "g@x.test", "timestamp": 6, "x": 1, "y": 2, "z": 3, "extra": {"a": 1}}',
]


@pytest.mark.parametrize(
    ("files", "unknown"),
    [
        ({"odd.json": CLEAN_BUT_ODD}, {}),
        (
            {f"unknown-{i}.json": [line] for i, line in enumerate(UNKNOWN)}
            | {"odd.json": CLEAN_BUT_ODD},
            {"Z": 1, "extra": 1, "speed": 1},
        ),
    ],
    ids=["none", "three"],
)
def test_unknown_fields_are_found_however_the_record_hides_them(
    definitions, tmp_path, files, unknown
):
    """Files are proven free of unknown fields by counting their colons (`ingest.Scan`); records
    whose count alone would look right, or that only look suspicious, are judged by their keys."""
    root = tmp_path / "landing"
    for name, lines in files.items():
        write_jsonl(root / "accelerometer" / "landing" / name, lines)
    lakehouse = Lakehouse(landing_root=str(root), lakehouse_root=str(tmp_path / "lakehouse"))
    result = materialize(
        definitions, lakehouse, selection=dg.AssetSelection.assets("accelerometer_landing")
    )
    (evaluation,) = [
        e
        for e in result.get_asset_check_evaluations()
        if check_label(e) == "accelerometer_landing.no_unknown_fields"
    ]
    assert evaluation.passed is not unknown
    assert evaluation.metadata["unknown_fields"].value == unknown
    assert result.success  # a new field is a warning: every line lands, the field kept
    lines = sum(len(v) for v in files.values())
    assert materialization(result, "accelerometer_landing")["dagster/row_count"] == lines
    assert materialization(result, "accelerometer_quarantine")["dagster/row_count"] == 0
    with lakehouse.connect("accelerometer_landing") as engine:
        kept = engine.rows(
            "select timestamp, extra_fields from accelerometer_landing "
            "where extra_fields is not null order by 1"
        )
    expected = {4: {"speed": 3}, 5: {"Z": 3}, 6: {"extra": {"a": 1}}} if unknown else {}
    assert {t: json.loads(text) for t, text in kept} == expected


def test_an_engine_error_that_is_no_parse_error_fails_the_step_naming_the_file(
    definitions, tmp_path
):
    """Out of memory says nothing about a file's lines: the file is not read line by line (where
    every line would be misreported as bad); the step fails naming it and publishes nothing."""
    lakehouse = Lakehouse(
        landing_root=str(write_handmade(tmp_path / "landing")),
        lakehouse_root=str(tmp_path / "lakehouse"),
        duckdb_memory_limit="1MB",
        duckdb_threads=1,
    )
    result = materialize(definitions, lakehouse)
    assert not result.success
    error = failed_steps(result)["customer_landing"]
    assert "reading customer landing file(s) customer-1.json failed: Out of Memory" in error
    assert "The previous version of the table stays in place." in error
    assert not lakehouse.store.is_materialized(TABLES["customer_quarantine"])
    assert lakehouse.ingested.read("customer") is None


def test_a_compressed_file_that_does_not_decompress_fails_the_step_naming_it(definitions, tmp_path):
    landing = write_handmade(tmp_path / "landing")
    (landing / "customer" / "landing" / "broken.json.gz").write_bytes(b"not gzip at all\n")
    lakehouse = Lakehouse(landing_root=str(landing), lakehouse_root=str(tmp_path / "lakehouse"))
    result = materialize(definitions, lakehouse)
    assert not result.success
    error = failed_steps(result)["customer_landing"]
    assert "landing file broken.json.gz is not valid gzip data" in error
    assert lakehouse.ingested.read("customer") is None
