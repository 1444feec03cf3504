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
(`sql/<name>_grown.sql`), not computed again from every record: each is exactly what its SQL
computes (a person's consent from their latest records, wherever they are; the claims a union;
the subjects of the persons of the new records taken again).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from stedi_dagster.engines import Engine
from stedi_dagster.sql import read_sql

RELATIONS = "consent relations"
NAMES = ("research_consent", "serial_claims", "serial_consent", "consenting_subjects")
# The relations that a new customer file gives alone (`<name>_of_new_files`), for growing.
OF_NEW_FILES = ("research_consent", "serial_claims")
# The relations grown from themselves before; the others are computed from those, as they are.
GROWN = ("research_consent", "serial_claims", "consenting_subjects")
CUSTOMERS = ("customer_landing",)


@dataclass(frozen=True)
class Growth:
    """customer_landing's data files when relations were kept, those added since (none
    removed), and how to show the view customer_landing over some of its files."""

    before: Sequence[str]
    added: Sequence[str]
    now: Sequence[str]
    attach: Callable[[Sequence[str]], None]


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
    if growth is not None and growth.added:
        _grow(engine, growth)
    for name in NAMES:
        engine.create_table(name, read_sql(__file__, name), shared_over=CUSTOMERS)
    engine.prepared.add(RELATIONS)


def _grow(engine: Engine, growth: Growth) -> None:
    """Keep the relations over customer_landing as it is, grown from those kept over its files
    before and from its new files' records; nothing when those were not all kept."""
    growth.attach(growth.before)
    before = {}
    for name in NAMES:
        kept = engine.kept_table(name, read_sql(__file__, name), CUSTOMERS)
        if kept is None:
            growth.attach(growth.now)
            return
        before[name] = kept
    growth.attach(growth.added)
    for name in OF_NEW_FILES:  # of a few records: not shared
        engine.create_table(f"{name}_of_new_files", read_sql(__file__, name))
    growth.attach(growth.now)
    for name in NAMES:  # each after those it reads, as they are now
        sql = read_sql(__file__, name)
        if name in GROWN:
            grown = read_sql(__file__, f"{name}_grown", before=before[name])
            engine.keep_table(name, sql, CUSTOMERS, computed_as=grown)
        engine.create_table(name, sql, shared_over=CUSTOMERS)
