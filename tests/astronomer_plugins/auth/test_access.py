"""Roles and DAG grants through a real api-server: user tokens from the real login flow, API tokens
from the management API, and the official Python client (apache-airflow-client)."""

from __future__ import annotations

import airflow_client.client as airflow_client
import pytest
import requests
from airflow_client.client.api.dag_api import DAGApi
from airflow_client.client.api.dag_run_api import DagRunApi
from airflow_client.client.models.trigger_dag_run_post_body import TriggerDAGRunPostBody

from tests.astronomer_plugins.auth.conftest import DAGS, Deployment, bearer
from tests.support.control_plane import create_api_token, create_user, user_token

pytestmark = pytest.mark.integration


def _role_token(deployment: Deployment, scope: str, role: str, email: str) -> str:
    tree = deployment.tree
    scope_id = {"organization": tree.organization_id, "workspace": tree.workspace_id, "deployment": tree.deployment_id}[scope]
    user_id = create_user(deployment.control_plane, tree, email, [{"scope": scope, "scope_id": scope_id, "role": role}])
    return user_token(deployment.control_plane, tree, user_id)


ENDPOINTS = [
    ("GET", "/api/v2/dags"),
    ("PATCH", "/api/v2/dags/etl_orders"),
    ("GET", "/api/v2/variables"),
    ("GET", "/api/v2/pools"),
    ("GET", "/api/v2/connections"),
    ("POST", "/protected/settings"),
]


@pytest.mark.parametrize(
    ("scope", "role", "expected"),
    [
        # GET dags, PATCH dag, GET variables, GET pools, GET connections, POST plugin settings
        ("organization", "ORGANIZATION_MEMBER", (403, 403, 403, 403, 403, 403)),
        ("workspace", "WORKSPACE_MEMBER", (200, 403, 403, 403, 403, 403)),
        ("workspace", "WORKSPACE_AUTHOR", (200, 200, 200, 200, 403, 403)),
        ("workspace", "WORKSPACE_OPERATOR", (200, 200, 200, 200, 200, 403)),
        ("workspace", "WORKSPACE_OWNER", (200, 200, 200, 200, 200, 200)),
        ("deployment", "DEPLOYMENT_ADMIN", (200, 200, 200, 200, 200, 200)),
        ("organization", "ORGANIZATION_OWNER", (200, 200, 200, 200, 200, 200)),
    ],
)
def test_user_roles_over_http(deployment: Deployment, scope: str, role: str, expected: tuple[int, ...]) -> None:
    token = _role_token(deployment, scope, role, f"{role.lower()}@example.com")
    statuses = []
    for method, path in ENDPOINTS:
        body = {"is_paused": True} if method == "PATCH" else None
        statuses.append(requests.request(method, deployment.airflow.url + path, json=body, headers=bearer(token), timeout=10).status_code)
    assert tuple(statuses) == expected


def test_deployment_api_token_acts_as_operator(deployment: Deployment) -> None:
    _, secret = create_api_token(deployment.control_plane, deployment.tree, "deployment", "DEPLOYMENT_ADMIN")
    url = deployment.airflow.url
    assert requests.get(f"{url}/api/v2/connections", headers=bearer(secret), timeout=10).status_code == 200
    assert requests.post(f"{url}/protected/settings", headers=bearer(secret), timeout=10).status_code == 403


def _listed(deployment: Deployment, token: str) -> set[str]:
    response = requests.get(f"{deployment.airflow.url}/api/v2/dags", headers=bearer(token), timeout=10)
    assert response.status_code == 200, response.text
    return {dag["dag_id"] for dag in response.json()["dags"]}


def test_dag_grants_filter_lists(deployment: Deployment) -> None:
    cp, tree = deployment.control_plane, deployment.tree
    by_tag = create_user(cp, tree, "finance@example.com",
                         [{"scope": "deployment", "scope_id": tree.deployment_id, "role": "WORKSPACE_MEMBER", "dag_tag": "finance"}])  # fmt: skip
    assert _listed(deployment, user_token(cp, tree, by_tag)) == {d for d, tags in DAGS.items() if "finance" in tags}
    by_prefix = create_user(cp, tree, "etl@example.com",
                            [{"scope": "deployment", "scope_id": tree.deployment_id, "role": "WORKSPACE_AUTHOR", "dag_prefix": "etl_"}])  # fmt: skip
    token = user_token(cp, tree, by_prefix)
    assert _listed(deployment, token) == {"etl_orders", "etl_users"}
    url = deployment.airflow.url
    assert requests.get(f"{url}/api/v2/dags/report_daily", headers=bearer(token), timeout=10).status_code == 403
    assert requests.patch(f"{url}/api/v2/dags/etl_users", json={"is_paused": True}, headers=bearer(token), timeout=10).status_code == 200


def _client(deployment: Deployment, token: str) -> airflow_client.ApiClient:
    configuration = airflow_client.Configuration(host=deployment.airflow.url, access_token=token)
    return airflow_client.ApiClient(configuration)


def test_official_python_client(deployment: Deployment) -> None:
    cp, tree = deployment.control_plane, deployment.tree
    _, operator = create_api_token(cp, tree, "workspace", "WORKSPACE_OPERATOR")
    with _client(deployment, operator) as client:
        dags = DAGApi(client).get_dags()
        assert {dag.dag_id for dag in dags.dags} == set(DAGS)
        run = DagRunApi(client).trigger_dag_run("etl_orders", TriggerDAGRunPostBody(logical_date=None))
        assert run.dag_id == "etl_orders"

    _, member = create_api_token(cp, tree, "workspace", "WORKSPACE_MEMBER")
    with _client(deployment, member) as client:
        with pytest.raises(airflow_client.ApiException) as raised:
            DagRunApi(client).trigger_dag_run("etl_orders", TriggerDAGRunPostBody(logical_date=None))
        assert raised.value.status == 403

    _, scoped = create_api_token(cp, tree, "workspace", "WORKSPACE_OPERATOR", dags=[{"prefix": "report_"}])
    with _client(deployment, scoped) as client:
        assert {dag.dag_id for dag in DAGApi(client).get_dags().dags} == {"report_daily"}
        with pytest.raises(airflow_client.ApiException) as raised:
            DagRunApi(client).trigger_dag_run("etl_orders", TriggerDAGRunPostBody(logical_date=None))
        assert raised.value.status == 403
        assert DagRunApi(client).trigger_dag_run("report_daily", TriggerDAGRunPostBody(logical_date=None)).dag_id == "report_daily"
