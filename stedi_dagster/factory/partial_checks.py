"""How a check evaluated on parts of a table version is put together (`version_checks.py`): the
version before it builds on, the rows of some owners, the parts' outcomes as one, and a count's
independent count."""

import json
from collections.abc import Sequence
from dataclasses import dataclass

from stedi_dagster.engines import Engine
from stedi_dagster.factory import reuse
from stedi_dagster.factory.checks import Check
from stedi_dagster.lakehouse.delta import READ_VERSIONS, RUN_ID
from stedi_dagster.sql import listed
from stedi_dagster.tables import Table


@dataclass(frozen=True)
class Prior:
    """The version before a version that adds to it (of the same basis): its number, the run
    that made it, its recorded results by check name, and the versions of the tables its step
    read."""

    version: int
    run: str
    recorded: dict
    read_versions: dict

    @classmethod
    def recorded_by(cls, last: tuple[int, dict], basis: str, table: Table) -> "Prior | None":
        """The version `last` made (its number, its commit's metadata) with the results it
        recorded of `table`'s checks under `basis`; None when it recorded none, or not the
        versions of the tables its step read."""
        version, commit = last
        results = reuse.recorded_results(commit, basis)
        if results is None or READ_VERSIONS not in commit:
            return None
        key = table.key.to_user_string()
        recorded = {check: r for (asset, check), r in results.items() if asset == key}
        run = commit.get(RUN_ID, "")
        return cls(version, run, recorded, json.loads(commit[READ_VERSIONS]))

    def passed(self, check: Check) -> bool:
        return bool(self.recorded.get(check.name, {}).get("passed"))

    def counted(self, check: Check) -> bool:
        """Whether it recorded the check's independent count (a count builds on it whatever
        its verdict then: an erasure records the training pairs' for a version its next step
        completes, `factory/erasure_checks.py`)."""
        evidence = self.recorded.get(check.name, {}).get("metadata", {})
        return check.grows == "count" and isinstance(evidence.get("independent_count"), int)

    def evidence(self, check: Check) -> dict:
        """The evidence of the check's result recorded, without what says how it was reached."""
        metadata = self.recorded.get(check.name, {}).get("metadata", {})
        return {k: v for k, v in metadata.items() if k not in reuse.HOW_EVALUATED}

    def basis(self, check: Check) -> str:
        """How the results on additions name it."""
        verdict = "passed" if self.passed(check) else "counted"
        return f"{verdict} at version {self.version} (run {self.run[:8]})"


def owned(rows: str, owners: Sequence[tuple[str, str]]) -> str:
    """SQL: the rows of `rows` (a view) that belong to any of these owners (column, value), by
    one scan per column, none twice (a filter on one column reaches the scan, whose Parquet
    statistics and Bloom filters skip the row groups without its values: at x1000 the training
    pairs of one person as subject or owner took 0.36 s with both columns in one filter)."""
    by_column: dict[str, list[str]] = {}
    for column, value in owners:
        by_column.setdefault(column, []).append(value)
    scans, before = [], ""
    for column, values in sorted(by_column.items()):
        test = listed(column, values)
        scans.append(f"select * from {rows} where {test}{before}")
        before += f" and not coalesce({test}, false)"
    return " union all ".join(scans) or f"select * from {rows} where false"


def combined(parts: Sequence[tuple[bool, dict]]) -> tuple[bool, dict]:
    """The outcome of a check evaluated in parts: passed when each passed, evidence added."""
    metadata = {k: getattr(v, "value", v) for k, v in parts[0][1].items()}
    for _, more in parts[1:]:
        for k, v in more.items():
            metadata[k] = added(metadata.get(k), getattr(v, "value", v))
    return all(p for p, _ in parts), metadata


def independent(check: Check, engine: Engine) -> int:
    """A count check's independent count over the reads' views as they are shown now, narrowed
    to a few partitions (the new rows', or those a change reaches), with the rows of the
    relations it reads that those can meet (`Relation.narrowed`)."""
    for relation in check.relations:
        relation.create(engine, narrowed=True)
    return engine.scalar(check.independent)


def added(a: object, b: object) -> object:
    """Two parts' evidence as one: counts added, dicts of counts added key by key."""
    if isinstance(a, int) and isinstance(b, int):
        return a + b
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: added(a.get(k, 0), b.get(k, 0)) for k in {**a, **b}}
    return a if a is not None else b
