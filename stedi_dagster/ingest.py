"""Incremental ingestion of one landing dataset: new and changed JSON files become Parquet parts of
its landing table, their bad lines become parts of its quarantine table, and the bookmark records
where every line went. Files already ingested at their current version are not read again.

New files are read in batches by DuckDB's JSON reader with the table's explicit schema, streamed
straight into one staged Parquet part per file (the fast path), while a thread hashes them and
counts their lines and colons. A file whose colons number exactly its rows' non-null fields has no
JSON key but the table's columns (see `Scan`); only the others get a second pass that lists their
keys (for `no_unknown_fields`). If the reader rejects a file, or the file yields fewer rows than
lines or rows without a key, the file is read line by line instead (the careful path): every line
is classified in SQL, good lines become rows exactly as the JSON reader would type them
(`json_transform`, the same conversion), the others go to quarantine with their file, line number
and reason. A file with the same bytes as one already held is a duplicate: its lines are
quarantined as such and it adds no row.

Lines of customers on the erasure list go nowhere and are counted as erased.
"""

import hashlib
import json
import shutil
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from string import Template

import dagster as dg
import duckdb

from stedi_dagster.bookmarks import FileRecord, attach_records, held_count, write_bookmark
from stedi_dagster.checks import scalar
from stedi_dagster.lakehouse import Lakehouse, attach_parts
from stedi_dagster.sql_file import read_sql, sql_literal
from stedi_dagster.tables import Table, landing_table, quarantine_table

# The field that ties a landing record to a person, and the erasure list kind it is matched as.
ERASURE_KEYS = {
    "customer": ("email", "email"),
    "accelerometer": ("user", "email"),
    "step_trainer": ("serialNumber", "serial"),
}
# Every per-file table's folder holds this empty Parquet file with its schema.
SCHEMA_PART = "_schema.parquet"
# How many quarantined lines of one file the run log names one by one.
LOGGED_LINES = 10
CHUNK_BYTES = 1 << 24
# New files are read by DuckDB's JSON reader this many at a time (in parallel, in one pass).
BATCH_FILES = 64
BATCH_BYTES = 512 << 20
PARQUET = "(format parquet, compression zstd)"


@dataclass(frozen=True)
class Scan:
    """What a file's bytes say without parsing JSON: their SHA-256, their lines (newlines, and a
    last line without one; blank lines are counted too, see `non_blank_lines`) and their colons.

    Every key of a JSON object is followed by a colon, and DuckDB's reader fills a column only from
    a key of exactly its name, so a file's colons are at least its rows' non-null columns, and
    equal them only if no record holds any other key (nor a nested object, nor a colon in a
    string). That equality proves a file free of unknown fields without listing its keys."""

    sha256: str
    lines: int
    colons: int


def scan(path: str) -> Scan:
    """Hash a file and count its lines and colons, in one read."""
    digest, lines, colons, last = hashlib.sha256(), 0, 0, b"\n"
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            digest.update(chunk)
            lines += chunk.count(b"\n")
            colons += chunk.count(b":")
            last = chunk[-1:]
    return Scan(digest.hexdigest(), lines + (last != b"\n"), colons)


def non_blank_lines(path: str) -> int:
    """Lines of a file holding more than white space."""
    with open(path, "rb") as f:
        return sum(1 for line in f if line.strip())


def numbered_lines(path: str, out: Path) -> None:
    """Write each non-blank line of `path` to `out` as {"line", "raw", "utf8"} JSON, so that
    DuckDB can classify lines that its JSON reader rejects, bytes that are not UTF-8 included."""
    with open(path, "rb") as f, open(out, "w") as o:
        for number, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            raw = raw.rstrip(b"\r\n")
            try:
                text, utf8 = raw.decode(), True
            except UnicodeDecodeError:
                text, utf8 = raw.decode(errors="replace"), False
            o.write(json.dumps({"line": number, "raw": text, "utf8": utf8}) + "\n")


def identify(
    name: str,
    scanned: Scan,
    current: dict[str, tuple[str, str]],
    originals: dict[str, str],
) -> tuple[FileRecord, str | None]:
    """A new file's record before it is read (its version, SHA-256 and lines from `scan`), and
    the file it duplicates: one already held, or read before it in this run, with the same bytes
    (an empty file duplicates nothing). `originals` (SHA-256 -> file name) learns the file."""
    sha, lines = scanned.sha256, scanned.lines
    base = FileRecord(name, current[name][1], sha, lines, rows=0, quarantined=0, erased=0)
    if sha in originals and lines:
        return base, originals[sha]
    originals.setdefault(sha, name)
    return base, None


def erased_row(dataset: str) -> str:
    """SQL: whether a row of the dataset's landing table belongs to a customer on the erasure
    list (by its email, or for step-trainer readings its serial number)."""
    key, kind = ERASURE_KEYS[dataset]
    return f"erased('{kind}', {_id(key)})"


def _path(column: str) -> str:
    return "$." + json.dumps(column)


def _id(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def classify_sql(table: Table) -> str:
    """SQL over view `lines` (line, raw, utf8) giving each line's typed columns, its quarantine
    reason (null for a good line) and whether it belongs to an erased customer."""
    structure = json.dumps(table.columns).replace("'", "''")
    problems = [
        f"case when coalesce(json_type(object, '{_path(c)}'), 'NULL') <> 'NULL' "
        f"and t.{_id(c)} is null then '{c}: not a {t}' end"
        for c, t in table.columns.items()
    ] + [
        f"case when object is not null and coalesce(json_type(object, '{_path(k)}'), 'NULL') "
        f"= 'NULL' then 'missing key field {k}' end"
        for k in table.keys
    ]
    key, kind = ERASURE_KEYS[table.dataset]
    return Template(read_sql(__file__, "classify_lines")).safe_substitute(
        structure=structure,
        problems=",\n            ".join(problems),
        columns=", ".join(f"t.{_id(c)} as {_id(c)}" for c in table.columns),
        key_path=_path(key),
        kind=kind,
    )


@dataclass(frozen=True)
class Read:
    """What DuckDB's JSON reader made of one file: its rows, those without a key field, those of
    erased customers, and the folder of its staged Parquet (all of its rows)."""

    rows: int
    incomplete: int
    erased: int
    folder: Path
    unknown: dict[str, int] = field(default_factory=dict)


@dataclass
class Ingested:
    record: FileRecord
    parts: dict[str, Path] = field(default_factory=dict)  # table name -> staged part
    examples: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)


class LandingDraft:
    """A new version of one dataset's landing and quarantine tables and of its bookmark: staged
    by `write`, made current by `publish`. Holds the dataset's landing lock meanwhile."""

    def __init__(
        self,
        context: dg.AssetExecutionContext | None,
        lakehouse: Lakehouse,
        dataset: str,
        folder: Path,
        full_refresh: bool = False,
    ):
        self.context, self.lakehouse, self.dataset = context, lakehouse, dataset
        self.folder, self.full_refresh = folder, full_refresh
        self.landing, self.quarantine = landing_table(dataset), quarantine_table(dataset)
        self.tables = (self.landing, self.quarantine)
        self.records: dict[str, FileRecord] = {}
        self.staged: dict[str, dict[str, Path]] = {t.name: {} for t in self.tables}
        self.read: list[str] = []
        self.schema_parts: dict[str, Path] = {}
        self._lock = lakehouse.landing_lock(dataset)

    def __enter__(self) -> "LandingDraft":
        self._lock.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._lock.__exit__(*exc)

    # --- planning --------------------------------------------------------------------------

    def plan(self, current: dict[str, str]) -> dict[str, FileRecord]:
        """The bookmark's records still valid: same file at the same version, its part in
        place, and for a duplicate, its original still held."""
        bookmark = None if self.full_refresh else self.lakehouse.bookmark(self.dataset)
        if not bookmark:
            return {}
        present = {
            t.name: {
                PurePosixPath(u).name
                for u in self.lakehouse.zones.glob(f"{self.lakehouse.table_folder(t)}/*.parquet")
            }
            for t in self.tables
        }
        kept = {
            name: r
            for name, r in bookmark.items()
            if current.get(name, (None, None))[1] == r.version
            and all(r.part in present[t.name] for t in self.tables if r.holds(t.name))
        }
        while orphans := [
            n for n, r in kept.items() if r.duplicate_of and r.duplicate_of not in kept
        ]:
            for name in orphans:
                del kept[name]
        return kept

    # --- writing ---------------------------------------------------------------------------

    def write(self, con: duckdb.DuckDBPyConnection) -> dict[str, dict]:
        files = self.lakehouse.landing_versions(self.dataset)
        current = {PurePosixPath(url).name: (url, version) for url, version in files.items()}
        kept = self.plan(current)
        originals = {r.sha256: name for name, r in kept.items() if r.duplicate_of is None}
        self.records = dict(kept)
        self.read = sorted(set(current) - set(kept))
        local = {name: self.lakehouse.landing.local_copy(current[name][0]) for name in self.read}
        done = self._ingest(con, current, local, originals)
        for ingested in done:
            self.records[ingested.record.file] = ingested.record
            for table, part in ingested.parts.items():
                self.staged[table][ingested.record.file] = part
            self._log(ingested)
        metadata = {}
        for table in self.tables:
            parts = {
                name: self.lakehouse.zones.local_copy(self.lakehouse.part_url(table, r))
                for name, r in kept.items()
                if r.holds(table.name)
            } | {name: str(p) for name, p in self.staged[table.name].items()}
            attach_parts(con, table, parts)
            metadata[table.name] = {"parts": len(parts)}
            self._stage_schema_part(con, table)
        attach_records(con, self.dataset, self.records)
        lines = sum(r.lines for r in self.records.values())
        if self.context is not None:
            read = [self.records[name] for name in self.read]
            self.context.log.info(
                f"{self.dataset}: read {len(read)} new or changed landing files "
                f"({sum(r.lines for r in read)} lines: {sum(r.rows for r in read)} rows, "
                f"{sum(r.quarantined for r in read)} quarantined, "
                f"{sum(r.erased for r in read)} erased); {len(kept)} files unchanged"
            )
        metadata[self.landing.name] |= {
            "source_files": len(self.records),
            "files_read": len(self.read),
            "files_kept": len(kept),
            "json_lines": lines,
            "erased_lines": sum(r.erased for r in self.records.values()),
            "full_refresh": self.full_refresh,
        }
        metadata[self.quarantine.name] |= {
            "duplicate_files": sorted(n for n, r in self.records.items() if r.duplicate_of),
            "empty_files": sorted(n for n, r in self.records.items() if r.lines == 0),
        }
        return metadata

    def _ingest(
        self,
        con: duckdb.DuckDBPyConnection,
        current: dict[str, tuple[str, str]],
        local: dict[str, str],
        originals: dict[str, str],
    ) -> list[Ingested]:
        """Stage the new and changed files (`self.read`, at local paths `local`): fast path,
        careful path where it must. `originals`: SHA-256 -> name of the files already held."""
        done = []
        # hashing and counting lines in Python overlaps DuckDB's reading of the same files
        with ThreadPoolExecutor(1) as pool:
            scans = {name: pool.submit(scan, local[name]) for name in self.read}
            fast: dict[str, Read] = {}
            for batch in _batches(self.read, local):
                fast |= self._fast(con, batch, local, scans)
            for name in self.read:
                base, duplicate_of = identify(name, scans[name].result(), current, originals)
                if duplicate_of:
                    done.append(self._careful(con, local[name], base, duplicate_of=duplicate_of))
                    continue
                lines = base.lines
                read = fast.get(name)
                if read and read.rows != lines:
                    lines = non_blank_lines(local[name])
                if read and read.rows == lines and not read.incomplete:
                    done.append(self._landed(con, replace(base, lines=lines), read))
                else:  # the careful path says which line and why
                    done.append(self._careful(con, local[name], base))
        return done

    def _fast(
        self,
        con: duckdb.DuckDBPyConnection,
        batch: list[str],
        local: dict[str, str],
        scans: dict[str, Future[Scan]],
    ) -> dict[str, "Read"]:
        """Read a batch of files with DuckDB's JSON reader in one streaming pass, straight into
        one staged Parquet part per file; a batch the reader rejects is split until the files
        it cannot take are alone (and left out of the answer, for the careful path). The keys
        of the files whose colons do not prove them free of unknown fields are listed."""
        table, paths = self.landing, [local[name] for name in batch]
        out = self.folder / f"batch-{uuid.uuid4().hex}"
        try:
            con.execute(
                "copy (select * exclude (filename), list_position(?, filename) as part_no "
                "from read_json(?, format = 'newline_delimited', columns = ?, filename = true)) "
                f"to '{out}' (format parquet, compression zstd, partition_by (part_no))",
                [paths, paths, table.columns],
            )
        except duckdb.Error:
            shutil.rmtree(out, ignore_errors=True)
            if len(batch) == 1:
                return {}
            half = len(batch) // 2
            return self._fast(con, batch[:half], local, scans) | self._fast(
                con, batch[half:], local, scans
            )
        null_keys = " or ".join(f"{_id(k)} is null" for k in table.keys)
        non_null = " + ".join(f"({_id(c)} is not null)::bigint" for c in table.columns)
        stats = (
            con.execute(
                f"select part_no, count(*), count(*) filter (where {null_keys}), "
                f"count(*) filter (where {erased_row(self.dataset)}), sum({non_null}) "
                f"from read_parquet('{out}/*/*.parquet', hive_partitioning = true) group by part_no"
            ).fetchall()
            if any(out.glob("*/*.parquet"))
            else []
        )  # else: only empty files
        counts = {
            part_no: (rows, incomplete, erased) for part_no, rows, incomplete, erased, _ in stats
        }
        fields = {part_no: non_null_fields for part_no, *_, non_null_fields in stats}
        unproven = [
            local[name]
            for i, name in enumerate(batch, 1)
            if scans[name].result().colons != fields.get(i, 0)
        ]
        unknown: dict[str, dict[str, int]] = {}
        if unproven:
            for path, name, n in con.execute(
                read_sql(__file__, "unknown_json_fields"), [unproven, list(table.columns)]
            ).fetchall():
                unknown.setdefault(path, {})[name] = n
        return {
            name: Read(
                *counts.get(i, (0, 0, 0)), out / f"part_no={i}", unknown.get(local[name], {})
            )
            for i, name in enumerate(batch, 1)
        }

    def _landed(self, con: duckdb.DuckDBPyConnection, base: FileRecord, read: "Read") -> Ingested:
        """A file the JSON reader took whole: its staged part, less the rows of erased customers."""
        record = replace(
            base, rows=read.rows - read.erased, erased=read.erased, unknown_fields=read.unknown
        )
        if not record.rows:
            return Ingested(record)
        part = self.folder / f"{self.landing.name}-{base.part}"
        staged = sorted(read.folder.glob("*.parquet"))
        if read.erased or len(staged) > 1:
            listed = ", ".join(sql_literal(str(p)) for p in staged)
            con.execute(
                f"copy (select * from read_parquet([{listed}], hive_partitioning = false) "
                f"where not {erased_row(self.dataset)}) to '{part}' {PARQUET}"
            )
        else:
            staged[0].replace(part)
        return Ingested(record, {self.landing.name: part})

    def _careful(
        self,
        con: duckdb.DuckDBPyConnection,
        local: str,
        base: FileRecord,
        duplicate_of: str | None = None,
    ) -> Ingested:
        """Ingest one file line by line: each line classified, the bad ones quarantined."""
        name = base.file
        lines_file = self.folder / f"lines-{base.part}.json"
        numbered_lines(local, lines_file)
        con.execute(
            "create or replace temp table lines as select * from read_json(?, "
            "format = 'newline_delimited', columns = {line: 'BIGINT', raw: 'VARCHAR', "
            "utf8: 'BOOLEAN'})",
            [str(lines_file)],
        )
        con.execute(f"create or replace temp table classified as {classify_sql(self.landing)}")
        con.execute("drop table lines")
        if duplicate_of:
            con.execute(
                "update classified set reason = ?, record_erased = false",
                [f"duplicate of {duplicate_of}"],
            )
        lines_file.unlink()
        good, bad = (
            "reason is null and not record_erased",
            "reason is not null and not record_erased",
        )
        rows = scalar(con, f"select count(*) from classified where {good}")
        quarantined = scalar(con, f"select count(*) from classified where {bad}")
        erased = scalar(con, "select count(*) from classified where record_erased")
        columns = ", ".join(_id(c) for c in self.landing.columns)
        record_text = "null::varchar" if duplicate_of else "raw"
        outputs = {
            self.landing.name: (
                rows,
                f"select {columns} from classified where {good} order by line",
            ),
            self.quarantine.name: (
                quarantined,
                f"select ?::varchar as file, line, reason, {record_text} as record "
                f"from classified where {bad} order by line",
            ),
        }
        parts = {}
        for table_name, (count, select) in outputs.items():
            if count:
                parts[table_name] = self.folder / f"{table_name}-{base.part}"
                params = [name] if table_name == self.quarantine.name else []
                con.execute(f"copy ({select}) to '{parts[table_name]}' {PARQUET}", params)
        unknown = con.execute(
            read_sql(__file__, "unknown_classified_fields"), [list(self.landing.columns)]
        ).fetchall()
        examples = con.execute(
            f"select line, reason from classified where {bad} order by line limit {LOGGED_LINES}"
        ).fetchall()
        con.execute("drop table classified")
        record = replace(
            base,
            lines=rows + quarantined + erased,  # its non-blank lines, numbered in Python
            rows=rows,
            quarantined=quarantined,
            erased=erased,
            duplicate_of=duplicate_of,
            unknown_fields={} if duplicate_of else dict(unknown),
        )
        return Ingested(record, parts, examples)

    def _log(self, done: Ingested) -> None:
        """Warn of an empty file, or of quarantined lines naming their file and line numbers."""
        if self.context is None:
            return
        r, log = done.record, self.context.log
        if r.lines == 0:
            log.warning(f"{self.dataset} landing file {r.file} is empty: nothing to ingest")
        if r.quarantined:
            shown = "; ".join(f"line {line}: {reason}" for line, reason in done.examples)
            unlisted = r.quarantined - len(done.examples)
            more = f" (and {unlisted} more)" if unlisted else ""
            log.warning(
                f"{self.dataset} landing file {r.file}: {r.quarantined} of {r.lines} lines "
                f"quarantined in {self.quarantine.name}: {shown}{more}"
            )

    # --- publishing ------------------------------------------------------------------------

    def publish(self) -> dict[str, str]:
        """Upload the new parts, commit the bookmark (from then on readers see the new version),
        then remove the parts no longer listed."""
        zones = self.lakehouse.zones
        for table in self.tables:
            for name, staged in self.staged[table.name].items():
                zones.put(staged, self.lakehouse.part_url(table, self.records[name]))
        write_bookmark(zones, self.dataset, self.records)
        for table in self.tables:
            folder = self.lakehouse.table_folder(table)
            listed = set(self.lakehouse.published_parts(table, self.records).values())
            for url in zones.glob(f"{folder}/*.parquet"):
                if url not in listed and not url.endswith(f"/{SCHEMA_PART}"):
                    zones.remove(url)
            if table.name in self.schema_parts:
                zones.put(self.schema_parts[table.name], f"{folder}/{SCHEMA_PART}")
        return {t.name: self.lakehouse.table_path(t) for t in self.tables}

    def _stage_schema_part(self, con: duckdb.DuckDBPyConnection, table: Table) -> None:
        """Stage, if the table's folder lacks it, a Parquet file with the table's columns and no
        row, so that a reader of the folder's `*.parquet` gets the schema even when no part holds
        a row (Athena and Spark skip files whose names start with `_`)."""
        if self.lakehouse.zones.exists(f"{self.lakehouse.table_folder(table)}/{SCHEMA_PART}"):
            return
        path = self.folder / f"{table.name}-{SCHEMA_PART}"
        columns = ", ".join(f"null::{t} as {_id(c)}" for c, t in table.columns.items())
        con.sql(f"select {columns} where false").to_parquet(str(path), compression="zstd")
        self.schema_parts[table.name] = path


def _batches(names: list[str], local: dict[str, str]) -> Iterator[list[str]]:
    """File names in batches of up to BATCH_FILES files and about BATCH_BYTES bytes."""
    batch, size = [], 0
    for name in names:
        batch.append(name)
        size += Path(local[name]).stat().st_size
        if len(batch) == BATCH_FILES or size >= BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def erase_from_landing(
    con: duckdb.DuckDBPyConnection, lakehouse: Lakehouse, dataset: str
) -> dict[str, int]:
    """Rewrite the landing and quarantine parts that hold rows of erased customers, and move
    those rows to the bookmark's erased count. Rows removed per table."""
    records = lakehouse.bookmark(dataset)
    if records is None:
        return {}
    key, kind = ERASURE_KEYS[dataset]
    landing, quarantine = landing_table(dataset), quarantine_table(dataset)
    predicates = {
        landing.name: erased_row(dataset),
        quarantine.name: f"erased_record('{kind}', '{_path(key)}', record)",
    }
    removed = {landing.name: 0, quarantine.name: 0}
    with lakehouse.landing_lock(dataset), lakehouse.staging() as folder:
        for name, r in sorted(records.items()):
            for table in (landing, quarantine):
                if not r.holds(table.name):
                    continue
                url = lakehouse.part_url(table, r)
                local = lakehouse.zones.local_copy(url)
                where = predicates[table.name]
                n = scalar(con, f"select count(*) from read_parquet(?) where {where}", [local])
                if not n:
                    continue
                staged = folder / r.part
                con.execute(
                    f"copy (select * from read_parquet(?) where not ({where})) to '{staged}' "
                    f"{PARQUET}",
                    [local],
                )
                held = held_count(table.name)
                if n < getattr(r, held):
                    lakehouse.zones.put(staged, url)
                else:
                    lakehouse.zones.remove(url)
                r = replace(r, **{held: getattr(r, held) - n, "erased": r.erased + n})
                records[name] = r
                removed[table.name] += n
        write_bookmark(lakehouse.zones, dataset, records)
    return removed
