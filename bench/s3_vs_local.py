"""Benchmark: the full pipeline (every asset and check, in-process through Dagster) with both roots
on S3 against the same run on local disk, on the same generated data, in the same run.

    .venv/bin/python -m bench.s3_vs_local --scale 1 --repeat 3

S3 is moto's server on loopback (`ThreadedMotoServer`, in a thread of this process), so the ratio
measures the S3 code path (s3fs through DuckDB, uploads, listings) without network latency; a
real endpoint adds its round trips on top, and an S3 server of its own process would take some
CPU away from the pipeline instead.
"""

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import dagster as dg
import s3fs
from moto.server import ThreadedMotoServer

from stedi_dagster.definitions import defs
from stedi_dagster.generate import generate
from stedi_dagster.lakehouse import Lakehouse


def run_once(assets: list, lakehouse: Lakehouse) -> float:
    started = time.perf_counter()
    result = dg.materialize(
        assets,
        resources={"lakehouse": lakehouse},
        raise_on_error=False,
        tags={"stedi/full_refresh": "true"},  # every run reads every landing file
    )
    elapsed = time.perf_counter() - started
    errors = [
        e
        for e in result.get_asset_check_evaluations()
        if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR
    ]
    if not result.success or errors:
        raise SystemExit(f"run failed on {lakehouse.lakehouse_root}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1"
    )
    assets = list(defs().assets)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()  # moto's S3 server, on a loopback port, in a thread of this process
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        landing = Path(tmp) / "landing"
        counts = generate(landing, scale=args.scale, seed=1)
        s3 = s3fs.S3FileSystem(endpoint_url=endpoint, skip_instance_cache=True)
        s3.mkdir("bench")
        s3.put(str(landing) + "/", "bench/landing/", recursive=True)
        setups = {
            "local": Lakehouse(landing_root=str(landing), lakehouse_root=f"{tmp}/lakehouse"),
            "s3": Lakehouse(
                landing_root="s3://bench/landing",
                lakehouse_root="s3://bench/lakehouse",
                s3_endpoint_url=endpoint,
            ),
        }
        times: dict[str, list[float]] = {name: [] for name in setups}
        for _ in range(args.repeat):  # interleaved, so both see the same machine state
            for name, lakehouse in setups.items():
                times[name].append(run_once(assets, lakehouse))
    server.stop()
    landing_rows = sum(n for t, n in counts.items() if t.endswith("_landing"))
    medians = {name: statistics.median(ts) for name, ts in times.items()}
    print(f"scale {args.scale}: {landing_rows:,} landing rows, median of {args.repeat} runs")
    for name, median in medians.items():
        print(f"  {name:<6} {median:7.2f} s   ({', '.join(f'{t:.2f}' for t in times[name])})")
    print(f"  s3/local ratio: {medians['s3'] / medians['local']:.2f}x")


if __name__ == "__main__":
    main()
