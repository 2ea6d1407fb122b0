"""The auth app's routes over HTTP in process (FastAPI's TestClient), with a LoginService made here:
no manager, no control plane, no api-server. The full browser login is test_login.py."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from fastapi.testclient import TestClient

from astronomer_plugins.auth import login
from astronomer_plugins.auth.discovery import Endpoints
from astronomer_plugins.auth.routes import create_auth_app
from astronomer_plugins.auth.user import AstroUser, parse_roles
from astronomer_plugins.errors import ControlPlaneUnavailable, TokenRejected, VerificationUnavailable

ENDPOINTS = Endpoints(
    "https://cp.example.com/oidc/authorize", "https://cp.example.com/bye", token_path="/t", jwks_path="/k"
)
USER = AstroUser(user_id="u1", name="U", roles=parse_roles({"workspace": "WORKSPACE_MEMBER"}))


def _not_discovered() -> Endpoints:
    raise ControlPlaneUnavailable("the discovery document of the control plane has not been read yet")


def _verify(token: str) -> AstroUser:
    if token.startswith("refused"):
        raise TokenRejected("the token is not valid")
    if token.startswith("unchecked"):
        raise VerificationUnavailable("the revocation list is stale")
    return USER


def _seal(claims: dict[str, Any]) -> str:
    """The login cookie, unsigned here (the manager signs it with Airflow's signer)."""
    return base64.urlsafe_b64encode(json.dumps(claims).encode()).decode()


def _unseal(cookie: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(cookie))


def _client(endpoints: Callable[[], Endpoints] = lambda: ENDPOINTS) -> TestClient:
    async def read_state(cookie: str) -> dict[str, Any]:
        return _unseal(cookie)

    service = login.LoginService(
        deployment_id="dep_routes",
        endpoints=endpoints,
        login_timeout=1.0,
        verify=_verify,
        exchange_code=lambda **form: "unused",
        mint=lambda user, seconds: f"session-of-{user.user_id}",
        sign_state=lambda claims, seconds: _seal(claims),
        read_state=read_state,
        report_unavailable=lambda reason: None,
    )
    return TestClient(create_auth_app(service), base_url="http://localhost:8080", follow_redirects=False)


def _control_plane_token() -> str:
    return jwt.encode({"exp": int(time.time()) + 300}, "k" * 32, algorithm="HS256")


def test_login_redirects_to_the_discovered_authorization_endpoint() -> None:
    answer = _client().get("/login", params={"next": "/dags/etl"})
    assert answer.status_code == 303
    target = urlsplit(answer.headers["location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == "https://cp.example.com/oidc/authorize"
    query = parse_qs(target.query)
    assert query["client_id"] == ["dep_routes"] and query["code_challenge_method"] == ["S256"]
    state = _unseal(answer.cookies["_astro_login"])
    assert (state["state"], state["next"]) == (query["state"][0], "/dags/etl")
    assert "Path=/auth" in answer.headers["set-cookie"] and "HttpOnly" in answer.headers["set-cookie"]


def test_login_before_discovery_is_a_503_page_not_a_redirect() -> None:
    answer = _client(_not_discovered).get("/login")
    assert answer.status_code == 503
    assert "has not been reached yet" in answer.text and "location" not in answer.headers


@pytest.mark.parametrize(
    ("endpoints", "target"),
    [
        (lambda: ENDPOINTS, "https://cp.example.com/bye?client_id=dep_routes"),
        (_not_discovered, "/"),  # no end-session endpoint known: the deployment's home page
    ],
)
def test_logout_clears_the_session_and_goes_to_the_end_session_endpoint(
    endpoints: Callable[[], Endpoints], target: str
) -> None:
    answer = _client(endpoints).get("/logout")
    assert (answer.status_code, answer.headers["location"]) == (303, target)
    assert "Max-Age=0" in answer.headers["set-cookie"]


def test_callback_with_a_state_of_another_login_is_refused() -> None:
    client = _client()
    client.cookies.set("_astro_login", _seal({"purpose": login.LOGIN_PURPOSE, "state": "a", "verifier": "v"}))
    answer = client.get("/callback", params={"code": "c", "state": "b"})
    assert answer.status_code == 400 and "does not match" in answer.text


@pytest.mark.parametrize(
    ("prefix", "status", "detail"),
    [
        ("", 201, None),
        ("refused", 401, "invalid or expired control-plane token"),
        ("unchecked", 503, "cannot be checked right now"),
    ],
)
def test_the_token_exchange_answers(prefix: str, status: int, detail: str | None) -> None:
    token = prefix + _control_plane_token() if prefix else _control_plane_token()
    answer = _client().post("/token", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == status
    if detail is None:
        assert answer.json() == {"access_token": "session-of-u1"}
    else:
        assert detail in answer.json()["detail"]


def test_the_token_exchange_without_a_token_is_401() -> None:
    answer = _client().post("/token")
    assert answer.status_code == 401 and "send a control-plane token" in answer.json()["detail"]
