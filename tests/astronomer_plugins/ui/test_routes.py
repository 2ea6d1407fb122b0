"""The Runtime page and its JSON through a real api-server, real tokens from the real control plane."""

from __future__ import annotations

import pytest
import requests

from tests.astronomer_plugins.ui.conftest import CONNECTION_PASSWORD, DAYS_TO_END_OF_MAINTENANCE, RUNNING, UiDeployment
from tests.support.control_plane import create_user, user_token
from tests.support.servers import poll

pytestmark = pytest.mark.integration

ROUTES = [("GET", "/astronomer/runtime"), ("GET", "/astronomer/api/runtime"), ("GET", "/astronomer/api/notice"),
          ("POST", "/astronomer/api/notice/dismiss")]  # fmt: skip


def _token(deployment: UiDeployment, email: str, scope: str, role: str) -> str:
    cp, tree = deployment.control_plane, deployment.tree
    scope_id = {"organization": tree.organization_id, "workspace": tree.workspace_id}[scope]
    user = create_user(cp, tree, email, [{"scope": scope, "scope_id": scope_id, "role": role}])
    return user_token(cp, tree, user)


@pytest.fixture(scope="module")
def member(ui_deployment: UiDeployment) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {_token(ui_deployment, 'member@example.com', 'workspace', 'WORKSPACE_MEMBER')}"
    return session


@pytest.fixture(scope="module")
def synced(ui_deployment: UiDeployment, member: requests.Session) -> dict:
    """The page's JSON once the background refresh has reached the control plane."""

    def ready() -> dict | None:
        data = member.get(f"{ui_deployment.airflow.url}/astronomer/api/runtime", timeout=10).json()
        done = data["upgrades"]["source"] == "control plane" and data["deployment"]["deployment_name"]
        return data if done and data["connection"]["components"] else None

    return poll(ready, timeout=60, interval=0.5, what="the Runtime page's first control-plane refresh")


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_anonymous_and_bad_tokens_get_401(ui_deployment: UiDeployment, method: str, path: str) -> None:
    url = ui_deployment.airflow.url + path
    assert requests.request(method, url, timeout=10).status_code == 401
    bad = requests.request(method, url, headers={"Authorization": "Bearer not.a.token"}, timeout=10)
    assert bad.status_code == 401


def test_a_user_without_workspace_access_gets_403(ui_deployment: UiDeployment) -> None:
    token = _token(ui_deployment, "outsider@example.com", "organization", "ORGANIZATION_MEMBER")
    response = requests.get(f"{ui_deployment.airflow.url}/astronomer/runtime", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 403


def test_workspace_member_sees_the_runtime_page(ui_deployment: UiDeployment, member: requests.Session, synced: dict) -> None:
    import airflow

    page = member.get(f"{ui_deployment.airflow.url}/astronomer/runtime", timeout=10)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert f"Astronomer Runtime <span data-testid=\"runtime-version\">{RUNNING}</span>" in html
    assert f'data-testid="airflow-version">{airflow.__version__}<' in html
    assert "maintained until" in html and "Runtime 3.3-2" in html
    assert ui_deployment.tree.deployment_id in html and synced["deployment"]["deployment_name"] in html
    assert f"/deployments/{ui_deployment.tree.deployment_id}/status" in html
    assert "in 10 days" in html


def test_the_json_names_release_support_upgrades_and_connection(ui_deployment: UiDeployment, synced: dict) -> None:
    import airflow

    release = synced["release"]
    assert (release["runtime_version"], release["airflow_version"], release["channel"]) == (RUNNING, airflow.__version__, "stable")
    assert (release["support"], release["days_to_end_of_maintenance"]) == ("maintained", DAYS_TO_END_OF_MAINTENANCE)
    assert synced["upgrades"]["same_line"]["name"] == "3.3-2" and synced["upgrades"]["newest_line"] is None
    tree = ui_deployment.tree
    deployment = synced["deployment"]
    assert (deployment["organization_id"], deployment["workspace_id"], deployment["deployment_id"]) == (
        tree.organization_id, tree.workspace_id, tree.deployment_id)  # fmt: skip
    assert deployment["organization_name"] and deployment["workspace_name"]
    connection = synced["connection"]
    assert connection["configured"] is True
    assert [c["component"] for c in connection["components"]] == ["api-server"]
    assert connection["revocation_list_age_seconds"] is not None and connection["revocation_list_age_seconds"] < 120


def test_providers_compare_installed_with_curated(synced: dict) -> None:
    from astronomer_plugins.registration.payload import PROVIDER_PREFIX, provider_versions

    installed = {name: version for name, version in provider_versions().items() if name.startswith(PROVIDER_PREFIX)}
    rows = {row["name"]: row for row in synced["providers"]}
    assert {name: row["installed"] for name, row in rows.items() if row["installed"]} == installed
    for row in rows.values():
        expected = ("missing" if row["installed"] is None else "added" if row["curated"] is None
                    else "curated" if row["installed"] == row["curated"] else "changed")  # fmt: skip
        assert row["status"] == expected


def test_nothing_secret_is_in_the_page_or_its_json(ui_deployment: UiDeployment, member: requests.Session, synced: dict) -> None:
    secrets = {
        "agent token": ui_deployment.tree.agent_token,
        "admin token": ui_deployment.control_plane.admin_token,
        "the viewer's token": member.headers["Authorization"].split()[1],
        "a connection password": CONNECTION_PASSWORD,
        "the JWT secret": ui_deployment.airflow.env()["AIRFLOW__API_AUTH__JWT_SECRET"],
    }
    url = ui_deployment.airflow.url
    bodies = [member.get(f"{url}{path}", timeout=10).text for path in ("/astronomer/runtime", "/astronomer/api/runtime",
                                                                      "/astronomer/api/notice", "/astronomer/openapi.json")]  # fmt: skip
    for name, secret in secrets.items():
        assert all(secret not in body for body in bodies), f"{name} leaked"


def test_the_banner_is_dismissed_per_user(ui_deployment: UiDeployment, member: requests.Session) -> None:
    url = f"{ui_deployment.airflow.url}/astronomer/api/notice"
    browser = requests.Session()
    browser.headers.update(member.headers)
    notice = browser.get(url, timeout=10).json()
    assert notice["level"] == "warning" and f"in {DAYS_TO_END_OF_MAINTENANCE} days" in notice["message"]

    dismissed = browser.post(f"{url}/dismiss", timeout=10)
    assert dismissed.status_code == 204
    assert "max-age=604800" in dismissed.headers["set-cookie"].lower()  # eom_dismiss_days default 7
    assert browser.get(url, timeout=10).json() is None

    other = _token(ui_deployment, "other@example.com", "workspace", "WORKSPACE_MEMBER")
    browser.headers["Authorization"] = f"Bearer {other}"  # same browser (cookie jar), another user
    assert browser.get(url, timeout=10).json()["level"] == "warning"


def test_airflow_lists_the_runtime_view_and_the_dashboard_banner(ui_deployment: UiDeployment, member: requests.Session) -> None:
    plugins = member.get(f"{ui_deployment.airflow.url}/api/v2/plugins", timeout=10).json()["plugins"]
    ours = next(plugin for plugin in plugins if plugin["name"] == "astronomer")
    assert [(v["name"], v["href"], v["destination"]) for v in ours["external_views"]] == [("Runtime", "astronomer/runtime", "nav")]
    assert [(a["bundle_url"], a["destination"]) for a in ours["react_apps"]] == [("astronomer/static/banner.js", "dashboard")]
    bundle = requests.get(f"{ui_deployment.airflow.url}/astronomer/static/banner.js", timeout=10)
    assert bundle.status_code == 200 and "globalThis.AirflowPlugin" in bundle.text


def test_the_plugin_openapi_documents_the_json_endpoints(ui_deployment: UiDeployment) -> None:
    spec = requests.get(f"{ui_deployment.airflow.url}/astronomer/openapi.json", timeout=10).json()
    assert {"/api/runtime", "/api/notice", "/api/notice/dismiss", "/runtime"} <= set(spec["paths"])
    assert "RuntimeOverview" in spec["components"]["schemas"]
