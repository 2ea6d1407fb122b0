"""Registration, heartbeats, metrics ingest, status page and feed, through the plugin's real client."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time

import pytest
import requests

from astronomer_plugins.control_plane.client import ControlPlaneClient
from astronomer_plugins.control_plane.models import (
    ComponentKind,
    ComponentRegistration,
    ComponentState,
    Heartbeat,
    MetricBatch,
    MetricPoint,
)
from astronomer_plugins.errors import ControlPlaneAuthError, ControlPlaneResponseError
from tests.support.control_plane import Tree, create_api_token, create_user, make_tree, user_token
from tests.support.servers import ControlPlaneServer

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)


def registration(kind: ComponentKind = ComponentKind.SCHEDULER, interval: int = 30) -> ComponentRegistration:
    return ComponentRegistration(
        component=kind, hostname="host-1", pid=4242, runtime_version="3.3-2", airflow_version="3.3.2",
        python_version="3.11.7", providers={"apache-airflow-providers-http": "6.1.0"},
        base_url="http://127.0.0.1:8080", started_at=NOW, heartbeat_interval_seconds=interval,
    )  # fmt: skip


@pytest.fixture
def agent(server: ControlPlaneServer, tree: Tree) -> ControlPlaneClient:
    return ControlPlaneClient(server.url, tree.agent_token)


def test_register_heartbeat_deregister(server: ControlPlaneServer, tree: Tree, agent: ControlPlaneClient) -> None:
    agent.register(tree.deployment_id, "scheduler-abc", registration())
    agent.register(tree.deployment_id, "scheduler-abc", registration())  # idempotent
    assert agent.heartbeat(tree.deployment_id, "scheduler-abc", Heartbeat(details={"running_dag_runs": 2}))
    [component] = agent.components(tree.deployment_id)
    assert (component.instance_id, component.component, component.state) == (
        "scheduler-abc", ComponentKind.SCHEDULER, ComponentState.HEALTHY,
    )  # fmt: skip
    assert component.last_heartbeat == Heartbeat(details={"running_dag_runs": 2})
    assert component.providers == {"apache-airflow-providers-http": "6.1.0"}
    agent.deregister(tree.deployment_id, "scheduler-abc")
    assert [c.state for c in agent.components(tree.deployment_id)] == [ComponentState.GONE]
    assert agent.heartbeat(tree.deployment_id, "scheduler-abc", Heartbeat()) is False  # must register again


def test_silent_component_becomes_unhealthy(tree: Tree, agent: ControlPlaneClient) -> None:
    agent.register(tree.deployment_id, "triggerer-1", registration(ComponentKind.TRIGGERER, interval=1))

    def state() -> ComponentState:
        return agent.components(tree.deployment_id)[0].state

    assert state() is ComponentState.HEALTHY
    deadline = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=15)
    while state() is ComponentState.HEALTHY and dt.datetime.now(dt.UTC) < deadline:
        time.sleep(0.2)  # polling with a deadline: 3 missed 1 s intervals make it unhealthy
    assert state() is ComponentState.UNHEALTHY
    assert agent.heartbeat(tree.deployment_id, "triggerer-1", Heartbeat())
    assert state() is ComponentState.HEALTHY


def test_metrics_batch_counts_once(server: ControlPlaneServer, tree: Tree, agent: ControlPlaneClient) -> None:
    batch = MetricBatch(
        batch_id="b-1", component=ComponentKind.SCHEDULER, instance_id="scheduler-abc",
        points=[MetricPoint(name="task.success", type="counter", value=3, tags={"dag_id": "etl"}, timestamp=NOW)],
    )  # fmt: skip
    assert agent.push_metrics(tree.deployment_id, batch).accepted == 1
    again = agent.push_metrics(tree.deployment_id, batch)
    assert (again.accepted, again.duplicate) == (0, True)
    page = requests.get(f"{server.url}/deployments/{tree.deployment_id}/status", timeout=10)
    assert page.status_code == 200 and "task.success" in page.text and "<td>3</td>" in page.text


def test_corrupt_gzip_is_a_clear_400(server: ControlPlaneServer, tree: Tree) -> None:
    response = requests.post(
        f"{server.url}/v1/deployments/{tree.deployment_id}/metrics", data=b"not gzip",
        headers={"Authorization": f"Bearer {tree.agent_token}", "Content-Encoding": "gzip"}, timeout=10,
    )  # fmt: skip
    assert response.status_code == 422 and response.json()["error"]["field"] == "body"


def test_agent_token_is_checked(server: ControlPlaneServer, tree: Tree) -> None:
    other = make_tree(server, "agent-token-other-org")
    wrong = ControlPlaneClient(server.url, "astro_agent_wrong")
    with pytest.raises(ControlPlaneAuthError) as raised:
        wrong.register(tree.deployment_id, "x-1", registration())
    assert raised.value.status == 401 and "astro_agent_wrong" not in str(raised.value)
    foreign = ControlPlaneClient(server.url, other.agent_token)
    with pytest.raises(ControlPlaneAuthError) as raised:
        foreign.revoked_tokens(tree.deployment_id)
    assert raised.value.status == 403 and other.agent_token not in str(raised.value)


def test_invalid_registration_is_rejected_with_the_field(server: ControlPlaneServer, tree: Tree) -> None:
    response = requests.put(
        f"{server.url}/v1/deployments/{tree.deployment_id}/components/sched-1",
        json={**json.loads(registration().model_dump_json()), "pid": -1},
        headers={"Authorization": f"Bearer {tree.agent_token}"}, timeout=10,
    )  # fmt: skip
    assert response.status_code == 422 and response.json()["error"]["field"] == "pid"
    client = ControlPlaneClient(server.url, tree.agent_token)
    with pytest.raises(ControlPlaneResponseError) as raised:
        client.register(tree.deployment_id, "bad id with spaces", registration())
    assert raised.value.status == 422


def test_status_page_lists_components(server: ControlPlaneServer, tree: Tree, agent: ControlPlaneClient) -> None:
    agent.register(tree.deployment_id, "api-server-1", registration(ComponentKind.API_SERVER))
    page = requests.get(f"{server.url}/deployments/{tree.deployment_id}/status", timeout=10).text
    assert "api-server-1" in page and "3.3.2" in page and tree.agent_token not in page


def test_feed_equals_the_cli_feed(server: ControlPlaneServer) -> None:
    served = ControlPlaneClient(server.url).runtime_releases()
    cli = subprocess.run([sys.executable, "-m", "astronomer_runtime", "feed"], capture_output=True, text=True, timeout=60)
    assert served == json.loads(cli.stdout)


def test_api_token_holders_can_resolve_a_deployment_endpoint(server: ControlPlaneServer, tree: Tree) -> None:
    other = make_tree(server, "endpoint-other-org")
    url = f"{server.url}/v1/deployments/{tree.deployment_id}/endpoint"
    for scope in ("deployment", "workspace"):
        role = {"deployment": "DEPLOYMENT_ADMIN", "workspace": "WORKSPACE_MEMBER"}[scope]
        _, secret = create_api_token(server, tree, scope, role)
        answer = requests.get(url, headers={"Authorization": f"Bearer {secret}"}, timeout=10)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"id": tree.deployment_id, "name": "dep", "base_url": tree.base_url, "runtime_version": "3.3-2"}
    _, foreign = create_api_token(server, other, "workspace", "WORKSPACE_OWNER")
    assert requests.get(url, headers={"Authorization": f"Bearer {foreign}"}, timeout=10).status_code == 404
    assert requests.get(url, headers={"Authorization": f"Bearer {tree.agent_token}"}, timeout=10).status_code == 401


def test_endpoint_refuses_revoked_user_tokens(server: ControlPlaneServer, tree: Tree) -> None:
    """A user's tokens are revoked when their roles change; the endpoint lookup must see that too."""
    roles = [{"scope": "deployment", "scope_id": tree.deployment_id, "role": "DEPLOYMENT_ADMIN"}]
    user_id = create_user(server, tree, "moved@example.com", roles)
    token = user_token(server, tree, user_id)
    url = f"{server.url}/v1/deployments/{tree.deployment_id}/endpoint"
    assert requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 200
    changed = server.admin().put(
        f"{server.url}/v1/organizations/{tree.organization_id}/users/{user_id}/roles", json={"roles": []}, timeout=10
    )
    assert changed.status_code == 200, changed.text
    refused = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
