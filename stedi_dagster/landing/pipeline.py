"""The landing pipeline of one dataset: plan from the files ingested before, scan and read the new
and changed files (a reader per engine), stage their rows and quarantined lines as data files,
account for every line, commit. Files already ingested at their current version are not read
again; the rows of a file that changed or left are taken out of the data files that hold them.

`LandingDraft` is a table_asset draft: `write` stages the new version and creates views over it
(the data files kept and the new ones) for the checks; `publish` commits it: the landing table,
the quarantine table, then the files ingested (one commit each).
"""

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path, PurePosixPath

import dagster as dg

from stedi_dagster.engines import Engine
from stedi_dagster.factory import reuse
from stedi_dagster.factory.checks import Check, CheckSettings
from stedi_dagster.factory.step_run import StepRun
from stedi_dagster.lakehouse import data_files
from stedi_dagster.lakehouse.delta import FINGERPRINT, RUN_ID
from stedi_dagster.lakehouse.ingested_files import DESCRIBES, LISTED, SUMMARY, FileRecord
from stedi_dagster.lakehouse.landing_folder import compression, decompressed
from stedi_dagster.lakehouse.resource import Lakehouse
from stedi_dagster.lakehouse.storage import file_name
from stedi_dagster.lakehouse.store import Snapshot
from stedi_dagster.landing.plan import still_valid
from stedi_dagster.landing.reading import Ingested, LandingReader, NewFiles
from stedi_dagster.landing.scan import json_document
from stedi_dagster.sql import ident
from stedi_dagster.tables import Table, files_table, landing_table, quarantine_table


def reader_for(engine: Engine, landing: Table, folder: Path) -> LandingReader:
    """The engine's landing reader."""
    if engine.name == "spark":
        from stedi_dagster.landing.spark_reader import SparkReader

        return SparkReader(engine, landing, folder)
    from stedi_dagster.landing.duckdb_reader import DuckDBReader

    return DuckDBReader(engine, landing, folder)


class Change:
    """A table's new version: data files to add (staged) and to remove (URLs) from the version
    `base` (None: no table yet)."""

    def __init__(self) -> None:
        self.added: list[Path] = []
        self.removed: list[str] = []
        self.base: int | None = None


class LandingDraft:
    """A new version of one dataset's landing and quarantine tables and of its files ingested:
    staged by `write`, committed by `publish`. Holds the dataset's landing lock meanwhile."""

    same_rows_as = None  # a step with no new landing file keeps the version instead (`kept`)
    changed_rows = None

    def __init__(self, run: StepRun, lakehouse: Lakehouse, dataset: str, folder: Path):
        self.run, self.dataset, self.folder = run, dataset, folder
        self.full_refresh = run.full_refresh
        self.lakehouse = lakehouse
        self.landing_folder, self.store = lakehouse.landing, lakehouse.store
        self.ingested, self.zones = lakehouse.ingested, lakehouse.zones
        self.landing, self.quarantine = landing_table(dataset), quarantine_table(dataset)
        self.tables = (self.landing, self.quarantine)
        self.records: dict[str, FileRecord] = {}
        self.recorded_fingerprint: str | None = None
        self.previous: dict[str, FileRecord] | None = None
        self.changes = {t.name: Change() for t in self.tables}
        # per table, its data files the new version keeps: local path -> URL
        self.held: dict[str, dict[str, str]] = {}
        # the landing files whose record or rows the run changes: those it reads, and those
        # with rows in a data file it rewrites
        self.changed_files: set[str] = set()
        self.staged_records = folder / f"{dataset}_files.parquet"
        self._lock = self.ingested.lock(dataset)

    def __enter__(self) -> "LandingDraft":
        self._lock.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._lock.__exit__(*exc)

    def kept(self, reads: dict[str, Snapshot], inputs: Sequence[str] = ()) -> reuse.Kept | None:
        """Plan the run (which files to read); the current versions stay when it reads none,
        takes out none, and the dataset's last commit recorded this step's fingerprint (which
        adds the files under the folder that are no landing files, named by a check)."""
        self.landing_folder = self.landing_folder.listed(self.dataset)  # the checks' listing too
        listed, self.unrecognized = self.landing_folder.contents(self.dataset)  # url -> version
        self.urls = {file_name(u): u for u in listed}
        self.versions = {name: listed[url] for name, url in self.urls.items()}
        self.listed_hash = reuse.listing_hash(self.versions, self.landing.fields)
        self.reads = reads
        self.basis = reuse.basis(
            self.lakehouse,
            erasure_list=sorted(self.lakehouse.privacy.erasure_keys()),
            unrecognized=sorted(self.unrecognized),
        )
        fingerprint = reuse.fingerprint(self.basis, reads)
        last = self.store.delta.last_commit(files_table(self.dataset))
        self.last = last
        self.recorded_fingerprint = last[1].get(FINGERPRINT) if last else None
        if last and not self.full_refresh and (same := self._same_listing(last[1], fingerprint)):
            return same
        self.previous = self.ingested.read(self.dataset)
        fields = self.landing.fields
        kept = {} if self.full_refresh else still_valid(self.previous or {}, self.versions, fields)
        self.kept_records = kept
        if last is None or kept != self.previous or set(self.urls) != set(kept):
            return None
        described = json.loads(last[1].get(DESCRIBES, "{}"))
        if set(described) != {t.name for t in self.tables}:
            return None
        return reuse.kept(last[1], fingerprint, described, self._kept_metadata(kept))

    def _same_listing(self, commit: dict, fingerprint: str) -> reuse.Kept | None:
        """The current versions kept without reading the records, when the last commit holds
        the files listed now at their versions, describes the landing and quarantine tables'
        current versions and recorded this step's fingerprint; else None."""
        if commit.get(LISTED) != self.listed_hash:
            return None
        described = json.loads(commit.get(DESCRIBES, "{}"))
        if described != self.ingested.latest_versions(self.dataset):
            return None  # a run stopped between its commits
        return reuse.kept(commit, fingerprint, described, json.loads(commit.get(SUMMARY, "{}")))

    def _kept_metadata(self, records: dict[str, FileRecord]) -> dict[str, dict]:
        """The landing step's metadata of versions holding `records` that it keeps."""
        return {
            self.landing.name: {
                "source_files": len(records),
                "files_read": 0,
                "files_kept": len(records),
                "json_lines": sum(r.lines for r in records.values()),
                "erased_lines": sum(r.erased for r in records.values()),
            },
            self.quarantine.name: self._quarantine_metadata(records),
        }

    def write(self, engine: Engine) -> dict[str, dict]:
        urls, unrecognized, kept = self.urls, self.unrecognized, self.kept_records
        originals = {r.sha256: name for name, r in kept.items() if r.duplicate_of is None}
        self.records = dict(kept)
        read = sorted(set(urls) - set(kept))
        self.changed_files.update(read)
        local = {name: self._plain_copy(i, urls[name]) for i, name in enumerate(read)}
        documents = {name: kind for name in read if (kind := json_document(local[name]))}
        with NewFiles(read, local, self.versions, originals, documents) as files:
            done = reader_for(engine, self.landing, self.folder).read(files)
        run_id = self.run.run_id
        for ingested in done.ingested:
            self.records[ingested.record.file] = replace(ingested.record, run_id=run_id)
            self._log(ingested)
        metadata = {}
        for table in self.tables:
            change = self.changes[table.name]
            change.added = done.staged.get(table.name, [])
            held = self._held(engine, table, set(kept), change)
            self.held[table.name] = held
            self.store.attach(engine, table, [*held, *(str(p) for p in change.added)])
            metadata[table.name] = {"data_files": len(held) + len(change.added)}
        self.ingested.attach(engine, self.dataset, self.records, run_id)
        self.staged_records = self.ingested.stage(engine, self.dataset, self.folder)
        new = [self.records[name] for name in read]
        if unrecognized:
            self.run.log.warning(
                f"{self.dataset}: {len(unrecognized)} file(s) under "
                f"{self.landing_folder.folder(self.dataset)} are no landing files and were not "
                f"read: {', '.join(unrecognized[:10])}; landing files are *.json, *.jsonl or "
                "*.ndjson, plain or .gz/.zst"
            )
        self.run.log.info(
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
        metadata[self.quarantine.name] |= self._quarantine_metadata(self.records)
        return metadata

    @staticmethod
    def _quarantine_metadata(records: dict[str, FileRecord]) -> dict:
        return {
            "duplicate_files": sorted(n for n, r in records.items() if r.duplicate_of),
            "empty_files": sorted(n for n, r in records.items() if r.lines == 0),
        }

    def results(
        self, checks: Sequence[Check], engine: Engine, settings: CheckSettings
    ) -> tuple[list, dict]:
        """Every check on the new version (the folder as the plan listed it), when it passed on
        the version before: on the data files this run adds alone for a check whose offending
        rows can only be new rows of its table (`Check.grows` "violations", reading no other
        table), on the landing files whose record or rows the run changed for one that holds per
        file ("files"); every other on the whole version."""
        settings = replace(settings, landing=self.landing_folder)
        prior = self._prior()
        results, on_additions = [], []
        for check in checks:
            recorded = prior.get((check.table.name, check.name), {}) if prior else {}
            if check.grows == "violations" and not check.reads and recorded.get("passed"):
                results.append(self._on_additions(check, engine, settings, recorded))
                on_additions.append(f"{check.table.name}.{check.name}")
            elif check.grows == "files" and recorded.get("passed"):
                results.append(self._on_files(check, engine, settings, recorded))
                on_additions.append(f"{check.table.name}.{check.name}")
            else:
                results.append(check.evaluate(engine, settings))
        return results, {"checks_on_additions": sorted(on_additions)} if on_additions else {}

    def _prior(self) -> dict[tuple[str, str], dict] | None:
        """The check results recorded with the versions this run adds to (of the same basis), by
        table and check name, each with the table's `version` and the `run` that made it; None
        when the run builds them anew (a full refresh, the first run, a stopped run)."""
        if self.previous is None or self.full_refresh or self.last is None:
            return None
        commit = self.last[1]
        results = reuse.recorded_results(commit, self.basis)
        if results is None:
            return None
        versions, run = json.loads(commit.get(DESCRIBES, "{}")), commit.get(RUN_ID, "")
        names = {t.key.to_user_string(): t.name for t in self.tables}
        return {
            (names[asset], check): r | {"version": versions.get(names[asset]), "run": run}
            for (asset, check), r in results.items()
            if asset in names
        }

    def _on_additions(
        self, check: Check, engine: Engine, settings: CheckSettings, recorded: dict
    ) -> dg.AssetCheckResult:
        """The check on the table's data files this run adds (the new rows, and the rows kept
        from data files it rewrites), the rest of the new version being data files of the
        version before, where it passed."""
        table, added = check.table, [str(p) for p in self.changes[check.table.name].added]
        self.store.attach(engine, table, added)
        passed, metadata = check.probe(engine, settings)
        self.store.attach(engine, table, [*self.held[table.name], *added])
        before = f"version {recorded['version']} (run {recorded['run'][:8]})"
        return check.result(
            passed,
            metadata,
            f"the {len(added)} data files this run adds; the table's other data files are "
            f"those of {before}, where it passed",
        )

    def _on_files(
        self, check: Check, engine: Engine, settings: CheckSettings, recorded: dict
    ) -> dg.AssetCheckResult:
        """The check on the landing files whose record or rows this run changed (see
        `changed_files`); every other file's record and rows are those of the version before,
        where it passed."""
        files = frozenset(self.changed_files)
        passed, metadata = check.probe(engine, replace(settings, files=files))
        before = f"version {recorded['version']} (run {recorded['run'][:8]})"
        return check.result(
            passed,
            metadata,
            f"the {len(files)} landing files whose record or rows this run changed; every "
            f"other file's are those of {before}, where it passed",
        )

    def _held(self, engine: Engine, table: Table, kept: set[str], change: Change) -> dict[str, str]:
        """The table's current data files that stay in the new version (local path -> URL): those
        holding only rows of kept files stay as they are, those holding only rows of files that
        changed or left are removed, the others are rewritten without those rows (staged as
        added). After a run that stopped between its commits, or for a full refresh, none."""
        delta = self.store.delta.open(table)  # its latest version: the writer holds the lock
        urls = delta.file_uris() if delta else []
        change.base = delta.version() if delta else None
        if self.previous is None or self.full_refresh:
            change.removed = urls
            return {}
        local = {self.zones.local_copy(url): url for url in urls}
        dropped = sorted(set(self.previous) - kept)
        if not dropped or not local:
            return local
        source = ident(table.source_column)
        engine.view_parquet("held", list(local), filename=True)
        engine.fill_table("dropped", {"file": "VARCHAR"}, [(name,) for name in dropped])
        touched = engine.rows(
            f"select filename, count(*) filter (where {source} in (select file from dropped)), "
            "count(*) from held group by filename"
        )
        stays = set(local)
        for path, dropping, rows in touched:
            if not dropping:
                continue
            stays.discard(path)
            change.removed.append(local[path])
            if dropping < rows:
                rewritten = self.folder / f"{table.name}-rewritten-{len(change.added)}.parquet"
                engine.view_parquet("rewriting", [path])
                moved = f"select distinct {source} from rewriting"
                self.changed_files.update(name for (name,) in engine.rows(moved))
                engine.write_parquet(
                    f"select * from rewriting where {source} not in (select file from dropped)",
                    rewritten,
                )
                change.added.append(rewritten)
        return {path: local[path] for path in sorted(stays)}

    def _plain_copy(self, number: int, url: str) -> str:
        """A local plain-text copy of a landing file (downloaded from S3, decompressed)."""
        local = self.landing_folder.storage.local_copy(url)
        name = PurePosixPath(url)
        plain = name.stem if compression(name.name) else name.name  # no suffix a reader decodes
        return decompressed(local, self.folder / f"plain-{number}-{plain}")

    def _log(self, done: Ingested) -> None:
        """Warn of an empty file, or of quarantined lines naming their file and line numbers."""
        r, log = done.record, self.run.log
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

    def publish(
        self, run_id: str, inputs: dict[str, int] | None = None, recorded: dict | None = None
    ) -> dict[str, dict]:
        """Commit the landing and quarantine tables (each once, if it changed or is new), then
        the files ingested, which name the versions they describe, with what is `recorded` (see
        `factory/reuse.py`). (`inputs`: none, landing tables are computed from files.)"""
        published, committed = {}, False
        for table in self.tables:
            change, delta = self.changes[table.name], self.store.delta
            version = delta.version(table)
            published[table.name] = {"path": delta.uri(table)}
            if change.added or change.removed or version is None:
                held = self.held.get(table.name, {})
                merge = data_files.merged(held, self.folder, table)  # its small files
                version = delta.commit(
                    table,
                    [*change.added, *merge.added],
                    run_id,
                    replace=False,
                    removed=[*change.removed, *merge.removed],
                    base=change.base,
                    merged=merge.merged,
                )
                committed = True
                published[table.name] |= merge.metadata
            published[table.name]["delta_version"] = version
        # they name the versions they describe; and what this step recorded, when it differs
        # (checks evaluated again after a change of settings or code: kept by the next run)
        fingerprint = (recorded or {}).get(FINGERPRINT)
        if committed or self.records != self.previous or fingerprint != self.recorded_fingerprint:
            held = {name: r.version for name, r in self.records.items()}
            listing = {
                LISTED: self.listed_hash
                if held == self.versions  # hashed once for the plan and the commit
                else reuse.listing_hash(held, self.landing.fields),
                SUMMARY: json.dumps(self._kept_metadata(self.records)),
            }
            self.ingested.commit(
                self.dataset, self.staged_records, run_id, (recorded or {}) | listing
            )
        return published
