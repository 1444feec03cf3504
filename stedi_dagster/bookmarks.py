"""Bookmarks: which landing files a landing table holds, at which version, and where each of their
lines went. Like an AWS Glue job bookmark, it lets a run read only new or changed files; unlike
one, it also accounts for every line (rows + quarantined + erased = lines), which the landing
checks verify against the published Parquet parts.

Stored as `<lakehouse_root>/_bookmarks/<dataset>.json`, written after the parts it describes.
"""

import json
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath

import duckdb

from stedi_dagster.storage import Storage

BOOKMARK_FOLDER = "_bookmarks"


@dataclass(frozen=True)
class FileRecord:
    """One landing file as ingested."""

    file: str  # its name in the dataset's landing folder
    version: str  # the storage's version token (ETag, or size and mtime) when it was read
    sha256: str  # of its bytes: the same content under another name is a duplicate
    lines: int  # non-blank lines, counted without parsing JSON
    rows: int  # of them, rows in the landing table
    quarantined: int  # rows in the quarantine table
    erased: int  # lines of customers on the erasure list, kept out of both
    duplicate_of: str | None = None
    unknown_fields: dict[str, int] = field(default_factory=dict)

    def holds(self, table_name: str) -> bool:
        """Whether this file has a part in the named per-file table."""
        return getattr(self, held_count(table_name)) > 0

    @property
    def part(self) -> str:
        """The name of the Parquet part holding this file's rows (and of the one holding its
        quarantined lines): the file's name and its content, so a new version is a new part."""
        return f"{PurePosixPath(self.file).stem}-{self.sha256[:12]}.parquet"


def held_count(table_name: str) -> str:
    """The FileRecord count a per-file table's part holds: a landing table holds a file's rows,
    a quarantine table its quarantined lines."""
    return "quarantined" if table_name.endswith("_quarantine") else "rows"


def bookmark_url(zones: Storage, dataset: str) -> str:
    return zones.url(BOOKMARK_FOLDER, f"{dataset}.json")


def read_bookmark(zones: Storage, dataset: str) -> dict[str, FileRecord] | None:
    """The files the dataset's landing table holds, by name; None before its first run."""
    url = bookmark_url(zones, dataset)
    if not zones.exists(url):
        return None
    with zones.open(url) as f:
        document = json.load(f)
    return {r["file"]: FileRecord(**r) for r in document["files"]}


def write_bookmark(zones: Storage, dataset: str, records: dict[str, FileRecord]) -> None:
    document = {"dataset": dataset, "files": [asdict(records[name]) for name in sorted(records)]}
    zones.write(bookmark_url(zones, dataset), json.dumps(document, indent=1).encode())


def attach_records(
    con: duckdb.DuckDBPyConnection, dataset: str, records: dict[str, FileRecord]
) -> None:
    """Table `<dataset>_files` on a DuckDB connection: one row per landing file of the bookmark."""
    con.execute(
        f"create or replace temp table {dataset}_files (file varchar, version varchar, "
        "sha256 varchar, lines bigint, rows bigint, quarantined bigint, erased bigint, "
        "duplicate_of varchar, unknown_fields json)"
    )
    rows = [
        (
            r.file,
            r.version,
            r.sha256,
            r.lines,
            r.rows,
            r.quarantined,
            r.erased,
            r.duplicate_of,
            json.dumps(r.unknown_fields),
        )
        for r in records.values()
    ]
    if rows:
        con.executemany(f"insert into {dataset}_files values (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
