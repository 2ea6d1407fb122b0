"""The reference control plane as tests and benchmarks use it: an organization tree built through
its API, and client-side flows against it (users, API tokens, logins, deployment settings)."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import requests

from tests.support.servers import ControlPlaneServer


@dataclass
class Tree:
    organization_id: str
    workspace_id: str
    deployment_id: str
    agent_token: str
    base_url: str


def make_tree(server: ControlPlaneServer, name: str, base_url: str = "http://127.0.0.1:8080") -> Tree:
    admin = server.admin()
    org = admin.post(f"{server.url}/v1/organizations", json={"name": name}, timeout=10)
    assert org.status_code == 201, org.text
    org_id = org.json()["id"]
    ws = admin.post(f"{server.url}/v1/organizations/{org_id}/workspaces", json={"name": "ws"}, timeout=10)
    assert ws.status_code == 201, ws.text
    dep = admin.post(
        f"{server.url}/v1/organizations/{org_id}/deployments",
        json={
            "name": "dep",
            "workspace_id": ws.json()["id"],
            "runtime_version": "3.3-2",
            "base_url": base_url,
        },
        timeout=10,
    )
    assert dep.status_code == 201, dep.text
    body = dep.json()
    return Tree(org_id, ws.json()["id"], body["deployment"]["id"], body["agent_token"], base_url)


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def create_user(server: ControlPlaneServer, tree: Tree, email: str, roles: list[dict]) -> str:
    admin = server.admin()
    org_url = f"{server.url}/v1/organizations/{tree.organization_id}"
    user = admin.post(
        f"{org_url}/users", json={"email": email, "name": email.split("@")[0].title()}, timeout=10
    )
    assert user.status_code == 201, user.text
    user_id = user.json()["id"]
    put = admin.put(f"{org_url}/users/{user_id}/roles", json={"roles": roles}, timeout=10)
    assert put.status_code == 200, put.text
    return user_id


def create_api_token(
    server: ControlPlaneServer, tree: Tree, scope: str, role: str, dags: list[dict] | None = None
) -> tuple[str, str]:
    """(token id, secret)."""
    scope_id = {
        "organization": tree.organization_id,
        "workspace": tree.workspace_id,
        "deployment": tree.deployment_id,
    }[scope]
    response = server.admin().post(
        f"{server.url}/v1/organizations/{tree.organization_id}/tokens",
        json={
            "name": f"{scope}-{role}".lower(),
            "scope": scope,
            "scope_id": scope_id,
            "role": role,
            "dags": dags or [],
        },
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return response.json()["token"]["id"], response.json()["secret"]


def pick_user(server: ControlPlaneServer, authorize_url: str, user_id: str) -> str:
    """What a person does on the control plane's picker page; returns the redirect back."""
    page = requests.get(authorize_url, timeout=10)
    assert page.status_code == 200, page.text
    form = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page.text))
    picked = requests.post(
        f"{server.url}/authorize", data={**form, "user_id": user_id}, allow_redirects=False, timeout=10
    )
    assert picked.status_code == 303, picked.text
    return picked.headers["Location"]


def user_token(
    server: ControlPlaneServer, tree: Tree, user_id: str, redirect_path: str = "/auth/callback"
) -> str:
    """The whole authorization-code + PKCE flow with a real HTTP client; returns the access token."""
    verifier, challenge = pkce()
    state = secrets.token_urlsafe(16)
    redirect_uri = tree.base_url + redirect_path
    authorize = {
        "client_id": tree.deployment_id,
        "redirect_uri": redirect_uri,
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "response_type": "code",
    }
    query = requests.Request("GET", f"{server.url}/authorize", params=authorize).prepare().url
    location = urlsplit(pick_user(server, query, user_id))
    assert f"{location.scheme}://{location.netloc}{location.path}" == redirect_uri
    params = parse_qs(location.query)
    assert params["state"] == [state]
    token = requests.post(
        f"{server.url}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": params["code"][0],
            "redirect_uri": redirect_uri,
            "client_id": tree.deployment_id,
            "code_verifier": verifier,
        },
        timeout=10,
    )
    assert token.status_code == 200, token.text
    return token.json()["access_token"]


def issue_code(server: ControlPlaneServer, tree: Tree, user_id: str, challenge: str) -> str:
    """The picker's POST for `user_id`, without the page: the code sent back to the callback."""
    picked = requests.post(
        f"{server.url}/authorize",
        data={
            "client_id": tree.deployment_id,
            "redirect_uri": tree.base_url + "/auth/callback",
            "state": "state-123",
            "code_challenge": challenge,
            "user_id": user_id,
        },
        allow_redirects=False,
        timeout=10,
    )
    assert picked.status_code == 303, picked.text
    return parse_qs(urlsplit(picked.headers["Location"]).query)["code"][0]


def redeem_code(server: ControlPlaneServer, tree: Tree, code: str, verifier: str) -> requests.Response:
    return requests.post(
        f"{server.url}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": tree.base_url + "/auth/callback",
            "client_id": tree.deployment_id,
            "code_verifier": verifier,
        },
        timeout=30,
    )


def concurrent_redemptions(
    server: ControlPlaneServer, tree: Tree, user_id: str, attempts: int = 8
) -> list[int]:
    """One code, `attempts` redemptions released at the same instant; their status codes."""
    verifier, challenge = pkce()
    code = issue_code(server, tree, user_id, challenge)
    start = threading.Barrier(attempts)

    def redeem(_: int) -> int:
        start.wait(timeout=30)
        return redeem_code(server, tree, code, verifier).status_code

    with ThreadPoolExecutor(attempts) as pool:
        return sorted(pool.map(redeem, range(attempts)))


def deployment_settings(server: ControlPlaneServer, tree: Tree, **extra: str) -> dict[str, str]:
    """[astronomer] settings that connect an Airflow to this deployment, as the local runtime passes
    them (the agent token in a 0600 file next to the control plane's data directory)."""
    token_file = server.data_dir.parent / f"agent-token-{tree.deployment_id}"
    token_file.write_text(tree.agent_token + "\n")
    token_file.chmod(0o600)
    return {
        "AIRFLOW__ASTRONOMER__CONTROL_PLANE_URL": server.url,
        "AIRFLOW__ASTRONOMER__ORGANIZATION_ID": tree.organization_id,
        "AIRFLOW__ASTRONOMER__WORKSPACE_ID": tree.workspace_id,
        "AIRFLOW__ASTRONOMER__DEPLOYMENT_ID": tree.deployment_id,
        "AIRFLOW__ASTRONOMER__AGENT_TOKEN_FILE": str(token_file),
        **extra,
    }


def cli_login_token(server: ControlPlaneServer, user_id: str) -> str:
    """The command line's login (client astro-runtime-cli, loopback redirect, PKCE) done over HTTP:
    a user token whose audience is the organization, carrying no workspace role."""
    verifier, challenge = pkce()
    redirect_uri = "http://127.0.0.1:9/callback"
    picked = requests.post(
        f"{server.url}/authorize",
        data={"client_id": "astro-runtime-cli", "redirect_uri": redirect_uri, "state": "state-cli-1",
              "code_challenge": challenge, "user_id": user_id},
        allow_redirects=False,
        timeout=30,
    )  # fmt: skip
    assert picked.status_code == 303, picked.text
    code = parse_qs(urlsplit(picked.headers["Location"]).query)["code"][0]
    token = requests.post(
        f"{server.url}/oauth/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
              "client_id": "astro-runtime-cli", "code_verifier": verifier},
        timeout=30,
    )  # fmt: skip
    assert token.status_code == 200, token.text
    return token.json()["access_token"]
