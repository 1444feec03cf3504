"""Every spelling of an identifier a landing table holds, with its person key
(`sql/spellings.sql`): a relation per landing table (`<table>_spellings`), kept per version of
the table and grown with its new files (`sql/spellings_part.sql`: the spellings they add, kept as
a part), so that finding every spelling of a few persons (a keyed table's affected keys,
`factory/keyed.py`; the rows a consent change reaches, `factory/version_checks.py`) reads the
persons' rows of a kept file sorted by person key, instead of keying every distinct value of the
table (at x1000, the 79 million accelerometer readings' users: 0.4 s)."""

from stedi_dagster.engines.grown import Relation
from stedi_dagster.sql import ident, read_sql, words

# The identifier column of each landing table whose spellings are kept.
COLUMNS = {
    "customer_landing": "email",
    "accelerometer_landing": "user",
    "step_trainer_landing": "serialNumber",
}


def spellings(read: str) -> Relation:
    """The relation `<read>_spellings` (person, spelling) of the identifier of table `read`."""
    return Relation(
        f"{read}_spellings",
        spellings_of(read, COLUMNS[read]),
        part=lambda before: read_sql(__file__, "spellings_part", read=read, before=before),
        over=(read,),
    )


def read_by(sql: str) -> tuple[Relation, ...]:
    """The spellings relations an SQL statement reads."""
    return tuple(spellings(read) for read in COLUMNS if f"{read}_spellings" in words(sql))


def spellings_of(rows: str, column: str) -> str:
    """SQL: every spelling of `column` in `rows` (a table's name, or a query in parentheses),
    with its person key (person, spelling)."""
    return read_sql(__file__, "spellings", rows=rows, column=ident(column))
