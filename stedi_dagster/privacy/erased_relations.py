"""The relations computed from landing and kept between runs for the checks (the consent
relations, the landing spellings, each landing user's latest reading, the landing identifiers),
kept again by an erasure without the erased customer's rows, so that the run after it finds them
kept for landing as the erasure left it instead of computing each from every landing row (at
x1000 about 8 s of that run).

Before the erasure list grows, `held` finds those kept for landing as it is (their keys hash the
list: `DuckDBEngine._shared_key`); once landing holds none of the customer's rows, `keep_without`
keeps each again under the key of landing as it is now: its rows before without the customer's
(`Relation.erased`, `sql/<name>_erased.sql`), which read the person keys of the customer's
emails and serials (`erased_emails`, `erased_serials`), and may read the rows before of other
relations (the landing identifiers: of the Step Trainer serials' spellings, which are not kept
again: the run after an erasure reads none). A relation not kept before, or reading one that
was not, is left for the run after to compute; every other kept table goes with the erasure
(`Lakehouse.forget_shared_tables`).
"""

from collections.abc import Sequence
from pathlib import Path

from stedi_dagster.engines.duckdb_engine import DuckDBEngine
from stedi_dagster.engines.grown import Relation
from stedi_dagster.sql import words


def held(engine: DuckDBEngine, relations: Sequence[Relation]) -> dict[str, str]:
    """By name, SQL of the files that keep each relation (in the order they read each other)
    for the tables it is over as the engine's views show them: those kept again, and those whose
    rows before they read. (Their files, not their tables in the process's database, which
    keeping another key of the same name may drop.)"""
    found: dict[str, str] = {}
    for relation in relations:
        if engine.kept_table(relation.name, relation.sql, relation.over) is not None:
            kept = engine.kept_in_files(relation.name)
            if kept is not None:
                found[relation.name] = f"({kept.query()})"
    return found


def keep_without(
    engine: DuckDBEngine,
    relations: Sequence[Relation],
    before: dict[str, str],
    emails: Sequence[str],
    serials: Sequence[str],
) -> dict[str, list[Path]]:
    """Keep each relation `held` before (`before`) again, for the tables it is over as the
    engine's views show them after the erasure, as its rows before without those of the erased
    customer (`emails`, `serials`: their spellings); the files that keep each, by name."""
    if not before:
        return {}
    engine.fill_table(
        "erased_spellings",
        {"kind": "VARCHAR", "value": "VARCHAR"},
        [("email", e) for e in emails] + [("serial", s) for s in serials],
    )
    for kind in ("email", "serial"):
        engine.create_table(
            f"erased_{kind}s",
            "select distinct person_key(value) as value from erased_spellings "
            f"where kind = '{kind}'",
        )
    for name, rows in before.items():  # views named apart from the relations now
        engine.create_view(f"{name}_before", f"select * from {rows}")
    before = {name: f"{name}_before" for name in before}
    names, files = {r.name for r in relations}, {}
    for relation in relations:
        sql = relation.erased(before) if relation.erased and relation.name in before else None
        if sql is None or words(sql) & names - set(files) - {relation.name}:
            continue  # or it reads one that is not kept again
        engine.keep_table(
            relation.name, relation.sql, relation.over, computed_as=sql, in_order=True
        )
        engine.create_table(relation.name, relation.sql, shared_over=relation.over)
        kept = engine.kept_in_files(relation.name)
        files[relation.name] = kept.files() if kept is not None else []
    return files
