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
    checks of a step that use them (the engine remembers it in `prepared`): tables, computed
    once (as views they were computed again by every query that read them, the pseudonyms of
    consenting_subjects twice by the training pairs' consent check), and shared by the steps of
    a run that read the same customer_landing with the same settings (research_consent takes
    about 0.2 s at scale 100, 2 s at scale 1000)."""
    if RELATIONS in engine.prepared:
        return
    for name in ("research_consent", "serial_consent", "consenting_subjects"):
        engine.create_table(name, read_sql(__file__, name), shared_over=("customer_landing",))
    engine.prepared.add(RELATIONS)
