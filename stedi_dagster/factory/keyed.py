"""Tables maintained per key: which rows a change of their inputs reaches (`Keyed`), as each
table's SQL files say (`keyed`); a `drafts.FileDraft` computes those keys' rows again."""

from collections.abc import Sequence
from dataclasses import dataclass

from stedi_dagster.engines import Engine
from stedi_dagster.engines.grown import Relation
from stedi_dagster.lakehouse.data_files import USUAL, Sizes
from stedi_dagster.privacy import spellings
from stedi_dagster.privacy.consent import NAMES as CONSENT_RELATIONS
from stedi_dagster.privacy.consent import consent_relations
from stedi_dagster.sql import any_of, listed, words
from stedi_dagster.tables import TABLES

# More keys than this to compute again: the table is built in full instead.
MAX_KEYS = 10_000
# More keys than this: a commit does not record the rows it changed (`CHANGED_ROWS`), which a
# table reading it then finds by comparing every row of the files it rewrote.
MAX_KEYS_RECORDED = 1_000


@dataclass(frozen=True)
class Keyed:
    """A table whose rows belong to keys (a person, a Step Trainer serial, a subject), each
    key's rows computed from its inputs' rows of that key alone, so that after any change of
    its inputs only the keys whose rows may have changed are computed again. `affected`: SQL
    giving those keys (and, as a second column, the person behind each, if it is a
    pseudonym), over views `changed_<input>` (the rows each input gained
    or lost; none for an input that did not change) and the inputs as they are; a row belongs
    to the keys in any of its `columns`. `narrowed`: for inputs of which the keys' rows need
    few rows, SQL giving those (a superset will do) over the inputs as they are, those narrowed
    before it (`narrowed_<input>`) and the table `recomputed_keys` (key, person: null for a key
    `affected` did not give): the writer computes the keys' rows from them alone. An entry of
    `narrowed` that names no input is a small table that those after it read (`narrowed_<name>`,
    looked up once: DuckDB then plans their joins by its true size)."""

    columns: tuple[str, ...]
    affected: str
    narrowed: tuple[tuple[str, str], ...] = ()
    bounded_by: str = ""  # an input with at least as many rows as the table, if one has
    # how a full build spreads the table over data files (see `data_files.buckets`)
    files: Sizes = USUAL
    consent: bool = False  # whether `affected` reads the consent relations (privacy/consent.py)
    # The relations `affected` and `narrowed` read: the spellings (privacy/spellings.py), and
    # those given, which the draft creates over the reads as they are (a landing table's
    # spellings grown from those it kept before).
    relations: tuple[Relation | spellings.FileSpellings, ...] = ()

    def rows_of(self, keys: Sequence[str]) -> str:
        """SQL: whether a row belongs to any of the keys (false for none)."""
        return any_of(self.conditions(keys))

    def conditions(self, keys: Sequence[str]) -> list[str]:
        """SQL per column: whether a row has any of the keys there (none for no key)."""
        return [listed(c, keys) for c in self.columns] if keys else []

    def keys(self, engine: Engine) -> list[str]:
        """The keys `affected` gives, over the `changed_<input>` views as they are."""
        return sorted(self.found(engine))

    def found(self, engine: Engine) -> dict[str, str | None]:
        """The keys `affected` gives, each with what its second column, if it has one, says of
        the key (the person behind a pseudonym), else None."""
        if self.consent:  # over customer_landing as it is: kept, or grown, by an earlier step
            consent_relations(engine)
        rows = engine.rows(self.affected)
        return {str(k): (more[0] if more else None) for k, *more in rows if k is not None}


def keyed(
    name: str,
    columns: Sequence[str],
    narrowed: Sequence[str] = (),
    bounded_by: str = "",
    relations: Sequence[Relation] = (),
    files: Sizes = USUAL,
) -> Keyed:
    """Table `name` maintained per key: its rows belong to the keys in `columns`, its
    `sql/<name>_affected.sql` finds the keys a change reaches, and `sql/<name>_narrowed_<input>.sql`
    the rows of each input in `narrowed` (in that order) that the keys' rows can come from;
    `bounded_by`: an input that has at least as many rows as the table (its rows size the
    table's data files; else its largest input's do); `relations`: those the narrowed SQL reads
    besides the spellings, in the order they read each other."""
    table = TABLES[name]
    affected = table.sql("_affected")
    narrowing = tuple((i, table.sql(f"_narrowed_{i}")) for i in narrowed)
    return Keyed(
        tuple(columns),
        affected,
        narrowing,
        bounded_by,
        consent=bool(words(affected) & set(CONSENT_RELATIONS)),
        relations=(
            *spellings.read_by(" ".join([affected, *(sql for _, sql in narrowing)])),
            *relations,
        ),
        files=files,
    )
