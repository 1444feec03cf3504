"""Curated zone: customers with accelerometer data, the machine-learning training table, and the
step-detection features computed from it with Polars."""

from stedi_dagster.defs.curated import step_features
from stedi_dagster.defs.curated.checks import (
    CURATED_KEYS,
    PAIRED_BY_MILLISECOND,
    curated_checks,
    latest_readings,
    machine_learning_checks,
    step_features_checks,
)
from stedi_dagster.defs.curated.profile import PROFILE_KEYS, machine_learning_profile
from stedi_dagster.defs.trusted.assets import CUSTOMER_FILES, TRUSTED_PERSONS
from stedi_dagster.factory.drafts import file_draft
from stedi_dagster.factory.keyed import keyed
from stedi_dagster.factory.table_asset import table_asset
from stedi_dagster.factory.table_spec import Profile, TableSpec
from stedi_dagster.lakehouse.data_files import Sizes

# The training pairs and their features are maintained per subject (as the phone's wearer or the
# Step Trainer's owner); the erasure job removes the rows of the subjects an erasure reaches and
# leaves them for the next step to compute again (defs/privacy/erasure.py).
# The training pairs and their features are the widest tables, and a person's rows are in two of
# their data files (as subject and as the Step Trainer's owner; the features of those who wore
# the phone on that person's trainer): spread over up to 128 files, not 32, so that a withdrawal
# writes two files of 340,000 rows again instead of two of 1.36 million at x1000 (the features'
# two 0.6 s -> 0.15 s), while a new file's run, which reads their files' footers and kept facts,
# took no longer.
TRAINING_FILES = Sizes(more=4)
TRAINING_PAIRS_KEYED = keyed(
    "machine_learning_curated",
    ("subject_id", "step_trainer_subject_id"),
    narrowed=("step_trainer_trusted", "accelerometer_trusted"),
    relations=(CURATED_KEYS,),  # which the narrowed inputs read
    files=TRAINING_FILES,
)
STEP_FEATURES_KEYED = keyed("step_features_curated", ("subject_id",), files=TRAINING_FILES)

CUSTOMER_CURATED = TableSpec(
    "customer_curated",
    sources=(__file__,),
    inputs=("customer_trusted", "accelerometer_trusted"),
    appends=("accelerometer_trusted",),  # by sql/customer_curated_added.sql
    keyed=keyed(
        "customer_curated", ("email",), bounded_by="customer_trusted", files=CUSTOMER_FILES
    ),
    relations=(TRUSTED_PERSONS, CURATED_KEYS),  # the adder reads both, the SQL the first
    checks=curated_checks(
        "customer_curated",
        reads=("accelerometer_landing", "customer_landing"),
        relations=(latest_readings(),),
    ),
    description=(
        "One row per trusted customer who has at least one reading in accelerometer_trusted; "
        "customer columns only."
    ),
)
customer_curated = table_asset(CUSTOMER_CURATED)

MACHINE_LEARNING_CURATED = TableSpec(
    "machine_learning_curated",
    sources=(__file__,),
    inputs=("step_trainer_trusted", "accelerometer_trusted", "customer_curated"),
    appends=("step_trainer_trusted", "accelerometer_trusted"),
    partitions=PAIRED_BY_MILLISECOND,  # new readings pair with those of their millisecond
    keyed=TRAINING_PAIRS_KEYED,
    relations=(CURATED_KEYS,),
    checks=machine_learning_checks(),
    description=(
        "One row per pair of a step_trainer_trusted reading and an accelerometer_trusted "
        "reading taken at the same millisecond (sensorReadingTime = timestamp); with "
        "STEDI_ML_PAIRING=same_customer, only readings of the step trainer's owner. No direct "
        "identifier: people appear as subject_id (who wore the phone) and "
        "step_trainer_subject_id (who owns the step trainer), keyed hashes of their emails."
    ),
    pseudonymous=True,
    profile=Profile(
        machine_learning_profile,
        shown_again=("profile", *PROFILE_KEYS),
    ),
)
machine_learning_curated = table_asset(MACHINE_LEARNING_CURATED)


STEP_FEATURES_CURATED = TableSpec(
    "step_features_curated",
    inputs=("machine_learning_curated",),
    checks=step_features_checks(),
    description=(
        "One row per row of machine_learning_curated, in each subject's time order "
        "(subject_id, timestamp): the inputs of a step-detection model. magnitude is the "
        "acceleration sqrt(x² + y² + z²); magnitude_mean_10 and magnitude_std_10 its mean and "
        "standard deviation over this and the subject's 9 preceding rows; distance_change the "
        "change of distanceFromObject and ms_since_previous the time since the subject's "
        "previous row (null for a subject's first). No identifier: subject_id is a pseudonym. "
        "Computed with Polars' lazy API, streamed through the training pairs in time order."
    ),
    draft=file_draft(
        "step_features_curated",
        lambda _, lakehouse, path, where, __: step_features.write_step_features(
            lakehouse, path, where
        ),
        keyed=STEP_FEATURES_KEYED,
    ),
    kinds=frozenset({"polars", "parquet"}),
    sources=(step_features.__file__, __file__),
)
step_features_curated = table_asset(STEP_FEATURES_CURATED)
