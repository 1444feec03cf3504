# The two commands of the README:
#   make run   - set up, then materialize and check every table on the bundled sample
#   make test  - set up, then lint and run the test suite
# `make test-fast` is the edit-test loop (no Spark, no browser, no S3 server, no course data, no
# run in processes of its own);
# `make dev` opens the Dagster UI on the same code location.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/.dagster

.PHONY: setup run test test-fast dev bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,spark]'
	touch $@

$(DAGSTER_HOME)/dagster.yaml:
	mkdir -p $(DAGSTER_HOME)
	touch $@

run: setup $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/stedi run

test: setup
	scripts/ensure-chromium $(BIN)
	scripts/ensure-java
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder --durations=20

# Markers in pyproject.toml; what each command covers: docs/testing.md.
FAST := not spark and not ui and not s3 and not slow and not course
test-fast: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -n 2 --dist loadfile -m "$(FAST)"

dev: setup $(DAGSTER_HOME)/dagster.yaml
	VIRTUAL_ENV=$(CURDIR)/$(VENV) PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/dg dev

# Not a test: times this project against dbt-duckdb, plain DuckDB, Polars and PySpark
# (docs/performance.md).
BENCH_ARGS ?= --scales 1,10,100 --repeat 3
$(VENV)/.bench-installed: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,spark,bench]'
	touch $@

bench: setup $(VENV)/.bench-installed
	$(BIN)/python -m bench.peers $(BENCH_ARGS)

clean:
	rm -rf data/lakehouse $(DAGSTER_HOME)
