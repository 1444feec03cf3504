"""Who a landing record belongs to, and how a person is identified: by the person key of their email
(and of their Step Trainer's serial), everywhere (choosing the newest record, consent, joins,
serial claims, pseudonyms, erasure), on every engine and in Python.

The key is defined here once: the value with white space of every kind removed at both ends
(`WHITE_SPACE`), compared case-insensitively (lower-case). `person_key()` is the Python form,
`person_key_sql()` the SQL form (`sql/person_key.sql`) that DuckDB holds as a macro and Spark
inlines. No Unicode normalization (NFKC) is applied: docs/privacy.md says why.
"""

import hashlib
from functools import cache

from stedi_dagster.sql import ident, read_sql

# The field that ties a landing record to a person, and the erasure list kind it is matched as.
PERSON_KEYS = {
    "customer": ("email", "email"),
    "accelerometer": ("user", "email"),
    "step_trainer": ("serialNumber", "serial"),
}
# Every column that identifies a person (compared by its person key): a landing line whose value
# of one is empty or only white space is quarantined, it never becomes a person.
IDENTIFIERS = frozenset({"email", "user", "serialNumber"})


def identifier_keys(keys: tuple[str, ...]) -> list[str]:
    """The key fields among `keys` that identify a person."""
    return [k for k in keys if k in IDENTIFIERS]


# White space of every kind: what Python's str.isspace() calls white space, which is Unicode's
# White_Space property (tab, LF, VT, FF, CR, space, NEL, no-break space, the space separators
# U+1680, U+2000-U+200A, U+202F, U+205F, U+3000, line and paragraph separators) plus the
# information separators U+001C-U+001F.
WHITE_SPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
# Every white-space character is at or below U+0020 (" "), or at or above U+0085 (NEL): the
# key's regular expression runs only for values that start or end with such a character.
FIRST_HIGH_WHITE_SPACE = "\x85"
# DuckDB's lower() reads U+0130 (the dotted capital I) as i, Python's and Spark's as i + U+0307:
# the key reads it as I first, so that all three agree.
_DOTTED_CAPITAL_I = "\u0130"


def person_key(value: str) -> str:
    """An email or serial as it identifies a person (`sql/person_key.sql` in SQL)."""
    return value.strip(WHITE_SPACE).replace(_DOTTED_CAPITAL_I, "I").lower()


@cache
def person_key_sql() -> str:
    """The person key of `value` as an SQL expression (DuckDB's dialect; the Spark engine
    transpiles it). Its regular expression names each white-space character by code point, which
    RE2 (DuckDB) and java.util.regex (Spark) read alike."""
    white_space = "".join(f"\\x{{{ord(c):04x}}}" for c in WHITE_SPACE)
    text = read_sql(
        __file__,
        "person_key",
        white_space=white_space,
        dotted_capital_i=_DOTTED_CAPITAL_I,
        may_end_in_white_space=ends_sql("value"),
    )
    return "\n".join(line for line in text.split("\n") if not line.startswith("--"))


def starts_sql(value: str) -> str:
    """SQL: whether the value may start with white space: its first character is at or below
    U+0020 or at or above U+0085, as every white-space character is (`WHITE_SPACE`; strings
    compare by their UTF-8 bytes; chr(133) is U+0085 in DuckDB and Spark alike)."""
    return f"{value} < '!' or {value} >= chr({ord(FIRST_HIGH_WHITE_SPACE)})"


def ends_sql(column: str) -> str:
    """SQL: whether the column's value may start or end with white space (`starts_sql` of its
    first or its last character)."""
    return f"{starts_sql(column)} or {starts_sql(f'right({column}, 1)')}"


def blank_sql(column: str) -> str:
    """SQL (DuckDB): whether the column's value has an empty person key, i.e. is empty or only
    white space. The key is computed only for a value that may start with white space
    (`starts_sql`), so that a scan of millions of rows stays cheap (CASE, unlike AND, is never
    evaluated eagerly)."""
    return f"(case when {starts_sql(column)} then person_key({column}) = '' else false end)"


def erasure_hash(value: str) -> str:
    """How the erasure list holds an email or serial: the SHA-256 of its person key."""
    return hashlib.sha256(person_key(value).encode()).hexdigest()


def erased_row(dataset: str, value: str | None = None) -> str:
    """SQL: whether a row of the dataset's landing table belongs to a customer on the erasure
    list (by its email, or for step-trainer readings its serial number); or, given `value` (SQL),
    whether that value of the dataset's key field is on the list."""
    key, kind = PERSON_KEYS[dataset]
    return f"erased('{kind}', {value or ident(key)})"
