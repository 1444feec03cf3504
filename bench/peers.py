"""Benchmark: this project against its peers, in the same run, on the same generated data.

    .venv/bin/python -m bench.peers --scales 1,10,100 --repeat 3 [--spark-max-scale 10]

Each engine runs as a whole process, timed from its start to its exit, with its peak memory (the
largest sum of the resident memory of the process and its children, such as Spark's JVM, sampled
every 20 ms):

- dagster: `dagster asset materialize --select '*'` of this project, every asset and every check,
  on a fresh lakehouse (so every landing file is read), with a persistent DAGSTER_HOME as a user
  has; its engine time is the sum of the steps' write and publish seconds (checks excluded), from
  the materializations' metadata, and its steps less checks the sum of the steps' wall times (from
  the run's events) less their checks seconds;
- duckdb: the six transforms as a plain DuckDB script (`bench/plain_duckdb.py`), the floor;
- polars: the five transforms in Polars' lazy API (`bench/polars_lazy.py`);
- pyspark: the five transforms on PySpark in local mode (`bench/pyspark_local.py`), what Glue runs;
- dbt: `dbt build` of the dbt-duckdb project in `bench/dbt/` (what a data engineer would
  otherwise pick): three landing models reading the JSON with the explicit schema, the six
  transforms (the step features with window functions), all nine tables as Parquet, and 36 data
  tests (keys, unique emails, relationships, a row count per table, consent against landing, the
  pairing reconciled); its
  partial-parse state kept between runs as a user's `target/` is;
- dagster-spark: the dagster run again with STEDI_ENGINE=spark (this project's Spark engine on
  local[2]: the same assets and checks, computed by Spark SQL);
- dagster-floor: Dagster's fixed cost for this project's graph (`bench/dagster_floor.py`): the same
  `dagster asset materialize` of the same assets and checks in the same steps, doing no work (no
  data, so no counts to verify).

PySpark and dagster-spark stop at --spark-max-scale.

The data is generated once per scale with `--rows-per-file` lines a file (default 9,000, the
course's shape: many small files). Every engine's row counts must equal the generator's
expectations before any time is printed.
Results are printed as Markdown and saved as JSON under build/bench/.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from stedi_dagster.generate import generate
from stedi_dagster.lakehouse import PROJECT_ROOT
from stedi_dagster.tables import TABLES

BUILD = PROJECT_ROOT / "build" / "bench"
BIN = Path(sys.executable).parent
TRANSFORMED = [
    "customer_trusted",
    "accelerometer_trusted",
    "customer_curated",
    "step_trainer_trusted",
    "machine_learning_curated",
]
# The ninth table: this project, dbt and the plain DuckDB script compute it; Polars' and PySpark's
# scripts do not.
FEATURES = "step_features_curated"
NINE_TABLES = ("dagster", "dagster-spark", "dbt", "duckdb")
# Landing files of about the course's size (its accelerometer files hold about 9,000 lines), as
# real device exports arrive: many small files, not the generator's default 100,000-line files.
COURSE_SHAPED_ROWS = 9_000
# this project's runs: engine name -> STEDI_ENGINE
DAGSTER_ENGINES = {"dagster": "duckdb", "dagster-spark": "spark"}
SPARK_ENGINES = ("pyspark", "dagster-spark")
FLOOR = "dagster-floor"
PEERS = {
    "duckdb": "bench.plain_duckdb",
    "polars": "bench.polars_lazy",
    "pyspark": "bench.pyspark_local",
}
DBT_PROJECT = Path(__file__).resolve().parent / "dbt"


def landing_data(
    scale: float, rows_per_file: int = COURSE_SHAPED_ROWS
) -> tuple[Path, dict[str, int]]:
    """The generated landing data for a scale, `rows_per_file` lines a file (made once, kept
    under build/bench/data)."""
    folder = BUILD / "data" / f"scale-{scale:g}-rows-{rows_per_file}"
    expectations = folder / "expectations.json"
    if not expectations.exists():
        shutil.rmtree(folder, ignore_errors=True)
        print(f"generating scale {scale:g} into {folder} ...", file=sys.stderr)
        generate(folder, scale=scale, seed=1, rows_per_file=rows_per_file)
    return folder, json.loads(expectations.read_text())["tables"]


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return found


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        total += _rss(p)
        stack += _children(p)
    return total


def timed(command: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """Run a command to its end: wall seconds, peak memory in bytes, its standard output."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss(process.pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    out, err = process.communicate()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} failed:\n{err[-3000:]}")
    return wall, peak, out


def counts_from_parquet(folder: Path, delta: bool = False) -> dict[str, int]:
    """Rows per table of a peer's output folder (every Parquet file of the table's folder), or
    of a lakehouse's Delta tables (the current version's files)."""
    from stedi_dagster.lakehouse.delta import DeltaTables
    from stedi_dagster.lakehouse.storage import Storage

    tables = DeltaTables(Storage(str(folder)))
    with duckdb.connect() as con:
        return {
            name: con.execute(
                "select count(*) from read_parquet(?)",
                [
                    tables.files(TABLES[name])
                    if delta
                    else str(folder / TABLES[name].zone / name / "*.parquet")
                ],
            ).fetchall()[0][0]
            for name in [*TRANSFORMED, FEATURES]
        }


def dagster_step_seconds(home: Path) -> tuple[float, float, float]:
    """From the latest run in DAGSTER_HOME: (write + publish seconds, checks seconds) summed over
    the materializations, and the steps' wall seconds (step start to step success, Dagster's own
    events and the previews included) less their checks seconds."""
    import dagster as dg

    engine = checks = 0.0
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for name, table in TABLES.items():
            event = instance.get_latest_materialization_event(table.key)
            metadata = event.asset_materialization.metadata if event else {}
            if "write_seconds" in metadata:
                engine += metadata["write_seconds"].value + metadata["publish_seconds"].value
                checks += metadata["checks_seconds"].value
            elif table.name.endswith("_quarantine"):
                continue  # written by its landing table's step, whose seconds count it
            else:
                raise SystemExit(f"no step timing for {name} in {home}")
        (run,) = instance.get_runs(limit=1)
        started: dict[str, float] = {}
        steps = 0.0
        for entry in instance.all_logs(run.run_id):
            event = entry.dagster_event
            if event is None or event.step_key is None:
                continue
            if event.event_type_value == "STEP_START":
                started[event.step_key] = entry.timestamp
            elif event.event_type_value == "STEP_SUCCESS":
                steps += entry.timestamp - started.pop(event.step_key)
    return engine, checks, steps - checks


def engine_env() -> dict[str, str]:
    """The environment an engine runs in: this one without the project's and Dagster's settings,
    the virtualenv's commands first, and Python's usual bytecode cache, as on a user's machine (a
    sandbox may set PYTHONDONTWRITEBYTECODE, which recompiles the project at every start)."""
    skipped = ("STEDI_", "DAGSTER_", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(skipped)}
    return env | {"PATH": f"{BIN}:{env['PATH']}"}


def materialize_command(module: str) -> list[str]:
    """`dagster asset materialize` of every asset and check of a code location module."""
    return [str(BIN / "dagster"), "asset", "materialize", "--select", "*", "-m", module]


def dagster_home() -> Path:
    """The benchmarks' DAGSTER_HOME (kept between runs, as a user's is), telemetry off."""
    home = BUILD / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return home


def run_engine(engine: str, landing: Path, work: Path, home: Path) -> dict:
    out = work / engine
    shutil.rmtree(out, ignore_errors=True)
    env = engine_env()
    if engine in DAGSTER_ENGINES:
        env |= {
            "DAGSTER_HOME": str(home),
            "STEDI_LANDING_ROOT": str(landing),
            "STEDI_LAKEHOUSE_ROOT": str(out),
            "STEDI_ENGINE": DAGSTER_ENGINES[engine],
        }
        wall, peak, _ = timed(materialize_command("stedi_dagster.definitions"), env)
        engine_seconds, checks_seconds, steps_seconds = dagster_step_seconds(home)
        return {
            "wall": wall,
            "peak": peak,
            "counts": counts_from_parquet(out, delta=True),
            "engine": engine_seconds,
            "checks": checks_seconds,
            "steps": steps_seconds,
        }
    if engine == FLOOR:
        env["DAGSTER_HOME"] = str(home)
        wall, peak, _ = timed(materialize_command("bench.dagster_floor"), env)
        return {"wall": wall, "peak": peak, "counts": None}
    if engine == "dbt":
        env |= {"STEDI_DBT_LANDING": str(landing), "STEDI_DBT_OUT": str(out)}
        for table in TABLES.values():  # dbt-duckdb writes into existing folders only
            (out / table.zone / table.name).mkdir(parents=True, exist_ok=True)
        wall, peak, _ = timed(dbt_build(landing, out), env)
        return {"wall": wall, "peak": peak, "counts": counts_from_parquet(out)}
    wall, peak, stdout = timed([sys.executable, "-m", PEERS[engine], str(landing), str(out)], env)
    return {"wall": wall, "peak": peak, "counts": json.loads(stdout.strip().splitlines()[-1])}


def dbt_build(landing: Path, out: Path) -> list[str]:
    """`dbt build` of the peer project, with the generator's expected counts, the person key's
    SQL and the pseudonym key's HMAC pads as vars."""
    from stedi_dagster.engines import SqlContext
    from stedi_dagster.privacy.identity import person_key_sql
    from stedi_dagster.privacy.pseudonyms import DEVELOPMENT_PSEUDONYM_KEY

    expected = json.loads((landing / "expectations.json").read_text())["tables"]
    inner, outer = SqlContext({}, DEVELOPMENT_PSEUDONYM_KEY).hmac_pads
    variables = {
        "expected": expected,
        "person_key": person_key_sql(),
        "hmac_inner": inner.hex(),
        "hmac_outer": outer.hex(),
    }
    return [
        str(BIN / "dbt"),
        "build",
        "--quiet",
        "--project-dir",
        str(DBT_PROJECT),
        "--profiles-dir",
        str(DBT_PROJECT),
        "--target-path",
        str(BUILD / "dbt-target"),
        "--log-path",
        str(out / "dbt-logs"),
        "--vars",
        json.dumps(variables),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1,10,100")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--spark-max-scale", type=float, default=10)
    parser.add_argument(
        "--rows-per-file",
        type=int,
        default=COURSE_SHAPED_ROWS,
        help="lines per generated landing file (default: about the course's)",
    )
    parser.add_argument(
        "--no-warmup", action="store_true", help="skip the untimed first run of each engine"
    )
    parser.add_argument(
        "--engines", default="dagster,dagster-floor,dbt,dagster-spark,duckdb,polars,pyspark"
    )
    args = parser.parse_args()
    engines = args.engines.split(",")
    home = dagster_home()
    work = BUILD / "work"
    results: dict[str, dict] = {}
    for scale in (float(s) for s in args.scales.split(",")):
        landing, expected = landing_data(scale, args.rows_per_file)
        rows = sum(n for name, n in expected.items() if name.endswith("_landing"))
        here = [e for e in engines if e not in SPARK_ENGINES or scale <= args.spark_max_scale]
        runs: dict[str, list[dict]] = {e: [] for e in here}
        for e in [] if args.no_warmup else here:  # untimed: caches warm, DAGSTER_HOME made
            run_engine(e, landing, work, home)
        for _ in range(args.repeat):  # interleaved, so every engine sees the same machine state
            for e in here:
                runs[e].append(run_engine(e, landing, work, home))
                print(f"  scale {scale:g} {e}: {runs[e][-1]['wall']:.2f} s", file=sys.stderr)
        for e, done in runs.items():
            tables = [*TRANSFORMED, FEATURES] if e in NINE_TABLES else TRANSFORMED
            for r in (r for r in done if r["counts"] is not None):  # the floor computes nothing
                got = {name: r["counts"].get(name) for name in tables}
                want = {name: expected[name] for name in tables}
                if got != want:
                    raise SystemExit(f"scale {scale:g}: {e} counts {got} differ from {want}")
        results[f"{scale:g}"] = {
            "landing_rows": rows,
            "engines": {
                e: {
                    "wall": statistics.median(r["wall"] for r in done),
                    "walls": [round(r["wall"], 3) for r in done],
                    "peak_mb": max(r["peak"] for r in done) / 2**20,
                    **(
                        {
                            key: statistics.median(r[key] for r in done)
                            for key in ("engine", "checks", "steps")
                        }
                        if e in DAGSTER_ENGINES
                        else {}
                    ),
                }
                for e, done in runs.items()
            },
        }
    report(results)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    path = BUILD / f"peers-{stamp}.json"
    path.write_text(json.dumps({"machine": machine(), "results": results}, indent=1))
    print(f"\nsaved {path}")


def machine() -> str:
    cpus = os.cpu_count()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpus} cores, {memory:.0f} GiB, Python {sys.version.split()[0]}"


def report(results: dict[str, dict]) -> None:
    print(
        f"\n{machine()}; medians of the timed runs; every engine's counts equal the generator's\n"
    )
    print("| scale | landing rows | engine | wall s | rows/s | peak MB | wall / duckdb |")
    print("|---|---|---|---|---|---|---|")
    for scale, r in results.items():
        base = r["engines"]["duckdb"]["wall"] if "duckdb" in r["engines"] else None
        for e, x in r["engines"].items():
            ratio = f"{x['wall'] / base:.2f}x" if base else "-"
            print(
                f"| {scale} | {r['landing_rows']:,} | {e} | {x['wall']:.2f} | "
                f"{r['landing_rows'] / x['wall']:,.0f} | {x['peak_mb']:.0f} | {ratio} |"
            )
            if e in DAGSTER_ENGINES:
                engine_ratio = f"{x['engine'] / base:.2f}x" if base else "-"
                print(
                    f"| {scale} | | {e} engine (steps' write + publish) | {x['engine']:.2f} | "
                    f"| | {engine_ratio} |"
                )
                steps_ratio = f"{x['steps'] / base:.2f}x" if base else "-"
                print(
                    f"| {scale} | | {e} steps less checks (step walls) | {x['steps']:.2f} | "
                    f"| | {steps_ratio} |"
                )
                print(f"| {scale} | | {e} checks | {x['checks']:.2f} | | | |")


if __name__ == "__main__":
    main()
