"""The personal columns, and their masking in everything the lakehouse shows (previews, check
evidence, logs)."""

from collections.abc import Sequence
from typing import Any

from stedi_dagster.tables import EXTRA_COLUMN

# The personal columns: every column that identifies a person, of any table (a quarantined line's
# `record` included), masked in every preview, check evidence and log. Fields not (yet) in the
# schema may be personal: extra_fields is masked too.
PERSONAL_COLUMNS = frozenset(
    {"customerName", "email", "phone", "birthDay", "user", "record", EXTRA_COLUMN}
)


def mask(column: str, value: Any) -> str:
    """A value fit to show: personal columns keep only a first letter, others are shown as is."""
    if value is None:
        return "null"
    if column not in PERSONAL_COLUMNS:
        return str(value)
    text = str(value)
    if column in ("email", "user"):
        return f"{text[:1]}***@***" if "@" in text else "***"
    if column == "customerName":
        return " ".join(f"{part[:1]}***" for part in text.split())
    return "***"


def masked_markdown(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A markdown table of `rows` with personal columns masked."""
    lines = [
        "| " + " | ".join(columns) + " |",
        "| " + " | ".join("---" for _ in columns) + " |",
    ]
    for row in rows:
        lines.append(
            "| " + " | ".join(mask(c, v) for c, v in zip(columns, row, strict=True)) + " |"
        )
    return "\n".join(lines)
