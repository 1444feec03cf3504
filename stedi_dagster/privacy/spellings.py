"""Every spelling of an identifier a landing table holds, with its person key
(`sql/spellings.sql`): a relation per landing table and column, kept per version of the table and
grown with its new files (`sql/spellings_part.sql`: the spellings they add, kept as a part), so
that finding every spelling of a few persons (a keyed table's affected keys, `factory/keyed.py`)
reads the persons' rows of a kept file sorted by person key, instead of keying every distinct
value of the table (at x1000, the 79 million accelerometer readings' users: 0.4 s)."""

from stedi_dagster.engines.grown import Relation
from stedi_dagster.sql import ident, read_sql


def spellings(read: str, column: str) -> Relation:
    """The relation `<read>_spellings` (person, spelling) of `column` of table `read`."""

    return Relation(
        f"{read}_spellings",
        read_sql(__file__, "spellings", read=read, column=ident(column)),
        part=lambda before: read_sql(__file__, "spellings_part", read=read, before=before),
        over=(read,),
    )
