"""DAG deploys end to end with real processes: the real control plane, and Airflow's dag-processor,
scheduler and api-server configured with the control-plane bundle (LocalExecutor on SQLite).

One story, in order, because each step needs the state the previous one left (and every Airflow
start costs half a minute of the machine's two cores): v1 is deployed and parsed with its bundle
version; a run created on v1 is held while v2 is deployed and parsed, then finishes on v1's code,
while a run created after runs v2's code; a rollback brings v1's code back; with the control plane
stopped the dag-processor keeps serving the last version, logs the outage once, and runs go on.
The code a task runs is read from its XCom: the DAG's message and the `include` module's text, which
also exists in the project's own include/ (the image's copy) to prove the bundle's copy wins."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from astronomer_plugins.bundles import BUNDLE_NAME
from tests.astronomer_plugins.bundles.deploys import Deployer, make_bundle, sha256
from tests.astronomer_plugins.registration.airflow_stack import AirflowStack, migrated_database
from tests.support.control_plane import Tree, deployment_settings
from tests.support.servers import ControlPlaneServer, final_state, poll, start_dag_run

pytestmark = pytest.mark.integration
DAG_ID = "deployed_hello"
TIMEOUT = 240.0
REFRESH_SECONDS = 2

DAG = '''
from __future__ import annotations

import pathlib
import time

import pendulum
from airflow.sdk import dag, task

from include.message import TEXT

MESSAGE = {message!r}


@dag(dag_id="{dag_id}", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False,
     tags=[TEXT])
def deployed_hello():
    @task
    def hold(dag_run=None):
        """Waits for the file the run's conf names (the test creates it), at most two minutes."""
        gate = (dag_run.conf or {{}}).get("gate")
        deadline = time.monotonic() + 120
        while gate and not pathlib.Path(gate).exists() and time.monotonic() < deadline:
            time.sleep(0.2)

    @task
    def report(dag_run=None):
        from include.message import TEXT as text_now

        gate = (dag_run.conf or {{}}).get("gate")
        gated = bool(gate) and pathlib.Path(gate).exists()
        return {{"message": MESSAGE, "include": text_now, "gated": gated}}

    hold() >> report()


deployed_hello()
'''


def bundle(message: str) -> bytes:
    return make_bundle(
        {
            "dags/hello.py": DAG.format(message=message, dag_id=DAG_ID),
            "include/__init__.py": "",
            "include/message.py": f"TEXT = {message!r}\n",
        }
    )


@pytest.fixture(scope="module")
def airflow_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return migrated_database(tmp_path_factory.mktemp("airflow-template"))


@pytest.fixture
def stack(
    tmp_path: Path, airflow_database: Path, control_plane: ControlPlaneServer, tree: Tree
) -> Iterator[AirflowStack]:
    bundles = [
        {
            "name": BUNDLE_NAME,
            "classpath": "astronomer_plugins.bundles.ControlPlaneDagBundle",
            "kwargs": {"refresh_interval": REFRESH_SECONDS},
        }
    ]
    settings = deployment_settings(
        control_plane,
        tree,
        AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST=json.dumps(bundles),
        AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH=str(tmp_path / "dag-bundles"),
        AIRFLOW__DAG_PROCESSOR__BUNDLE_REFRESH_CHECK_INTERVAL="1",
        AIRFLOW__ASTRONOMER__METRICS_PUSH_ENABLED="False",
    )
    stack = AirflowStack(tmp_path / "stack", airflow_database, settings, fanout_tasks=1)
    # The image's own copy of include/ (the project root is the first import root, as in the image).
    (stack.home.project / "include").mkdir(parents=True, exist_ok=True)
    (stack.home.project / "include" / "__init__.py").write_text("")
    (stack.home.project / "include" / "message.py").write_text("TEXT = 'image'\n")
    try:
        yield stack
    finally:
        stack.kill_all()


def dag_versions(api: requests.Session, stack: AirflowStack) -> list[dict]:
    response = api.get(f"{stack.base_url}/api/v2/dags/{DAG_ID}/dagVersions", timeout=10)
    return response.json()["dag_versions"] if response.ok else []


def wait_for_version(api: requests.Session, stack: AirflowStack, version: str, tag: str) -> None:
    """The dag-processor parsed `version`: its DAG version exists and the DAG's tags are its code."""

    def parsed() -> bool:
        stack.assert_alive()
        if version not in [v["bundle_version"] for v in dag_versions(api, stack)]:
            return False
        details = api.get(f"{stack.base_url}/api/v2/dags/{DAG_ID}", timeout=10).json()
        return [t["name"] for t in details["tags"]] == [tag]

    poll(parsed, timeout=TIMEOUT, interval=1, what=f"bundle version {version[:12]} parsed")


def report(api: requests.Session, run_url: str) -> dict:
    entry = api.get(f"{run_url}/taskInstances/report/xcomEntries/return_value", timeout=10)
    assert entry.status_code == 200, entry.text
    value = entry.json()["value"]
    return value if isinstance(value, dict) else json.loads(value)


def run(api: requests.Session, stack: AirflowStack, gate: Path | None = None) -> str:
    conf = {"gate": str(gate)} if gate else {}
    return start_dag_run(api, stack.base_url, DAG_ID, conf=conf)


def finish(api: requests.Session, stack: AirflowStack, run_url: str) -> dict:
    state = final_state(api, run_url, timeout=TIMEOUT, alive=stack.assert_alive)
    assert state == "success", stack.log("scheduler")[-3000:]
    return report(api, run_url)


def test_deploys_reach_airflow_as_bundle_versions_and_runs_keep_their_code(
    stack: AirflowStack, deployer: Deployer, control_plane: ControlPlaneServer, tmp_path: Path
) -> None:
    v1, v2 = bundle("v1"), bundle("v2")
    first = deployer.deploy(v1, description="v1")
    stack.start("api-server", "scheduler", "dag-processor")
    poll(stack.healthy, timeout=TIMEOUT, what="the api-server")
    api = stack.api()

    # v1 is parsed, with its bundle version and its own include/ (not the image's copy).
    wait_for_version(api, stack, sha256(v1), "v1")
    api.patch(f"{stack.base_url}/api/v2/dags/{DAG_ID}", json={"is_paused": False}, timeout=10)

    # A run created on v1 is held; v2 is deployed and parsed; a run created now is on v2.
    gate = tmp_path / "gate"
    held = run(api, stack, gate)
    assert api.get(held, timeout=10).json()["bundle_version"] == sha256(v1)
    deployer.deploy(v2, description="v2")
    wait_for_version(api, stack, sha256(v2), "v2")
    after = run(api, stack)
    assert api.get(after, timeout=10).json()["bundle_version"] == sha256(v2)
    gate.touch()
    # (`gated`: the held run's task ran after v2 was parsed, not because its wait timed out.)
    assert finish(api, stack, held) == {"message": "v1", "include": "v1", "gated": True}
    assert finish(api, stack, after) == {"message": "v2", "include": "v2", "gated": False}

    # Rollback: v1's code is current again.
    deployer.rollback(first["id"])
    wait_for_version(api, stack, sha256(v1), "v1")
    assert finish(api, stack, run(api, stack)) == {"message": "v1", "include": "v1", "gated": False}

    # Back to v2, then the control plane goes away: the last version stays, runs go on.
    deployer.deploy(v2, description="v2 again")
    wait_for_version(api, stack, sha256(v2), "v2")

    def refreshes() -> int:
        return stack.log("dag-processor").count(f"Refreshing bundle {BUNDLE_NAME}")

    refreshes_before = refreshes()
    control_plane.stop()
    try:
        poll(
            lambda: refreshes() >= refreshes_before + 4,
            timeout=TIMEOUT,
            what="four refreshes during the outage",
        )
        stack.assert_alive()
        failures = stack.log("dag-processor").count("refresh failed, keeping version " + sha256(v2))
        assert failures == 1, stack.log("dag-processor")[-4000:]
        details = api.get(f"{stack.base_url}/api/v2/dags/{DAG_ID}", timeout=10).json()
        assert details["is_stale"] is False
        assert finish(api, stack, run(api, stack)) == {"message": "v2", "include": "v2", "gated": False}
    finally:
        control_plane.start()
