"""`stedi ddl --dialect athena`: every statement parses in the Athena dialect, is an external
Parquet table at its zone folder, and its columns and types match the Parquet files written."""

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from stedi_dagster.lakehouse import Lakehouse
from stedi_dagster.tables import TABLES
from stedi_dagster_tests.conftest import materialize
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
    return {s.this.this.name: s for s in statements if s.kind == "TABLE"}


def test_every_table_is_an_external_parquet_table_at_its_folder(statements):
    assert statements[0].kind == "DATABASE"
    creates = tables_of(statements)
    assert list(creates) == list(TABLES)
    for name, create in creates.items():
        assert create.this.this.args["db"].name == "stedi"
        properties = create.args["properties"]
        assert properties.find(exp.ExternalProperty), name
        assert properties.find(exp.FileFormatProperty).this.name.upper() == "PARQUET"
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
        declared = [(c.this.name, c.args["kind"].sql("athena")) for c in create.this.expressions]
        written = [
            (column, exp.DataType.build(dtype, dialect="duckdb").sql("athena"))
            for column, dtype, *_ in con.execute(
                "describe select * from read_parquet(?)", [lakehouse.store.table_path(TABLES[name])]
            ).fetchall()
        ]
        assert declared == written, name
