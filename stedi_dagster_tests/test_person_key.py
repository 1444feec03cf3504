"""The person key, one definition in Python and SQL: white space of every kind removed at both
ends (every character Python's str.isspace() accepts, which covers Unicode's space separators),
case ignored, and the same key for every code point in Python, in DuckDB and in Spark SQL."""

import sys
import unicodedata

import pytest

from stedi_dagster.engines.engine import SqlContext
from stedi_dagster.privacy.identity import (
    FIRST_HIGH_WHITE_SPACE,
    WHITE_SPACE,
    erasure_hash,
    person_key,
)

# Every code point but the surrogates (no string may hold them).
CODE_POINTS = [chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]
PADDED = [
    ("\tAlice@X.test \t", "alice@x.test"),
    ("\r\nALICE@x.test\r", "alice@x.test"),
    ("\u00a0Alice@x.TEST\u2003", "alice@x.test"),
    ("\u3000\u202f alice@x.test\u2028\u0085", "alice@x.test"),
    (" S-1234\t", "s-1234"),
    ("a b@x.test", "a b@x.test"),  # white space inside is kept
    (" \t\u00a0\u2003", ""),
]


def test_white_space_is_every_kind():
    assert set(WHITE_SPACE) == {c for c in CODE_POINTS if c.isspace()}
    assert {c for c in CODE_POINTS if unicodedata.category(c) == "Zs"} <= set(WHITE_SPACE)
    assert {"\t", "\n", "\r", "\u00a0", "\u2003"} <= set(WHITE_SPACE)
    # what lets the SQL key skip its regular expression for most values
    assert all(c <= " " or c >= FIRST_HIGH_WHITE_SPACE for c in WHITE_SPACE)


@pytest.mark.parametrize(("value", "key"), PADDED)
def test_python_key_strips_every_kind_of_white_space_and_ignores_case(value, key):
    assert person_key(value) == key
    assert erasure_hash(value) == erasure_hash(key)


@pytest.fixture(scope="module")
def values(tmp_path_factory) -> str:
    """A Parquet file of every code point padded with white space, and the PADDED values, each
    with its Python key and whether this Python's Unicode database assigns its character."""
    import duckdb

    # every code point alone, and padded at either end or at both (the SQL key's regular
    # expression runs only when an end may be white space)
    spaces = WHITE_SPACE * 40000
    padded = [*CODE_POINTS]
    padded += [w + c for c, w in zip(CODE_POINTS, spaces, strict=False)]
    padded += [c + w for c, w in zip(CODE_POINTS, spaces[7:], strict=False)]
    padded += [w + c + w for c, w in zip(CODE_POINTS, spaces[13:], strict=False)]
    padded += [value for value, _ in PADDED]
    assigned = [all(unicodedata.category(c) != "Cn" for c in v.strip()) for v in padded]
    path = tmp_path_factory.mktemp("key") / "values.parquet"
    with duckdb.connect() as con:
        con.execute(
            "copy (select unnest(?) as value, unnest(?) as expected, unnest(?) as assigned) "
            f"to '{path}' (format parquet)",
            [padded, [person_key(v) for v in padded], assigned],
        )
    return str(path)


def disagreements(engine, values: str, where: str = "true") -> tuple[int, list[tuple]]:
    """How many values the engine's person_key() compares, and those where it differs from
    Python's."""
    engine.view_parquet("v", [values])
    compared = engine.scalar(f"select count(*) from v where {where}")
    differ = engine.rows(
        "select value, person_key(value), expected from v "
        f"where {where} and person_key(value) <> expected limit 5"
    )
    return compared, differ


def test_duckdb_key_equals_python_key_for_every_code_point(values):
    from stedi_dagster.engines.duckdb_engine import duckdb_engine

    engine = duckdb_engine(SqlContext(variables={}))
    try:
        compared, differ = disagreements(engine, values)
    finally:
        engine.close()
    assert compared == 4 * len(CODE_POINTS) + len(PADDED)
    assert differ == []


@pytest.mark.spark
def test_spark_key_equals_python_key_for_every_assigned_code_point(values):
    """Spark lower-cases some letters of scripts newer than this Python's Unicode database
    (unassigned to Python): only those are left out."""
    from stedi_dagster.engines.spark_engine import SparkEngine, spark_session

    engine = SparkEngine(spark_session("local[2]"), SqlContext(variables={}))
    try:
        compared, differ = disagreements(engine, values, where="assigned")
    finally:
        engine.close()
    assert compared > 4 * 280_000
    assert differ == []


def test_duckdb_blank_test_agrees_with_an_empty_key_for_every_code_point():
    """`blank_sql` skips the regular expression unless the first character may be white space:
    for every code point alone, doubled with white space, or before a letter, it says blank
    exactly when the person key is empty."""
    import duckdb

    from stedi_dagster.privacy.identity import blank_sql, person_key_sql

    values = ["", *CODE_POINTS]
    values += [c + w for c, w in zip(CODE_POINTS, WHITE_SPACE * 40000, strict=False)]
    values += [w + "a" for w in WHITE_SPACE] + [w + w for w in WHITE_SPACE]
    with duckdb.connect() as con:
        con.execute(f"create macro person_key(value) as {person_key_sql()}")
        blank = con.execute(
            f"select list(v) filter (where {blank_sql('v')}) from (select unnest(?) as v)",
            [values],
        ).fetchall()[0][0]
    assert sorted(blank) == sorted(v for v in values if person_key(v) == "")
    assert len(blank) > len(WHITE_SPACE)


def test_the_key_skips_its_regular_expression_only_where_no_end_is_white_space():
    """`ends_sql` (when the SQL key runs its regular expression) is true for every value that
    starts or ends with white space; false for a value that starts and ends with a character
    from "!" to U+0084, as identifiers mostly do (so they skip the expression)."""
    import duckdb

    from stedi_dagster.privacy.identity import ends_sql

    padded = [w + "a" for w in WHITE_SPACE] + ["a" + w for w in WHITE_SPACE] + [*WHITE_SPACE]
    plain = ["Alice@X.test", "b3f97a1d-d7fe-4a28", "S-1234", "é@x.test"[1:], "a\u00e9b"]
    with duckdb.connect() as con:
        skipped = con.execute(
            f"select list(v) filter (where not ({ends_sql('v')})) from (select unnest(?) as v)",
            [[*CODE_POINTS, *padded, *plain]],
        ).fetchall()[0][0]
    assert not set(skipped) & set(padded)
    assert set(skipped) == {chr(c) for c in range(ord("!"), 0x85)} | set(plain)


def test_erased_rows_found_by_value_are_those_the_row_by_row_test_finds(values):
    """The erasure job and the landing reader find an erased customer's rows by the key values
    the erasure list's test is true of (`erased_by_value`), tested once per distinct value:
    over every code point padded with white space (and nulls, and a value listed twice), the
    same rows as the test made on each row; none when the list holds no entry of the kind."""
    from stedi_dagster.engines.duckdb_engine import duckdb_engine
    from stedi_dagster.privacy.erased_values import erased_by_value
    from stedi_dagster.privacy.identity import erased_row

    listed = ["\tAlice@X.test \t", " S-1234\t", "b", "\u00df"]  # emails; b and ß are values too
    engine = duckdb_engine(SqlContext(variables={}))
    try:
        engine.set_erasure_list([("email", erasure_hash(v)) for v in listed])
        engine.create_table(
            "readings",
            f"select value as user from read_parquet('{values}') "
            "union all select * from (values (null), ('ALICE@x.test'), ('alice@x.test'))",
        )
        by_value = erased_by_value(engine.con, "accelerometer", "readings")
        found = "select count(*) filter (where {}), count(*) from readings"
        assert engine.rows(found.format(by_value)) == engine.rows(
            found.format(erased_row("accelerometer"))
        )
        keys = {person_key(v) for v in listed}
        users = [u for (u,) in engine.rows("select user from readings")]
        expected = sum(1 for u in users if u is not None and person_key(u) in keys)
        assert engine.rows(found.format(by_value)) == [(expected, len(users))]
        assert expected > 4 * 4  # each listed value, alone and padded in three ways
        steps = "(select value as serialNumber from readings)"  # no serial listed
        assert erased_by_value(engine.con, "step_trainer", steps) == "false"
    finally:
        engine.close()
