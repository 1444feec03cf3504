"""Consent to research, as the checks prove it: derived from customer_landing alone, independently
of the trusted zone's SQL, so that a check comparing a table with these relations catches a
transform that lets a non-consenting person's row through.

- `research_consent`: each person's (by the person key of their email) consent, decided by their
  most recently updated landing record(s); a tie without agreement means no consent;
- `serial_consent`: a Step Trainer serial is consented only when every person who ever claimed it
  consents;
- `consenting_subjects`: the pseudonyms (subject ids) of the persons who consent.
"""

from stedi_dagster.engines import Engine
from stedi_dagster.sql import read_sql

RELATIONS = "consent relations"


def consent_relations(engine: Engine) -> None:
    """Create the consent relations (`sql/` beside this module) on the engine, once for all the
    checks of a step that use them (the engine remembers it in `prepared`). research_consent,
    which the other two read, is computed once as a table (as a view it was computed again by
    every query that read it), shared by the steps of a run that read the same customer_landing
    (about 0.2 s a step at scale 100, 2 s at scale 1000)."""
    if RELATIONS in engine.prepared:
        return
    sql = read_sql(__file__, "research_consent")
    engine.create_table("research_consent", sql, shared_over=("customer_landing",))
    for name in ("serial_consent", "consenting_subjects"):
        engine.create_view(name, read_sql(__file__, name))
    engine.prepared.add(RELATIONS)
