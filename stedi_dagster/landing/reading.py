"""What a landing reader is given (`NewFiles`) and gives back (`Ingested`, one per file)."""

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from stedi_dagster.lakehouse.ingested_files import FileRecord
from stedi_dagster.landing.plan import identify
from stedi_dagster.landing.scan import Scan, scan
from stedi_dagster.privacy.identity import blank_sql, identifier_keys
from stedi_dagster.sql import ident
from stedi_dagster.tables import Table

# How many quarantined lines of one file the run log names one by one.
LOGGED_LINES = 10
# Which classified lines become rows, and which are quarantined (the others are erased).
GOOD = "reason is null and not record_erased"
BAD = "reason is not null and not record_erased"


def line_problems(
    table: Table,
    mistyped: Callable[[str], str],
    missing: Callable[[str], str],
    blank: Callable[[str], str],
) -> str:
    """SQL: why a JSON object line cannot be a row, one CASE per column (a value that is not of
    its type), per key field (absent or null) and per identifier (`IDENTIFIERS`: an email, user
    or serial whose person key is empty, i.e. empty or only white space), for concat_ws. The
    conditions are in the engine's dialect; the reasons, the same for every engine, are written
    here."""
    cases = (
        [f"case when {mistyped(c)} then '{c}: not a {t}' end" for c, t in table.fields.items()]
        + [f"case when {missing(k)} then 'missing key field {k}' end" for k in table.keys]
        + [
            f"case when {blank(k)} then 'key field {k} is empty or only white space' end"
            for k in identifier_keys(table.keys)
        ]
    )
    return ",\n            ".join(cases)


def incomplete_rows(table: Table) -> str:
    """SQL over a landing table's typed rows: whether a row cannot be one for want of a key
    field (null, or an identifier that is blank once its person key is taken)."""
    null = [f"{ident(k)} is null" for k in table.keys]
    blank = [blank_sql(ident(k)) for k in identifier_keys(table.keys)]
    return " or ".join(null + blank)


def document_reason(kind: str) -> str:
    """The quarantine reason of every line of a file that is JSON but not one object per line
    (see `scan.json_document`)."""
    return (
        f"the file is {kind}, not newline-delimited JSON: write one JSON object per line "
        "(e.g. jq -c '.[]' for an array, jq -c . for pretty-printed objects)"
    )


@dataclass
class Ingested:
    """One file as read: its record, and the first quarantined lines (line, reason) for the run
    log."""

    record: FileRecord
    examples: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class Read:
    """What a reader made of the new files: a record per file, and the data files it staged per
    table (a landing table's rows with their source file, a quarantine table's lines)."""

    ingested: list[Ingested]
    staged: dict[str, list[Path]]


class NewFiles:
    """The files a run reads, in order, at local paths (plain text, decompressed), each scanned
    (hashed, lines and colons counted) in a thread while the engine reads them, and those that
    are JSON documents rather than newline-delimited JSON. A context manager."""

    def __init__(
        self,
        names: list[str],
        local: dict[str, str],
        versions: dict[str, str],
        originals: dict[str, str],
        documents: dict[str, str] | None = None,
    ):
        self.names, self.local = names, local
        self.documents = documents or {}  # name -> what the file is (see `json_document`)
        self._versions, self._originals = versions, originals
        self._pool = ThreadPoolExecutor(1)
        self._scans: dict[str, Future[Scan]] = {n: self._pool.submit(scan, local[n]) for n in names}

    def __enter__(self) -> "NewFiles":
        return self

    def __exit__(self, *exc) -> None:
        self._pool.shutdown(cancel_futures=True)

    def scan(self, name: str) -> Scan:
        return self._scans[name].result()

    def identified(self) -> Iterator[tuple[FileRecord, str | None]]:
        """Each file's record before reading, and the file it duplicates (see `identify`), in
        order (a file duplicates only files held or read before it)."""
        for name in self.names:
            yield identify(name, self._versions[name], self.scan(name), self._originals)


class LandingReader(Protocol):
    """Reads new landing files into staged landing and quarantine data files."""

    def read(self, files: NewFiles) -> Read: ...
