"""A peer: the five transforms in Polars' lazy API, with the same rules as the project's SQL, from
the same landing JSON (same explicit schema) to one Parquet file per trusted and curated table.

    python -m bench.polars_lazy LANDING_ROOT OUT_FOLDER

Prints the row count of each table it writes as JSON.
"""

import json
import sys
from pathlib import Path

import polars as pl

from stedi_dagster.privacy.pseudonyms import pseudonym
from stedi_dagster.tables import TABLES

SCHEMAS = {
    "customer": {
        "customerName": pl.String,
        "email": pl.String,
        "phone": pl.String,
        "birthDay": pl.String,  # parsed below: Polars' NDJSON reader takes no date format
        "serialNumber": pl.String,
        "registrationDate": pl.Int64,
        "lastUpdateDate": pl.Int64,
        "shareWithResearchAsOfDate": pl.Int64,
        "shareWithPublicAsOfDate": pl.Int64,
        "shareWithFriendsAsOfDate": pl.Int64,
    },
    "accelerometer": {
        "user": pl.String,
        "timestamp": pl.Int64,
        "x": pl.Float64,
        "y": pl.Float64,
        "z": pl.Float64,
    },
    "step_trainer": {
        "sensorReadingTime": pl.Int64,
        "serialNumber": pl.String,
        "distanceFromObject": pl.Int32,
    },
}


def main(landing: str, out: str) -> None:
    def scan(dataset: str) -> pl.LazyFrame:
        return pl.scan_ndjson(f"{landing}/{dataset}/landing/*.json", schema=SCHEMAS[dataset])

    customers = scan("customer").with_columns(pl.col("birthDay").str.to_date())
    accelerometer, step_trainer = scan("accelerometer"), scan("step_trainer")
    consents = pl.col("shareWithResearchAsOfDate").fill_null(0) != 0

    # the newest record of each email decides; on a tie, no consent wins
    customer_trusted = (
        customers.filter(pl.col("email").is_not_null())
        .sort(
            ["email", "lastUpdateDate", consents, "serialNumber"],
            descending=[False, True, False, False],
            nulls_last=[True, True, True, True],
        )
        .unique(subset="email", keep="first", maintain_order=True)
        .filter(consents)
    ).collect()
    accelerometer_trusted = accelerometer.join(
        customer_trusted.lazy().select(pl.col("email").alias("user")), on="user", how="semi"
    ).collect()
    customer_curated = customer_trusted.join(
        accelerometer_trusted.select(pl.col("user").alias("email")).unique(), on="email", how="semi"
    )
    trusted_emails = customer_trusted.select("email")
    claimed_without_consent = (
        customers.filter(pl.col("serialNumber").is_not_null())
        .join(trusted_emails.lazy(), on="email", how="anti")
        .select("serialNumber")
    )
    step_trainer_trusted = (
        step_trainer.join(
            customer_curated.lazy().select("serialNumber"), on="serialNumber", how="semi"
        ).join(claimed_without_consent, on="serialNumber", how="anti")
    ).collect()
    owner = customer_curated.group_by("serialNumber").agg(pl.col("email").min())
    subjects = customer_curated.select("email").unique()
    subjects = subjects.with_columns(
        pl.Series("id", [pseudonym(e) for e in subjects["email"]], dtype=pl.String)
    )
    machine_learning_curated = (
        step_trainer_trusted.lazy()
        .join(owner.lazy(), on="serialNumber")
        .join(subjects.lazy().rename({"id": "step_trainer_subject_id"}), on="email")
        .join(accelerometer_trusted.lazy(), left_on="sensorReadingTime", right_on="timestamp")
        .with_columns(pl.col("sensorReadingTime").alias("timestamp"))
        .join(subjects.lazy().rename({"email": "user", "id": "subject_id"}), on="user")
        .select(list(TABLES["machine_learning_curated"].columns))
    ).collect()
    tables = {
        "customer_trusted": customer_trusted,
        "accelerometer_trusted": accelerometer_trusted,
        "customer_curated": customer_curated,
        "step_trainer_trusted": step_trainer_trusted,
        "machine_learning_curated": machine_learning_curated,
    }
    Path(out).mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.write_parquet(f"{out}/{name}.parquet", compression="zstd")
    counts = {name: frame.height for name, frame in tables.items()}
    print(json.dumps(counts))


if __name__ == "__main__":
    main(*sys.argv[1:3])
