"""The zones' tables as Delta Lake tables, through delta-rs (`deltalake`): one table per folder,
`<lakehouse_root>/<zone>/<table>/`, its Parquet data files beside its `_delta_log`.

The engines write the data files themselves (DuckDB's or Spark's Parquet writer) and this module
commits them: a file staged in a run is invisible until its commit, and a commit is atomic (a
rename on disk, a conditional PUT on S3). Readers get the current snapshot's file list (exact, as
no deletion vectors are ever written), or an earlier version's.

Each file's statistics are its row count only: no minimum or maximum of any column enters the log,
so no email or serial number is ever written to `_delta_log` or its checkpoints.
"""

import json
import time
import uuid
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from deltalake import CommitProperties, DeltaTable, Field, Schema
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError
from deltalake.schema import PrimitiveType
from deltalake.transaction import AddAction, RemoveAction, create_table_with_add_actions

from stedi_dagster.engines.engine import footer_rows
from stedi_dagster.errors import LakehouseError, StaleVersion
from stedi_dagster.lakehouse import opened_tables, scratch
from stedi_dagster.lakehouse.storage import Storage, file_name
from stedi_dagster.tables import Table

# Each column type (DuckDB's name, as tables.py uses it) as Delta's schema names it.
DELTA_TYPES = {
    "VARCHAR": "string",
    "BIGINT": "long",
    "INTEGER": "integer",
    "DOUBLE": "double",
    "DATE": "date",
    "BOOLEAN": "boolean",
    "JSON": "string",
}
# Commit metadata: the Dagster run that wrote a version, and for a trusted or curated table the
# versions of the tables it was computed from (JSON: table -> version).
RUN_ID = "stedi/run_id"
INPUTS = "stedi/inputs"
# Of a table maintained per key, the keys whose rows a commit removed without computing them
# again (JSON list; the erasure job's): the next step computes their rows from its inputs.
KEYS_TO_RECOMPUTE = "stedi/keys_to_recompute"
# Of a table maintained per key, a commit whose added and removed rows are all rows of the keys
# it computed again: SQL true of those rows (its other rows are those of the version before), so
# that a table reading it finds the rows it changed among those alone (`factory/increments.py`).
CHANGED_ROWS = "stedi/changed_rows"
# A commit that merged small data files of the version before into one (`data_files.merged`):
# JSON {the new file's name: [the names of the files merged into it]}. Their rows are the same:
# a table reading it finds no row added or removed by the merge (`factory/increments.py`).
MERGED = "stedi/merged"
# What a step records with the versions it commits, to keep them in a later step that would
# compute the same (`factory/reuse.py`): its fingerprint and basis, its check results, the rows
# per table.
FINGERPRINT = "stedi/fingerprint"
BASIS = "stedi/basis"
READS = "stedi/reads"
READ_VERSIONS = "stedi/read_versions"
CHECK_RESULTS = "stedi/checks"
ROWS = "stedi/rows"
# How long files no version needs any more, and files of runs that never committed, are kept
# before the vacuum after each commit removes them (Delta's own default).
RETENTION_HOURS = 7 * 24
# How often a commit that lost a race with another writer is tried again.
COMMIT_ATTEMPTS = 5


def delta_schema(table: Table) -> Schema:
    return Schema(
        [
            Field(c, PrimitiveType(DELTA_TYPES[t]), nullable=True)
            for c, t in table.stored_columns.items()
        ]
    )


class DeltaTables:
    """The Delta tables of the zones rooted at `zones`."""

    def __init__(self, zones: Storage):
        self.zones = zones

    def uri(self, table: Table) -> str:
        return self.zones.url(table.zone, table.name)

    def storage_options(self) -> dict[str, str] | None:
        """delta-rs's settings for an S3 root: the same endpoint and credentials as s3fs, and
        commits by conditional PUT (If-None-Match), so that two writers never both win."""
        if not self.zones.remote:
            return None
        session = self.zones.aws_session
        options = {"conditional_put": "etag"}
        credentials = session.get_credentials()
        if credentials is not None:
            frozen = credentials.get_frozen_credentials()
            options |= {
                "AWS_ACCESS_KEY_ID": frozen.access_key,
                "AWS_SECRET_ACCESS_KEY": frozen.secret_key,
            }
            if frozen.token:
                options["AWS_SESSION_TOKEN"] = frozen.token
        options["AWS_REGION"] = session.get_config_variable("region") or "us-east-1"
        endpoint = self.zones.endpoint_url
        if endpoint:
            options["AWS_ENDPOINT_URL"] = endpoint
            if endpoint.startswith("http://"):
                options["AWS_ALLOW_HTTP"] = "true"
        return options

    # --- reading ---------------------------------------------------------------------------

    def open(self, table: Table, version: int | None = None) -> DeltaTable | None:
        """The table at its current (or the given) version; None if it was never committed."""
        try:
            return DeltaTable(
                self.uri(table), version=version, storage_options=self.storage_options()
            )
        except TableNotFoundError:
            self.check_layout(table)
            return None
        except DeltaError as e:  # what delta-rs raises for a version it does not hold
            if version is not None:
                raise LakehouseError(f"{table.name} has no version {version}: {e}") from e
            raise

    def latest(self, table: Table, version: int | None = None) -> DeltaTable | None:
        """`open`, for reading only (never to commit with: the table may be shared): a local
        table this thread opened before is brought up to date instead (`opened_tables.py`).
        Given a `version` other than the current one, opened at that version."""
        if self.zones.remote:
            return self.open(table, version)
        uri = self.uri(table)
        delta = opened_tables.up_to_date(uri)
        if delta is None:
            delta = self.open(table)
        if delta is None:
            return None
        opened_tables.keep(uri, delta)
        if version is not None and version != delta.version():
            return self.open(table, version)
        return delta

    def in_earlier_layout(self, table: Table) -> bool:
        """Whether the table's folder is in the layout of stedi-dagster before Delta (no log;
        one `<table>.parquet`, or for a landing table its parts beside `_schema.parquet`)."""
        uri = self.uri(table)
        marker = "_schema" if table.zone == "landing" else table.name
        return self.zones.exists(f"{uri}/{marker}.parquet") and not self.zones.exists(
            f"{uri}/_delta_log"
        )

    def check_layout(self, table: Table) -> None:
        """A clear error, saying what to do, for a table in the earlier layout."""
        if self.in_earlier_layout(table):
            raise LakehouseError(
                f"{self.uri(table)} holds Parquet files but no Delta log: the lakehouse was "
                "written by an earlier version of stedi-dagster (Parquet files without a table "
                "format). Run `stedi migrate` to turn it into Delta tables, or delete the "
                "lakehouse root and run again (a full refresh)."
            )

    def files(self, table: Table, version: int | None = None) -> list[str]:
        """The data files of the table's current (or given) version, as URLs."""
        delta = self.latest(table, version)
        if delta is None:
            raise LakehouseError(
                f"table {table.name} has not been materialized yet: no Delta table at "
                f"{self.uri(table)}"
            )
        return delta.file_uris()

    def version(self, table: Table) -> int | None:
        delta = self.latest(table)
        return None if delta is None else delta.version()

    def commits_since(self, table: Table, version: int) -> list[dict]:
        """The information of the table's commits after `version`, the latest first."""
        delta = self.latest(table)
        if delta is None or delta.version() <= version:
            return []
        return delta.history(delta.version() - version)

    def last_commit(self, table: Table) -> tuple[int, dict] | None:
        """The table's current version and its commit's information (with the custom metadata
        the commit recorded); None if it was never committed."""
        delta = self.latest(table)
        if delta is None:
            return None
        (commit,) = delta.history(1)
        return delta.version(), commit

    def version_of_run(self, table: Table, run_id: str) -> int:
        """The version a Dagster run (by its id, or the start of it) committed to the table."""
        delta = self.latest(table)
        found = [
            h["version"]
            for h in (delta.history() if delta else [])
            if str(h.get(RUN_ID, "")).startswith(run_id)
        ]
        if not found:
            raise LakehouseError(f"no version of {table.name} was written by run {run_id}")
        return max(found)

    # --- writing ---------------------------------------------------------------------------

    def commit(
        self,
        table: Table,
        staged: Sequence[Path],
        run_id: str | None,
        *,
        replace: bool = True,
        removed: Sequence[str] = (),
        metadata: dict[str, str] | None = None,
        base: int | None = None,
        merged: dict[Path, list[str]] | None = None,
    ) -> int:
        """Make the staged Parquet files part of the table's new version in one commit (its
        version is returned): each is
        moved or uploaded into the table's folder under a new name, then committed, replacing
        the previous version's files (`replace`) or only the `removed` ones (URLs as `files`
        gives them). `merged`: staged files holding the rows of removed ones, by the names of
        those (recorded as MERGED). A crash before the commit leaves the previous version
        current; the files it left are removed by a later vacuum.

        Another writer may commit at the same time (two runs): a replacing commit that loses
        the race is tried again on top of the winner's version (the last writer's version wins,
        whole); one that adds to a version is never applied to a version it was not computed
        on (delta-rs would rebase it: rows twice, or files removed that the other added): it
        is made on version `base` (else the current one), and raises `StaleVersion` when
        another writer committed since."""
        uri, options = self.uri(table), self.storage_options()
        self.check_layout(table)
        actions = [self._add(table, path) for path in staged]
        now = int(time.time() * 1000)
        removals = [RemoveAction(file_name(u), True, now) for u in removed]
        custom = {RUN_ID: run_id or ""} | (metadata or {})
        if merged:
            names = {path: action.path for path, action in zip(staged, actions, strict=True)}
            custom[MERGED] = json.dumps({names[p]: sorted(f) for p, f in merged.items()})
        once = CommitProperties(custom_metadata=custom, max_commit_retries=0)  # never rebased
        for attempt in range(COMMIT_ATTEMPTS):
            delta = self.open(table, None if replace else base)
            planned = None if delta is None else delta.version()
            try:
                if delta is None:
                    create_table_with_add_actions(
                        uri,
                        delta_schema(table),
                        actions,
                        mode="error",
                        name=table.name,
                        storage_options=options,
                        commit_properties=once,
                    )
                    version = 0
                else:
                    delta = self._evolve(table, delta, once)
                    delta.create_write_transaction(
                        actions if replace else [*actions, *removals],
                        mode="overwrite" if replace else "append",
                        schema=delta.schema(),
                        commit_properties=once,
                    )
                    version = delta.version() + 1  # on this snapshot, or not at all
                break
            except (CommitFailedError, DeltaError) as e:
                if not (isinstance(e, CommitFailedError) or "already exists" in str(e)):
                    raise LakehouseError(f"committing {table.name} at {uri} failed: {e}") from e
                if not replace:
                    raise self._stale(table, planned) from e
                if attempt == COMMIT_ATTEMPTS - 1:
                    raise LakehouseError(
                        f"committing {table.name} at {uri} failed: other writers committed "
                        f"first {COMMIT_ATTEMPTS} times: {e}"
                    ) from e
        delta = DeltaTable(uri, storage_options=options)
        # a vacuum that removes files commits too (its own commits, which may follow another
        # writer's): they carry this commit's metadata, and the version is the vacuum's
        vacuumed = delta.vacuum(
            retention_hours=RETENTION_HOURS,
            dry_run=False,
            full=True,
            commit_properties=CommitProperties(custom_metadata=custom),
        )
        return delta.version() if vacuumed else version

    def _stale(self, table: Table, base: int | None) -> StaleVersion:
        """The error of a commit adding to version `base` of the table (None: to no table) that
        another writer overtook."""
        latest = self.last_commit(table)
        version, by = (latest[0], latest[1].get(RUN_ID, "")) if latest else (None, "")
        computed_on = "no table" if base is None else f"version {base}"
        return StaleVersion(
            f"{table.name}: version {version} was committed by another writer (run "
            f"{str(by)[:8] or 'unknown'}) while this one's changes, computed on {computed_on}, "
            "were being committed; they were not applied"
        )

    def _evolve(self, table: Table, delta: DeltaTable, properties: CommitProperties) -> DeltaTable:
        """The table with the columns the registry added since its last version (schema
        evolution: one commit adding them, after which the earlier data files read them as
        null). A column whose type changed cannot evolve: an error says what to do."""
        logged = {f.name: f.type for f in delta.schema().fields}
        wanted = delta_schema(table).fields
        retyped = [
            f"{f.name} {logged[f.name]} -> {f.type}"
            for f in wanted
            if logged.get(f.name, f.type) != f.type
        ]
        if retyped:
            raise LakehouseError(
                f"{table.name}: the type of {', '.join(retyped)} changed in tables.py; a column "
                "cannot change its type in place: add a new column instead, or delete the table's "
                f"folder {self.uri(table)} and run again (a full refresh)"
            )
        added = [f for f in wanted if f.name not in logged]
        if not added:
            return delta
        version = delta.version()
        delta.alter.add_columns(added, commit_properties=properties)
        return self.open(table, version + 1)  # its own commit's, not a later writer's

    def _add(self, table: Table, path: Path) -> AddAction:
        """Move (or upload) one staged file into the table's folder; its add action."""
        name = f"part-{uuid.uuid4().hex}.parquet"
        action = add_action(name, path)
        self.zones.put(path, f"{self.uri(table)}/{name}")
        return action

    def adopt(self, table: Table) -> None:
        """Make the one Parquet file of a trusted or curated table in the earlier layout
        (`<table>.parquet`, no log) version 0 of a Delta table, in place."""
        uri = self.uri(table)
        name = f"{table.name}.parquet"
        local = Path(self.zones.local_copy(f"{uri}/{name}"))
        create_table_with_add_actions(
            uri,
            delta_schema(table),
            [add_action(name, local)],
            mode="error",
            name=table.name,
            storage_options=self.storage_options(),
            commit_properties=CommitProperties(custom_metadata={RUN_ID: "stedi migrate"}),
        )

    def forget_history(self, table: Table) -> None:
        """Keep only the current version: remove every data file it does not use, at once, and
        every log entry before a new checkpoint (after an erasure: the erased rows must leave
        storage). Older versions can no longer be read."""
        delta = self.open(table)
        if delta is None or not self.has_history(table, delta):
            return
        carried = _carried(delta)  # the commits below carry the last one's metadata
        delta.vacuum(
            retention_hours=0,
            enforce_retention_duration=False,
            dry_run=False,
            full=True,
            commit_properties=carried,
        )
        delta.alter.set_table_properties(
            {"delta.logRetentionDuration": "interval 0 seconds"}, commit_properties=carried
        )
        delta = self.open(table)
        delta.create_checkpoint()
        delta.cleanup_metadata()
        delta.alter.set_table_properties(
            {"delta.logRetentionDuration": "interval 30 days"}, commit_properties=carried
        )

    def has_history(self, table: Table, delta: DeltaTable) -> bool:
        """Whether storage holds more than the current version: data files it does not use, or
        log entries of versions before the last checkpoint (or before it, without one)."""
        folder = self.uri(table)
        current = {file_name(url) for url in delta.file_uris()}
        stored = {file_name(url) for url in self.zones.glob(f"{folder}/*.parquet")}
        if stored - current:
            return True
        logged = [
            int(PurePosixPath(url).stem) for url in self.zones.glob(f"{folder}/_delta_log/*.json")
        ]
        checkpoint = f"{folder}/_delta_log/_last_checkpoint"
        if self.zones.exists(checkpoint):
            with self.zones.open(checkpoint) as f:
                first = json.load(f)["version"]
        else:
            first = delta.version()
        return any(version < first for version in logged)


def _carried(delta: DeltaTable) -> CommitProperties:
    """Commit properties carrying the custom metadata of the table's last commit, for the
    commits of upkeep (a vacuum, a table property) that change no row: the last commit's
    metadata (a files table's commit point, a version's fingerprint) stays the latest."""
    (last,) = delta.history(1)
    return CommitProperties(
        custom_metadata={k: str(v) for k, v in last.items() if k.startswith("stedi/")}
    )


def parquet_rows(paths: Sequence[str | Path]) -> int:
    """The rows of Parquet files, from their footers."""
    if not paths:
        return 0
    with scratch.cursor() as con:
        return footer_rows(con, [str(p) for p in paths])


def add_action(name: str, path: Path) -> AddAction:
    """The add action of the data file `name` of a table, whose bytes are at `path`: its size and
    its rows (from the Parquet footer) as its only statistic."""
    stats = json.dumps({"numRecords": parquet_rows([path])})
    return AddAction(name, path.stat().st_size, {}, int(time.time() * 1000), True, stats)
