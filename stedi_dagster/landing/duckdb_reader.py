"""Landing files read by DuckDB.

New files are read in batches by DuckDB's JSON reader with the table's explicit schema, streamed
straight into one staged Parquet data file per batch, each row with its source file (the fast path),
while a thread hashes them and counts their lines and colons. A file whose colons number exactly its
rows' non-null fields has no JSON key but the table's columns (see `Scan`); only the others get a
second pass that lists their keys. If the reader rejects a file as unparseable, or the file yields
fewer rows than lines or rows without a key, or has a key the schema does not know, it is read line
by line instead (the careful path): every line is classified in SQL, good lines become rows exactly
as the JSON reader would type them (`json_transform`, the same conversion), the others go to
quarantine with their file, line number and reason, and the fields the schema does not know are
kept in the row's `extra_fields` (the text of a JSON object). Any other error (out of memory,
I/O) fails the step, naming the files. A file with the same text as one already held is a
duplicate: its lines are quarantined as such. A file that is JSON but not one object per line (an
array, pretty-printed objects) has every line quarantined with a reason that says what it is.

Lines of customers on the erasure list go nowhere and are counted as erased.
"""

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb

from stedi_dagster.engines.duckdb_engine import DuckDBEngine
from stedi_dagster.engines.parquet import PARQUET
from stedi_dagster.errors import LakehouseError
from stedi_dagster.lakehouse.ingested_files import FileRecord
from stedi_dagster.landing.reading import (
    BAD,
    GOOD,
    LOGGED_LINES,
    Ingested,
    NewFiles,
    Read,
    document_reason,
    incomplete_rows,
    line_problems,
)
from stedi_dagster.landing.scan import non_blank_lines, numbered_lines
from stedi_dagster.privacy.erased_values import erased_by_value
from stedi_dagster.privacy.identity import PERSON_KEYS
from stedi_dagster.sql import ident, json_path, literal, read_sql
from stedi_dagster.tables import EXTRA_COLUMN, SOURCE_COLUMN, Table, quarantine_table

# New files are read by DuckDB's JSON reader this many at a time (in parallel, in one pass),
# each batch into one data file of the landing table. BATCH_BYTES bounds a data file's rows
# whatever the size of the landing files: an erasure rewrites the data files holding the
# customer's rows, so their size, not the table's, is what it costs (customer files shaped like
# the course's hold ~8,700 records in 3 MB: 64 of them made data files of ~556,000 rows at
# x1000, 0.54 s to rewrite; ~10 make ~90,000). Batches of 16 to 64 course-shaped files read at
# the same speed (256 accelerometer files: 1.0 to 1.3 s each way).
BATCH_FILES = 64
BATCH_BYTES = 32 << 20
# What DuckDB's JSON reader raises for a file it cannot parse or type (and only that).
PARSE_ERRORS = (duckdb.InvalidInputException, duckdb.ConversionException)


def classify_sql(table: Table) -> str:
    """SQL over view `lines` (line, raw, utf8) giving each line's typed columns, its extra fields
    (those the schema does not know), its quarantine reason (null for a good line) and whether
    it belongs to an erased customer."""

    def json_type(c: str) -> str:
        return f"coalesce(json_type(object, '{json_path(c)}'), 'NULL')"

    problems = line_problems(
        table,
        mistyped=lambda c: f"{json_type(c)} <> 'NULL' and t.{ident(c)} is null",
        missing=lambda k: f"object is not null and {json_type(k)} = 'NULL'",
        blank=lambda k: f"object is not null and person_key(t.{ident(k)}) = ''",
    )
    key, kind = PERSON_KEYS[table.dataset]
    return read_sql(
        __file__,
        "classify_lines",
        structure=json.dumps(table.fields).replace("'", "''"),
        problems=problems,
        columns=", ".join(f"t.{ident(c)} as {ident(c)}" for c in table.fields),
        known_removed=literal(json.dumps(dict.fromkeys(table.fields))),
        extra=ident(EXTRA_COLUMN),
        key_path=json_path(key),
        kind=kind,
    )


@dataclass(frozen=True)
class Parsed:
    """What DuckDB's JSON reader made of one file: its rows, those without a key field, those of
    erased customers, and the staged data file of its batch (all of their rows)."""

    rows: int
    incomplete: int
    erased: int
    batch: Path
    unknown: dict[str, int] = field(default_factory=dict)


class DuckDBReader:
    """Reads one dataset's new files into parts staged in `folder`."""

    def __init__(self, engine: DuckDBEngine, landing: Table, folder: Path):
        self.con, self.landing, self.folder = engine.con, landing, folder
        self.quarantine = quarantine_table(landing.dataset)
        self.staged: dict[str, list[Path]] = {landing.name: [], self.quarantine.name: []}

    def read(self, files: NewFiles) -> Read:
        fast: dict[str, Parsed] = {}
        for batch in _batches(files):
            fast |= self._fast(batch, files)
        done, landed = [], []
        for base, duplicate_of in files.identified():
            local, document = files.local[base.file], files.documents.get(base.file)
            if duplicate_of or document:
                done.append(self._careful(local, base, duplicate_of, document))
                continue
            lines, parsed = base.lines, fast.get(base.file)
            if parsed and parsed.rows != lines:
                lines = non_blank_lines(local)
            if parsed and parsed.rows == lines and not parsed.incomplete and not parsed.unknown:
                record = replace(
                    base,
                    lines=lines,
                    rows=parsed.rows - parsed.erased,
                    erased=parsed.erased,
                    unknown_fields=parsed.unknown,
                )
                done.append(Ingested(record))
                landed.append(base.file)
            else:  # the careful path says which line and why, and keeps extra fields
                done.append(self._careful(local, base))
        self._keep_landed(fast, set(landed))
        return Read(done, self.staged)

    def _fast(self, batch: list[str], files: NewFiles) -> dict[str, Parsed]:
        """Read a batch of files with DuckDB's JSON reader in one streaming pass, straight into
        one staged Parquet file, each row with its source file; a batch the reader cannot parse
        is split until the files it cannot take are alone (and left out of the answer, for the
        careful path). The keys of the files whose colons do not prove them free of unknown
        fields are listed."""
        table, paths = self.landing, [files.local[name] for name in batch]
        out = self.folder / f"{table.name}-batch-{uuid.uuid4().hex}.parquet"
        try:
            self.con.execute(
                f"copy (select * exclude (filename), null::varchar as {EXTRA_COLUMN}, "
                f"list_extract(?, list_position(?, filename)) as {SOURCE_COLUMN} "
                "from read_json(?, format = 'newline_delimited', columns = ?, filename = true)) "
                f"to {literal(str(out))} {PARQUET}",
                [batch, paths, paths, table.fields],
            )
        except PARSE_ERRORS:
            out.unlink(missing_ok=True)
            if len(batch) == 1:
                return {}
            half = len(batch) // 2
            return self._fast(batch[:half], files) | self._fast(batch[half:], files)
        except duckdb.Error as e:
            out.unlink(missing_ok=True)
            raise _failed(table, batch, e) from e
        non_null = " + ".join(f"({ident(c)} is not null)::bigint" for c in table.fields)
        rows = f"read_parquet({literal(str(out))})"
        erased = erased_by_value(self.con, table.dataset, rows)
        stats = self.con.execute(
            f"select {SOURCE_COLUMN}, count(*), count(*) filter (where {incomplete_rows(table)}), "
            f"count(*) filter (where {erased}), sum({non_null}) from {rows} group by all"
        ).fetchall()
        counts = {name: (rows, incomplete, erased) for name, rows, incomplete, erased, _ in stats}
        fields = {name: non_null_fields for name, *_, non_null_fields in stats}
        unproven = [
            files.local[name] for name in batch if files.scan(name).colons != fields.get(name, 0)
        ]
        unknown: dict[str, dict[str, int]] = {}
        if unproven:
            sql = read_sql(__file__, "unknown_json_fields")
            params = {"files": unproven, "known": list(table.fields)}
            for path, name, n in self.con.execute(sql, params).fetchall():
                unknown.setdefault(path, {})[name] = n
        return {
            name: Parsed(*counts.get(name, (0, 0, 0)), out, unknown.get(files.local[name], {}))
            for name in batch
        }

    def _keep_landed(self, fast: dict[str, Parsed], landed: set[str]) -> None:
        """Stage each batch's data file with the rows of the files taken whole, less those of
        erased customers (rewritten if it holds any other row, dropped if it holds none)."""
        batches: dict[Path, list[str]] = {}
        for name, parsed in fast.items():
            batches.setdefault(parsed.batch, []).append(name)
        for batch, names in batches.items():
            taken = [n for n in names if n in landed]
            rows = sum(fast[n].rows - fast[n].erased for n in taken)
            if rows and len(taken) == len(names) and not any(fast[n].erased for n in taken):
                self.staged[self.landing.name].append(batch)
                continue
            if rows:
                data = batch.with_name(f"{batch.stem}-landed.parquet")
                read = f"read_parquet({literal(str(batch))})"
                erased = erased_by_value(self.con, self.landing.dataset, read)
                self.con.execute(
                    f"copy (select * from {read} "
                    f"where {SOURCE_COLUMN} in (select unnest(?)) and not {erased}) "
                    f"to {literal(str(data))} {PARQUET}",
                    [taken],
                )
                self.staged[self.landing.name].append(data)
            batch.unlink(missing_ok=True)

    def _careful(
        self,
        local: str,
        base: FileRecord,
        duplicate_of: str | None = None,
        document: str | None = None,
    ) -> Ingested:
        """Ingest one file line by line: each line classified, the bad ones quarantined (all of
        them, for a duplicate or a JSON document)."""
        try:
            return self._classified(local, base, duplicate_of, document)
        except duckdb.Error as e:
            raise _failed(self.landing, [base.file], e) from e

    def _classified(
        self, local: str, base: FileRecord, duplicate_of: str | None, document: str | None
    ) -> Ingested:
        con, name = self.con, base.file
        lines_file = self.folder / f"lines-{base.label}.json"
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
        elif document:
            con.execute("update classified set reason = ?", [document_reason(document)])
        lines_file.unlink()
        rows, quarantined, erased = con.execute(
            f"select count(*) filter (where {GOOD}), count(*) filter (where {BAD}), "
            "count(*) filter (where record_erased) from classified"
        ).fetchall()[0]
        columns = ", ".join(ident(c) for c in self.landing.columns)
        record_text = "null::varchar" if duplicate_of else "raw"
        outputs = {
            self.landing.name: (
                rows,
                f"select {columns}, {literal(name)}::varchar as {SOURCE_COLUMN} "
                f"from classified where {GOOD} order by line",
            ),
            self.quarantine.name: (
                quarantined,
                f"select {literal(name)}::varchar as file, line, reason, {record_text} as record "
                f"from classified where {BAD} order by line",
            ),
        }
        for table_name, (count, select) in outputs.items():
            if count:
                staged = self.folder / f"{table_name}-{base.label}.parquet"
                con.execute(f"copy ({select}) to {literal(str(staged))} {PARQUET}")
                self.staged[table_name].append(staged)
        unknown = con.execute(
            read_sql(__file__, "unknown_classified_fields"), {"known": list(self.landing.fields)}
        ).fetchall()
        examples = con.execute(
            f"select line, reason from classified where {BAD} order by line limit {LOGGED_LINES}"
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
        return Ingested(record, examples)


def _failed(table: Table, names: list[str], e: duckdb.Error) -> LakehouseError:
    """A step failure for an engine error that is not about the files' content."""
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return LakehouseError(f"reading {table.dataset} landing file(s) {shown} failed: {e}")


def _batches(files: NewFiles) -> Iterator[list[str]]:
    """File names in batches of up to BATCH_FILES files and about BATCH_BYTES bytes (JSON
    documents left out: they are not newline-delimited)."""
    batch, size = [], 0
    for name in files.names:
        if name in files.documents:
            continue
        batch.append(name)
        size += Path(files.local[name]).stat().st_size
        if len(batch) == BATCH_FILES or size >= BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch
