"""The landing pipeline of one dataset: plan from the bookmark, scan and read the new and changed
files (a reader per engine), stage their landing and quarantine parts, account for every line,
publish. Files already ingested at their current version are not read again.

`LandingDraft` is a table_asset draft: `write` stages the new version and creates views over it
(the kept parts and the new ones) for the checks; `publish` makes it current.
"""

from pathlib import Path, PurePosixPath

import dagster as dg

from stedi_dagster.engines import Engine
from stedi_dagster.lakehouse.bookmarks import FileRecord
from stedi_dagster.lakehouse.landing_folder import compression, decompressed
from stedi_dagster.lakehouse.resource import Lakehouse
from stedi_dagster.lakehouse.store import attach_parts, empty_columns
from stedi_dagster.landing.plan import still_valid
from stedi_dagster.landing.reading import Ingested, LandingReader, NewFiles
from stedi_dagster.landing.scan import json_document
from stedi_dagster.tables import Table, landing_table, quarantine_table

# Every per-file table's folder holds this empty Parquet file with its schema.
SCHEMA_PART = "_schema.parquet"


def reader_for(engine: Engine, landing: Table, folder: Path) -> LandingReader:
    """The engine's landing reader."""
    if engine.name == "spark":
        from stedi_dagster.landing.spark_reader import SparkReader

        return SparkReader(engine, landing, folder)
    from stedi_dagster.landing.duckdb_reader import DuckDBReader

    return DuckDBReader(engine, landing, folder)


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
        self.context, self.dataset, self.folder = context, dataset, folder
        self.full_refresh = full_refresh
        self.landing_folder, self.store = lakehouse.landing, lakehouse.store
        self.bookmarks, self.zones = lakehouse.bookmarks, lakehouse.zones
        self.landing, self.quarantine = landing_table(dataset), quarantine_table(dataset)
        self.tables = (self.landing, self.quarantine)
        self.records: dict[str, FileRecord] = {}
        self.staged: dict[str, dict[str, Path]] = {t.name: {} for t in self.tables}
        self.schema_parts: dict[str, Path] = {}
        self._lock = self.bookmarks.lock(dataset)

    def __enter__(self) -> "LandingDraft":
        self._lock.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._lock.__exit__(*exc)

    def plan(self, versions: dict[str, str]) -> dict[str, FileRecord]:
        """The bookmark's records still valid for the files' current `versions` (by name)."""
        bookmark = None if self.full_refresh else self.bookmarks.read(self.dataset)
        if not bookmark:
            return {}
        present = {
            t.name: {
                PurePosixPath(u).name
                for u in self.zones.glob(f"{self.store.table_folder(t)}/*.parquet")
            }
            for t in self.tables
        }
        return still_valid(bookmark, versions, present)

    def write(self, engine: Engine) -> dict[str, dict]:
        listed, unrecognized = self.landing_folder.contents(self.dataset)  # url -> version
        urls = {PurePosixPath(u).name: u for u in listed}
        versions = {name: listed[url] for name, url in urls.items()}
        kept = self.plan(versions)
        originals = {r.sha256: name for name, r in kept.items() if r.duplicate_of is None}
        self.records = dict(kept)
        read = sorted(set(urls) - set(kept))
        local = {name: self._plain_copy(i, urls[name]) for i, name in enumerate(read)}
        documents = {name: kind for name in read if (kind := json_document(local[name]))}
        with NewFiles(read, local, versions, originals, documents) as files:
            done = reader_for(engine, self.landing, self.folder).read(files)
        for ingested in done:
            self.records[ingested.record.file] = ingested.record
            for table, part in ingested.parts.items():
                self.staged[table][ingested.record.file] = part
            self._log(ingested)
        metadata = {}
        for table in self.tables:
            parts = {
                name: self.zones.local_copy(self.store.part_url(table, r))
                for name, r in kept.items()
                if r.holds(table.name)
            } | {name: str(p) for name, p in self.staged[table.name].items()}
            attach_parts(engine, table, parts)
            metadata[table.name] = {"parts": len(parts)}
            self._stage_schema_part(engine, table)
        self.bookmarks.attach(engine, self.dataset, self.records)
        new = [self.records[name] for name in read]
        if self.context is not None and unrecognized:
            self.context.log.warning(
                f"{self.dataset}: {len(unrecognized)} file(s) under "
                f"{self.landing_folder.folder(self.dataset)} are no landing files and were not "
                f"read: {', '.join(unrecognized[:10])}; landing files are *.json, *.jsonl or "
                "*.ndjson, plain or .gz/.zst"
            )
        if self.context is not None:
            self.context.log.info(
                f"{self.dataset}: read {len(new)} new or changed landing files "
                f"({sum(r.lines for r in new)} lines: {sum(r.rows for r in new)} rows, "
                f"{sum(r.quarantined for r in new)} quarantined, "
                f"{sum(r.erased for r in new)} erased); {len(kept)} files unchanged"
            )
        metadata[self.landing.name] |= {
            "source_files": len(self.records),
            "files_read": len(read),
            "files_kept": len(kept),
            "json_lines": sum(r.lines for r in self.records.values()),
            "erased_lines": sum(r.erased for r in self.records.values()),
            "full_refresh": self.full_refresh,
            "unrecognized_files": unrecognized[:10],
        }
        metadata[self.quarantine.name] |= {
            "duplicate_files": sorted(n for n, r in self.records.items() if r.duplicate_of),
            "empty_files": sorted(n for n, r in self.records.items() if r.lines == 0),
        }
        return metadata

    def _plain_copy(self, number: int, url: str) -> str:
        """A local plain-text copy of a landing file (downloaded from S3, decompressed)."""
        local = self.landing_folder.storage.local_copy(url)
        name = PurePosixPath(url)
        plain = name.stem if compression(name.name) else name.name  # no suffix a reader decodes
        return decompressed(local, self.folder / f"plain-{number}-{plain}")

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

    def _stage_schema_part(self, engine: Engine, table: Table) -> None:
        """Stage, if the table's folder lacks it, a Parquet file with the table's columns and no
        row, so that a reader of the folder's `*.parquet` gets the schema even when no part holds
        a row (Athena and Spark skip files whose names start with `_`)."""
        if self.zones.exists(f"{self.store.table_folder(table)}/{SCHEMA_PART}"):
            return
        path = self.folder / f"{table.name}-{SCHEMA_PART}"
        engine.write_parquet(f"select {empty_columns(table)} where false", path)
        self.schema_parts[table.name] = path

    def publish(self, run_id: str) -> dict[str, dict]:
        """Upload the new parts, commit the bookmark (from then on readers see the new version),
        then remove the parts no longer listed."""
        for table in self.tables:
            for name, staged in self.staged[table.name].items():
                self.zones.put(staged, self.store.part_url(table, self.records[name]))
        self.bookmarks.write(self.dataset, self.records)
        for table in self.tables:
            folder = self.store.table_folder(table)
            listed = set(self.store.published_parts(table, self.records).values())
            for url in self.zones.glob(f"{folder}/*.parquet"):
                if url not in listed and not url.endswith(f"/{SCHEMA_PART}"):
                    self.zones.remove(url)
            if table.name in self.schema_parts:
                self.zones.put(self.schema_parts[table.name], f"{folder}/{SCHEMA_PART}")
        return {t.name: {"path": self.store.table_path(t)} for t in self.tables}
