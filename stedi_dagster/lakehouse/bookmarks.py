"""Bookmarks: which landing files a landing table holds, at which version, and where each of their
lines went. Like an AWS Glue job bookmark, it lets a run read only new or changed files; unlike
one, it also accounts for every line (rows + quarantined + erased = lines), which the landing
checks verify against the published Parquet parts.

Stored as `<lakehouse_root>/_bookmarks/<dataset>.json`, written after the parts it describes.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

from filelock import FileLock

from stedi_dagster.engines import Engine
from stedi_dagster.errors import LakehouseError
from stedi_dagster.lakehouse.storage import Storage

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


# The bookmark's records as the table `<dataset>_files` that the landing checks read.
FILE_COLUMNS = {  # FileRecord's fields, in order
    "file": "VARCHAR",
    "version": "VARCHAR",
    "sha256": "VARCHAR",
    "lines": "BIGINT",
    "rows": "BIGINT",
    "quarantined": "BIGINT",
    "erased": "BIGINT",
    "duplicate_of": "VARCHAR",
    "unknown_fields": "JSON",
}


class Bookmarks:
    """The bookmarks of a lakehouse's landing datasets: read, written, locked, and shown to an
    engine as a table."""

    def __init__(self, zones: Storage):
        self.zones = zones

    def url(self, dataset: str) -> str:
        return self.zones.url(BOOKMARK_FOLDER, f"{dataset}.json")

    def read(self, dataset: str) -> dict[str, FileRecord] | None:
        """The files the dataset's landing table holds, by name; None before its first run."""
        url = self.url(dataset)
        if not self.zones.exists(url):
            return None
        with self.zones.open(url) as f:
            document = json.load(f)
        return {r["file"]: FileRecord(**r) for r in document["files"]}

    def committed(self, dataset: str) -> dict[str, FileRecord]:
        """The bookmark of a landing dataset; an error naming it if the dataset was never run."""
        records = self.read(dataset)
        if records is None:
            raise LakehouseError(
                f"the {dataset} landing tables have not been materialized yet: no bookmark at "
                f"{self.url(dataset)}"
            )
        return records

    def write(self, dataset: str, records: dict[str, FileRecord]) -> None:
        """Commit a new version of the bookmark (from then on readers see the parts it lists)."""
        files = [asdict(records[name]) for name in sorted(records)]
        document = {"dataset": dataset, "files": files}
        self.zones.write(self.url(dataset), json.dumps(document, indent=1).encode())

    @contextmanager
    def lock(self, dataset: str) -> Iterator[None]:
        """Serialize the writers of one landing dataset's tables and bookmark on this machine (a
        run's landing step, the erasure job). On S3 there is no lock: run one writer at a time."""
        if self.zones.remote:
            yield
            return
        path = Path(self.url(dataset)).with_suffix(".lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(path):
            yield

    def attach(self, engine: Engine, dataset: str, records: dict[str, FileRecord]) -> None:
        """Table `<dataset>_files` on an engine: one row per landing file of the bookmark."""
        rows = [
            [json.dumps(v) if c == "unknown_fields" else v for c, v in asdict(r).items()]
            for r in records.values()
        ]
        engine.fill_table(f"{dataset}_files", FILE_COLUMNS, rows)
