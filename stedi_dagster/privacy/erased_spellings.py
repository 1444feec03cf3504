"""The values of a table's key field that an erasure removes, found from the spellings of the
persons it erases instead of the erasure list's test of every distinct value the table holds
(`erased_by_value`: at x1000 the job hashed the distinct values of seven tables, 1.7 s of its 7).

The list's test finds the rows of every customer ever erased; the persons this erasure names are
enough when every erasure before it completed (the audit's last entry counts the list entries it
left, `LISTED`): each removed its customers' rows from every table, and no run adds rows of
a listed customer again. A table's rows of those persons are then the rows of their spellings in
it, which are kept beside the tables: for a landing table, the relation of its spellings kept
for its current version (`privacy/spellings.py`), looked up before the list grows; for a trusted
or curated table, the facts kept per data file (computed for the files that have none). Without
a complete audit, or for a landing table whose spellings are not kept, the list's test is made
(`ErasedSpellings.values` says None).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from stedi_dagster.engines import Engine
from stedi_dagster.engines.duckdb_engine import DuckDBEngine
from stedi_dagster.lakehouse.store import TableStore
from stedi_dagster.privacy.identity import PERSON_KEYS
from stedi_dagster.privacy.records import ERASURE_AUDIT, PrivacyRecords
from stedi_dagster.privacy.spellings import SPELLINGS, of_table, spellings
from stedi_dagster.sql import ident, listed
from stedi_dagster.tables import Table

# What an audit entry says of the erasure list: how many entries it held when the erasure
# completed.
LISTED = "erasure_list_entries"


@dataclass(frozen=True)
class ErasedSpellings:
    """The person keys an erasure removes (kind -> keys: the email's, the serials'), each
    landing table's spellings of them whose spellings were kept, and the tables whose erased
    values they told (`values`)."""

    keys: Mapping[str, Sequence[str]]
    landing: Mapping[str, Sequence[str]]
    told: set[str] = field(default_factory=set)

    def values(
        self, engine: DuckDBEngine, store: TableStore, table: Table, files: Sequence[str]
    ) -> list[str] | None:
        """The values of the table's key field among its data `files` that belong to the
        erased persons; None when they cannot be told from kept spellings (a landing table
        whose spellings were not kept)."""
        key, kind = PERSON_KEYS[table.dataset]
        if table.zone == "landing":
            found = self.landing.get(table.name)
        else:
            store.attach(engine, table, list(files), view=f"{table.name}_erasing")
            found = of_persons(engine, table.name, key, f"{table.name}_erasing", self.keys[kind])
        if found is not None:
            self.told.add(table.name)
        return None if found is None else list(found)


def of_persons(
    engine: Engine, table: str, column: str, view: str, keys: Sequence[str]
) -> list[str] | None:
    """The spellings of these person keys in `column` of the data files that `view` (over a
    trusted or curated `table`) reads, from the facts kept per file (computed for the files
    that have none); None when no spellings of that column are kept."""
    kept = [s for s in of_table(table) if s.column == column]
    if not kept:
        return None
    kept[0].create(engine, view)
    return spelled_in(engine, kept[0].name, keys)


def kept_before(before: DuckDBEngine) -> dict[str, str]:
    """SQL of the files that keep the spellings of each landing table's key field, by name, as
    `before` shows landing (before the erasure list grows), of those that are kept."""
    found = {}
    for name, (table, column) in SPELLINGS.items():
        dataset = table.removesuffix("_landing")
        if table != name.removesuffix("_spellings") or dataset not in PERSON_KEYS:
            continue  # (a landing table's spellings of its key field alone)
        if PERSON_KEYS[dataset][0] == column:
            relation = spellings(name)
            if before.kept_table(relation.name, relation.sql, relation.over) is not None:
                kept = before.kept_in_files(name)
                if kept is not None:
                    found[name] = f"({kept.query()})"
    return found


def found(
    before: DuckDBEngine, keys: Mapping[str, Sequence[str]], kept: Mapping[str, str]
) -> ErasedSpellings:
    """The erased persons' spellings (`keys`: person keys by kind) in the landing tables whose
    spellings were kept (`kept`: `kept_before`), for an erasure after every one before it
    completed (`complete`)."""
    landing = {}
    for name, rows in kept.items():
        table = SPELLINGS[name][0]
        kind = PERSON_KEYS[table.removesuffix("_landing")][1]
        landing[table] = spelled_in(before, rows, keys[kind])
    return ErasedSpellings(keys, landing)


def complete(privacy: PrivacyRecords, listed_before: int) -> bool:
    """Whether every erasure that added to the list (of `listed_before` entries) completed:
    the last audit entry counts them all (an audit without the count: not known)."""
    audit = privacy.read_log(ERASURE_AUDIT)
    if not audit:
        return listed_before == 0
    return audit[-1].get(LISTED) == listed_before


def spelled_in(engine: Engine, relation: str, keys: Sequence[str]) -> list[str]:
    """The spellings in `relation` (person, spelling: a table's name, or a query in
    parentheses) of these person keys."""
    if not keys:
        return []
    rows = relation if relation.startswith("(") else ident(relation)
    sql = f"select distinct spelling from {rows} where {listed('person', keys)}"
    return sorted(v for (v,) in engine.rows(sql))
