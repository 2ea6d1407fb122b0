"""CeleryExecutor for real: PostgreSQL (metadata and Celery results), Redis (broker), the scheduler,
dag-processor, triggerer, api-server and `airflow celery worker` processes on different queues, with
the reference control plane. One stack for the module (CPU is scarce); the tests run in order.
"""

from __future__ import annotations

import importlib.metadata
import json
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from astronomer_plugins.control_plane.models import ComponentStatus
from astronomer_runtime import locks
from tests.support.celery import CeleryStack, celery_provider_import
from tests.support.control_plane import Tree, deployment_settings, make_tree
from tests.support.postgres import PostgresServer
from tests.support.redis import RedisServer
from tests.support.servers import ControlPlaneServer, final_state, poll, start_dag_run

pytestmark = [pytest.mark.integration, pytest.mark.slow]

INTERVAL = 2  # heartbeat seconds: the control plane calls a worker unhealthy after 3 missed ones
CONCURRENCY = 2
DAG = """
from __future__ import annotations

import os

import pendulum
from airflow.sdk import dag, task


@dag(dag_id="{dag_id}", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False)
def fanout():
    @task
    def work() -> str:
        return os.environ.get("ASTRO_TEST_WORKER", "")

    for i, queue in enumerate({queues!r}):
        work.override(task_id=f"on_{{queue}}_{{i}}", queue=queue)()


fanout()
"""


def test_the_locked_celery_runs_the_celery_provider() -> None:
    """celery 5.7.0 removed `celery.backends.database.retry`, which every curated celery provider
    imports, so versions.yaml holds celery below 5.7 (constraints): the venv's celery is the lock's
    and CeleryExecutor loads with it, as in the image."""
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    lock = json.loads(locks.INDEX_FILE.read_text())["newest_stable"][python]["lock"]
    locked = locks.pins((locks.LOCKS_DIR / lock).read_text())["celery"]
    venv = importlib.metadata.version("celery")
    assert venv == locked, f"the venv has celery {venv}, runtime/locks/{lock} {locked}: run `make venv`"
    result = celery_provider_import()
    assert result.returncode == 0, f"CeleryExecutor does not import with celery {locked}:\n{result.stderr}"


class StatsdLines:
    """A UDP socket on 127.0.0.1 that keeps every statsd line it receives (a thread reads it)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                packet = self.sock.recv(65535)
            except OSError:
                return
            self.lines.extend(packet.decode(errors="replace").splitlines())


@pytest.fixture(scope="module")
def statsd() -> Iterator[StatsdLines]:
    receiver = StatsdLines()
    try:
        yield receiver
    finally:
        receiver.sock.close()


@pytest.fixture(scope="module")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlaneServer]:
    server = ControlPlaneServer(tmp_path_factory.mktemp("celery") / "control-plane").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def tree(control_plane: ControlPlaneServer) -> Tree:
    return make_tree(control_plane, "celery-org")


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory,
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    control_plane: ControlPlaneServer,
    tree: Tree,
    statsd: StatsdLines,
) -> Iterator[CeleryStack]:
    """scheduler + dag-processor + triggerer + api-server, workers `alpha` and `beta` on their queues."""
    settings = deployment_settings(
        control_plane,
        tree,
        AIRFLOW__ASTRONOMER__HEARTBEAT_INTERVAL=str(INTERVAL),
        AIRFLOW__ASTRONOMER__STATSD_HOST="127.0.0.1",
        AIRFLOW__ASTRONOMER__STATSD_PORT=str(statsd.port),
    )
    stack = CeleryStack(
        Path(tmp_path_factory.mktemp("celery-stack")),
        postgres_server.create_database("airflow_celery"),
        redis_server.url,
        settings,
    )
    stack.add_dag("celery_fanout", DAG.format(dag_id="celery_fanout", queues=["alpha", "beta"] * 3))
    stack.add_dag("celery_gamma", DAG.format(dag_id="celery_gamma", queues=["gamma"]))
    try:
        stack.migrate()
        stack.start("api-server", "scheduler", "dag-processor", "triggerer")
        stack.start_worker("alpha", ["alpha"], CONCURRENCY)
        stack.start_worker("beta", ["beta"], CONCURRENCY)
        poll(stack.healthy, timeout=180, what="the api-server to be healthy")
        for name in ("alpha", "beta"):
            poll(lambda name=name: stack.worker_ready(name), timeout=120, what=f"worker {name} ready")
        yield stack
    finally:
        stack.kill_all()


def components(server: ControlPlaneServer, tree: Tree) -> list[ComponentStatus]:
    response = requests.get(
        f"{server.url}/v1/deployments/{tree.deployment_id}/components",
        headers={"Authorization": f"Bearer {tree.agent_token}"},
        timeout=10,
    )
    response.raise_for_status()
    return [ComponentStatus.model_validate(item) for item in response.json()]


def workers(server: ControlPlaneServer, tree: Tree) -> dict[str, ComponentStatus]:
    """The deployment's workers by the queues they consume (`alpha`, `beta`, ...)."""
    return {",".join(c.queues or []): c for c in components(server, tree) if c.component.value == "worker"}


def run_dag(stack: CeleryStack, api: requests.Session, dag_id: str) -> str:
    stack.wait_parsed(api, dag_id)
    return start_dag_run(api, stack.base_url, dag_id)


def returned_values(api: requests.Session, run_url: str) -> dict[str, str]:
    """What each task returned (the name of the worker that ran it), by task id."""
    tis = api.get(f"{run_url}/taskInstances", timeout=10).json()["task_instances"]
    values = {}
    for ti in tis:
        entry = api.get(f"{run_url}/taskInstances/{ti['task_id']}/xcomEntries/return_value", timeout=10)
        assert entry.status_code == 200, entry.text
        values[ti["task_id"]] = entry.json()["value"]
    return values


def test_a_fanout_across_two_queues_runs_on_the_workers_of_those_queues(stack: CeleryStack) -> None:
    api = stack.api()
    run_url = run_dag(stack, api, "celery_fanout")
    assert final_state(api, run_url, timeout=240, alive=stack.assert_alive) == "success"
    ran_on = returned_values(api, run_url)
    assert len(ran_on) == 6
    assert {task_id: worker for task_id, worker in ran_on.items()} == {
        task_id: task_id.split("_")[1] for task_id in ran_on
    }


def test_task_metrics_from_the_workers_carry_the_worker_tags(statsd: StatsdLines, tree: Tree) -> None:
    """Each task runner in a Celery worker counts its outcome and sends it tagged as a worker of
    this deployment (DogStatsD tags)."""

    def outcomes() -> list[str]:
        return [line for line in statsd.lines if line.startswith("airflow.astronomer.task.outcome:")]

    poll(lambda: len(outcomes()) >= 6, timeout=60, interval=0.5, what="six task outcome metrics")
    for line in outcomes():
        tags = set(line.split("|#", 1)[1].split(","))
        assert {"component:worker", f"deployment:{tree.deployment_id}", "dag_id:celery_fanout"} <= tags, line
        assert {f"organization:{tree.organization_id}", f"workspace:{tree.workspace_id}"} <= tags, line


def test_each_worker_registers_as_a_worker_with_its_queues_and_concurrency(
    stack: CeleryStack, control_plane: ControlPlaneServer, tree: Tree
) -> None:
    def both_heartbeating() -> dict[str, ComponentStatus] | None:
        stack.assert_alive()
        found = workers(control_plane, tree)
        ready = set(found) == {"alpha", "beta"} and all(
            w.last_heartbeat is not None and w.state.value == "healthy" for w in found.values()
        )
        return found if ready else None

    found = poll(both_heartbeating, timeout=60, what="both workers to register and heartbeat")
    host = socket.gethostname()
    assert sorted(w.instance_id for w in found.values()) == [f"worker-{host}-0", f"worker-{host}-1"]
    for name, worker in found.items():
        assert worker.queues == [name]
        assert worker.concurrency == CONCURRENCY
        assert worker.pid == stack.processes[name].pid  # the worker's main process, not a pool child
        assert worker.heartbeat_interval_seconds == INTERVAL
        assert worker.last_heartbeat is not None and "active_tasks" in worker.last_heartbeat.details
        assert f"Registered worker {worker.instance_id} with the control plane" in stack.log(name)
    # Six task runners ran in the workers: none of them registered.
    kinds = sorted(c.component.value for c in components(control_plane, tree))
    assert kinds == ["api-server", "dag-processor", "scheduler", "triggerer", "worker", "worker"]


def test_a_task_on_a_queue_without_a_worker_waits_then_runs_when_one_starts(
    stack: CeleryStack, control_plane: ControlPlaneServer, tree: Tree
) -> None:
    api = stack.api()
    run_url = run_dag(stack, api, "celery_gamma")
    ti_url = f"{run_url}/taskInstances/on_gamma_0"
    poll(lambda: api.get(ti_url, timeout=10).json()["state"] == "queued", timeout=120, what="the task queued")
    # Queued on "gamma", which nobody consumes: still queued once both workers have heartbeat again.
    seen = {w.instance_id: w.last_heartbeat_at for w in workers(control_plane, tree).values()}
    poll(
        lambda: all(
            w.last_heartbeat_at != seen[w.instance_id] for w in workers(control_plane, tree).values()
        ),
        timeout=30,
        what="another heartbeat of both workers",
    )
    assert api.get(ti_url, timeout=10).json()["state"] == "queued"
    stack.start_worker("gamma", ["gamma"], 1)
    assert final_state(api, run_url, timeout=180, alive=stack.assert_alive) == "success"
    assert returned_values(api, run_url) == {"on_gamma_0": "gamma"}


def test_a_warm_shutdown_deregisters_the_worker(
    stack: CeleryStack, control_plane: ControlPlaneServer, tree: Tree
) -> None:
    gamma = poll(
        lambda: workers(control_plane, tree).get("gamma"), timeout=60, what="worker gamma registered"
    )
    assert gamma.state.value == "healthy"
    assert stack.stop("gamma", signal.SIGTERM) == 0
    assert workers(control_plane, tree)["gamma"].state.value == "gone"
    log = stack.log("gamma")
    assert f"Deregistered worker {gamma.instance_id} from the control plane" in log
    assert "Traceback" not in log


def test_a_killed_worker_turns_unhealthy_after_its_missed_heartbeats(
    stack: CeleryStack, control_plane: ControlPlaneServer, tree: Tree
) -> None:
    beta = workers(control_plane, tree)["beta"]
    stack.stop("beta", signal.SIGKILL)
    unhealthy = poll(
        lambda: workers(control_plane, tree)["beta"].state.value == "unhealthy",
        timeout=6 * INTERVAL + 15,
        interval=0.5,
        what="the killed worker to turn unhealthy",
    )
    assert unhealthy
    assert workers(control_plane, tree)["alpha"].state.value == "healthy"
    assert beta.instance_id == workers(control_plane, tree)["beta"].instance_id
    # The token never reached a worker's log.
    assert all(tree.agent_token not in stack.log(name) for name in ("alpha", "beta", "gamma"))
