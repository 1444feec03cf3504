"""`stedi ddl --dialect athena`: every statement parses in the Athena dialect and is an external
Delta table at its zone folder (AWS's form: no columns, `table_type` DELTA), whose Delta log
declares the columns and types of the Parquet files written."""

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from stedi_dagster.lakehouse import Lakehouse
from stedi_dagster.tables import LANDING_DATASETS, TABLES
from stedi_dagster_tests.conftest import materialize, write_jsonl
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
        assert not create.find(exp.Schema), name  # Athena reads the columns from the log
        declared = {p.name: p.text("value") for p in properties.find_all(exp.Property)}
        assert declared.get("table_type") == "DELTA", name
        location = properties.find(exp.LocationProperty).this.name
        assert location == f"s3://stedi-bucket/lake/{TABLES[name].zone}/{name}/"


def test_the_delta_logs_declare_the_columns_and_types_of_the_parquet_files(
    statements, definitions, tmp_path
):
    landing = write_handmade(tmp_path / "landing")
    for dataset in LANDING_DATASETS:  # a quarantined line each, so no table is without a file
        write_jsonl(landing / dataset / "landing" / "bad.json", ["not json"])
    lakehouse = Lakehouse(
        landing_root=str(landing),
        lakehouse_root=str(tmp_path / "lakehouse"),
        quarantine_max_fraction=1.0,
    )
    assert materialize(definitions, lakehouse).success
    con = duckdb.connect()
    for name in tables_of(statements):
        table = TABLES[name]
        schema = lakehouse.store.delta.open(table).schema().fields  # what Athena reads
        declared = [(f.name, athena_type(ATHENA_TYPES[f.type.type])) for f in schema]
        written = [
            (column, athena_type(dtype, "duckdb"))
            for column, dtype, *_ in con.execute(
                "describe select * from read_parquet(?)", [lakehouse.store.files(table)]
            ).fetchall()
        ]
        assert declared == written, name
        assert [c for c, _ in declared] == list(table.stored_columns), name


def athena_type(name: str, dialect: str = "athena") -> str:
    return exp.DataType.build(name, dialect=dialect).sql("athena")
