"""Benchmark: a re-run after one new small landing file, against the full run before it.

    .venv/bin/python -m bench.rerun [--scale 100] [--lines 50]

On a copy of the generated landing data (hard links, so nothing is copied), `dagster asset
materialize --select '*'` runs once on a fresh lakehouse (the full run, with bench.peers'
DAGSTER_HOME), then one new
accelerometer file of `--lines` readings (a new file name, readings one millisecond after those
at the head of the first file) lands, and the same command runs again (the re-run: landing reads
only the new file). Prints both walls and their ratio; issue 16's target is below 0.5."""

import argparse
import json
import os
import shutil
import sys

from bench.peers import (
    BUILD,
    COURSE_SHAPED_ROWS,
    dagster_home,
    engine_env,
    landing_data,
    materialize_command,
    timed,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=100)
    parser.add_argument("--lines", type=int, default=50)
    parser.add_argument("--rows-per-file", type=int, default=COURSE_SHAPED_ROWS)
    args = parser.parse_args()
    source, _ = landing_data(args.scale, args.rows_per_file)
    work = BUILD / "rerun"
    shutil.rmtree(work, ignore_errors=True)
    landing, lakehouse = work / "landing", work / "lakehouse"
    shutil.copytree(source, landing, copy_function=os.link)
    env = engine_env() | {
        "DAGSTER_HOME": str(dagster_home()),
        "STEDI_LANDING_ROOT": str(landing),
        "STEDI_LAKEHOUSE_ROOT": str(lakehouse),
    }
    command = materialize_command("stedi_dagster.definitions")
    full, full_peak, _ = timed(command, env)
    folder = landing / "accelerometer" / "landing"
    first = sorted(folder.glob("*.json"))[0]
    with first.open() as f:
        readings = [json.loads(next(f)) for _ in range(args.lines)]
    new = folder / "accelerometer-rerun-new.json"
    later = [json.dumps(r | {"timestamp": r["timestamp"] + 1}) + "\n" for r in readings]
    new.write_text("".join(later))
    rerun, rerun_peak, _ = timed(command, env)
    print(
        f"scale {args.scale:g}: full run {full:.2f} s ({full_peak / 2**20:.0f} MB), re-run after "
        f"one new {args.lines}-line file {rerun:.2f} s ({rerun_peak / 2**20:.0f} MB): "
        f"{rerun / full:.0%} of the full run"
    )
    shutil.rmtree(work)


if __name__ == "__main__":
    sys.exit(main())
