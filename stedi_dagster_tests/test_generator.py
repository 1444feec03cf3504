"""`stedi generate`: deterministic for a seed, and its expectations (counted from what it chose to
write) agree with what the pipeline computes from the files."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from stedi_dagster.generate import generate
from stedi_dagster.lakehouse import SAMPLE_LANDING_ROOT, Lakehouse
from stedi_dagster_tests.conftest import (
    NOTHING_QUARANTINED,
    check_outcomes,
    failed_checks,
    materialize,
    row_counts,
)
from stedi_dagster_tests.test_definitions import EXPECTED_CHECKS


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_same_seed_same_bytes_other_seed_other_data(tmp_path):
    cli = Path(sys.executable).parent / "stedi"
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        done = subprocess.run(
            [
                str(cli),
                "generate",
                "--scale",
                "0.05",
                "--seed",
                str(seed),
                "--out",
                str(tmp_path / name),
            ],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
    assert tree(tmp_path / "a") == tree(tmp_path / "b")
    assert tree(tmp_path / "a") != tree(tmp_path / "c")


def test_expectations_count_the_lines_written(tmp_path):
    counts = generate(tmp_path, scale=0.2, seed=5, rows_per_file=500)
    for dataset in ("customer", "accelerometer", "step_trainer"):
        files = list((tmp_path / dataset / "landing").glob("*.json"))
        lines = sum(len(f.read_text().splitlines()) for f in files)
        assert lines == counts[f"{dataset}_landing"]
    assert len(list((tmp_path / "accelerometer" / "landing").glob("*.json"))) > 1
    assert json.loads((tmp_path / "expectations.json").read_text())["tables"] == counts


@pytest.mark.parametrize(("scale", "seed"), [(0.3, 3), (0.05, 11)])
def test_pipeline_agrees_with_the_generator(definitions, tmp_path, scale, seed):
    counts = generate(tmp_path / "landing", scale=scale, seed=seed)
    # the data has the course's shape: some consent, cross-customer millisecond collisions
    assert 0 < counts["customer_trusted"] < counts["customer_landing"]
    assert counts["machine_learning_curated"] > counts["step_trainer_trusted"]
    lakehouse = Lakehouse(
        landing_root=str(tmp_path / "landing"), lakehouse_root=str(tmp_path / "lakehouse")
    )
    result = materialize(definitions, lakehouse)
    assert result.success
    assert row_counts(result) == counts | NOTHING_QUARANTINED
    assert len(check_outcomes(result)) == len(EXPECTED_CHECKS)
    assert failed_checks(result) == {"machine_learning_curated.cross_customer_pairs": "WARN"}


@pytest.mark.parametrize(
    ("consent_mode", "ml_pairing"),
    [
        ("from_consent_date", "timestamp"),
        ("any_time", "same_customer"),
        ("from_consent_date", "same_customer"),
    ],
)
def test_pipeline_agrees_with_the_generator_in_every_privacy_setting(
    definitions, tmp_path, consent_mode, ml_pairing
):
    generate(tmp_path / "landing", scale=0.2, seed=4)
    lakehouse = Lakehouse(
        landing_root=str(tmp_path / "landing"),
        lakehouse_root=str(tmp_path / "lakehouse"),
        consent_mode=consent_mode,
        ml_pairing=ml_pairing,
    )
    expected = lakehouse.expectations()
    assert expected is not None
    result = materialize(definitions, lakehouse)
    assert result.success
    assert row_counts(result) == expected | NOTHING_QUARANTINED
    warnings = (
        {}
        if ml_pairing == "same_customer"
        else {"machine_learning_curated.cross_customer_pairs": "WARN"}
    )
    assert failed_checks(result) == warnings


def test_bundled_sample_is_what_the_generator_writes(tmp_path):
    sample = SAMPLE_LANDING_ROOT
    recorded = json.loads((sample / "expectations.json").read_text())["generator"]
    generate(
        tmp_path,
        rows_per_file=recorded["rows_per_file"],
        **{k: recorded[k] for k in ("scale", "seed")},
    )
    assert tree(tmp_path) == tree(sample)
