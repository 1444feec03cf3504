"""Adding to a table instead of building it again.

A table's SQL that is linear in an input (each input row contributes its output rows on its own:
filters and joins, no aggregate, no `distinct` over the output, no anti-join on that input) gives,
for rows added to that input, exactly the output rows to add. When the only inputs whose rows
changed since the table's version are such inputs, and they only gained data files (Delta
appends), the step computes the new rows alone and appends them; when none changed, it adds
nothing. Rows an input lost or changed (a file removed or rewritten) are for a table maintained
per key (`keyed.Keyed`); anything else (a change of settings or code, a missing record of the
versions built from, a version no longer held) builds the table in full.

For two changed inputs A and B, new = old + Q(A_added, B_before) + Q(A_now, B_added): each pair
of rows is counted once.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from stedi_dagster.lakehouse import scratch
from stedi_dagster.lakehouse.delta import BASIS, CHANGED_ROWS, INPUTS, MERGED
from stedi_dagster.lakehouse.storage import file_name
from stedi_dagster.lakehouse.store import Snapshot, TableStore
from stedi_dagster.sql import any_of, literal, select_columns
from stedi_dagster.tables import TABLES, Table


@dataclass(frozen=True)
class Change:
    """The data files of an input that a table's version was built from, those added since and
    those of them removed since (URLs); `within`: when every commit since recorded the rows it
    changed (`CHANGED_ROWS`), SQL true of every row added or removed (the rows it is false of
    are the same in the files added as in those removed)."""

    before: list[str]
    added: list[str]
    removed: list[str] = field(default_factory=list)
    within: str | None = None

    @property
    def appended(self) -> bool:
        """Whether the input only gained rows (data files added, none removed)."""
        return not self.removed


def changes(
    store: TableStore,
    commit: dict,
    basis: str,
    inputs: Sequence[str],
    reads: dict[str, Snapshot],
) -> dict[str, Change] | None:
    """The inputs whose rows changed since the version `commit` made, with their files; None
    when the table must be built in full (another basis, or a change that cannot be told as
    files)."""
    if commit.get(BASIS) != basis or INPUTS not in commit:
        return None
    built_from = json.loads(commit[INPUTS])
    found = {}
    for name in inputs:
        change = since(store, name, built_from.get(name), reads.get(name))
        if change is None:
            return None
        if change.added or change.removed:
            found[name] = change
    return found


def appendable(found: dict[str, Change], appends: Sequence[str]) -> bool:
    """Whether the changes are only rows added to inputs the table is linear in."""
    return all(change.appended and name in appends for name, change in found.items())


def since(store: TableStore, name: str, version: int | None, now: Snapshot | None) -> Change | None:
    """How table `name` changed from `version` to the snapshot `now`: its data files then, those
    added since and those removed since (none: the same rows); None when it cannot be told (a
    version no longer held, a table or version unknown)."""
    if now is None or version is None:
        return None
    if version == now.version:
        return Change(now.urls, [])
    before = store.delta.latest(TABLES[name], version)
    if before is None:
        return None
    was = Snapshot(version, before.file_uris())
    added = [u for u in now.urls if file_name(u) not in was.files]
    removed = [u for u in was.urls if file_name(u) not in now.files]
    within = None
    if removed:
        commits = store.delta.commits_since(TABLES[name], version)
        added, removed = unmerged(commits, was, added, removed)
        changed = [c.get(CHANGED_ROWS) for c in commits]
        if removed and commits and all(changed):
            within = any_of(changed)
    return Change(was.urls, added, removed, within)


def unmerged(
    commits: Sequence[dict], was: Snapshot, added: list[str], removed: list[str]
) -> tuple[list[str], list[str]]:
    """The data files added and removed since version `was`, less those of the commits since
    that merged data files of that version into one (`MERGED`): the merged file holds their
    rows, which neither left nor arrived."""
    for commit in commits:
        for into, sources in json.loads(commit.get(MERGED, "{}")).items():
            if set(sources) <= was.files and into in {file_name(u) for u in added}:
                added = [u for u in added if file_name(u) != into]
                removed = [u for u in removed if file_name(u) not in sources]
    return added, removed


def same_rows(table: Table, paths: Sequence[str], others: Sequence[str]) -> bool:
    """Whether two sets of Parquet files of a table hold the same rows (as multisets)."""
    if not paths or not others:
        return not paths and not others
    with scratch.cursor() as con:
        selects = []
        for i, files in enumerate((paths, others)):
            listed = ", ".join(literal(f) for f in files)
            con.execute(
                f"create temp view files_{i} as "
                f"select * from read_parquet([{listed}], union_by_name = true)"
            )
            present = [r[0] for r in con.execute(f"describe files_{i}").fetchall()]
            # a column added since some files were written reads as null in them
            selects.append(f"select {select_columns(table.columns, present, f'files_{i}')}")
            if not set(present) <= set(table.stored_columns):
                return False
        counts = [con.execute(f"select count(*) from files_{i}").fetchall()[0][0] for i in (0, 1)]
        if counts[0] != counts[1]:
            return False
        extra = con.execute(f"select count(*) from ({selects[0]} except all {selects[1]})")
        return extra.fetchall()[0][0] == 0
