"""Every spelling of a person's identifier that a table holds, with its person key
(`sql/spellings.sql`), so that finding every spelling of a few persons (a keyed table's affected
keys and narrowed inputs, `factory/keyed.py`; the rows a consent change reaches,
`factory/version_checks.py`) reads a small relation instead of keying every distinct value of
a large table (at x1000 the 79 million accelerometer readings' users: 0.4 s):

- of a landing table, `<table>_spellings` (its emails or users or serials; customer_landing's
  serials: `customer_landing_serial_spellings`): a relation kept per version of the table and
  grown with its new files (`sql/spellings_part.sql`: the spellings they add, kept as a part);
- of a trusted or curated table, the same names (`FileSpellings`): from facts kept per data file
  (`Engine.per_file`), exactly the spellings the files of the table's view hold.
"""

from dataclasses import dataclass

from stedi_dagster.engines import Engine
from stedi_dagster.engines.grown import Relation
from stedi_dagster.sql import ident, read_sql, words

# The spellings kept, by name: the table and its identifier column.
SPELLINGS = {
    "customer_landing_spellings": ("customer_landing", "email"),
    "customer_landing_serial_spellings": ("customer_landing", "serialNumber"),
    "accelerometer_landing_spellings": ("accelerometer_landing", "user"),
    "step_trainer_landing_spellings": ("step_trainer_landing", "serialNumber"),
    "customer_trusted_spellings": ("customer_trusted", "email"),
    "customer_trusted_serial_spellings": ("customer_trusted", "serialNumber"),
    "accelerometer_trusted_spellings": ("accelerometer_trusted", "user"),
    "step_trainer_trusted_spellings": ("step_trainer_trusted", "serialNumber"),
    "customer_curated_spellings": ("customer_curated", "email"),
    "customer_curated_serial_spellings": ("customer_curated", "serialNumber"),
}


@dataclass(frozen=True)
class FileSpellings:
    """The spellings `name` of a trusted or curated table's identifier (`SPELLINGS`), from facts
    kept per data file: a table (person, spelling)."""

    name: str

    @property
    def table(self) -> str:
        return SPELLINGS[self.name][0]

    @property
    def column(self) -> str:
        return SPELLINGS[self.name][1]

    def create(self, engine: Engine, view: str | None = None) -> None:
        """The table, over the data files of the table's view (or of `view`, over some of its
        files)."""
        table, column = SPELLINGS[self.name]

        def of_rows(rows: str) -> str:
            return spellings_of(f"({rows})", column)

        engine.per_file(self.name, view or table, of_rows)


def spellings(name: str) -> Relation:
    """The relation `name` (person, spelling) of a landing table's identifier (`SPELLINGS`)."""
    read, column = SPELLINGS[name]
    return Relation(
        name,
        spellings_of(read, column),
        part=lambda before: read_sql(__file__, "spellings_part", relation=name, before=before),
        over=(read,),
    )


def read_by(sql: str) -> tuple[Relation | FileSpellings, ...]:
    """The spellings an SQL statement reads: of landing tables (relations), of others (from
    facts kept per data file)."""
    read = words(sql)
    return tuple(
        spellings(name) if table.endswith("_landing") else FileSpellings(name)
        for name, (table, _) in SPELLINGS.items()
        if name in read
    )


def of_table(table: str) -> list[FileSpellings]:
    """The spellings kept of a trusted or curated table (none for a landing table)."""
    if table.endswith("_landing"):
        return []
    return [FileSpellings(name) for name, (of, _) in SPELLINGS.items() if of == table]


def spellings_of(rows: str, column: str) -> str:
    """SQL: every spelling of `column` in `rows` (a table's name, or a query in parentheses),
    with its person key (person, spelling)."""
    return read_sql(__file__, "spellings", rows=rows, column=ident(column))
