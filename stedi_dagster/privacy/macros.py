"""The privacy SQL that a DuckDB engine holds as macros (`sql/` beside this module); the Spark
engine writes the same expressions inline when it translates a query (`engines/spark_engine.py`).

- `person_key(value)`: how an email or serial identifies a person (`identity.py`);
- `pseudonym(value)`: the training table's subject id, HMAC-SHA256 of the person key under the
  pseudonym key, whose pads the engine holds as variables;
- `erased(kind, value)`, `erased_words(text)`, `erased_record(kind, key_path, text)`: whether a
  value, a line's words, or a landing line belongs to a person on the erasure list (the engine's
  table `erased_keys`, of (kind, sha256) pairs).
"""

from collections.abc import Iterable

from stedi_dagster.privacy.identity import person_key_sql
from stedi_dagster.sql import literal, read_sql


def identity_macros() -> list[str]:
    """The statements creating person_key() and pseudonym()."""
    return [
        f"create or replace temp macro person_key(value) as {person_key_sql()}",
        read_sql(__file__, "pseudonym"),
    ]


def erasure_macros(kinds: Iterable[str]) -> list[str]:
    """The statements creating erased(), erased_words() and erased_record(), for an erasure list
    holding entries of `kinds` (for any other kind, erased() is false without hashing a value)."""
    listed = ", ".join(literal(kind) for kind in sorted(set(kinds)))
    return [
        read_sql(__file__, "erased", kinds=listed or "null"),
        read_sql(__file__, "erased_record"),
    ]
