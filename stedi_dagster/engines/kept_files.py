"""The Parquet files an engine keeps in the lakehouse's folder for the processes that follow (see
`duckdb_engine.DuckDBEngine`): a file per table and key, or a symbolic link to another key's file
of the same rows; the least recently used pruned."""

import contextlib
import os
from pathlib import Path


def used(path: Path) -> None:
    """Mark a kept file as recently used (the last to be pruned): a link to another key's file
    of the same rows, and that file."""
    os.utime(path, follow_symlinks=False)
    if path.is_symlink():
        os.utime(path)


def prune(folder: Path, name: str, keep: int) -> None:
    """Remove the kept files of table `name` in `folder` but the `keep` most recently
    used and the files those link to. Each key has a name of its own whose time says when it
    was last used: a hard link would share its file's time with every other key of the same
    rows, and the key a run reads next could be pruned first."""
    dated = []
    for file in folder.glob(f"{name}-*.parquet"):
        try:
            dated.append((file.lstat().st_mtime, file))
        except FileNotFoundError:  # removed meanwhile
            continue
    recent = [file for _, file in sorted(dated)][-keep:]
    kept = {f.name for f in recent}
    for file in recent:
        with contextlib.suppress(OSError):  # not a link, or removed meanwhile
            kept.add(os.readlink(file))
    for _, file in dated:
        if file.name not in kept:
            file.unlink(missing_ok=True)
