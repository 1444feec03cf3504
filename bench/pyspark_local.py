"""A peer: the five transforms on PySpark in local mode (what AWS Glue runs), with the same rules
as the project's SQL, from the same landing JSON (same explicit schema) to one Parquet folder per
trusted and curated table.

    python -m bench.pyspark_local LANDING_ROOT OUT_FOLDER

Prints the row count of each table it writes as JSON.
"""

import json
import os
import sys

from pyspark.sql import SparkSession

from stedi_dagster.privacy.pseudonyms import pseudonym

SCHEMAS = {
    "customer": "customerName STRING, email STRING, phone STRING, birthDay DATE, "
    "serialNumber STRING, registrationDate BIGINT, lastUpdateDate BIGINT, "
    "shareWithResearchAsOfDate BIGINT, shareWithPublicAsOfDate BIGINT, "
    "shareWithFriendsAsOfDate BIGINT",
    "accelerometer": "user STRING, timestamp BIGINT, x DOUBLE, y DOUBLE, z DOUBLE",
    "step_trainer": "sensorReadingTime BIGINT, serialNumber STRING, distanceFromObject INT",
}

TRANSFORMS = {
    "customer_trusted": """
        select customerName, email, phone, birthDay, serialNumber, registrationDate,
               lastUpdateDate, shareWithResearchAsOfDate, shareWithPublicAsOfDate,
               shareWithFriendsAsOfDate
        from (
            select *, row_number() over (
                partition by email
                order by lastUpdateDate desc nulls last,
                         coalesce(shareWithResearchAsOfDate, 0) <> 0,
                         serialNumber nulls last
            ) as newest
            from customer_landing
            where email is not null
        )
        where newest = 1 and coalesce(shareWithResearchAsOfDate, 0) <> 0""",
    "accelerometer_trusted": """
        select a.* from accelerometer_landing a join customer_trusted c on a.user = c.email""",
    "customer_curated": """
        select * from customer_trusted
        where email in (select user from accelerometer_trusted)""",
    "step_trainer_trusted": """
        select s.* from step_trainer_landing s
        where s.serialNumber in (select serialNumber from customer_curated)
          and s.serialNumber not in (
              select serialNumber from customer_landing
              where serialNumber is not null
                and (email is null or email not in (select email from customer_trusted)))""",
    "machine_learning_curated": """
        with owner as (
            select serialNumber, min(email) as email from customer_curated group by serialNumber
        )
        select s.sensorReadingTime, s.distanceFromObject, o.id as step_trainer_subject_id,
               a.timestamp, a.x, a.y, a.z, u.id as subject_id
        from step_trainer_trusted s
        join owner on s.serialNumber = owner.serialNumber
        join subject o on owner.email = o.email
        join accelerometer_trusted a on s.sensorReadingTime = a.timestamp
        join subject u on a.user = u.email""",
}


def main(landing: str, out: str) -> None:
    spark = (
        SparkSession.builder.master(os.environ.get("SPARK_MASTER", "local[2]"))
        .appName("stedi-bench")
        .config("spark.driver.memory", os.environ.get("SPARK_DRIVER_MEMORY", "4g"))
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    try:
        for dataset, schema in SCHEMAS.items():
            frame = spark.read.schema(schema).json(f"{landing}/{dataset}/landing/*.json")
            frame.createOrReplaceTempView(f"{dataset}_landing")
        counts = {}
        for name, sql in TRANSFORMS.items():
            if name == "machine_learning_curated":
                emails = [
                    r.email for r in spark.table("customer_curated").select("email").collect()
                ]
                subjects = [(e, pseudonym(e)) for e in sorted(set(emails))]
                spark.createDataFrame(subjects, "email STRING, id STRING").createOrReplaceTempView(
                    "subject"
                )
            spark.sql(sql).write.mode("overwrite").parquet(f"{out}/{name}")
            # later transforms read the written table, as the lakehouse's steps do
            table = spark.read.parquet(f"{out}/{name}")
            table.createOrReplaceTempView(name)
            counts[name] = table.count()
        print(json.dumps(counts))
    finally:
        spark.stop()


if __name__ == "__main__":
    main(*sys.argv[1:3])
