"""Facts of a table's data files: what a query computes over one data file's rows alone (a
profile's sums and counts per subject), computed once per file and kept in the engine's folder of
kept tables (`file_facts/`), since a Delta table never writes a data file again. A version that
rewrites two of its table's 32 data files has the facts of those two computed, and those of the
others read (at x1000 the training pairs' profile scanned 40 million pairs after a withdrawal).

A file is known by its identity on local disk (device, inode, size, modification time), which
its move from the staging folder into the table's folder (`os.replace`) keeps: its facts,
computed while its version was checked, are found again under its published name."""

import contextlib
import hashlib
import os
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import duckdb

from stedi_dagster.engines import kept_files
from stedi_dagster.sql import literal

FOLDER = "file_facts"
# A query's facts are used (read or computed) by each version whose files they are of; those
# not used for PRUNE_AFTER seconds, and beyond the MAX_KEPT most recently used, are removed (the
# facts of files a table no longer holds; a call asks for some of its files, not all).
PRUNE_AFTER = 7 * 24 * 3600
MAX_KEPT = 4096


def kept_facts(
    con: duckdb.DuckDBPyConnection,
    kept_in: Path,
    query: Callable[[str], str],
    files: Sequence[str],
) -> list[Path] | None:
    """The files of the facts `query` (given the SQL of one data file's rows) computes of each
    of these local data files, computed (on `con`) for those that have none yet; None when a
    file is not at hand on local disk."""
    key = facts_key(query)
    folder = kept_in / FOLDER
    paths = []
    for file in files:
        try:
            path = folder / f"{key}-{identity(file)}.parquet"
        except OSError:
            return None
        try:
            os.utime(path)  # used: the last to be pruned
        except FileNotFoundError:  # written as a kept table is: whole or not at all
            folder.mkdir(parents=True, exist_ok=True)
            rows = f"select * from read_parquet({literal(file)})"
            kept_files.write(con, f"({query(rows)})", path)
        paths.append(path)
    _prune(folder, key)
    return paths


def identity(file: str) -> str:
    """How the facts files of a local data file are named after it: its device, inode, size and
    modification time (OSError if it is not there)."""
    st = os.stat(file)
    return f"{st.st_dev}-{st.st_ino}-{st.st_size}-{st.st_mtime_ns}"


def forget_all_but(kept_in: Path, files: Iterable[str]) -> None:
    """Remove the facts of every data file but these local ones (an erasure: the facts of the
    files it wrote again without the erased, or removed with earlier versions, may hold them;
    those of the files it left hold none, since they are computed from those files' rows
    alone)."""
    folder = kept_in / FOLDER
    if not folder.exists():
        return
    kept = set()
    for file in files:
        with contextlib.suppress(OSError):  # not there: its facts go
            kept.add(identity(file))
    for path in folder.iterdir():  # a partial write too
        _, _, named = path.stem.partition("-")
        if path.suffix != ".parquet" or named not in kept:
            kept_files.remove(path)


def facts_key(query: Callable[[str], str]) -> str:
    """What the names of the facts files of a query start with."""
    return hashlib.sha256(query("stedi_rows").encode()).hexdigest()[:16]


def _prune(folder: Path, key: str) -> None:
    """Remove the query's facts not used for PRUNE_AFTER seconds, and beyond the MAX_KEPT most
    recently used."""
    used = []
    for path in folder.glob(f"{key}-*.parquet"):
        with contextlib.suppress(FileNotFoundError):  # removed meanwhile by another process
            used.append((path.stat().st_mtime, path))
    used.sort(reverse=True)
    now = time.time()
    for i, (mtime, path) in enumerate(used):
        if i >= MAX_KEPT or now - mtime > PRUNE_AFTER:
            path.unlink(missing_ok=True)
