"""The code location loads exactly the expected tables, groups, checks, jobs and executors."""

import re
from pathlib import Path

import dagster as dg
import pytest
import sqlglot

from stedi_dagster.lakehouse import Lakehouse
from stedi_dagster.privacy import spellings
from stedi_dagster.sql import read_sql
from stedi_dagster.tables import TABLES

EXPECTED_ASSETS = {
    "customer_landing": "landing",
    "accelerometer_landing": "landing",
    "step_trainer_landing": "landing",
    "customer_quarantine": "landing",
    "accelerometer_quarantine": "landing",
    "step_trainer_quarantine": "landing",
    "customer_trusted": "trusted",
    "accelerometer_trusted": "trusted",
    "step_trainer_trusted": "trusted",
    "customer_curated": "curated",
    "machine_learning_curated": "curated",
    "step_features_curated": "curated",
}
TABLES_WITH_ROWS = [t for t in EXPECTED_ASSETS if not t.endswith("_quarantine")]
EVERY_TABLE = ("schema", "keys_not_null", "expected_count")
LANDING = (
    "all_lines_accounted",
    "no_unknown_fields",
    "no_vanished_fields",
    "no_unrecognized_files",
)
QUARANTINE = ("schema", "quarantined_rows", "quarantine_fraction")
DERIVED = ("all_consented", "count_reconciles")
# `<table>.<check>`: a check's name is its property alone, scoped by its table's asset
EXPECTED_CHECKS = (
    {f"{t}.{p}" for t in TABLES_WITH_ROWS for p in EVERY_TABLE}
    | {f"{t}.{p}" for t in TABLES_WITH_ROWS if t.endswith("_landing") for p in LANDING}
    | {f"{t}.{p}" for t in EXPECTED_ASSETS if t.endswith("_quarantine") for p in QUARANTINE}
    | {f"{t}.{p}" for t, z in EXPECTED_ASSETS.items() if z != "landing" for p in DERIVED}
    | {"customer_trusted.unique_email", "customer_curated.unique_email"}
    | {"machine_learning_curated.no_identifiers", "machine_learning_curated.cross_customer_pairs"}
    | {"step_features_curated.no_identifiers"}
    | {f"{t}.column_schema_change" for t in EXPECTED_ASSETS}  # Dagster's own
)
EXPECTED_DEPS = {
    "customer_landing": set(),
    "accelerometer_landing": set(),
    "step_trainer_landing": set(),
    "customer_quarantine": set(),
    "accelerometer_quarantine": set(),
    "step_trainer_quarantine": set(),
    "customer_trusted": {"customer_landing"},
    "accelerometer_trusted": {"accelerometer_landing", "customer_trusted"},
    "customer_curated": {"customer_trusted", "accelerometer_trusted"},
    "step_trainer_trusted": {
        "step_trainer_landing",
        "customer_curated",
        "customer_landing",
        "customer_trusted",
    },
    "machine_learning_curated": {
        "step_trainer_trusted",
        "accelerometer_trusted",
        "customer_curated",
    },
    "step_features_curated": {"machine_learning_curated"},
}
# What computes each table: an engine, or Polars for the features
KINDS = {name: {"duckdb", "parquet"} for name in EXPECTED_ASSETS} | {
    "step_features_curated": {"polars", "parquet"}
}


def test_assets_are_the_tables_grouped_by_zone(definitions):
    graph = definitions.resolve_asset_graph()
    groups = {key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert groups == EXPECTED_ASSETS
    assert set(TABLES) == set(EXPECTED_ASSETS)


def test_lineage_follows_the_zones(definitions):
    graph = definitions.resolve_asset_graph()
    deps = {
        key.to_user_string(): {p.to_user_string() for p in graph.get(key).parent_keys}
        for key in graph.get_all_asset_keys()
    }
    assert deps == EXPECTED_DEPS


def test_every_asset_is_described_owned_and_kinded(definitions):
    for spec in definitions.resolve_all_asset_specs():
        assert spec.description and ("row" in spec.description), spec.key
        assert spec.kinds == KINDS[spec.key.to_user_string()], spec.key
        assert spec.owners == ["team:stedi-data"], spec.key
        assert spec.tags["zone"] == spec.group_name


def test_checks_are_exactly_the_expected_set(definitions):
    graph = definitions.resolve_asset_graph()
    names = {f"{key.asset_key.to_user_string()}.{key.name}" for key in graph.asset_check_keys}
    assert names == EXPECTED_CHECKS
    assert len(names) == 77
    # named for their property only: Dagster scopes a check by its asset
    assert {key.name for key in graph.asset_check_keys} == {n.split(".")[1] for n in names}


def test_consent_checks_block_and_expected_counts_do_not(definitions):
    specs = [spec for asset in definitions.assets for spec in asset.check_specs]
    for spec in specs:
        assert spec.description, spec.key
        if spec.name in (
            "all_consented",
            "count_reconciles",
            "schema",
            "unique_email",
            "no_identifiers",
            "all_lines_accounted",
            "quarantine_fraction",
        ):
            assert spec.blocking, spec.key
        if spec.name in (
            "expected_count",
            "cross_customer_pairs",
            "quarantined_rows",
            "no_unrecognized_files",
        ):
            assert not spec.blocking, spec.key
    assert all(
        dg.AssetKey("customer_landing") in {d.asset_key for d in spec.additional_deps}
        for spec in specs
        if spec.name == "all_consented"
    )


def test_lakehouse_job_runs_in_process(definitions):
    job = definitions.resolve_job_def("lakehouse")
    assert job.executor_def.name == "in_process"
    assert {k.to_user_string() for k in job.asset_layer.selected_asset_keys} == set(EXPECTED_ASSETS)


def test_full_refresh_is_a_job_of_its_own(definitions):
    job = definitions.resolve_job_def("lakehouse_full_refresh")
    assert job.tags["stedi/full_refresh"] == "true"
    assert {k.to_user_string() for k in job.asset_layer.selected_asset_keys} == set(EXPECTED_ASSETS)


def test_settings_come_from_the_environment_when_the_location_loads(monkeypatch, tmp_path):
    monkeypatch.setenv("STEDI_LANDING_ROOT", str(tmp_path / "in"))
    monkeypatch.setenv("STEDI_LAKEHOUSE_ROOT", str(tmp_path / "out"))
    monkeypatch.setenv("STEDI_CONSENT_MODE", "from_consent_date")
    monkeypatch.setenv("STEDI_ML_PAIRING", "same_customer")
    monkeypatch.setenv("STEDI_PSEUDONYM_KEY", "k")
    monkeypatch.setenv("STEDI_QUARANTINE_MAX_FRACTION", "0.2")
    lakehouse = Lakehouse.from_env().process_config_and_initialize()
    assert (lakehouse.landing_root, lakehouse.lakehouse_root) == (
        str(tmp_path / "in"),
        str(tmp_path / "out"),
    )
    assert (lakehouse.consent_mode, lakehouse.ml_pairing) == ("from_consent_date", "same_customer")
    assert lakehouse.pseudonym_key == "k"
    assert lakehouse.quarantine_max_fraction == 0.2
    monkeypatch.setenv("STEDI_ML_PAIRING", "nearest")
    with pytest.raises(ValueError, match="'timestamp' or 'same_customer'"):
        Lakehouse.from_env()


def test_the_docs_state_the_number_of_checks_there_are():
    """A count of checks written in the README or docs/ is the number of checks."""
    root = Path(__file__).resolve().parent.parent
    stated = {
        (path.name, int(n))
        for path in [root / "README.md", *sorted((root / "docs").glob("*.md"))]
        for n in re.findall(
            r"\b(\d+) (?:asset checks|checks|check results|in all)\b", path.read_text()
        )
    }
    assert {name for name, _ in stated} >= {"README.md", "tables-and-checks.md"}
    assert {n for _, n in stated} == {len(EXPECTED_CHECKS)}, stated


def settings_in_code() -> set[str]:
    """Every STEDI_* variable the package reads (its names appear in the code as string
    literals: os.environ.get, dg.EnvVar)."""
    package = Path(__file__).resolve().parent.parent / "stedi_dagster"
    return {
        name
        for path in package.rglob("*.py")
        for name in re.findall(r"[\"']STEDI_([A-Z][A-Z0-9_]*)[\"']", path.read_text())
    }


def test_env_example_lists_every_setting_the_code_reads_with_a_default(definitions):
    text = (Path(__file__).resolve().parent.parent / ".env.example").read_text()
    listed = re.findall(r"^#? ?STEDI_([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE)
    assert len(listed) == len(set(listed))
    assert set(listed) == settings_in_code()
    assert len(listed) >= 13
    # each variable (or group of variables) follows a comment that says its default
    setting = re.compile(r"^#? ?STEDI_")
    comment: list[str] = []
    after_comment = False
    for line in text.splitlines():
        if setting.match(line):
            assert "default" in " ".join(comment).lower(), line
            after_comment = False
        elif line.startswith("#"):
            comment = [*comment, line] if after_comment else [line]
            after_comment = True


def test_the_code_location_validates_as_dagster_loads_it(definitions):
    dg.Definitions.validate_loadable(definitions)
    assert {job.name for job in definitions.resolve_all_job_defs()} >= {
        "lakehouse",
        "lakehouse_full_refresh",
        "erase_customer",
    }


def test_every_table_links_to_the_code_that_computes_it(definitions):
    """ "View source" on each asset page: its SQL file(s) (every table but the Polars features)
    and its Python, files that exist, the SQL named after the table where it computes it."""
    for spec in definitions.resolve_all_asset_specs():
        name = spec.key.to_user_string()
        references = spec.metadata["dagster/code_references"].code_references
        files = [Path(r.file_path) for r in references]
        assert files and all(f.is_file() for f in files), (name, files)
        suffixes = {f.suffix for f in files}
        assert ".py" in suffixes, name
        if name == "step_features_curated":
            assert "step_features.py" in {f.name for f in files}
        elif TABLES[name].zone == "landing":
            assert "classify_lines.sql" in {f.name for f in files}
        else:
            assert f"{name}.sql" in {f.name for f in files}, name


# The relations a step's engine makes from its inputs for a table's companion SQL: the rows a
# change added or removed (`changed_<input>`), and an input narrowed to the keys computed again
# (`narrowed_<input>`, `recomputed_keys`); `factory/drafts.py` and `factory/increments.py`.
STEP_RELATIONS = re.compile(r"^(changed|narrowed)_")
# A check's companion SQL files, which read what the check reads: the rows the consent check
# tests again after new customer records, the partitions a recount counts again.
CHECK_COMPANIONS = {
    "_consent_owners": "all_consented",
    "_count_reconciles_reach": "count_reconciles",
}
PACKAGE = Path(__file__).parent.parent / "stedi_dagster"
# Where the relations that checks compute from tables have their SQL: the consent relations
# (`privacy/consent.py`), and the curated checks' own (`defs/curated/checks.py`).
RELATION_SQL = (
    PACKAGE / "privacy" / "sql",
    PACKAGE / "defs" / "trusted" / "sql",
    PACKAGE / "defs" / "curated" / "sql",
)


def tables_read(sql: str) -> set[str]:
    """The tables an SQL statement reads, as sqlglot parses it: a relation a check computes
    (the consent relations, each landing user's latest reading) as the tables its own SQL reads,
    a step's relations as the inputs they are made from, common table expressions left out."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    ctes = {cte.alias_or_name for cte in tree.find_all(sqlglot.exp.CTE)}
    read = set()
    for name in {t.name for t in tree.find_all(sqlglot.exp.Table)} - ctes - {"recomputed_keys"}:
        relation = [folder / f"{name}.sql" for folder in RELATION_SQL if name not in TABLES]
        stem = STEP_RELATIONS.sub("", name)
        if name != stem and stem not in TABLES:  # a narrowed lookup table, with SQL of its own
            relation += PACKAGE.glob(f"defs/*/sql/*_narrowed_{stem}.sql")
        found = [path for path in relation if path.exists()]
        if name in spellings.SPELLINGS:  # a table's spellings (privacy/spellings.py)
            read.add(spellings.SPELLINGS[name][0])
        elif name == "consent_persons":  # those of new customer_landing files (version_checks)
            read.add("customer_landing")
        elif found:
            read |= tables_read(found[0].read_text())
        else:
            read.add(STEP_RELATIONS.sub("", name))
    return read


def test_declared_lineage_is_what_the_sql_reads(definitions):
    """Lineage is declared twice, in `inputs=` and a check's `reads=`, and read once, in the SQL:
    the two must agree. A table's SQL reads exactly its inputs; its companions (`_added`,
    `_affected`, `_narrowed_*`, the features' `_input`) read only its inputs (and itself); its
    consent and count checks read exactly their declared reads, besides the table itself."""
    checked = 0
    for asset in definitions.resolve_asset_graph().assets_defs:
        reads = {
            (c.asset_key.to_user_string(), c.name): {
                d.asset_key.to_user_string() for d in c.additional_deps
            }
            for c in asset.check_specs
        }
        for spec in asset.specs:
            name = spec.key.to_user_string()
            table = TABLES[name]
            if table.zone == "landing":
                continue
            inputs = {d.asset_key.to_user_string() for d in spec.deps}
            for path in sorted(table.sql_file().parent.glob(f"{name}*.sql")):
                suffix = path.stem.removeprefix(name)
                read = tables_read(table.sql(suffix)) - {name}
                check = (name, suffix.removeprefix("_"))
                if suffix in CHECK_COMPANIONS:
                    check = (name, CHECK_COMPANIONS[suffix])
                if suffix == "":
                    assert read == inputs, (path.name, read, inputs)
                elif check in reads:
                    assert read == reads[check], (path.name, read, reads[check])
                else:
                    assert read <= inputs, (path.name, read - inputs)
                checked += 1
    assert checked >= 20


def test_sql_fragments_are_checked_when_the_sql_is_read(tmp_path):
    """`{{name}}` is a fragment and `$name` a DuckDB parameter: a fragment misspelled or missing
    fails when the SQL is read, naming the file, not as a bind error at run time."""
    path = tmp_path / "sql" / "probe.sql"
    path.parent.mkdir()
    path.write_text("select {{column}} from t where x = $value and j = '$.email'\n")
    module = str(tmp_path / "module.py")
    assert read_sql(module, "probe", column='"x"') == (
        "select \"x\" from t where x = $value and j = '$.email'"
    )
    for wrong in ({"colunm": '"x"'}, {}, {"column": '"x"', "value": "1"}):
        with pytest.raises(ValueError, match=r"probe\.sql: its fragments are \['column'\]"):
            read_sql(module, "probe", **wrong)
