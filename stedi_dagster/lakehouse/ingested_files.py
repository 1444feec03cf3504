"""Which landing files a dataset's landing tables hold, at which version, and where each of their
lines went. Like an AWS Glue job bookmark it lets a run read only new or changed files; unlike one,
it also accounts for every line (rows + quarantined + erased = lines), which the landing checks
verify against the rows each file has in the landing and quarantine tables.

Kept as data: the Delta table `<lakehouse_root>/landing/<dataset>_files/`, one row per file,
committed after the landing and quarantine tables of the same run, with the versions of those two
it describes in its commit's metadata. That commit is the dataset's commit point: readers see the
landing and quarantine tables at the versions it names, so a run's three commits become visible
together; a run that stopped in between is detected by the next one, which reads every file
again.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import MISSING, dataclass, field
from pathlib import Path, PurePosixPath

from filelock import FileLock

from stedi_dagster.engines import Engine
from stedi_dagster.errors import LakehouseError
from stedi_dagster.lakehouse import scratch
from stedi_dagster.lakehouse.delta import RUN_ID, DeltaTables
from stedi_dagster.sql import literal, select_columns
from stedi_dagster.tables import files_table, landing_table, quarantine_table

# The commit metadata of a files table: the landing and quarantine versions it describes; a hash
# of the landing files it holds at their versions (`reuse.listing_hash`), and the landing step's
# metadata of those files, with which a run that finds the same listing keeps the versions
# without reading the records.
DESCRIBES = "stedi/describes"
LISTED = "stedi/listed"
SUMMARY = "stedi/summary"
LOCK_FOLDER = "_locks"


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
    unknown_fields: dict[str, int] = field(default_factory=dict)  # lines carrying each
    run_id: str = ""  # the Dagster run that read it ("" if unknown, e.g. before it was recorded)

    @property
    def label(self) -> str:
        """A name for files staged from this one: its name and its content."""
        return f"{PurePosixPath(self.file).stem}-{self.sha256[:12]}"


class IngestedFiles:
    """The files tables of a lakehouse's landing datasets: read, staged, committed, locked, and
    shown to an engine as table `<dataset>_files`."""

    def __init__(self, delta: DeltaTables):
        self.delta = delta
        self.zones = delta.zones
        # per dataset, the data files the last snapshot read and the records it made of them:
        # `attach` reads those records still held from the files again instead of from Python
        self._read: dict[str, tuple[list[str], dict[str, FileRecord]]] = {}

    def described(self, dataset: str) -> dict[str, int] | None:
        """The landing and quarantine versions that the dataset's last committed run describes
        (its commit point: readers see those versions, so a run's three commits become visible
        together); None before the first run."""
        delta = self.delta.latest(files_table(dataset))
        if delta is None:
            return None
        (commit,) = delta.history(1)
        return json.loads(commit.get(DESCRIBES, "{}"))

    def snapshot(self, dataset: str) -> tuple[dict[str, FileRecord], dict[str, int]] | None:
        """The records of the last committed run, by file name, and the versions they describe;
        None before the first run."""
        described = self.described(dataset)
        if described is None:
            return None
        files = self.files(dataset)
        records: dict[str, FileRecord] = {}
        if files:  # by name: a column added since a file was written is absent from it
            with scratch.cursor() as con:
                result = con.execute("select * from read_parquet(?, union_by_name = true)", [files])
                names = [d[0] for d in result.description]
                rows = result.fetchall()
            records = _records(names, rows)
        self._read[dataset] = (files, dict(records))  # callers change the records they get
        return records, described

    def files(self, dataset: str) -> list[str]:
        """Local paths of the data files of the dataset's files table."""
        urls = self.delta.files(files_table(dataset))
        return [self.zones.local_copy(url) for url in urls]

    def read(self, dataset: str) -> dict[str, FileRecord] | None:
        """For the dataset's writer (under its lock): the records of the last run; None before
        the first run, or when the landing or quarantine table has moved past the version the
        records describe (a run stopped between its commits)."""
        snapshot = self.snapshot(dataset)
        if snapshot is None or snapshot[1] != self.latest_versions(dataset):
            return None
        return snapshot[0]

    def committed(self, dataset: str) -> dict[str, FileRecord]:
        """The records of a landing dataset; an error naming it if it was never run."""
        snapshot = self.snapshot(dataset)
        if snapshot is None:
            raise LakehouseError(
                f"the {dataset} landing tables have not been materialized yet: no ingested files "
                f"at {self.delta.uri(files_table(dataset))}"
            )
        return snapshot[0]

    def attach_read(self, engine: Engine, dataset: str) -> None:
        """View `<dataset>_read` over table `<dataset>_files` (the committed records, attached
        as a table): the files that the last run to commit them read."""
        delta = self.delta.latest(files_table(dataset))
        last_run = delta.history(1)[0].get(RUN_ID, "") if delta is not None else ""
        self._attach_read(engine, dataset, last_run)

    def attach(
        self, engine: Engine, dataset: str, records: dict[str, FileRecord], run_id: str = ""
    ) -> None:
        """Table `<dataset>_files` on an engine: one row per landing file held; and
        `<dataset>_read`: the files that run `run_id` (this one) read."""
        name, columns = f"{dataset}_files", files_table(dataset).columns
        files, read = self._read.get(dataset, ([], {}))
        held = {n for n, r in records.items() if read.get(n) is r}  # as the snapshot read them
        rows = [_row(r) for n, r in records.items() if n not in held]
        if not held:
            engine.fill_table(name, columns, rows)
        else:  # those held read from the data files again (Python's rows took 0.2 s at x1000)
            engine.view_parquet(f"{name}_held", files)
            present = engine.describe(f"{name}_held")
            engine.fill_table(f"{name}_new", columns, rows)
            left_out = sorted(set(read) - held)  # changed, or no longer held
            where = f" where file not in ({', '.join(map(literal, left_out))})" if left_out else ""
            hidden = set(present) - set(columns)
            engine.create_table(
                name,
                f"select {select_columns(columns, present, f'{name}_held', hidden)}{where} "
                f"union all select * from {name}_new",
            )
        self._attach_read(engine, dataset, run_id)

    def _attach_read(self, engine: Engine, dataset: str, run_id: str) -> None:
        engine.create_view(
            f"{dataset}_read",
            f"select file from {dataset}_files where run_id = {literal(run_id)} and run_id <> ''",
        )

    def stage(self, engine: Engine, dataset: str, folder: Path) -> Path:
        """The engine's table `<dataset>_files` staged as a Parquet file."""
        path = folder / f"{dataset}_files.parquet"
        engine.write_parquet(f"select * from {dataset}_files order by file", path)
        return path

    def commit(
        self, dataset: str, staged: Path, run_id: str | None, recorded: dict | None = None
    ) -> None:
        """Make the staged records current, as describing the landing and quarantine tables'
        current versions (with what else the landing step `recorded`)."""
        described = {DESCRIBES: json.dumps(self.latest_versions(dataset))}
        self.delta.commit(
            files_table(dataset), [staged], run_id, metadata=described | (recorded or {})
        )

    def describe_latest(self, dataset: str, run_id: str | None) -> None:
        """Make the records current as describing the landing and quarantine tables' latest
        versions, which hold the data files of those they describe (a commit that adds
        nothing: removing a table's earlier versions commits)."""
        described = {DESCRIBES: json.dumps(self.latest_versions(dataset))}
        self.delta.commit(files_table(dataset), [], run_id, replace=False, metadata=described)

    def latest_versions(self, dataset: str) -> dict[str, int | None]:
        """The latest versions of the dataset's landing and quarantine tables."""
        tables = (landing_table(dataset), quarantine_table(dataset))
        return {t.name: self.delta.version(t) for t in tables}

    @contextmanager
    def lock(self, dataset: str) -> Iterator[None]:
        """Serialize the writers of one landing dataset's tables on this machine (a run's landing
        step, the erasure job). On S3 there is no lock: run one writer at a time."""
        if self.zones.remote:
            yield
            return
        path = Path(self.zones.url(LOCK_FOLDER, f"{dataset}.lock"))
        path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(path):
            yield


def _records(names: list[str], rows: list[tuple]) -> dict[str, FileRecord]:
    """Records by file name from rows of a files table's data files (columns `names`): a column
    a file lacks, or a null, takes the field's default. (Per row only what a row needs: at
    x1000 a run reads 8,814 records, which a loop over every field of every row took 0.1 s.)"""
    fields = list(FileRecord.__dataclass_fields__.values())
    at = [names.index(f.name) if f.name in names else None for f in fields]
    defaults = [None if f.default is MISSING else f.default for f in fields]
    in_order = at == list(range(len(fields)))
    # the fields whose null (or absence) is not their default's: filled in per row
    filled = [i for i, d in enumerate(defaults) if d is not None]
    unknown = list(FileRecord.__dataclass_fields__).index("unknown_fields")
    records = {}
    for row in rows:
        values = list(row) if in_order else [None if i is None else row[i] for i in at]
        for i in filled:
            if values[i] is None:
                values[i] = defaults[i]
        text = values[unknown]
        values[unknown] = json.loads(text) if text and text != "{}" else {}
        record = FileRecord(*values)
        records[record.file] = record
    return records


def _row(record: FileRecord) -> list:
    """A record as a row of its files table (its fields read directly: `asdict`'s deep copies
    of thousands of records took most of a second)."""
    return [
        json.dumps(record.unknown_fields) if c == "unknown_fields" else getattr(record, c)
        for c in FileRecord.__dataclass_fields__
    ]
