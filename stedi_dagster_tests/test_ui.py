"""The UI users open: the real `dagster dev` from workspace.yaml on a free loopback port, a run of
every asset launched through the webserver's GraphQL API, its results read back through GraphQL,
and the lineage, checks and profile pages opened in headless Chromium (Debian's, driven by
Playwright), with screenshots saved to build/screenshots/ (or $STEDI_SCREENSHOTS)."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from stedi_dagster.lakehouse import PROJECT_ROOT
from stedi_dagster.tables import TABLES
from stedi_dagster_tests.s3_server import free_port
from stedi_dagster_tests.test_definitions import EXPECTED_CHECKS

pytestmark = pytest.mark.ui

SCREENSHOTS = Path(os.environ.get("STEDI_SCREENSHOTS", PROJECT_ROOT / "build" / "screenshots"))
# A system Chromium or Chrome, found the usual ways; without one, Playwright's own browser.
SYSTEM_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCATION = {"repositoryLocationName": "stedi_dagster", "repositoryName": "__repository__"}


class DagsterDev:
    def __init__(self, url: str, log: Path):
        self.url, self.log = url, log

    def gql(self, query: str, variables: dict | None = None) -> dict:
        request = urllib.request.Request(
            f"{self.url}/graphql",
            data=json.dumps({"query": query, "variables": variables or {}}).encode(),
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.load(response)
        assert "errors" not in answer, answer["errors"]
        return answer["data"]


def _location_loaded(dev: DagsterDev) -> bool:
    try:
        entries = dev.gql(
            "{ workspaceOrError { ... on Workspace { locationEntries { "
            "locationOrLoadError { __typename ... on PythonError { message } } } } } }"
        )["workspaceOrError"]["locationEntries"]
    except OSError:
        return False
    kinds = [e["locationOrLoadError"] for e in entries]
    assert all(k["__typename"] != "PythonError" for k in kinds if k), kinds
    return bool(kinds) and all(k and k["__typename"] == "RepositoryLocation" for k in kinds)


@pytest.fixture(scope="module")
def dagster_dev(tmp_path_factory) -> Iterator[DagsterDev]:
    home = tmp_path_factory.mktemp("dagster_home")
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    port = free_port()
    log = home / "dagster-dev.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STEDI_", "DAGSTER_"))}
    env |= {
        "DAGSTER_HOME": str(home),
        "STEDI_LAKEHOUSE_ROOT": str(tmp_path_factory.mktemp("lakehouse")),
        "STEDI_ML_PAIRING": "same_customer",  # so that every check, the WARN one too, passes
    }
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "dagster"), "dev", "-w", "workspace.yaml"]
            + ["-h", "127.0.0.1", "-p", str(port)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: webserver, daemon, code server
        )
    dev = DagsterDev(f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + 180
        while not _location_loaded(dev):
            assert process.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "dagster dev did not load the code location"
            time.sleep(1)
        yield dev
    finally:
        stop_process_group(process)


def group_members(pgid: int) -> list[str]:
    """Live processes of a process group (zombies left to an init that reaps slowly excepted)."""
    found = subprocess.run(["ps", "-e", "-o", "pid=,pgid=,stat="], capture_output=True, text=True)
    rows = (line.split() for line in found.stdout.splitlines())
    return [pid for pid, group, stat in rows if group == str(pgid) and "Z" not in stat]


def stop_process_group(process: subprocess.Popen) -> None:
    """Stop dagster dev and everything it started (webserver, daemon, code servers)."""
    os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 3  # what has not stopped by then is killed
    while group_members(process.pid) and time.monotonic() < deadline:
        time.sleep(0.5)
    if group_members(process.pid):
        os.killpg(process.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while group_members(process.pid) and time.monotonic() < deadline:
            time.sleep(0.5)
    process.wait(timeout=10)
    assert group_members(process.pid) == []


@pytest.fixture(scope="module")
def run_id(dagster_dev) -> str:
    launched = dagster_dev.gql(
        "mutation Launch($params: ExecutionParams!) { launchRun(executionParams: $params) { "
        "__typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }",
        {"params": {"selector": {**LOCATION, "jobName": "lakehouse"}, "runConfigData": {}}},
    )["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run = launched["run"]["runId"]
    deadline = time.monotonic() + 300
    while True:
        status = dagster_dev.gql(
            "query Run($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }", {"id": run}
        )["runOrError"]["status"]
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            break
        assert time.monotonic() < deadline, f"run {run} still {status}"
        time.sleep(1)
    assert status == "SUCCESS", dagster_dev.log.read_text()[-3000:]
    return run


def test_dagster_dev_loads_the_location_without_warnings(dagster_dev):
    text = dagster_dev.log.read_text()
    warnings = [
        line
        for line in text.splitlines()
        if ("Warning" in line or " - WARNING - " in line or " - ERROR - " in line)
        # dagster's own note that `dagster dev` has a successor, `dg dev`
        and "`dev_command` is superseded" not in line
    ]
    assert warnings == []


def test_groups_descriptions_kinds_owners_and_sensors(dagster_dev):
    nodes = dagster_dev.gql(
        "{ assetNodes { assetKey { path } groupName description kinds owners { "
        "... on TeamAssetOwner { team } } } }"
    )["assetNodes"]
    assert {n["assetKey"]["path"][0]: n["groupName"] for n in nodes} == {
        name: t.zone for name, t in TABLES.items()
    }
    for n in nodes:
        engine = "polars" if n["assetKey"]["path"][0] == "step_features_curated" else "duckdb"
        assert n["description"] and set(n["kinds"]) == {engine, "parquet"}
        assert n["owners"] == [{"team": "stedi-data"}]
    repository = dagster_dev.gql(
        "query Repo($selector: RepositorySelector!) { repositoryOrError(repositorySelector: "
        "$selector) { ... on Repository { sensors { name sensorState { status } } } } }",
        {"selector": LOCATION},
    )["repositoryOrError"]
    assert {s["name"]: s["sensorState"]["status"] for s in repository["sensors"]} == {
        "customer_landing_files": "RUNNING",
        "accelerometer_landing_files": "RUNNING",
        "step_trainer_landing_files": "RUNNING",
        "stedi_automation": "RUNNING",
    }


def test_run_launched_through_graphql_materializes_and_checks_everything(dagster_dev, run_id):
    events = dagster_dev.gql(
        "query Logs($id: ID!) { logsForRun(runId: $id, limit: 5000) { ... on EventConnection { "
        "events { __typename "
        "... on MaterializationEvent { assetKey { path } metadataEntries { label "
        "... on IntMetadataEntry { intValue } } } "
        "... on AssetCheckEvaluationEvent { evaluation { assetKey { path } checkName success } } "
        "} } } }",
        {"id": run_id},
    )["logsForRun"]["events"]
    rows = {
        e["assetKey"]["path"][0]: {m["label"]: m.get("intValue") for m in e["metadataEntries"]}[
            "dagster/row_count"
        ]
        for e in events
        if e["__typename"] == "MaterializationEvent"
    }
    assert set(rows) == set(TABLES), rows
    assert all((n == 0) == name.endswith("_quarantine") for name, n in rows.items()), rows
    checks = {  # <table>.<check>: a check's name is scoped by its asset
        f"{e['evaluation']['assetKey']['path'][0]}.{e['evaluation']['checkName']}": e["evaluation"][
            "success"
        ]
        for e in events
        if e["__typename"] == "AssetCheckEvaluationEvent"
    }
    assert set(checks) == EXPECTED_CHECKS
    assert len(checks) == len(EXPECTED_CHECKS) and all(checks.values()), checks
    # and the checks the UI lists per asset, with their descriptions
    nodes = dagster_dev.gql(
        "{ assetNodes { assetKey { path } assetChecksOrError { ... on AssetChecks { "
        "checks { name description } } } } }"
    )["assetNodes"]
    listed = {
        f"{n['assetKey']['path'][0]}.{c['name']}": c["description"]
        for n in nodes
        for c in n["assetChecksOrError"]["checks"]
    }
    assert set(listed) == set(checks) and all(listed.values())


def wait_until_quiet(dev: DagsterDev, seconds: float = 240) -> None:
    """Wait until no run is queued or running and every sensor (the landing sensors, the
    automation sensor: they start runs of their own when dagster dev starts) has finished a tick
    since the last run ended: the next run, if any, would have been requested by then."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        runs = dev.gql("{ runsOrError { ... on Runs { results { status endTime } } } }")
        runs = runs["runsOrError"]["results"]
        if all(r["status"] in ("SUCCESS", "FAILURE", "CANCELED") for r in runs):
            ended = max((r["endTime"] or 0 for r in runs), default=0)
            sensors = dev.gql(
                "query Sensors($selector: RepositorySelector!) { sensorsOrError("
                "repositorySelector: $selector) { ... on Sensors { results { name sensorState { "
                "ticks(limit: 1) { status timestamp } } } } } }",
                {"selector": LOCATION},
            )["sensorsOrError"]["results"]
            ticks = [s["sensorState"]["ticks"] for s in sensors]
            if sensors and all(
                t and t[0]["status"] != "STARTED" and t[0]["timestamp"] > ended for t in ticks
            ):
                return
        time.sleep(1)
    raise AssertionError("runs kept starting")


@pytest.fixture(scope="module")
def page(dagster_dev, run_id) -> Iterator[Page]:
    wait_until_quiet(dagster_dev)
    expanded = json.dumps(
        {
            "expanded": ",".join(
                f"global@global:{zone}" for zone in ("landing", "trusted", "curated")
            )
        }
    )
    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        page = browser.new_page(viewport={"width": 2400, "height": 1400})
        # skip the community prompt, and open every group in the lineage graph
        page.add_init_script(
            "localStorage.setItem('communityNux', '\"1\"');"
            f"localStorage.setItem('asset-graph-open-graph-nodes-global-__GLOBAL__', "
            f"{json.dumps(expanded)});"
        )
        yield page
        browser.close()


def launch_browser(playwright):
    """A headless Chromium: the system's if there is one (`scripts/ensure-chromium` makes sure
    of one), else Playwright's own; a failure that says what to install otherwise."""
    system = next(filter(None, (shutil.which(name) for name in SYSTEM_BROWSERS)), None)
    try:
        return playwright.chromium.launch(executable_path=system, args=CHROMIUM_ARGS)
    except Exception as e:  # noqa: BLE001 - Playwright's error type varies by version
        pytest.fail(
            f"no browser for the UI tests ({str(e).splitlines()[0]}): install Chromium "
            "(apt-get install chromium, brew install --cask chromium) or run "
            ".venv/bin/playwright install chromium"
        )


def open_page(page: Page, dev: DagsterDev, path: str, shot: str) -> None:
    page.goto(dev.url + path, wait_until="networkidle")
    page.wait_for_timeout(1500)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{shot}.png")


def visible(page: Page, text: str) -> bool:
    found = page.get_by_text(text, exact=True)
    return found.count() > 0 and found.first.is_visible()


def test_lineage_page_shows_every_table(page, dagster_dev):
    size = page.viewport_size
    page.set_viewport_size({"width": 1800, "height": 1800})  # the whole graph, for the picture
    try:
        open_page(page, dagster_dev, "/asset-groups", "lineage")
    finally:
        page.set_viewport_size(size)
    # closer, where the nodes carry their full names
    open_page(page, dagster_dev, "/asset-groups", "lineage-detail")
    assert [name for name in TABLES if not visible(page, name)] == []
    assert (SCREENSHOTS / "lineage.png").stat().st_size > 20_000


def test_checks_page_lists_every_check_as_succeeded(page, dagster_dev):
    open_page(page, dagster_dev, "/assets/machine_learning_curated?view=checks", "checks")
    names = [  # listed under their asset by their property alone
        "all_consented",
        "count_reconciles",
        "cross_customer_pairs",
        "no_identifiers",
        "schema",
    ]
    assert [name for name in names if not visible(page, name)] == []
    assert page.get_by_text("Succeeded").count() == 8  # with Dagster's column_schema_change


def test_catalog_and_profile_pages(page, dagster_dev):
    open_page(page, dagster_dev, "/assets", "catalog")
    assert [name for name in TABLES if not visible(page, name)] == []
    open_page(page, dagster_dev, "/assets/machine_learning_curated", "machine_learning_curated")
    # the metadata table renders the rows in view: filter it down to the profile
    page.get_by_placeholder("Filter metadata keys").fill("profile")
    page.wait_for_timeout(500)
    longer = page.get_by_text("[Show Markdown]")  # the UI opens longer markdown in a dialog
    if longer.count():
        longer.first.click()
    profile = page.get_by_text("Training data profile")
    profile.wait_for(timeout=60_000)
    profile.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    page.screenshot(path=SCREENSHOTS / "profile.png")
    assert profile.is_visible()
    assert visible(page, "Pairs per subject")
    # the charts are images the browser decoded and shows (SVG data in the markdown)
    for chart in ("Pairs per subject", "One subject over time"):
        image = page.locator(f"img[alt='{chart}']")
        assert image.is_visible()
        assert image.evaluate("i => i.complete && i.naturalWidth > 300 && i.naturalHeight > 100")
