"""Masking of personal data in everything the lakehouse shows (previews, check evidence, logs)."""

from collections.abc import Sequence
from typing import Any

from stedi_dagster.tables import PII_COLUMNS


def mask(column: str, value: Any) -> str:
    """A value fit to show: personal columns keep only a first letter, others are shown as is."""
    if value is None:
        return "null"
    if column not in PII_COLUMNS:
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
