"""A Spark standalone cluster (one master, one worker) as real processes on loopback, started from
PySpark's own `spark-class`, as a cluster's machines would run them."""

import json
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from stedi_dagster_tests.conftest import TEST_JVM_OPTION
from stedi_dagster_tests.s3_server import free_port


@dataclass(frozen=True)
class Cluster:
    master_url: str  # spark://127.0.0.1:<port>, what STEDI_SPARK_MASTER is set to
    web_url: str  # the master's web UI; /json/ describes workers and applications

    def state(self) -> dict:
        with urllib.request.urlopen(f"{self.web_url}/json/", timeout=5) as response:
            return json.load(response)


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


def _start(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    with log.open("w") as out:
        return subprocess.Popen(
            [str(spark_home() / "bin" / "spark-class"), *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, stopped as a whole
        )


@contextmanager
def standalone_cluster(work: Path, cores: int = 2, memory: str = "2g") -> Iterator[Cluster]:
    env = {**os.environ, "SPARK_HOME": str(spark_home()), "SPARK_LOCAL_IP": "127.0.0.1"}
    env.setdefault("SPARK_DAEMON_JAVA_OPTS", TEST_JVM_OPTION)  # as the tests' other JVMs
    port, web, worker_web = free_port(), free_port(), free_port()
    cluster = Cluster(f"spark://127.0.0.1:{port}", f"http://127.0.0.1:{web}")
    work.mkdir(parents=True, exist_ok=True)
    processes = [
        _start(
            ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1"]
            + ["--port", str(port), "--webui-port", str(web)],
            work / "master.log",
            env,
        )
    ]
    try:
        _wait(lambda: cluster.state()["status"] == "ALIVE", processes, work / "master.log")
        processes.append(
            _start(
                ["org.apache.spark.deploy.worker.Worker", cluster.master_url]
                + ["--host", "127.0.0.1", "--cores", str(cores), "--memory", memory]
                + ["--webui-port", str(worker_web), "--work-dir", str(work / "worker")],
                work / "worker.log",
                env,
            )
        )
        _wait(lambda: cluster.state()["aliveworkers"] >= 1, processes, work / "worker.log")
        yield cluster
    finally:
        for process in reversed(processes):
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def _wait(ready, processes: list[subprocess.Popen], log: Path, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if ready():
                return
        except OSError:
            pass
        dead = [p for p in processes if p.poll() is not None]
        assert not dead and time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.5)
