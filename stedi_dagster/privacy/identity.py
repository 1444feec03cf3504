"""Who a landing record belongs to, and how a person is identified: by the person key of their email
(and of their Step Trainer's serial), its trimmed lower-case text, everywhere (consent, readings,
pseudonyms, erasure). SQL has the same rule as `person_key()` (`engines/sql/person_key.sql`)."""

import hashlib

from stedi_dagster.sql import ident

# The field that ties a landing record to a person, and the erasure list kind it is matched as.
PERSON_KEYS = {
    "customer": ("email", "email"),
    "accelerometer": ("user", "email"),
    "step_trainer": ("serialNumber", "serial"),
}


def person_key(value: str) -> str:
    """An email or serial as it identifies a person: trimmed, lower-case."""
    return value.strip().lower()


def erasure_hash(value: str) -> str:
    """How the erasure list holds an email or serial: the SHA-256 of its person key."""
    return hashlib.sha256(person_key(value).encode()).hexdigest()


def erased_row(dataset: str) -> str:
    """SQL: whether a row of the dataset's landing table belongs to a customer on the erasure
    list (by its email, or for step-trainer readings its serial number)."""
    key, kind = PERSON_KEYS[dataset]
    return f"erased('{kind}', {ident(key)})"
