"""For real: a statsd daemon, the reference control plane and Airflow's components running the example DAG.

One local runtime (`astro-runtime dev --without-control-plane`, pointed at our own control-plane process
so the test can take it down) sends tagged statsd to Etsy's statsd and pushes to the control plane every
2 s with a buffer of 4 points. Then the control plane goes away for several intervals while DAG runs go
on: the runs succeed, the buffer stays bounded, drops are counted, and pushing resumes.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections import Counter

import pytest
import requests

from astronomer_runtime.local.supervisor import processes_with_env
from tests.astronomer_plugins.metrics.statsd_daemon import StatsdDaemon, require_statsd
from tests.support.control_plane import make_tree
from tests.support.servers import ControlPlaneServer, final_state, free_port, poll, start_dag_run

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DAG_ID = "example_runtime_hello"
BUFFER = 4
TASKS = {"runtime_version", "greet"}



@pytest.fixture(scope="module")
def statsd(tmp_path_factory: pytest.TempPathFactory):
    require_statsd()
    daemon = StatsdDaemon(tmp_path_factory.mktemp("statsd")).start()
    try:
        yield daemon
    finally:
        daemon.stop()


@pytest.fixture(scope="module")
def control_plane(tmp_path_factory: pytest.TempPathFactory):
    server = ControlPlaneServer(tmp_path_factory.mktemp("cp") / "data").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def airflow(tmp_path_factory: pytest.TempPathFactory, statsd: StatsdDaemon, control_plane: ControlPlaneServer):
    tree = make_tree(control_plane, "metrics-it")
    root = tmp_path_factory.mktemp("airflow")
    home, log_path, port = root / "home", root / "runtime.log", free_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith("AIRFLOW")}
    env.update({
        "AIRFLOW__ASTRONOMER__STATSD_HOST": "127.0.0.1",
        "AIRFLOW__ASTRONOMER__STATSD_PORT": str(statsd.port),
        "AIRFLOW__ASTRONOMER__CONTROL_PLANE_URL": control_plane.url,
        "AIRFLOW__ASTRONOMER__ORGANIZATION_ID": tree.organization_id,
        "AIRFLOW__ASTRONOMER__WORKSPACE_ID": tree.workspace_id,
        "AIRFLOW__ASTRONOMER__DEPLOYMENT_ID": tree.deployment_id,
        "AIRFLOW__ASTRONOMER__AGENT_TOKEN": tree.agent_token,
        "AIRFLOW__ASTRONOMER__METRICS_PUSH_INTERVAL": "2",
        "AIRFLOW__ASTRONOMER__METRICS_BUFFER_SIZE": str(BUFFER),
        "AIRFLOW__ASTRONOMER__METRICS_EXTRA_TAGS": "team:it|x",
    })  # fmt: skip
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "astronomer_runtime", "dev", "--without-control-plane", "--port", str(port),
             "--home", str(home)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env,
        )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    try:
        def healthy() -> bool:
            if process.poll() is not None:
                pytest.fail(f"the local runtime exited:\n{log_path.read_text()[-4000:]}")
            try:
                return requests.get(f"{base_url}/api/v2/monitor/health", timeout=2).ok
            except requests.ConnectionError:
                return False

        poll(healthy, timeout=180, what="the api-server")
        password = json.loads((home / "simple_auth_manager_passwords.json").read_text())["admin"]
        token = requests.post(f"{base_url}/auth/token", json={"username": "admin", "password": password}, timeout=10)
        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        poll(lambda: api.get(f"{base_url}/api/v2/dags/{DAG_ID}", timeout=10).ok, timeout=120, what="the DAG to be parsed")
        assert api.patch(f"{base_url}/api/v2/dags/{DAG_ID}", json={"is_paused": False}, timeout=10).ok
        yield {"api": api, "base_url": base_url, "tree": tree, "log": log_path, "process": process}
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for pid in processes_with_env("AIRFLOW_HOME", str(home)):
            os.kill(pid, signal.SIGKILL)


def _run_dag(airflow: dict) -> str:
    api = airflow["api"]
    return final_state(api, start_dag_run(api, airflow["base_url"], DAG_ID), timeout=180)


def _batches(control_plane: ControlPlaneServer, deployment_id: str) -> list[dict]:
    with sqlite3.connect(control_plane.data_dir / "control-plane.db") as db:
        rows = db.execute("SELECT batch FROM metric_batches WHERE deployment_id = ? ORDER BY id", (deployment_id,)).fetchall()
    return [json.loads(row[0]) for row in rows]


def _task_outcomes(batches: list[dict]) -> Counter[tuple[str, str]]:
    totals: Counter[tuple[str, str]] = Counter()
    for batch in batches:
        for point in batch["points"]:
            if point["name"] == "astronomer.task.outcome":
                totals[(point["tags"]["task_id"], point["tags"]["outcome"])] += point["value"]
    return totals


def _has_key(counters: dict[str, float], name: str, *tags: str) -> bool:
    return any(key.split(";")[0] == name and all(tag in key.split(";") for tag in tags) for key in counters)


def test_tagged_statsd_and_push_then_an_outage(airflow: dict, statsd: StatsdDaemon, control_plane: ControlPlaneServer) -> None:
    tree = airflow["tree"]
    identity = (f"organization={tree.organization_id}", f"workspace={tree.workspace_id}",
                f"deployment={tree.deployment_id}", "team=it_x")  # fmt: skip
    assert _run_dag(airflow) == "success"

    # statsd received Airflow's metrics and ours, every constant tag parsed as a tag.
    expected = [
        ("airflow.scheduler_heartbeat", (*identity, "component=scheduler")),
        ("airflow.ti.finish", (*identity, "component=worker", f"dag_id={DAG_ID}", "task_id=greet", "state=success")),
        ("airflow.astronomer.task.outcome", (*identity, "component=worker", f"dag_id={DAG_ID}", "task_id=runtime_version",
                                             "operator=_PythonDecoratedOperator", "outcome=success")),
        ("airflow.astronomer.dag_run.outcome", (*identity, "component=scheduler", f"dag_id={DAG_ID}", "outcome=success")),
    ]  # fmt: skip
    poll(lambda: all(_has_key(statsd.counters(), name, *tags) for name, tags in expected), timeout=60,
          what=f"statsd to aggregate {expected}; it has {sorted(statsd.counters())[:40]}")  # fmt: skip
    assert statsd.counters()["statsd.bad_lines_seen"] == 0
    assert any(line.startswith("airflow.astronomer.dag_run.duration:") and "|ms|#" in line for line in statsd.received_lines())

    # The control plane got batches whose counts equal the run's task outcomes.
    poll(lambda: _task_outcomes(_batches(control_plane, tree.deployment_id)) == {(t, "success"): 1 for t in TASKS},
          timeout=30, what="the push of the run's task outcomes")  # fmt: skip
    page = requests.get(f"{control_plane.url}/deployments/{tree.deployment_id}/status", timeout=10).text
    assert "id='tasks-success'>2<" in page and "id='tasks-failed'>0<" in page and DAG_ID in page

    # Every batch names the instance its component registered as (one identity per component).
    with sqlite3.connect(control_plane.data_dir / "control-plane.db") as db:
        registered = dict(db.execute(
            "SELECT instance_id, json_extract(registration, '$.component') FROM component_instances WHERE deployment_id = ?",
            (tree.deployment_id,),
        ).fetchall())  # fmt: skip
    pushed = {(b["instance_id"], b["component"]) for b in _batches(control_plane, tree.deployment_id)}
    assert ("scheduler" in {kind for _, kind in pushed}) and pushed <= set(registered.items()), (pushed, registered)

    # Outage: several push intervals without a control plane while two runs finish.
    control_plane.stop()
    assert _run_dag(airflow) == "success"
    assert _run_dag(airflow) == "success"
    poll(lambda: "control plane unavailable" in airflow["log"].read_text(), timeout=30, what="the metrics job to notice the outage")
    assert airflow["process"].poll() is None
    control_plane.start()
    def resumed() -> list[dict]:
        return [b for b in _batches(control_plane, tree.deployment_id) if b["dropped_points"] > 0]

    after = poll(resumed, timeout=30, what="a push reporting the dropped points")[0]
    drops = [p["value"] for p in after["points"] if p["name"] == "astronomer.metrics.dropped_points"]
    assert drops == [after["dropped_points"]]
    assert len(after["points"]) <= BUFFER + 1  # the bound held for the whole outage
    total_points = sum(len(b["points"]) for b in _batches(control_plane, tree.deployment_id))
    assert total_points > 0 and after["dropped_points"] >= 4  # two runs made 8 points, 4 fit
    assert _has_key(statsd.counters(), "airflow.astronomer.metrics.dropped_points", *identity)

    # Pushing resumed: a fresh run after the outage arrives with exact counts.
    seen = len(_batches(control_plane, tree.deployment_id))
    assert _run_dag(airflow) == "success"
    poll(lambda: _task_outcomes(_batches(control_plane, tree.deployment_id)[seen:]) == {(t, "success"): 1 for t in TASKS},
          timeout=30, what="the push after the outage")  # fmt: skip
