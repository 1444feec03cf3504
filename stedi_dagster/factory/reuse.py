"""Keeping a table's version instead of building it again.

Each version a step commits records its fingerprint: a hash of everything the version and its
check results were computed from (the data files of the tables the step read, and its basis: the
settings, the pseudonym key, the expectations file and the code, and for landing the erasure
list), and the check
results themselves. A later step whose fingerprint is the same would compute the same version
and the same results, so it keeps the version (no write, no commit) and reports the recorded
results, each saying which version it evaluated and in which run.
"""

import hashlib
import hmac
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import dagster as dg

from stedi_dagster.lakehouse import Lakehouse
from stedi_dagster.lakehouse.delta import (
    BASIS,
    CHECK_RESULTS,
    FINGERPRINT,
    READ_VERSIONS,
    READS,
    ROWS,
    RUN_ID,
)
from stedi_dagster.lakehouse.store import Snapshot

PACKAGE = Path(__file__).resolve().parent.parent
# The metadata a check result reported from a recorded evaluation carries.
EVALUATED_VERSION = "evaluated_delta_version"
EVALUATED_IN_RUN = "evaluated_in_run"
EVALUATION_KEYS = (EVALUATED_VERSION, EVALUATED_IN_RUN)
# And what a result reached on parts of a table says of them (`checks.Check.result`).
EVALUATED_ON = "evaluated_on"
HOW_EVALUATED = (*EVALUATION_KEYS, EVALUATED_ON)


@dataclass(frozen=True)
class Kept:
    """Versions a step keeps: per table its version and rows, the check results recorded with
    them (as `recorded` wrote them), the run that evaluated them, and metadata per table."""

    versions: dict[str, int]
    rows: dict[str, int]
    results: str
    run_id: str
    metadata: dict[str, dict]


@cache
def code_version() -> str:
    """A hash of the package's Python and SQL files: a change to any of them may change a table
    or a check, so it builds every table again."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*")):
        if path.suffix in (".py", ".sql") and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(PACKAGE)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def basis(lakehouse: Lakehouse, **more: object) -> str:
    """A hash of what a step's versions and check results depend on besides the tables it
    reads: the lakehouse's settings, pseudonym key, expectations and code; `more`: what else the
    step's tables or checks depend on (a table's SQL; for landing, the erasure list and the
    files under a landing folder that are no landing files). The erasure list reaches trusted
    and curated tables only through the landing rows an erasure removes."""
    key = lakehouse.privacy.pseudonym_secret()
    parts = {
        "settings": {
            "engine": lakehouse.engine,
            "consent_mode": lakehouse.consent_mode,
            "ml_pairing": lakehouse.ml_pairing,
            "quarantine_max_fraction": lakehouse.quarantine_max_fraction,
        },
        # a keyed hash: the fingerprint says whether the key changed, not what it is
        "pseudonym_key": key and hmac.new(key, b"fingerprint", "sha256").hexdigest(),
        "expectations": lakehouse.expectations(),
        "code": code_version(),
    } | more
    return _hash(parts)


def fingerprint(basis: str, reads: dict[str, Snapshot]) -> str:
    """The fingerprint of a step of `basis` that reads the tables `reads` (by their data files,
    not their version numbers: a commit that changes no row changes no fingerprint)."""
    return _hash({"basis": basis, "reads": read_hashes(reads)})


def read_hashes(reads: dict[str, Snapshot]) -> dict[str, str]:
    """Per table read, a hash of its data files' names."""
    return {n: _hash({"files": sorted(s.files)}) for n, s in reads.items()}


def listing_hash(versions: dict[str, str], fields: Collection[str]) -> str:
    """A hash of landing files by name at their versions (name -> version), and of the schema's
    `fields`: equal for a listing of the files a landing step's records hold, as they were read
    (a field adopted since may make a held file one to read again, see `plan.still_valid`)."""
    return _hash({"fields": sorted(fields), "files": sorted(versions.items())})


def _hash(parts: dict) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def kept(
    commit: dict, fingerprint: str, versions: dict[str, int], metadata: dict | None = None
) -> Kept | None:
    """The versions a step keeps, when the commit that made them current recorded the step's
    fingerprint and check results; else None."""
    if commit.get(FINGERPRINT) != fingerprint or CHECK_RESULTS not in commit:
        return None
    return Kept(
        versions,
        json.loads(commit.get(ROWS, "{}")),
        commit[CHECK_RESULTS],
        commit.get(RUN_ID, ""),
        metadata or {},
    )


def recording(
    basis: str,
    reads: dict[str, Snapshot],
    results: Sequence[dg.AssetCheckResult],
    rows: dict[str, int],
) -> dict[str, str]:
    """The commit metadata that lets a later step with the same fingerprint keep the version,
    one of the same basis add to it (`increments.py`), and one that adds no row report again
    the results of the checks whose reads did not change (`still_true`)."""
    return {
        BASIS: basis,
        FINGERPRINT: fingerprint(basis, reads),
        **evaluated_on(reads, results),
        ROWS: json.dumps(rows),
    }


def evaluated_on(
    reads: dict[str, Snapshot], results: Sequence[dg.AssetCheckResult]
) -> dict[str, str]:
    """The commit metadata of check results evaluated with the tables `reads` as they are: the
    results, and the data files and versions of those tables."""
    return {
        READS: json.dumps(read_hashes(reads)),
        READ_VERSIONS: json.dumps({n: s.version for n, s in reads.items()}),
        CHECK_RESULTS: _results_text(results),
    }


def recorded_results(commit: dict, basis: str) -> dict[tuple[str, str], dict] | None:
    """The check results a commit recorded (see `recording`), by asset (its user string) and
    check name, when it recorded them under `basis`; else None."""
    if commit.get(BASIS) != basis or CHECK_RESULTS not in commit:
        return None
    return {(r["asset"], r["check"]): r for r in json.loads(commit[CHECK_RESULTS])}


def still_true(
    last: tuple[int, dict], basis: str, reads: dict[str, Snapshot], checks: Sequence
) -> dict[dg.AssetCheckKey, dg.AssetCheckResult]:
    """For a step whose new version holds exactly the rows of the version `last` made (its
    version, its commit): the recorded results of the checks (`assets.checks.Check`) that read
    no table whose data files changed since, under the same basis, by check key."""
    version, commit = last
    if commit.get(BASIS) != basis or READS not in commit or CHECK_RESULTS not in commit:
        return {}
    before, now = json.loads(commit[READS]), read_hashes(reads)
    unchanged = {c.key for c in checks if all(before.get(r) == now.get(r) for r in c.reads)}
    kept = Kept({}, {}, commit[CHECK_RESULTS], commit.get(RUN_ID, ""), {})
    stored = {dg.AssetCheckKey(r.asset_key, r.check_name): r for r in reported(kept, {}, version)}
    return {key: stored[key] for key in unchanged if key in stored}


def _results_text(results: Sequence[dg.AssetCheckResult]) -> str:
    return json.dumps(
        [
            {
                "asset": r.asset_key.to_user_string(),
                "check": r.check_name,
                "passed": r.passed,
                "severity": r.severity.value,
                "description": r.description,
                "metadata": {k: getattr(v, "value", v) for k, v in r.metadata.items()},
            }
            for r in results
        ],
        default=str,
    )


def reported(
    kept: Kept, tables: dict[str, dg.AssetKey], version: int | None = None
) -> list[dg.AssetCheckResult]:
    """The check results recorded with kept versions (`tables`: their names and keys; or one
    `version` for all), as results of this run, each saying the version it evaluated and the
    run that evaluated it (as recorded, when it was reported again before)."""
    by_key = {key.to_user_string(): name for name, key in tables.items()}

    def version_of(asset: str) -> int:
        return kept.versions[by_key[asset]] if version is None else version

    return [
        dg.AssetCheckResult(
            asset_key=dg.AssetKey.from_user_string(r["asset"]),
            check_name=r["check"],
            passed=r["passed"],
            severity=dg.AssetCheckSeverity(r["severity"]),
            description=r["description"],
            metadata={
                EVALUATED_VERSION: version_of(r["asset"]),
                EVALUATED_IN_RUN: kept.run_id,
            }
            | r["metadata"],
        )
        for r in json.loads(kept.results)
    ]


def evaluated(result: dg.AssetCheckResult, version: int | None) -> dg.AssetCheckResult:
    """A result evaluated in this run, saying the version it evaluated (a result reported again
    says already)."""
    if version is None or EVALUATED_VERSION in result.metadata:
        return result
    return dg.AssetCheckResult(
        asset_key=result.asset_key,
        check_name=result.check_name,
        passed=result.passed,
        severity=result.severity,
        description=result.description,
        metadata={**result.metadata, EVALUATED_VERSION: version},
    )
