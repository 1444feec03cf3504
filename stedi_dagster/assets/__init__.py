"""The building blocks of the Dagster definitions in `defs/`: the table asset (write, audit,
publish), asset checks and the generic ones every table carries, and the training-data profile."""
