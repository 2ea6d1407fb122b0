"""Browser login through the control plane's user picker, with a real HTTP client keeping cookies."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import requests

from tests.astronomer_plugins.auth.conftest import Deployment, airflow_log, running_deployment
from tests.support.control_plane import create_user, pick_user

pytestmark = pytest.mark.integration

LOGIN_TIMEOUT = 2  # [astronomer] auth_login_timeout_seconds here; the client's own read timeout is 5 s
CROWD = 48  # junk logins at once: more than anyio's default thread pool (40 threads)
CLEAN_FAILURES = {  # how a login ends while the control plane is silent: an error page, never a session
    502: "cannot be reached right now",  # the exchange's own connect/read timeout
    503: "too many logins wait for the control plane",  # every exchange slot taken: refused at once
    504: "did not answer in time",  # the login's deadline (auth_login_timeout_seconds)
}


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    with running_deployment(
        tmp_path_factory.mktemp("login"), AIRFLOW__ASTRONOMER__AUTH_REVOCATION_POLL_SECONDS="2",
        AIRFLOW__ASTRONOMER__AUTH_LOGIN_TIMEOUT_SECONDS=str(LOGIN_TIMEOUT),
    ) as running:  # fmt: skip
        yield running


def _start(deployment: Deployment, browser: requests.Session, next_url: str) -> str:
    """Airflow's login entry point; returns the control plane's /authorize URL it sends us to."""
    api = deployment.airflow.url
    first = browser.get(f"{api}/api/v2/auth/login", params={"next": next_url}, allow_redirects=False, timeout=10)
    assert first.status_code == 307 and first.headers["Location"].startswith("/auth/login")
    second = browser.get(api + first.headers["Location"], allow_redirects=False, timeout=10)
    assert second.status_code == 303
    assert second.headers["Location"].startswith(f"{deployment.control_plane.url}/authorize?")
    login_cookie = second.headers["Set-Cookie"]
    assert "HttpOnly" in login_cookie and "SameSite=lax" in login_cookie and "Path=/auth;" in login_cookie
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
    assert "Path=/;" in session_cookie[0] and '_astro_login=""; expires=' in landed.headers["Set-Cookie"]
    assert "Secure" not in session_cookie[0]  # plain http in tests; https base URLs get Secure
    me = browser.get(f"{deployment.airflow.url}/api/v2/dags", timeout=10)
    assert me.status_code == 200 and me.json()["total_entries"] == 3

    out = browser.get(f"{deployment.airflow.url}/api/v2/auth/logout", allow_redirects=False, timeout=10)
    assert out.status_code == 307 and out.headers["Location"] == "/auth/logout"
    bye = browser.get(deployment.airflow.url + out.headers["Location"], allow_redirects=False, timeout=10)
    assert bye.status_code == 303
    assert bye.headers["Location"] == f"{deployment.control_plane.url}/logout?client_id={deployment.tree.deployment_id}"
    signed_out = requests.get(bye.headers["Location"], timeout=10)  # a page that exists, linking back here
    assert signed_out.status_code == 200 and f'href="{deployment.airflow.url}"' in signed_out.text
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


@pytest.mark.parametrize(
    "target",
    ["https://evil.example.com/", "//evil.example.com/x", "/\\evil.example.com", "javascript:alert(1)", "/%2e%2e/x", "/%2fevil.example.com"],
)
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


def _pending_logins(deployment: Deployment, count: int) -> list[tuple[requests.Session, str]]:
    """Logins anyone can start (no account needed), each with a callback URL carrying a junk code."""
    pending = []
    for _ in range(count):
        session = requests.Session()
        start = session.get(f"{deployment.airflow.url}/auth/login", allow_redirects=False, timeout=10)
        state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
        pending.append((session, f"{deployment.airflow.url}/auth/callback?{urlencode({'code': 'junk', 'state': state})}"))
    return pending


def test_a_silent_control_plane_fails_logins_in_time_and_stalls_nothing_else(deployment: Deployment) -> None:
    """The control plane stopped (SIGSTOP): the kernel still accepts its connections, nobody answers.
    A person's login and a crowd of junk ones (more than the thread pool Airflow's synchronous
    endpoints share) each cost their timeout; another client's requests keep their latency."""
    browser = requests.Session()
    callback = pick_user(deployment.control_plane, _start(deployment, browser, "/dags"), _member(deployment, "silent@example.com"))
    logins = [(browser, callback), *_pending_logins(deployment, CROWD)]
    group = os.getpgid(deployment.control_plane.process.pid)

    def finish(login: tuple[requests.Session, str]) -> tuple[requests.Response, float]:
        began = time.monotonic()
        return login[0].get(login[1], allow_redirects=False, timeout=30), time.monotonic() - began

    os.killpg(group, signal.SIGSTOP)
    try:
        with ThreadPoolExecutor(max_workers=len(logins)) as pool:
            answers = [pool.submit(finish, login) for login in logins]
            worst, probes = 0.0, 0
            while not all(answer.done() for answer in answers):  # meanwhile, another client's requests
                began = time.monotonic()
                assert requests.get(f"{deployment.airflow.url}/api/v2/monitor/health", timeout=30).status_code == 200
                worst, probes = max(worst, time.monotonic() - began), probes + 1
                wait(answers, timeout=0.05)
    finally:
        os.killpg(group, signal.SIGCONT)

    assert probes >= 5 and worst < 1.0, f"worst stall {worst:.3f}s over {probes} requests"
    statuses = []
    for answer in answers:
        response, seconds = answer.result()
        statuses.append(response.status_code)
        assert response.status_code in CLEAN_FAILURES and CLEAN_FAILURES[response.status_code] in response.text, response.text
        assert seconds < LOGIN_TIMEOUT + 2, seconds  # never the client's full retries, never a hang
        assert "_token=" not in response.headers.get("Set-Cookie", "")
    assert 504 in statuses or 502 in statuses  # some exchanges did wait for the silent control plane
    response = answers[0].result()[0]
    code = parse_qs(urlsplit(callback).query)["code"][0]
    assert code not in response.text and 'href="/auth/login"' in response.text
    log = airflow_log(deployment)
    assert "Login through the control plane failed" in log
    assert deployment.tree.agent_token not in log  # (the code shows in Airflow's access log; useless without the PKCE verifier)
    print(f"worst latency of {probes} requests while {len(logins)} logins waited: {worst * 1000:.0f} ms")
