"""The floor for this engine: the five transforms as a plain DuckDB script, no Dagster, no checks,
no staging. One in-memory connection reads the landing JSON with the same explicit schema, runs
the project's own transform SQL (so the rules are the same by construction) and writes each
trusted and curated table to Parquet.

    python -m bench.plain_duckdb LANDING_ROOT OUT_FOLDER

Prints the row count of each table it writes as JSON.
"""

import json
import sys
from pathlib import Path

from stedi_dagster.engines import SqlContext
from stedi_dagster.engines.duckdb_engine import duckdb_engine
from stedi_dagster.privacy.pseudonyms import DEVELOPMENT_PSEUDONYM_KEY
from stedi_dagster.sql import read_sql
from stedi_dagster.tables import LANDING_DATASETS, TABLES

DEFS = Path(__file__).resolve().parent.parent / "stedi_dagster" / "defs"
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
        con.execute(f"create table {name} as {sql}")
        con.execute(f"copy {name} to '{out}/{name}.parquet' (format parquet, compression zstd)")
        counts[name] = con.execute(f"select count(*) from {name}").fetchall()[0][0]
    print(json.dumps(counts))


if __name__ == "__main__":
    main(*sys.argv[1:3])
