"""The code location: every asset, check, resource and job autoloaded from `stedi_dagster/defs/`."""

import atexit
import gc
import os
from functools import cache
from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    settings = {k: v for k, v in os.environ.items() if k.startswith("STEDI_")}
    return _load(tuple(sorted(settings.items())), os.environ.get("AWS_ENDPOINT_URL"))


@cache
def _load(settings: tuple, endpoint: str | None) -> dg.Definitions:
    # Dagster's CLI resolves the location several times in one process (six times for `dagster
    # asset materialize`): it is loaded once per set of settings, which saves about 3 s a run.
    loaded = dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
    # What is loaded so far (Dagster, its imports, the definitions) lives as long as the process:
    # left out of the garbage collector's full passes, which walk every object (a run's step
    # at x1000 waited 0.13 s for one).
    gc.freeze()
    # Given back to the collector at exit: frozen objects are never collected, and DuckDB's
    # binding then reports its types "leaked" on stderr when the interpreter shuts down.
    atexit.register(gc.unfreeze)
    # And the young objects collected in larger batches (Python's thresholds are 700, 10, 10): a
    # run allocates millions (Dagster's events, a landing step's records of 8,814 files), and
    # with the defaults every run at x1000 made two full passes during its steps (0.08-0.1 s).
    gc.set_threshold(20_000, 20, 20)
    return loaded
