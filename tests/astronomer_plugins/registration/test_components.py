"""All four long-lived components register, heartbeat and deregister; task processes never register.

Real processes: the reference control plane and Airflow's api-server, scheduler, dag-processor and
triggerer (LocalExecutor, so task runners are real processes too).
"""

from __future__ import annotations

import platform
import re
import socket

import pytest

from tests.astronomer_plugins.registration.conftest import agent_settings, components
from tests.support.servers import poll

pytestmark = pytest.mark.integration

ALL = ("api-server", "scheduler", "dag-processor", "triggerer")
INTERVAL = 2


def agent_requests(log_text: str, method: str, deployment_id: str, suffix: str = "") -> list[str]:
    """Agent calls seen in the control plane's access log, e.g. PUT .../components/<instance>."""
    pattern = re.compile(
        rf'"{method} /v1/deployments/{deployment_id}/components/([^ /"]+){re.escape(suffix)} HTTP/1.1" (\d+)'
    )
    return [f"{match.group(1)} {match.group(2)}" for match in pattern.finditer(log_text)]


def test_components_register_heartbeat_and_deregister(control_plane, tree, make_stack) -> None:
    stack = make_stack(agent_settings(control_plane, tree, interval=INTERVAL), fanout_tasks=12)
    stack.start(*ALL)

    def all_registered():
        stack.assert_alive()
        found = components(control_plane, tree)
        return found if {c.component.value for c in found} == set(ALL) else None

    registered = poll(all_registered, timeout=150, what="all four components to register")
    assert len(registered) == 4
    host = socket.gethostname()
    for component in registered:
        kind = component.component.value
        assert component.instance_id == f"{kind}-{host}-0"
        assert component.pid == stack.processes[kind].pid
        assert component.hostname == host
        assert component.airflow_version == "3.3.2"
        assert component.python_version == platform.python_version()
        assert component.runtime_version == "3.3-2"
        assert component.base_url == stack.base_url
        assert component.heartbeat_interval_seconds == INTERVAL
        assert component.providers["astronomer-plugins"] == "0.1.0"
        assert "apache-airflow-providers-standard" in component.providers

    # Heartbeats arrive, with the scheduler's small status.
    def heartbeating():
        found = components(control_plane, tree)
        ok = all(c.last_heartbeat is not None and c.state.value == "healthy" for c in found)
        return found if ok and len(found) == 4 else None

    by_kind = {
        c.component.value: c for c in poll(heartbeating, timeout=30, what="a heartbeat from every component")
    }
    scheduler_status = by_kind["scheduler"].last_heartbeat
    assert scheduler_status.healthy is True
    assert set(scheduler_status.details) >= {
        "running_dag_runs",
        "executor_open_slots",
        "job_heartbeat_age_seconds",
    }
    assert 0 <= scheduler_status.details["executor_open_slots"] <= 4

    # A DAG with many tasks runs green; its task processes load the plugin but do not register.
    poll(stack.healthy, timeout=60, what="the api-server to be healthy")
    state, task_instances = stack.run_dag(stack.api(), "registration_fanout", timeout=180)
    assert state == "success"
    assert len(task_instances) == 12 and {ti["state"] for ti in task_instances} == {"success"}
    assert len(components(control_plane, tree)) == 4
    puts = agent_requests(control_plane.log_path.read_text(), "PUT", tree.deployment_id)
    assert sorted(puts) == sorted(f"{kind}-{host}-0 201" for kind in ALL)
    heartbeats = agent_requests(control_plane.log_path.read_text(), "POST", tree.deployment_id, "/heartbeat")
    assert {entry.split()[0] for entry in heartbeats} == {f"{kind}-{host}-0" for kind in ALL}

    # A clean stop (SIGTERM) deregisters every component.
    stack.stop()
    deletes = agent_requests(control_plane.log_path.read_text(), "DELETE", tree.deployment_id)
    assert sorted(deletes) == sorted(f"{kind}-{host}-0 204" for kind in ALL)
    assert {c.state.value for c in components(control_plane, tree)} == {"gone"}
    for kind in ALL:
        log = stack.log(kind)
        assert f"Registered {kind} {kind}-{host}-0 with the control plane" in log
        assert f"Deregistered {kind} {kind}-{host}-0 from the control plane" in log
        assert "Traceback" not in log

    # The agent token never reaches a log: components, task logs, the control plane.
    token = tree.agent_token
    files = [*stack.all_log_files(), control_plane.log_path]
    assert len(files) > len(ALL)  # task logs were written and are searched too
    leaks = [str(path) for path in files if token in path.read_text(errors="replace")]
    assert leaks == []


def test_a_restarted_component_keeps_its_instance_id(control_plane, tree, make_stack) -> None:
    stack = make_stack(agent_settings(control_plane, tree, interval=INTERVAL))
    stack.start("triggerer")
    first = poll(lambda: components(control_plane, tree), timeout=90, what="the triggerer to register")[0]
    stack.stop("triggerer")
    stack.start("triggerer")  # same host, same deployment: a restart, not a re-creation

    def registered_again():
        found = components(control_plane, tree)
        return (
            found
            if len(found) == 1 and found[0].pid != first.pid and found[0].state.value == "healthy"
            else None
        )

    second = poll(registered_again, timeout=90, what="the restarted triggerer to register")[0]
    assert second.instance_id == first.instance_id == f"triggerer-{socket.gethostname()}-0"
