"""Every spelling of a person's identifier that a table holds, with its person key
(`sql/spellings.sql`), so that finding every spelling of a few persons (a keyed table's affected
keys and narrowed inputs, `factory/keyed.py`; the rows a consent change reaches,
`factory/version_checks.py`) reads a small relation instead of keying every distinct value of
a large table (at x1000 the 79 million accelerometer readings' users: 0.4 s):

- of a landing table, `<table>_spellings`: a relation kept per version of the table and grown
  with its new files (`sql/spellings_part.sql`: the spellings they add, kept as a part);
- of a trusted or curated table, `<table>_spellings` (`FileSpellings`): from facts kept per data
  file (`Engine.per_file`), exactly the spellings the files of the table's view hold.
"""

from dataclasses import dataclass

from stedi_dagster.engines import Engine
from stedi_dagster.engines.grown import Relation
from stedi_dagster.sql import ident, read_sql, words

# The identifier column of each table whose spellings are kept.
COLUMNS = {
    "customer_landing": "email",
    "accelerometer_landing": "user",
    "step_trainer_landing": "serialNumber",
    "customer_trusted": "email",
    "accelerometer_trusted": "user",
    "step_trainer_trusted": "serialNumber",
    "customer_curated": "email",
}


@dataclass(frozen=True)
class FileSpellings:
    """The spellings of a trusted or curated table's identifier (`COLUMNS`), from facts kept per
    data file: table `<table>_spellings` (person, spelling)."""

    table: str

    @property
    def name(self) -> str:
        return f"{self.table}_spellings"

    def create(self, engine: Engine, view: str | None = None) -> None:
        """The table, over the data files of the table's view (or of `view`, over some of its
        files)."""
        column = COLUMNS[self.table]
        engine.per_file(
            self.name, view or self.table, lambda rows: spellings_of(f"({rows})", column)
        )


def spellings(read: str) -> Relation:
    """The relation `<read>_spellings` (person, spelling) of a landing table's identifier."""
    return Relation(
        f"{read}_spellings",
        spellings_of(read, COLUMNS[read]),
        part=lambda before: read_sql(__file__, "spellings_part", read=read, before=before),
        over=(read,),
    )


def read_by(sql: str) -> tuple[Relation | FileSpellings, ...]:
    """The spellings an SQL statement reads: of landing tables (relations), of others (from
    facts kept per data file)."""
    read = words(sql)
    return tuple(
        spellings(table) if table.endswith("_landing") else FileSpellings(table)
        for table in COLUMNS
        if f"{table}_spellings" in read
    )


def spellings_of(rows: str, column: str) -> str:
    """SQL: every spelling of `column` in `rows` (a table's name, or a query in parentheses),
    with its person key (person, spelling)."""
    return read_sql(__file__, "spellings", rows=rows, column=ident(column))
