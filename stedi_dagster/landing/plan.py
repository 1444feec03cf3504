"""Which landing files a run reads: those new or changed since the last run, and which of them
duplicate a file already held."""

from collections.abc import Collection

from stedi_dagster.lakehouse.ingested_files import FileRecord
from stedi_dagster.landing.scan import Scan


def still_valid(
    records: dict[str, FileRecord], versions: dict[str, str], fields: Collection[str]
) -> dict[str, FileRecord]:
    """The records still valid: the same file at the same version (`versions`: name -> version
    now), none of whose lines carry a field that was unknown when it was read and is one of
    the schema's `fields` now (adopted: the file is read again to fill the new column), and for
    a duplicate, its original still held."""
    kept = {
        name: r
        for name, r in records.items()
        if versions.get(name) == r.version and not set(r.unknown_fields) & set(fields)
    }
    while orphans := [n for n, r in kept.items() if r.duplicate_of and r.duplicate_of not in kept]:
        for name in orphans:
            del kept[name]
    return kept


def identify(
    name: str, version: str, scanned: Scan, originals: dict[str, str]
) -> tuple[FileRecord, str | None]:
    """A new file's record before it is read (its version, SHA-256 and lines from `scan`), and
    the file it duplicates: one already held, or read before it in this run, with the same bytes
    (an empty file duplicates nothing). `originals` (SHA-256 -> file name) learns the file."""
    sha, lines = scanned.sha256, scanned.lines
    base = FileRecord(name, version, sha, lines, rows=0, quarantined=0, erased=0)
    if sha in originals and lines:
        return base, originals[sha]
    originals.setdefault(sha, name)
    return base, None
