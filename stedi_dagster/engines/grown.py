"""Relations grown from the ones kept before: when the tables a relation is computed from only
gained data files since a version over which an engine kept it (`Engine.keep_table`), the
relation over them as they are is the one kept before merged with the relation over their new
files alone (`<name>_of_new_files`), by SQL that knows how (a union, a latest per key), instead of
computed again from every file. The consent relations (`privacy/consent.py`), the landing
identifiers and each landing user's latest reading (`factory/version_checks.py`) grow so."""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from stedi_dagster.engines.engine import Engine, Part


@dataclass(frozen=True)
class Files:
    """A read table's data files over which the relations were kept, those it gained since
    (it lost none), and those it has now, in the order its view lists them."""

    before: Sequence[str]
    added: Sequence[str]
    now: Sequence[str]


@dataclass(frozen=True)
class Growth:
    """How the tables a relation reads grew (by name), and how to show a view named after one
    of them over some of its data files."""

    files: Mapping[str, Files]
    attach: Callable[[str, Sequence[str]], None]

    def show(self, which: str) -> None:
        """The views of the reads over their files `before`, `added` or `now`."""
        for name, files in self.files.items():
            self.attach(name, list(getattr(files, which)))


@dataclass(frozen=True)
class Relation:
    """A relation `name` computed by `sql` over the reads (and the relations before it), and
    how it grows: given the engine and the name of the relation kept over the reads before,
    SQL merging it with the ones over the new files alone (None: the same rows as before, which
    it may query the engine to find); for a relation
    without it, computed again from those before it as they are. `of_new_files`: whether its
    own SQL over the new files alone (`<name>_of_new_files`) is computed, for `grown` to read
    (not for one that reads other relations: over the new files they are not at hand)."""

    name: str
    sql: str
    grown: Callable[[Engine, str], str | None] | None = None
    of_new_files: bool = True
    over: tuple[str, ...] = ()  # the tables it reads, if it says (a check's own relations)
    # Instead of `grown`, for one grown by its rows of some values of a column computed again (or
    # by rows added): SQL of those rows, given the name of the relation kept before, and the
    # column ("": rows added); it is then kept as the one before and a part (`Part`), not
    # written whole, and merged with it by `with_part`.
    part: Callable[[str], str] | None = None
    part_key: str = ""
    # A relation of one row per row of the one table it is `over` (a projection): computed per
    # data file of that table and kept per file (`Engine.per_file`), so that a version that
    # writes a few of its files has theirs computed alone, not the table's every row.
    per_file: bool = False
    # For an erasure to keep it again (`privacy/erased_relations.py`): SQL of the relation kept
    # before without the rows the erasure removed from the tables it is over, given the names
    # of the relations kept before (its own and those it reads); None (or a function returning
    # None: one it reads was not kept before): computed again by the run after the erasure.
    erased: Callable[[Mapping[str, str]], str | None] | None = None
    # For a query over its reads narrowed to a few rows (a count over the partitions that new
    # rows or a change reach): SQL of its rows those rows can meet, computed from them
    # (`create(narrowed=True)`) instead of whole; None: computed whole.
    narrowed: str | None = None

    @property
    def grows(self) -> bool:
        return self.grown is not None or self.part is not None

    def growth(self, engine: Engine, before: str) -> tuple[str | None, Part | None]:
        """SQL of the relation grown from the one kept before (named `before`; None: the same
        rows), and the part it differs by, if it grows by one."""
        if self.part is None:
            return self.grown(engine, before), None
        rows = self.part(before)
        return with_part(before, rows, self.part_key), Part(before, rows, self.part_key)

    def create(self, engine: Engine, narrowed: bool = False) -> None:
        """The relation on the engine, over the views of the tables it is `over` as they are
        shown now: computed once per version of them and kept (`Engine.create_table`), or per
        data file (`per_file`); `narrowed`: for a query over reads narrowed to a few rows, its
        rows they can meet, if it says how (`Relation.narrowed`: computed, not kept)."""
        if narrowed and self.narrowed is not None:
            engine.create_table(self.name, self.narrowed)
            return
        if not self.per_file:
            engine.create_table(self.name, self.sql, shared_over=self.over)
            return
        (table,) = self.over  # its SQL reads the table: given one file's rows under its name
        engine.per_file(self.name, table, lambda rows: f"with {table} as ({rows})\n{self.sql}")


def with_part(before: str, part: str, key: str) -> str:
    """SQL: the relation kept before (named `before`) with the rows `part` (SQL) in place of its
    rows of the values of column `key` they hold (no key: with them added; see `Part`). A filter,
    not an anti-join: DuckDB then estimates the rows as it does those of `before`, and joins
    with the relation keep their order (at x100, a recount joining research_consent so took
    0.4 s, as an anti-join 0.7 s: it built its hash table on 8 million readings instead)."""
    if not key:
        return f"select * from {before} union all select * from ({part})"
    values = f"select {key} from ({part}) where {key} is not null"
    return (
        f"select * from {before} where coalesce({key} not in ({values}), true) "
        f"union all select * from ({part})"
    )


def grow(engine: Engine, relations: Sequence[Relation], growth: Growth) -> bool | None:
    """Keep the relations over the reads as they are, grown from those kept over their files
    before and computed over their new files (in order: a relation may read those before it),
    and create them on the engine; whether every one that grows holds the rows it held before
    (its growth said so). None, and nothing done, when one that grows was not kept before (the
    caller computes them)."""
    reads = tuple(growth.files)
    growing = [r for r in relations if r.grows]
    growth.show("before")
    before = {}
    for r in growing:
        held = engine.kept_table(r.name, r.sql, reads)
        if held is None:
            growth.show("now")
            return None
        before[r.name] = held
    growth.show("added")
    for r in growing:  # of a few files: not shared
        if r.of_new_files:
            engine.create_table(f"{r.name}_of_new_files", r.sql)
    growth.show("now")
    same = True
    for r in relations:
        if r.grows:
            merged, part = r.growth(engine, before[r.name])
            same = same and merged is None
            engine.keep_table(r.name, r.sql, reads, computed_as=merged, part=part)
        if r.per_file:
            r.create(engine)
        else:
            engine.create_table(r.name, r.sql, shared_over=reads)
    return same
