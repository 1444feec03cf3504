"""The views of the tables a step reads (named after them, as its SQL reads them): over their data
files as they are now, as they were at an earlier version, their new files alone, or the rows they
gained or lost since a version (`changed_<name>`)."""

from collections.abc import Iterable, Mapping, Sequence

from stedi_dagster.engines import Engine
from stedi_dagster.engines.grown import Files, Growth
from stedi_dagster.factory.increments import Change, since
from stedi_dagster.lakehouse.store import Snapshot, TableStore
from stedi_dagster.privacy.spellings import read_by
from stedi_dagster.sql import ident, listed
from stedi_dagster.tables import TABLES

# The most partition values `ReadViews.within` lists in its filter (more: a join with them).
LISTED_VALUES = 2_000


class ReadViews:
    """The views of the tables a step reads (`reads`: their snapshots as the step reads them),
    each change since a version looked up once per step."""

    def __init__(self, store: TableStore, reads: dict[str, Snapshot]):
        self.store, self.reads = store, reads
        self._changes: dict[tuple[str, int | None], Change | None] = {}

    def attach_changed(self, engine: Engine, name: str, change: Change | None) -> None:
        """A view `changed_<name>` of the rows table `name` gained or lost in `change` (none when
        it did not change); a table, computed once, when the input lost rows
        (their difference is compared row by row, among the rows the input's commits say they
        changed if they say, and `affected` SQL may read it twice)."""
        view = f"changed_{name}"
        if change is None or change.appended:
            self.attach(engine, name, change.added if change else [], view)
            return
        added, removed = f"{view}_added", f"{view}_removed"
        self.attach(engine, name, change.added, added)
        self.attach(engine, name, change.removed, removed)
        if change.within:  # only those rows can differ: the others are not compared
            for side in (added, removed):
                engine.create_view(f"{side}_within", f"select * from {side} where {change.within}")
            added, removed = f"{added}_within", f"{removed}_within"
        engine.create_table(  # computed once for the steps of the run reading the same change
            view,
            f"(select * from {added} except all select * from {removed}) union all "
            f"(select * from {removed} except all select * from {added})",
            shared_over=(added, removed),
            kept=False,  # a change between two versions: no later run reads it
        )

    def narrow(
        self,
        engine: Engine,
        changes: dict[str, Change],
        i: int,
        partitions: Sequence[tuple[str, str]] = (),
    ) -> None:
        """The views of pass `i` over the changed tables: the `i`-th by its added files, those
        before it as they are now, those after it as they were (each new pair counted once);
        with `partitions` (table -> column), when the `i`-th is among them, the other tables
        among them restricted to the partitions of its new rows (for a query that pairs rows
        only within a partition); `restore` undoes it."""
        names = list(changes)

        def files(name: str) -> list[str]:
            if name not in changes or names.index(name) < i:
                return self.reads[name].urls
            return changes[name].added if names.index(name) == i else changes[name].before

        for name in names:
            self.attach(engine, name, files(name))
        columns = dict(partitions)
        if names[i] not in columns:
            return
        column = ident(columns.pop(names[i]))
        engine.create_table("pass_partitions", f"select distinct {column} as value from {names[i]}")
        for name, other in columns.items():
            self.within(engine, name, files(name), other, "pass_partitions")

    def within(
        self,
        engine: Engine,
        name: str,
        urls: list[str],
        column: str,
        values: str,
        held: Sequence[str] = (),
    ) -> None:
        """A view `name` of the rows of table `name` in these data files whose `column` is in
        the column `value` of table `values` alone (a table `<name>_within`, computed once:
        the queries that read it read it more than once, each time a scan of the column); the
        rows of the `held` files among them read from the table `hold` made of them, not
        scanned again. Up to LISTED_VALUES strings are listed in the filter, which then reaches
        the scan (Parquet Bloom filters skip the row groups without them: at x1000 a few
        persons' readings among the 79 million in landing, 0.3 s as a join with the table;
        milliseconds, which the files keep in order, are skipped as well by the join's range,
        faster than listed)."""
        others = [url for url in urls if url not in held]
        self.attach(engine, name, others, f"{name}_whole")
        columns = _columns(name)  # the registry's, in its order, on either side of the union
        rows = f"select {columns} from {name}_whole where {self._kept(engine, column, values)}"
        if held:
            rows += f" union all select {columns} from {name}_held"
        engine.create_table(f"{name}_within", rows)
        engine.create_view(name, f"select * from {name}_within")

    def hold(self, engine: Engine, name: str, urls: list[str], column: str, values: str) -> None:
        """A table `<name>_held` of the rows of these data files of table `name` whose `column`
        is in the column `value` of table `values`, for `within` to read instead of scanning
        them (the files two versions of a table share, read for each)."""
        self.attach(engine, name, urls, f"{name}_held_whole")
        kept = self._kept(engine, column, values)
        engine.create_table(
            f"{name}_held", f"select {_columns(name)} from {name}_held_whole where {kept}"
        )

    @staticmethod
    def _kept(engine: Engine, column: str, values: str) -> str:
        """The filter of `column` on the column `value` of table `values` (see `within`)."""
        found = engine.rows(f"select distinct value from {values} limit {LISTED_VALUES + 1}")
        if len(found) <= LISTED_VALUES and all(isinstance(v, str) for (v,) in found if v):
            return listed(column, [v for (v,) in found if v is not None])
        return f"{ident(column)} in (select value from {values})"

    def spellings(self, engine: Engine, sql: str) -> None:
        """The spellings an SQL statement reads (`privacy/spellings.py`), over the tables as
        they are (a landing table's grown from those kept before)."""
        for relation in read_by(sql):
            relation.create(engine)

    def since(self, name: str, version: int | None) -> Change | None:
        """How a table the step reads changed since `version` (`increments.since`), each table
        and version looked up once per step."""
        if (name, version) not in self._changes:
            change = since(self.store, name, version, self.reads.get(name))
            self._changes[name, version] = change
        return self._changes[name, version]

    def restore(self, engine: Engine, names: Iterable[str]) -> None:
        """The views of tables the step reads, over them as they are now again."""
        for name in names:
            self.attach(engine, name, self.reads[name].urls)

    def growth(self, engine: Engine, changes: Mapping[str, Change], reads: Sequence[str]) -> Growth:
        """How the `reads` grew, by the changes of those that did (the others as they are), for
        relations over them to grow from those kept before (`engines/grown.py`)."""
        files = {}
        for name in reads:
            now = self.reads[name].urls
            change = changes.get(name)
            files[name] = Files(change.before, change.added, now) if change else Files(now, [], now)
        return Growth(files, lambda name, urls: self.attach(engine, name, list(urls)))

    def attach(self, engine: Engine, name: str, urls: list[str], view: str | None = None) -> None:
        """A view named `view` (else `name`) over these data files of table `name`."""
        local = [self.store.zones.local_copy(u) for u in urls]
        self.store.attach(engine, TABLES[name], local, view=view)


def _columns(name: str) -> str:
    """Table `name`'s columns in the registry's order, as SQL."""
    return ", ".join(ident(column) for column in TABLES[name].columns)
