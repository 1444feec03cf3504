"""Who a landing record belongs to, and how the erasure list names a person."""

import hashlib

from stedi_dagster.sql import ident

# The field that ties a landing record to a person, and the erasure list kind it is matched as.
PERSON_KEYS = {
    "customer": ("email", "email"),
    "accelerometer": ("user", "email"),
    "step_trainer": ("serialNumber", "serial"),
}


def erasure_hash(value: str) -> str:
    """How the erasure list holds an email or serial: SHA-256 of its trimmed lower-case text."""
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()


def erased_row(dataset: str) -> str:
    """SQL: whether a row of the dataset's landing table belongs to a customer on the erasure
    list (by its email, or for step-trainer readings its serial number)."""
    key, kind = PERSON_KEYS[dataset]
    return f"erased('{kind}', {ident(key)})"
