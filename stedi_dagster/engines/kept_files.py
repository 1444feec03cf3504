"""The Parquet files an engine keeps in the lakehouse's folder for the processes that follow (see
`duckdb_engine.DuckDBEngine`): per table and key, a file (or a symbolic link to another key's file
of the same rows), or a part: the file of the rows kept under another key (its base) with a small
file of the rows that differ (`<name>-<key>.part.parquet`, described by `<name>-<key>.part.json`),
so that a table grown by a few rows is not written again whole; the least recently used pruned."""

import contextlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from stedi_dagster.engines.grown import with_part
from stedi_dagster.engines.parquet import parquet_options
from stedi_dagster.sql import ident, literal

# A kept table's file is sorted by its first column (the person key or value the steps look up)
# in small row groups: a join with a few new rows then reads the row groups of their keys alone,
# DuckDB pushing the join's keys into the scan (at x1000 a lookup of a few keys in the landing
# identifiers read 8 ms instead of 60 ms). Snappy, not zstd: a kept file is a cache, written
# whenever what it is computed from changes (research_consent at x1000, 956,000 rows: 0.44 ->
# 0.28 s, its scans 0.11 -> 0.09 s; the files 1.6 times larger). A table an erasure keeps again
# is its file before filtered, in that order (not sorted again), with the rows it computed again
# for the erased persons' keys at its end.
KEPT_PARQUET = parquet_options(16_384, compression="snappy")
PART = ".part"
# A part is kept while it holds at most this many rows, or an eighth of its base's: beyond, the
# table is written whole again (each query of a part reads both files and joins them).
PART_ROWS = 65_536
PART_SHARE = 8


@dataclass(frozen=True)
class Kept:
    """A table kept under a key: the rows of `base`, or, with a `part`, the rows of `base` whose
    `key` column holds none of the values the part holds, and the part's rows (no `key`: the rows
    of both)."""

    base: Path
    part: Path | None = None
    key: str = ""

    def query(self) -> str:
        """SQL of its rows."""
        base = f"read_parquet({literal(str(self.base))})"
        if self.part is None:
            return f"select * from {base}"
        return with_part(base, f"select * from read_parquet({literal(str(self.part))})", self.key)

    def files(self) -> list[Path]:
        """The files that keep it, and those they link to."""
        files = [self.base, *((self.part, _manifest(self.part)) if self.part else ())]
        return files + [f.resolve() for f in files if f.is_symlink()]

    def used(self) -> None:
        """Mark it as recently used (the last to be pruned): its files and what they link to."""
        for path in self.files():  # (a link's file among them)
            os.utime(path, follow_symlinks=False)


def file(folder: Path, name: str, key: str) -> Path:
    """The Parquet file of the table `name` kept under this key (when kept whole)."""
    return folder / f"{name}-{key[:24]}.parquet"


def found(folder: Path, name: str, key: str) -> Kept | None:
    """The table `name` kept under this key, if it is (whole, or as a part whose files are all
    there)."""
    whole = file(folder, name, key)
    if whole.exists():
        return Kept(whole)
    part = whole.with_suffix(f"{PART}.parquet")
    try:
        manifest = json.loads(_manifest(part).read_text())
    except FileNotFoundError:
        return None
    base = folder / manifest["base"]
    if not (base.exists() and part.exists()):
        return None
    return Kept(base, part, manifest["key"])


def write(
    con: duckdb.DuckDBPyConnection, relation: str, path: Path, in_order: bool = False
) -> None:
    """Write a relation (a table's name, or a query in parentheses) to a kept file at `path`,
    sorted by its first column (`in_order`: as it comes, the rows of a kept file filtered, in
    its order), whole or not at all for a process reading it."""
    partial = path.with_suffix(f".{os.getpid()}.partial")
    order = "" if in_order else " order by 1"
    con.execute(f"copy (select * from {relation}{order}) to {literal(str(partial))} {KEPT_PARQUET}")
    partial.replace(path)


def keep_part(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    name: str,
    key: str,
    before: Kept,
    rows: str,
    part_key: str,
) -> Kept | None:
    """Keep the table `name` under this key as the table kept `before` with `rows` (SQL: its rows
    of the values of column `part_key` that changed, all of them present; with no key, the rows it
    gained) in place of that one's rows of those values: the rows of its part too when it is a
    part, written as a part beside its base; None, nothing written, when the part would hold more
    than PART_ROWS rows and an eighth of its base's (the caller writes it whole)."""
    columns = [c for c, *_ in con.execute(f"describe {before.query()}").fetchall()]
    listed = ", ".join(ident(c) for c in columns)
    changed = f"select {listed} from ({rows})"
    if before.part is not None:
        older = f"select {listed} from read_parquet({literal(str(before.part))})"
        if part_key:
            k = ident(part_key)
            older = f"select * from ({older}) o anti join ({changed}) c on o.{k} = c.{k}"
        changed = f"{changed} union all {older}"
    con.execute(f"create or replace temp table stedi_kept_part as {changed}")
    held = con.execute("select count(*) from stedi_kept_part").fetchall()[0][0]
    base_rows = con.execute(
        "select coalesce(sum(num_rows), 0) from parquet_file_metadata(?)", [str(before.base)]
    ).fetchall()[0][0]
    if held > max(PART_ROWS, base_rows // PART_SHARE):
        return None
    part = file(folder, name, key).with_suffix(f"{PART}.parquet")
    write(con, "stedi_kept_part", part)
    manifest = _manifest(part)
    written = manifest.with_suffix(f".{os.getpid()}.partial")
    written.write_text(json.dumps({"base": before.base.name, "key": part_key}))
    written.replace(manifest)  # last: the part is whole once the manifest names its base
    return Kept(before.base, part, part_key)


def _manifest(part: Path) -> Path:
    return part.with_suffix(".json")  # <name>-<key>.part.parquet -> <name>-<key>.part.json


def used(path: Path) -> None:
    """Mark a kept file as recently used (the last to be pruned): a link to another key's file
    of the same rows, and that file."""
    os.utime(path, follow_symlinks=False)
    if path.is_symlink():
        os.utime(path)


def remove(path: Path) -> None:
    """Remove a kept file, or a folder of them (a failure is an error, never passed over)."""
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()


def prune(folder: Path, name: str, keep: int) -> None:
    """Remove the tables `name` kept in `folder` but the `keep` most recently used and the files
    those read (the file a link names, a part's base). Each key has files of its own whose time
    says when it was last used: a hard link would share its file's time with every other key of
    the same rows, and the key a run reads next could be pruned first."""
    keys: dict[str, list[tuple[float, Path]]] = {}
    for path in folder.glob(f"{name}-*"):
        stem = path.name.removesuffix(".parquet").removesuffix(".json").removesuffix(PART)
        if path.name.endswith(".partial"):
            continue  # being written
        try:
            keys.setdefault(stem, []).append((path.lstat().st_mtime, path))
        except FileNotFoundError:  # removed meanwhile
            continue
    recent = sorted(keys, key=lambda stem: max(t for t, _ in keys[stem]))[-keep:]
    kept = {path.name for stem in recent for _, path in keys[stem]}
    for stem in recent:
        for _, path in keys[stem]:
            with contextlib.suppress(OSError):  # not a link, or removed meanwhile
                kept.add(os.readlink(path))
            if path.name.endswith(f"{PART}.json"):
                with contextlib.suppress(OSError, ValueError, KeyError):
                    kept.add(json.loads(path.read_text())["base"])
    for files in keys.values():
        for _, path in files:
            if path.name not in kept:
                path.unlink(missing_ok=True)
