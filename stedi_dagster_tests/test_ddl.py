"""`stedi ddl --dialect athena`: every statement parses in the Athena dialect and is an external
table at its zone folder: a Delta table (AWS's form: no columns, `table_type` DELTA) for trusted and
curated, whose Delta log declares the columns and types of the Parquet files written; a Parquet
table for landing, whose declared columns and types match its Parquet files."""

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from stedi_dagster.lakehouse import Lakehouse
from stedi_dagster.tables import TABLES
from stedi_dagster_tests.conftest import data_files, materialize
from stedi_dagster_tests.handmade import write_handmade


@pytest.fixture(scope="module")
def statements() -> list[exp.Create]:
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "stedi"),
            "ddl",
            "--dialect",
            "athena",
            "--location",
            "s3://stedi-bucket/lake/",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return sqlglot.parse(done.stdout, read="athena")


def tables_of(statements) -> dict[str, exp.Create]:
    return {s.find(exp.Table).name: s for s in statements if s.kind == "TABLE"}


# Delta's primitive types as Athena names them.
ATHENA_TYPES = {"string": "string", "long": "bigint", "integer": "int", "double": "double"}
ATHENA_TYPES |= {"date": "date", "boolean": "boolean"}


def test_every_table_is_an_external_table_at_its_folder(statements):
    assert statements[0].kind == "DATABASE"
    creates = tables_of(statements)
    assert list(creates) == list(TABLES)
    for name, create in creates.items():
        assert create.find(exp.Table).args["db"].name == "stedi"
        properties = create.args["properties"]
        assert properties.find(exp.ExternalProperty), name
        if TABLES[name].per_file:
            assert properties.find(exp.FileFormatProperty).this.name.upper() == "PARQUET"
        else:
            assert not create.find(exp.Schema), name  # Athena reads the columns from the log
            declared = {p.name: p.text("value") for p in properties.find_all(exp.Property)}
            assert declared.get("table_type") == "DELTA", name
        location = properties.find(exp.LocationProperty).this.name
        assert location == f"s3://stedi-bucket/lake/{TABLES[name].zone}/{name}/"


def test_columns_and_types_match_the_parquet_files(statements, definitions, tmp_path):
    lakehouse = Lakehouse(
        landing_root=str(write_handmade(tmp_path / "landing")),
        lakehouse_root=str(tmp_path / "lakehouse"),
    )
    assert materialize(definitions, lakehouse).success
    con = duckdb.connect()
    for name, create in tables_of(statements).items():
        table = TABLES[name]
        if table.per_file:
            declared = [
                (c.this.name, c.args["kind"].sql("athena")) for c in create.this.expressions
            ]
        else:  # what Athena reads: the schema in the table's Delta log
            schema = lakehouse.store.delta.open(table).schema().fields
            declared = [
                (
                    f.name,
                    exp.DataType.build(ATHENA_TYPES[f.type.type], dialect="athena").sql("athena"),
                )
                for f in schema
            ]
        written = [
            (column, exp.DataType.build(dtype, dialect="duckdb").sql("athena"))
            for column, dtype, *_ in con.execute(
                "describe select * from read_parquet(?)", [data_files(lakehouse, TABLES[name])]
            ).fetchall()
        ]
        assert declared == written, name
