"""The floor for this engine: the six transforms as a plain DuckDB script, no Dagster, no checks,
no staging. One in-memory connection reads the landing JSON with the same explicit schema, runs
the project's own transform SQL (so the rules are the same by construction) and the dbt peer's
step-features model (window functions), and writes each trusted and curated table to Parquet.

    python -m bench.plain_duckdb LANDING_ROOT OUT_FOLDER

Prints the row count of each table it writes as JSON.
"""

import json
import re
import sys
from pathlib import Path

from stedi_dagster.engines import SqlContext
from stedi_dagster.engines.duckdb_engine import duckdb_engine
from stedi_dagster.privacy import spellings
from stedi_dagster.privacy.pseudonyms import DEVELOPMENT_PSEUDONYM_KEY
from stedi_dagster.sql import read_sql, words
from stedi_dagster.tables import LANDING_DATASETS, TABLES

DEFS = Path(__file__).resolve().parent.parent / "stedi_dagster" / "defs"
FEATURES_MODEL = (
    Path(__file__).resolve().parent / "dbt" / "models" / "curated" / "step_features_curated.sql"
)
# The relations the tables' SQL reads, by zone (kept per version of the tables they are over in
# the project: defs/<zone>/assets.py), created here before the SQL that names them.
RELATIONS = {"trusted_persons": "trusted", "curated_keys": "curated"}
TRANSFORMS = {
    "customer_trusted": "trusted",
    "accelerometer_trusted": "trusted",
    "customer_curated": "curated",
    "step_trainer_trusted": "trusted",
    "machine_learning_curated": "curated",
}


def main(landing: str, out: str) -> None:
    # the project's settings, person_key() and pseudonym() macros, on a plain connection
    settings = {"consent_mode": "any_time", "ml_pairing": "timestamp"}
    con = duckdb_engine(SqlContext(settings, DEVELOPMENT_PSEUDONYM_KEY)).con
    for dataset in LANDING_DATASETS:
        table = TABLES[f"{dataset}_landing"]
        con.execute(
            f"create table {table.name} as select * from read_json(?, columns = ?, "
            "format = 'newline_delimited')",
            [f"{landing}/{dataset}/landing/*.json", table.columns],
        )
    counts = {}
    Path(out).mkdir(parents=True, exist_ok=True)
    for name, zone in TRANSFORMS.items():
        sql = read_sql(str(DEFS / zone / "assets.py"), name)
        for relation, where in RELATIONS.items():  # those its SQL reads, over tables before it
            if relation in words(sql):
                computed = read_sql(str(DEFS / where / "assets.py"), relation)
                con.execute(f"create or replace table {relation} as {computed}")
        for found in spellings.read_by(sql):  # a table's spellings, kept per file in the project
            computed = spellings.spellings_of(*spellings.SPELLINGS[found.name])
            con.execute(f"create or replace table {found.name} as {computed}")
        con.execute(f"create table {name} as {sql}")
        con.execute(f"copy {name} to '{out}/{name}.parquet' (format parquet, compression zstd)")
        counts[name] = con.execute(f"select count(*) from {name}").fetchall()[0][0]
    con.execute(f"create table step_features_curated as {plain_sql(FEATURES_MODEL)}")
    con.execute(
        f"copy step_features_curated to '{out}/step_features_curated.parquet' "
        "(format parquet, compression zstd)"
    )
    counts["step_features_curated"] = con.execute(
        "select count(*) from step_features_curated"
    ).fetchall()[0][0]
    print(json.dumps(counts))


def plain_sql(model: Path) -> str:
    """A dbt model's SQL without its Jinja: no config, `ref('t')` as the table t."""
    text = re.sub(r"\{\{\s*config\(.*?\)\s*\}\}", "", model.read_text())
    return re.sub(r"\{\{\s*ref\('(\w+)'\)\s*\}\}", r"\1", text)


if __name__ == "__main__":
    main(*sys.argv[1:3])
