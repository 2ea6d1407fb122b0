"""Browser login through the control plane's user picker, with a real HTTP client keeping cookies."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import requests

from tests.astronomer_plugins.auth.conftest import Deployment
from tests.control_plane.flows import create_user, pick_user

pytestmark = pytest.mark.integration


def _start(deployment: Deployment, browser: requests.Session, next_url: str) -> str:
    """Airflow's login entry point; returns the control plane's /authorize URL it sends us to."""
    api = deployment.airflow.url
    first = browser.get(f"{api}/api/v2/auth/login", params={"next": next_url}, allow_redirects=False, timeout=10)
    assert first.status_code == 307 and first.headers["Location"].startswith("/auth/login")
    second = browser.get(api + first.headers["Location"], allow_redirects=False, timeout=10)
    assert second.status_code == 303
    assert second.headers["Location"].startswith(f"{deployment.control_plane.url}/authorize?")
    assert "HttpOnly" in second.headers["Set-Cookie"] and "SameSite=lax" in second.headers["Set-Cookie"]
    return second.headers["Location"]


def _member(deployment: Deployment, email: str) -> str:
    tree = deployment.tree
    return create_user(deployment.control_plane, tree, email, [{"scope": "workspace", "scope_id": tree.workspace_id, "role": "WORKSPACE_MEMBER"}])


def test_browser_login_lands_on_the_requested_page_with_a_session_cookie(deployment: Deployment) -> None:
    browser = requests.Session()
    authorize = _start(deployment, browser, "/dags/etl_orders")
    assert parse_qs(urlsplit(authorize).query)["code_challenge_method"] == ["S256"]
    callback = pick_user(deployment.control_plane, authorize, _member(deployment, "browser@example.com"))
    assert callback.startswith(f"{deployment.airflow.url}/auth/callback?")
    landed = browser.get(callback, allow_redirects=False, timeout=10)
    assert landed.status_code == 303, landed.text
    assert landed.headers["Location"] == "/dags/etl_orders"
    session_cookie = [c for c in landed.headers["Set-Cookie"].split(", _") if c.lstrip("_").startswith("token=")]
    assert session_cookie and "HttpOnly" in session_cookie[0] and "SameSite=lax" in session_cookie[0]
    assert "Secure" not in session_cookie[0]  # plain http in tests; https base URLs get Secure
    me = browser.get(f"{deployment.airflow.url}/api/v2/dags", timeout=10)
    assert me.status_code == 200 and me.json()["total_entries"] == 3

    out = browser.get(f"{deployment.airflow.url}/api/v2/auth/logout", allow_redirects=False, timeout=10)
    assert out.status_code == 307 and out.headers["Location"] == "/auth/logout"
    bye = browser.get(deployment.airflow.url + out.headers["Location"], allow_redirects=False, timeout=10)
    assert bye.status_code == 303 and bye.headers["Location"] == deployment.control_plane.url + "/"
    assert browser.get(f"{deployment.airflow.url}/api/v2/dags", timeout=10).status_code == 401


def test_wrong_state_is_refused(deployment: Deployment) -> None:
    browser = requests.Session()
    callback = pick_user(deployment.control_plane, _start(deployment, browser, "/"), _member(deployment, "state@example.com"))
    parts = urlsplit(callback)
    query = parse_qs(parts.query)
    forged = urlunsplit(parts._replace(query=urlencode({"code": query["code"][0], "state": "attacker-state"})))
    response = browser.get(forged, allow_redirects=False, timeout=10)
    assert response.status_code == 400 and "state does not match" in response.text
    assert "_token" not in response.headers.get("Set-Cookie", "")


def test_replayed_code_is_refused(deployment: Deployment) -> None:
    browser = requests.Session()
    callback = pick_user(deployment.control_plane, _start(deployment, browser, "/"), _member(deployment, "replay@example.com"))
    login_cookie = browser.cookies.get("_astro_login")
    assert browser.get(callback, allow_redirects=False, timeout=10).status_code == 303
    replay = requests.get(callback, cookies={"_astro_login": login_cookie}, allow_redirects=False, timeout=10)
    assert replay.status_code == 401 and "did not confirm" in replay.text


@pytest.mark.parametrize("target", ["https://evil.example.com/", "//evil.example.com/x", "/\\evil.example.com", "javascript:alert(1)"])
def test_off_site_targets_land_on_the_home_page(deployment: Deployment, target: str) -> None:
    browser = requests.Session()
    start = browser.get(f"{deployment.airflow.url}/auth/login", params={"next": target}, allow_redirects=False, timeout=10)
    callback = pick_user(deployment.control_plane, start.headers["Location"], _member(deployment, f"offsite{abs(hash(target))}@example.com"))
    landed = browser.get(callback, allow_redirects=False, timeout=10)
    assert landed.status_code == 303 and landed.headers["Location"] == "/"


def test_user_without_a_role_here_gets_a_clear_403(deployment: Deployment) -> None:
    browser = requests.Session()
    tree = deployment.tree
    nobody = create_user(deployment.control_plane, tree, "nobody@example.com",
                         [{"scope": "organization", "scope_id": tree.organization_id, "role": "ORGANIZATION_MEMBER"}])  # fmt: skip
    landed = browser.get(pick_user(deployment.control_plane, _start(deployment, browser, "/"), nobody), allow_redirects=False, timeout=10)
    assert landed.status_code == 403 and "has no role in this deployment" in landed.text
