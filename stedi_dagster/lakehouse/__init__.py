"""The table store: roots on local disk or S3, the zones' Delta tables (commits, versions, vacuum),
the landing files ingested, the catalog and the DDL for other catalogs; and the `lakehouse`
resource that holds the settings and hands these out."""

from stedi_dagster.errors import LakehouseError
from stedi_dagster.lakehouse.resource import (
    PROJECT_ROOT,
    SAMPLE_LAKEHOUSE_ROOT,
    SAMPLE_LANDING_ROOT,
    Lakehouse,
)

__all__ = [
    "PROJECT_ROOT",
    "SAMPLE_LAKEHOUSE_ROOT",
    "SAMPLE_LANDING_ROOT",
    "Lakehouse",
    "LakehouseError",
]
