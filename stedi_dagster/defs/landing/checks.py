"""Checks guarding the landing zone: every line of every landing file accounted for, fields the
schema does not know and fields no longer sent named, no file under the landing folder left unread
without a word, and the quarantine small enough to trust the rest."""

import json

import dagster as dg

from stedi_dagster.engines import Engine
from stedi_dagster.factory.checks import (
    EVIDENCE_ROWS,
    Check,
    CheckSettings,
    Outcome,
    schema_check,
    table_checks,
)
from stedi_dagster.lakehouse.storage import file_name
from stedi_dagster.sql import ident, literal, read_sql
from stedi_dagster.tables import EXTRA_COLUMN, SOURCE_COLUMN, landing_table, quarantine_table


def all_lines_accounted(dataset: str) -> Check:
    table, quarantine = landing_table(dataset), quarantine_table(dataset)

    def probe(engine: Engine, settings: CheckSettings) -> Outcome:
        which = "true"  # the files whose lines are counted (the rows' count is pruned to them)
        if settings.files is not None:
            which = f"file in ({', '.join(map(literal, sorted(settings.files))) or 'null'})"
        sql = read_sql(__file__, "unaccounted_lines", dataset=dataset, which=which)
        current = {
            file_name(url): version for url, version in settings.landing.versions(dataset).items()
        }
        recorded = dict(engine.rows(f"select file, version from {dataset}_files"))
        stale = sorted(name for name in current if recorded.get(name) != current[name])
        gone = sorted(set(recorded) - set(current))
        off = engine.rows(sql)
        totals = engine.rows(
            f"select count(*), coalesce(sum(lines), 0), coalesce(sum(erased), 0) "
            f"from {dataset}_files"
        )[0]
        return not (stale or gone or off), {
            "files": totals[0],
            "json_lines": totals[1],
            "rows": engine.count(table.name),
            "quarantined": engine.count(quarantine.name),
            "erased": totals[2],
            "files_not_ingested_at_current_version": stale[:EVIDENCE_ROWS],
            "files_held_but_gone": gone[:EVIDENCE_ROWS],
            "unaccounted_files": [
                f"{f}: {lines} lines, {landed} rows + {q} quarantined + {e} erased"
                for f, lines, landed, q, e in off[:EVIDENCE_ROWS]
            ],
        }

    return Check(
        table,
        "all_lines_accounted",
        "For every landing file at its current version: rows here + lines in quarantine + lines "
        "of erased customers = non-blank lines in the file (counted without parsing JSON).",
        probe,
        grows="files",
    )


def no_unknown_fields(dataset: str) -> Check:
    table = landing_table(dataset)

    def probe(engine: Engine, _: CheckSettings) -> Outcome:
        lines: dict[str, int] = {}
        files: dict[str, list[str]] = {}
        held = engine.rows(
            f"select file, unknown_fields from {dataset}_files "
            "where cast(unknown_fields as varchar) <> '{}' order by file"  # the files with any
        )
        for file, fields in held:
            for field, n in json.loads(fields).items():
                lines[field] = lines.get(field, 0) + n
                files.setdefault(field, []).append(file)
        return not lines, {
            "unknown_fields": dict(sorted(lines.items())),
            "files_by_field": {
                field: {"files": len(names), "first_files": names[:EVIDENCE_ROWS]}
                for field, names in sorted(files.items())
            },
            "known_fields": list(table.fields),
            "kept_in": EXTRA_COLUMN,
            "to_adopt": "add the field and its type to tables.py; the next run makes it a column "
            "(docs/operating.md, A new field in the JSON)",
        }

    return Check(
        table,
        "no_unknown_fields",
        "Every JSON field is one the schema knows (a warning: a line with a field it does not "
        f"know still lands, the field kept in {EXTRA_COLUMN}; the evidence names each new field "
        "with its lines and files, until it is adopted in tables.py).",
        probe,
        blocking=False,
        severity=dg.AssetCheckSeverity.WARN,
    )


def no_vanished_fields(dataset: str) -> Check:
    table = landing_table(dataset)
    stored, fields = f"{table.name}_stored", list(table.fields)

    def probe(engine: Engine, _: CheckSettings) -> Outcome:
        read = [file for (file,) in engine.rows(f"select file from {dataset}_read")]
        # named, not a subquery: the scan skips the data files' row groups of other files
        new = f"{SOURCE_COLUMN} in ({', '.join(map(literal, read)) or 'null'})"
        counted = ", ".join(f"count({ident(c)})" for c in fields)
        new_rows, *in_new = engine.rows(f"select count(*), {counted} from {stored} where {new}")[0]
        # a field null in every new row: one value in the rows before is enough to tell
        vanished = [
            c
            for c, n in zip(fields, in_new, strict=True)
            if new_rows
            and not n
            and engine.rows(
                f"select 1 from {stored} where not ({new}) and {ident(c)} is not null limit 1"
            )
        ]
        return not vanished, {
            "vanished_fields": vanished,
            "new_rows": new_rows,
            "files_read": engine.count(f"{dataset}_read"),
            "non_null_in_new_rows": dict(zip(fields, in_new, strict=True)),
        }

    return Check(
        table,
        "no_vanished_fields",
        "No column that has values in the rows held before is entirely null in the rows of the "
        "files the last run read (a warning: the app may have stopped sending a field; its new "
        "rows land with it null).",
        probe,
        blocking=False,
        severity=dg.AssetCheckSeverity.WARN,
    )


def no_unrecognized_files(dataset: str) -> Check:
    table = landing_table(dataset)

    def probe(_: Engine, settings: CheckSettings) -> Outcome:
        others = settings.landing.unrecognized(dataset)
        return not others, {
            "unrecognized_files": len(others),
            "files": others[:EVIDENCE_ROWS],
            "landing_files_are": "*.json, *.jsonl, *.ndjson, plain or .gz/.zst, in the folder",
        }

    return Check(
        table,
        "no_unrecognized_files",
        "Every file under the dataset's landing folder is a landing file (*.json, *.jsonl, "
        "*.ndjson, plain or gzip/zstd) or ignored (a name starting with . or _); any other is "
        "never read, so it is named here (a warning: the landing files flow on).",
        probe,
        blocking=False,
        severity=dg.AssetCheckSeverity.WARN,
    )


def quarantined_rows(dataset: str) -> Check:
    table = quarantine_table(dataset)

    def probe(engine: Engine, _: CheckSettings) -> Outcome:
        rows = engine.count(table.name)
        reasons = engine.rows(
            f"select reason, count(*) from {table.name} group by reason order by 2 desc, 1 "
            f"limit {EVIDENCE_ROWS}"
        )
        files = engine.rows(
            f"select file, count(*) from {table.name} group by file order by 2 desc, 1 "
            f"limit {EVIDENCE_ROWS}"
        )
        lines = engine.rows(
            f"select file, line, reason from {table.name} order by file, line limit {EVIDENCE_ROWS}"
        )
        return rows == 0, {
            "quarantined_rows": rows,
            "by_reason": dg.MetadataValue.json(dict(reasons)),
            "by_file": dg.MetadataValue.json(dict(files)),
            "first_lines": [f"{f} line {n}: {reason}" for f, n, reason in lines],
        }

    return Check(
        table,
        "quarantined_rows",
        "No landing line was quarantined (a warning: good rows flow on; see the table for the "
        "file, line and reason of each).",
        probe,
        blocking=False,
        severity=dg.AssetCheckSeverity.WARN,
    )


def quarantine_fraction(dataset: str) -> Check:
    table = quarantine_table(dataset)

    def probe(engine: Engine, settings: CheckSettings) -> Outcome:
        rows = engine.count(table.name)
        lines = engine.scalar(f"select coalesce(sum(lines), 0) from {dataset}_files")
        fraction = rows / lines if lines else 0.0
        limit = settings.quarantine_max_fraction
        return fraction <= limit, {
            "quarantined_rows": rows,
            "json_lines": lines,
            "fraction": round(fraction, 6),
            "max_fraction": limit,
        }

    return Check(
        table,
        "quarantine_fraction",
        "At most STEDI_QUARANTINE_MAX_FRACTION of the landing lines are quarantined; above it "
        "the new version is not published and nothing downstream runs.",
        probe,
    )


def landing_checks(dataset: str) -> list[Check]:
    table = landing_table(dataset)
    return [
        *table_checks(table),
        all_lines_accounted(dataset),
        no_unknown_fields(dataset),
        no_vanished_fields(dataset),
        no_unrecognized_files(dataset),
        schema_check(quarantine_table(dataset)),
        quarantined_rows(dataset),
        quarantine_fraction(dataset),
    ]
