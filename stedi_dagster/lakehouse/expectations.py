"""Expected row counts per table, from a JSON file beside the landing data (or named by
STEDI_EXPECTATIONS): `{"tables": {"customer_landing": 956, ...}, "variants": {"consent_mode=...":
{...}}}`. A variant names the settings that differ from the defaults."""

import json

from stedi_dagster.errors import LakehouseError
from stedi_dagster.lakehouse.storage import Storage
from stedi_dagster.tables import TABLES


def read_expectations(storage: Storage, url: str, variant: str) -> dict[str, int] | None:
    """The counts for the settings `variant` ("" for the defaults); None when the file has no
    such variant."""
    try:
        with storage.open(url) as f:
            document = json.load(f)
        counts = dict(document["tables"])
        if variant:
            if variant not in document.get("variants", {}):
                return None
            counts |= document["variants"][variant]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise LakehouseError(
            f"expectations file {url} is unreadable: {e}; "
            'it should hold {"tables": {"customer_landing": 956, ...}}'
        ) from e
    unknown = set(counts) - set(TABLES)
    if unknown:
        raise LakehouseError(f"expectations file {url} names unknown tables {sorted(unknown)}")
    return {name: int(n) for name, n in counts.items()}
