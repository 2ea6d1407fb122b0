"""Registration under faults, with real processes: the control plane down at start, killed mid-run,
refusing the agent token, or hung. Airflow starts, runs tasks and stops as if nothing happened."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.astronomer_plugins.registration.airflow_stack import rss_kib, thread_count
from tests.astronomer_plugins.registration.conftest import agent_settings, components
from tests.support.servers import poll

pytestmark = pytest.mark.integration

ALL = ("api-server", "scheduler", "dag-processor", "triggerer")
UNAVAILABLE = "Control plane unavailable for"


def _registered(server, tree, kinds) -> list:
    found = components(server, tree)
    ok = {c.component.value for c in found if c.state.value == "healthy"} == set(kinds)
    return found if ok else []


def test_control_plane_down_at_start_registers_within_one_interval_of_its_return(
    control_plane, tree, make_stack
) -> None:
    interval = 3
    stack = make_stack(agent_settings(control_plane, tree, interval=interval))
    control_plane.stop()  # the deployment and its token exist; the service is down
    started = time.monotonic()
    stack.start(*ALL)

    # Airflow starts normally and runs the DAG green while the control plane is away.
    poll(stack.healthy, timeout=120, what="the api-server to be healthy")
    state, task_instances = stack.run_dag(stack.api(), "registration_fanout", timeout=180)
    assert state == "success" and {ti["state"] for ti in task_instances} == {"success"}

    # The control plane returns 20 s after Airflow started (later if the run took longer).
    poll(lambda: time.monotonic() - started >= 20, timeout=25, what="20 s of control-plane outage")
    stack.assert_alive()
    control_plane.start()
    back = dt.datetime.now(dt.UTC)
    found = poll(
        lambda: _registered(control_plane, tree, ALL), timeout=interval + 15, what="all four to register"
    )
    latest = max(c.registered_at for c in found)
    assert (latest - back).total_seconds() <= interval + 1.0, [
        (c.component.value, c.registered_at) for c in found
    ]

    stack.assert_alive()
    for kind in ALL:
        log = stack.log(kind)
        assert log.count(UNAVAILABLE) == 1, kind  # one WARNING for the whole outage, no flood
        assert f"Registered {kind} " in log


API_POOL_SLACK = 4


def test_control_plane_outage_mid_run_costs_no_task_and_no_resources(control_plane, tree, make_stack) -> None:
    interval = 1
    kinds = ("api-server", "scheduler", "dag-processor")
    stack = make_stack(agent_settings(control_plane, tree, interval=interval), fanout_tasks=16)
    stack.start(*kinds)
    poll(lambda: _registered(control_plane, tree, kinds), timeout=150, what="three components to register")
    poll(stack.healthy, timeout=60, what="the api-server to be healthy")
    api = stack.api()
    state, _ = stack.run_dag(api, "registration_fanout", timeout=180)  # warm-up run
    assert state == "success"

    pids = {kind: stack.processes[kind].pid for kind in kinds}
    before = {kind: (thread_count(pid), rss_kib(pid)) for kind, pid in pids.items()}
    os.killpg(control_plane.process.pid, signal.SIGKILL)  # a crash, not a clean stop
    control_plane.process.wait()
    outage_started = time.monotonic()

    state, task_instances = stack.run_dag(api, "registration_fanout", timeout=180)
    poll(
        lambda: time.monotonic() - outage_started >= 12 * interval,
        timeout=30,
        what="an outage of 12 heartbeats",
    )
    during = {kind: (thread_count(pid), rss_kib(pid)) for kind, pid in pids.items()}
    assert state == "success"
    assert len(task_instances) == 16 and {ti["state"] for ti in task_instances} == {"success"}

    control_plane.start()
    back = dt.datetime.now(dt.UTC)

    def heartbeating_again() -> list:
        found = _registered(control_plane, tree, kinds)
        return found if found and all(c.last_heartbeat_at > back for c in found) else []

    found = poll(
        heartbeating_again, timeout=interval + 10, what="heartbeats after the control plane's return"
    )
    assert max(c.last_heartbeat_at for c in found) - back <= dt.timedelta(seconds=interval + 1.0)
    after = {kind: (thread_count(pid), rss_kib(pid)) for kind, pid in pids.items()}

    stack.assert_alive()
    for kind in kinds:
        assert stack.log(kind).count(UNAVAILABLE) == 1, kind
        assert f"Heartbeats of {kind} {kind}-" in stack.log(kind)  # the recovery line
        # No thread per retry (that would be 12+ more). The api-server's request thread pool (anyio)
        # grows and shrinks with the concurrent API calls this test makes, hence its small slack.
        allowed = before[kind][0] + (API_POOL_SLACK if kind == "api-server" else 0)
        assert during[kind][0] <= allowed, (kind, before[kind], during[kind])
        assert after[kind][0] <= allowed, (kind, before[kind], after[kind])
        assert during[kind][1] - before[kind][1] < 30 * 1024, (kind, before[kind], during[kind])  # KiB
    assert {c.instance_id for c in found} == {f"{kind}-{socket.gethostname()}-0" for kind in kinds}


def test_refused_token_logs_one_error_and_recovers_when_the_token_file_is_fixed(
    control_plane, tree, make_stack
) -> None:
    interval = 1
    settings = agent_settings(control_plane, tree, interval=interval)
    token_file = Path(settings["AIRFLOW__ASTRONOMER__AGENT_TOKEN_FILE"])
    wrong_token = "astro_agent_WRONG_" + "x" * 32
    token_file.write_text(wrong_token + "\n")
    stack = make_stack(settings)
    stack.start("scheduler")

    refused = "The control plane refused the agent token (HTTP 401)"
    poll(lambda: stack.assert_alive() or refused in stack.log("scheduler"), timeout=90, what="the ERROR line")
    first_error = time.monotonic()
    poll(lambda: time.monotonic() - first_error >= 5 * interval, timeout=10, what="five heartbeat intervals")
    log = stack.log("scheduler")
    lines = [line for line in log.splitlines() if refused in line]
    assert len(lines) == 1
    assert "[error" in lines[0] and "AIRFLOW__ASTRONOMER__AGENT_TOKEN_FILE" in lines[0]
    assert wrong_token not in log and tree.agent_token not in log
    assert control_plane.log_path.read_text().count("/components/scheduler-") == 1  # slow retries: not yet
    stack.assert_alive()

    token_file.write_text(tree.agent_token + "\n")  # the secret is rotated in place
    poll(lambda: _registered(control_plane, tree, ["scheduler"]), timeout=10 * interval * 1.1 + 10,
         what="registration with the fixed token")  # fmt: skip
    stack.assert_alive()
    assert tree.agent_token not in stack.log("scheduler") and wrong_token not in stack.log("scheduler")


class HungServer:
    """Accepts TCP connections on 127.0.0.1 and never answers: a control plane that hangs."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.connections: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(connection)

    def close(self) -> None:
        self.sock.close()
        for connection in self.connections:
            connection.close()


@pytest.fixture
def hung_server() -> Iterator[HungServer]:
    server = HungServer()
    try:
        yield server
    finally:
        server.close()


def test_hung_control_plane_neither_blocks_start_nor_delays_stop(
    control_plane, tree, make_stack, hung_server
) -> None:
    settings = agent_settings(control_plane, tree, interval=2)
    settings["AIRFLOW__ASTRONOMER__CONTROL_PLANE_URL"] = hung_server.url
    stack = make_stack(settings)
    stack.start("scheduler")
    poll(lambda: stack.assert_alive() or "Registering scheduler" in stack.log("scheduler"), timeout=90,
         what="registration to begin")  # fmt: skip
    # The scheduler loop runs although the registration call hangs (our read timeout is 5 s).
    poll(lambda: len(hung_server.connections) >= 1, timeout=10, what="the registration call to hang")
    # A SIGTERM while the executor is still starting can hang Airflow's own shutdown (executor.end)
    # before any listener runs; stop once the loop runs, as a deployment's scale-down would.
    poll(stack.scheduler_loop_running, timeout=60, what="the scheduler loop")
    taken = stack.stop("scheduler")["scheduler"]
    log = stack.log("scheduler")
    # Gave up on the DELETE within its 2 s budget.
    assert "Could not deregister scheduler-" in log, (taken, log[-3000:])
    assert taken < 12, taken
    assert stack.processes["scheduler"].returncode == 0
