"""Consent to research, as the checks prove it: derived from customer_landing alone, independently
of the trusted zone's SQL, so that a check comparing a table with these relations catches a
transform that lets a non-consenting person's row through.

- `research_consent`: each person's (by the person key of their email) consent, decided by their
  most recently updated landing record(s); a tie without agreement means no consent;
- `serial_claims`: who claimed each Step Trainer serial (person keys of both);
- `serial_consent`: a Step Trainer serial is consented only when every person who ever claimed it
  consents;
- `consenting_subjects`: the pseudonyms (subject ids) of the persons who consent.

When customer_landing only gained files since relations kept over its files before (by an
earlier step or run), those over it as it is are grown from them and from its new files' records
(`sql/<name>_part.sql`, `sql/consenting_subjects_grown.sql`, `engines/grown.py`), not computed
again from every record, and kept as the files before and a small part of the rows that changed
(`engines/kept_files.py`), not written again whole: each is exactly what its SQL computes (a
person's consent from their latest records, wherever they are; the claims a union; the serials
and the subjects of the persons of the new records computed again).
"""

from collections.abc import Mapping

from stedi_dagster.engines import Engine
from stedi_dagster.engines.grown import Growth, Relation, grow
from stedi_dagster.sql import read_sql

RELATIONS = "consent relations"
NAMES = ("research_consent", "serial_claims", "serial_consent", "consenting_subjects")
# Those over the new files alone that the growing reads (consenting_subjects' reads
# research_consent's).
OF_NEW_FILES = ("research_consent", "serial_claims")
# Those grown by their rows of some values of a column computed again (`sql/<name>_part.sql`;
# "": by rows added), kept as the relation before and a part (see `engines/grown.py`);
# consenting_subjects loses a withdrawn person's row, and is written whole (`_grown.sql`).
PARTS = {"research_consent": "email", "serial_claims": "", "serial_consent": "serialNumber"}
CUSTOMERS = ("customer_landing",)


def consent_relations(engine: Engine, growth: Growth | None = None) -> None:
    """Create the consent relations (`sql/` beside this module) on the engine, once for all the
    checks of a step that use them (the engine remembers it in `prepared`): tables, computed
    once (as views they were computed again by every query that read them, the pseudonyms of
    consenting_subjects twice by the training pairs' consent check), and shared by the steps of
    a run that read the same customer_landing with the same settings (research_consent takes
    about 0.2 s at scale 100, 2 s at scale 1000). `growth`: how customer_landing grew since a
    version over which they may have been kept, to grow them from those (see above)."""
    if RELATIONS in engine.prepared:
        return
    if growth is None or grow(engine, relations(), growth) is None:
        for name in NAMES:
            engine.create_table(name, read_sql(__file__, name), shared_over=CUSTOMERS)
    engine.prepared.add(RELATIONS)


def consent_relations_of_rows(engine: Engine) -> None:
    """The consent relations over customer_landing's view as it is shown now (some persons'
    records, for a count summed over persons: see `factory/version_checks.py`), computed here
    and not shared, in place of those created for customer_landing as it is, which
    `consent_relations` shows again once `RELATIONS` is taken out of `engine.prepared`."""
    for name in NAMES:
        engine.create_table(f"{name}_of_rows", read_sql(__file__, name))
        engine.create_view(name, f"select * from {name}_of_rows")


def relations() -> list[Relation]:
    """The consent relations, each with how it grows (`sql/<name>_part.sql` or
    `sql/<name>_grown.sql`) and how an erasure keeps it (`sql/<name>_erased.sql`), in the order
    they read each other."""
    return [_relation(name) for name in NAMES]


def _relation(name: str) -> Relation:
    sql, of_new_files = read_sql(__file__, name), name in OF_NEW_FILES

    def erased(before: Mapping[str, str]) -> str:
        if name == "serial_consent":  # the rows of the erased serials computed again
            return read_sql(__file__, f"{name}_erased", before=before[name], serial_consent=sql)
        return read_sql(__file__, f"{name}_erased", before=before[name])

    if name not in PARTS:
        return Relation(
            name,
            sql,
            lambda _, before: read_sql(__file__, f"{name}_grown", before=before),
            of_new_files,
            over=CUSTOMERS,
            erased=erased,
        )
    return Relation(
        name,
        sql,
        of_new_files=of_new_files,
        over=CUSTOMERS,
        part=lambda before: read_sql(__file__, f"{name}_part", before=before),
        part_key=PARTS[name],
        erased=erased,
    )
