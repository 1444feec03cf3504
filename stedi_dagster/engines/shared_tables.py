"""The tables a DuckDB engine keeps for the engines that follow (`DuckDBEngine.create_table`
`shared_over` views, `keep_table`): in the process's database, under a name made of the table's
name and the key its definition hashes to (a few per name), for the steps of the same process;
and, given a folder (`kept_in`), as Parquet files there (`kept_files.py`) for the processes that
follow, which read them where queried instead of computing them again."""

import contextlib
from pathlib import Path

import duckdb

from stedi_dagster.engines import kept_files
from stedi_dagster.engines.engine import Part
from stedi_dagster.sql import ident

# How many tables created `shared_over` views the process's database keeps per name (a run's
# steps read one or two: over whole tables, and over a table's new rows).
SHARED_PER_NAME = 4


def shared_name(name: str, key: str) -> str:
    """The name in the process's database of the table `name` kept under this key (with no key:
    the prefix of all such tables)."""
    return f"stedi_shared_{name}_{key[:24]}"


class SharedTables:
    """The tables kept on `con` (a cursor of the process's database), and in `kept_in` if
    given."""

    def __init__(self, con: duckdb.DuckDBPyConnection, kept_in: Path | None):
        self.con, self.kept_in = con, kept_in

    def held(self, name: str, key: str) -> bool:
        """Whether table `name` is kept under this key, in the process's database or in files."""
        if shared_name(name, key) in self._names(shared_name(name, "")):
            return True
        return self.found(name, key) is not None

    def found(self, name: str, key: str) -> kept_files.Kept | None:
        """The files that keep table `name` under this key, if it is kept in files."""
        return kept_files.found(self.kept_in, name, key) if self.kept_in is not None else None

    def kept_file(self, name: str, key: str) -> Path | None:
        """The one Parquet file of table `name` kept under this key, if it is kept so."""
        path = kept_files.file(self.kept_in, name, key) if self.kept_in else None
        return path if path is not None and path.exists() else None

    def table(
        self,
        name: str,
        key: str,
        sql: str,
        same_as: Path | None = None,
        kept: bool = True,
        part: Part | None = None,
        in_order: bool = False,
    ) -> str:
        """The name of the table kept under this key in the process's database (where the
        engines of the steps that follow find it; a few such tables per name), computed by
        `sql` if it is not there yet (or, `same_as` a kept file of its rows, that file; or, a
        `part`, kept as one if it can be; `in_order`: `sql` gives its rows in a kept file's
        order)."""
        shared = shared_name(name, key)
        found = self._names(shared_name(name, ""))
        if found.get(shared) == "view" and self.kept_in is not None:  # of its kept files
            held = self.found(name, key)
            try:
                if held is not None:
                    held.used()
            except FileNotFoundError:  # pruned meanwhile
                held = None
            if held is None:  # pruned by the kept files of newer keys: made again
                self.con.execute(f"drop view {ident(shared)}")
                del found[shared]
        if shared not in found:
            self._create(shared, sql, name, key, same_as, kept, part, in_order)
        others = {n: kind for n, kind in found.items() if n != shared}
        if len(others) >= SHARED_PER_NAME:
            for other, kind in others.items():
                self.con.execute(f"drop {kind} if exists {ident(other)}")
        return shared

    def _names(self, prefix: str) -> dict[str, str]:
        """The tables and views of the process's database whose names start with `prefix`,
        with their kind."""
        held = "select {0}_name from duckdb_{0}s() where not temporary and starts_with({0}_name, ?)"
        return {
            n: kind
            for kind in ("table", "view")
            for (n,) in self.con.execute(held.format(kind), [prefix]).fetchall()
        }

    def _create(
        self,
        shared: str,
        sql: str,
        name: str,
        key: str,
        same_as: Path | None = None,
        kept: bool = True,
        part: Part | None = None,
        in_order: bool = False,
    ) -> None:
        """The shared table: a view of its Parquet files in `kept_in` if an earlier process kept
        it there (read where queried, not loaded: 0.3 s for the consent relations at x1000) or
        `same_as` is a file of the same rows (a symbolic link to it made there), else computed
        by `sql` (and kept there: as a `part` of the one kept before, while it is small; rows
        `in_order` written as `sql` gives them, and the table a view of the file: an erasure's
        six relations at x1000, 1.9 -> 1.0 s)."""
        if self.kept_in is None or not kept:
            self.con.execute(f"create table if not exists {ident(shared)} as {sql}")
            return
        path, linked = kept_files.file(self.kept_in, name, key), False
        if same_as is not None and not path.exists():
            with contextlib.suppress(OSError):  # pruned meanwhile: computed below
                path.unlink(missing_ok=True)  # a link whose file was pruned
                path.symlink_to(same_as.resolve().name)  # to the file, not to another link
                linked = True
        held = self.found(name, key)
        if held is None and part is not None:
            written = self._keep_part(name, key, part)
            if written is not None:  # a view of its files, as a later process reads it (not
                # copied into memory: 0.1 s per relation at x1000; the joins with a whole consent
                # relation that relied on its rows' count, a withdrawal's recounts, now count
                # the persons it reaches, over relations of their records alone)
                self.con.execute(f"create view if not exists {ident(shared)} as {written.query()}")
                kept_files.prune(self.kept_in, name, SHARED_PER_NAME)
                return
        if held is not None:
            try:
                self.con.execute(f"create view if not exists {ident(shared)} as {held.query()}")
                held.used()
                if linked:  # a new name kept: the least recently used go
                    kept_files.prune(self.kept_in, name, SHARED_PER_NAME)
                return
            except (duckdb.IOException, FileNotFoundError):  # pruned meanwhile by another process
                pass
        self.kept_in.mkdir(parents=True, exist_ok=True)
        if in_order:
            kept_files.write(self.con, f"({sql})", path, in_order=True)
            kept = kept_files.Kept(path).query()
            self.con.execute(f"create view if not exists {ident(shared)} as {kept}")
        else:
            self.con.execute(f"create table if not exists {ident(shared)} as {sql}")
            kept_files.write(self.con, ident(shared), path)
        kept_files.prune(self.kept_in, name, SHARED_PER_NAME)

    def _keep_part(self, name: str, key: str, part: Part) -> kept_files.Kept | None:
        """The table kept under this key as a part of the one kept before (see `Part`), when
        that one is kept in files and the part stays small; else None."""
        before_key = part.before.removeprefix(shared_name(name, ""))
        before = self.found(name, before_key)
        if before is None:
            return None
        return kept_files.keep_part(self.con, self.kept_in, name, key, before, part.rows, part.key)
