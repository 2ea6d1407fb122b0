"""The management API over HTTP: access control, bad input, secrets shown once, revocation, persistence."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from tests.support.control_plane import (
    Tree,
    cli_login_token,
    create_api_token,
    create_user,
    make_tree,
    user_token,
)
from tests.support.servers import ControlPlaneServer

pytestmark = pytest.mark.integration


def _org_url(server: ControlPlaneServer, tree: Tree) -> str:
    return f"{server.url}/v1/organizations/{tree.organization_id}"


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/organizations"), ("POST", "/v1/organizations"), ("GET", "/v1/organizations/org_x/deployments"),
     ("POST", "/v1/organizations/org_x/tokens"), ("DELETE", "/v1/organizations/org_x/tokens/tok_x")],
)  # fmt: skip
@pytest.mark.parametrize("authorization", [None, "Bearer nope", "Basic YWRtaW46YWRtaW4=", "Bearer a.b.c"])
def test_management_needs_a_valid_token(server: ControlPlaneServer, method: str, path: str, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = requests.request(method, server.url + path, headers=headers, json={}, timeout=10)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_organization_owner_token_sees_only_its_organization(server: ControlPlaneServer, tree: Tree) -> None:
    other = make_tree(server, "other-org-for-owner-test")
    created = server.admin().post(
        f"{_org_url(server, tree)}/tokens",
        json={"name": "ci", "scope": "organization", "scope_id": tree.organization_id, "role": "ORGANIZATION_OWNER"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    owner = requests.Session()
    owner.headers["Authorization"] = f"Bearer {created.json()['secret']}"
    assert owner.get(f"{_org_url(server, tree)}/deployments", timeout=10).status_code == 200
    foreign = owner.get(f"{server.url}/v1/organizations/{other.organization_id}/deployments", timeout=10)
    assert foreign.status_code == 404
    assert [o["id"] for o in owner.get(f"{server.url}/v1/organizations", timeout=10).json()] == [tree.organization_id]
    assert owner.post(f"{server.url}/v1/organizations", json={"name": "x"}, timeout=10).status_code == 403


def test_lower_role_token_is_forbidden(server: ControlPlaneServer, tree: Tree) -> None:
    created = server.admin().post(
        f"{_org_url(server, tree)}/tokens",
        json={"name": "bot", "scope": "workspace", "scope_id": tree.workspace_id, "role": "WORKSPACE_OPERATOR"},
        timeout=10,
    )
    response = requests.post(
        f"{_org_url(server, tree)}/workspaces", json={"name": "mine"},
        headers={"Authorization": f"Bearer {created.json()['secret']}"}, timeout=10,
    )  # fmt: skip
    assert response.status_code == 403


def test_a_user_or_token_without_the_owner_role_lists_only_what_its_roles_reach(
    server: ControlPlaneServer, tree: Tree
) -> None:
    """The CLI's `workspace list` and `deployment list` with a browser login or a workspace token."""
    admin = server.admin()
    second_ws = admin.post(f"{_org_url(server, tree)}/workspaces", json={"name": "ws-listing-2"}, timeout=10).json()
    hidden = admin.post(
        f"{_org_url(server, tree)}/deployments",
        json={"name": "hidden", "workspace_id": second_ws["id"], "runtime_version": "3.3-2",
              "base_url": "http://127.0.0.1:9001"}, timeout=10,
    ).json()["deployment"]  # fmt: skip

    def listing(token: str) -> tuple[int, list[str], list[str]]:
        headers = {"Authorization": f"Bearer {token}"}
        workspaces = requests.get(f"{_org_url(server, tree)}/workspaces", headers=headers, timeout=10)
        deployments = requests.get(f"{_org_url(server, tree)}/deployments", headers=headers, timeout=10)
        assert workspaces.status_code == deployments.status_code, (workspaces.text, deployments.text)
        if workspaces.status_code != 200:
            return workspaces.status_code, [], []
        return 200, sorted(w["id"] for w in workspaces.json()), sorted(d["id"] for d in deployments.json())

    def user(email: str, roles: list[dict]) -> str:  # the command line's login: organization-wide
        return cli_login_token(server, create_user(server, tree, email, roles))

    author = user("lister-author@example.com", [{"scope": "workspace", "scope_id": tree.workspace_id, "role": "WORKSPACE_AUTHOR"}])
    assert listing(author) == (200, [tree.workspace_id], [tree.deployment_id])
    admin_of_hidden = user("lister-dep-admin@example.com", [{"scope": "deployment", "scope_id": hidden["id"], "role": "DEPLOYMENT_ADMIN"}])
    assert listing(admin_of_hidden) == (200, [second_ws["id"]], [hidden["id"]])
    assert listing(user("lister-nobody@example.com", [])) == (200, [], [])
    # A token a deployment's Airflow got for its users is that deployment's only.
    scoped = user_token(server, tree, create_user(server, tree, "lister-scoped@example.com", [
        {"scope": "deployment", "scope_id": hidden["id"], "role": "DEPLOYMENT_ADMIN"}]))  # fmt: skip
    assert listing(scoped) == (200, [], [])
    owner = user("lister-owner@example.com", [{"scope": "organization", "scope_id": tree.organization_id, "role": "ORGANIZATION_OWNER"}])
    assert listing(owner) == (200, sorted([tree.workspace_id, second_ws["id"]]), sorted([tree.deployment_id, hidden["id"]]))
    _, member_token = create_api_token(server, tree, "workspace", "WORKSPACE_MEMBER")
    assert listing(member_token) == (200, [tree.workspace_id], [tree.deployment_id])

    # Another organization's callers learn nothing about this one; listing never lets anyone create.
    other = make_tree(server, "other-org-for-listing")
    _, stranger_token = create_api_token(server, other, "organization", "ORGANIZATION_OWNER")
    assert listing(stranger_token)[0] == 404
    stranger = cli_login_token(server, create_user(server, other, "stranger@example.com", [
        {"scope": "organization", "scope_id": other.organization_id, "role": "ORGANIZATION_OWNER"}]))  # fmt: skip
    assert listing(stranger)[0] == 401
    refused = requests.post(f"{_org_url(server, tree)}/workspaces", json={"name": "by-owner-login"},
                            headers={"Authorization": f"Bearer {owner}"}, timeout=10)  # fmt: skip
    assert refused.status_code == 401  # the management API's writes take the admin or an owner API token


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        ("/workspaces", {"name": ""}, 422, "name"),
        ("/workspaces", {"name": "ws"}, 409, "name"),  # the tree already has "ws"
        ("/workspaces", {"name": 5}, 422, "name"),
        ("/workspaces", {"name": "ok", "extra": 1}, 422, "extra"),
        ("/deployments", {"name": "d", "workspace_id": "ws_nope", "runtime_version": "3.3-2",
                          "base_url": "http://127.0.0.1:9000"}, 404, "workspace_id"),
        ("/deployments", {"name": "d", "workspace_id": "ws_nope", "runtime_version": "3.3",
                          "base_url": "http://127.0.0.1:9000"}, 422, "runtime_version"),
        ("/deployments", {"name": "d", "workspace_id": "ws_nope", "runtime_version": "3.3-2",
                          "base_url": "javascript:alert(1)"}, 422, "base_url"),
        ("/users", {"email": "not-an-email", "name": "x"}, 422, "email"),
        ("/tokens", {"name": "t", "scope": "workspace", "scope_id": "ws_nope", "role": "WORKSPACE_OPERATOR"}, 404, "scope_id"),
        ("/tokens", {"name": "t", "scope": "galaxy", "scope_id": "x", "role": "X"}, 422, "scope"),
        ("/tokens", {"name": "t", "scope": "organization", "scope_id": "ORG", "role": "WORKSPACE_OWNER"}, 422, "role"),
        ("/tokens", {"name": "t", "scope": "organization", "scope_id": "ORG", "role": "ORGANIZATION_OWNER",
                     "expires_in_days": 9999}, 422, "expires_in_days"),
    ],
)  # fmt: skip
def test_bad_input_names_the_field(
    server: ControlPlaneServer, tree: Tree, path: str, body: dict, status: int, field: str
) -> None:
    body = {k: (tree.organization_id if v == "ORG" else v) for k, v in body.items()}
    response = server.admin().post(_org_url(server, tree) + path, json=body, timeout=10)
    assert response.status_code == status, response.text
    assert response.json()["error"]["field"] == field


def test_malformed_json_is_a_422_naming_the_body(server: ControlPlaneServer, tree: Tree) -> None:
    response = server.admin().post(
        f"{_org_url(server, tree)}/workspaces", data=b'{"name": ', headers={"Content-Type": "application/json"}, timeout=10
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "body"


def test_invalid_role_set_changes_nothing(server: ControlPlaneServer, tree: Tree) -> None:
    admin = server.admin()
    user = admin.post(f"{_org_url(server, tree)}/users", json={"email": "dora@example.com", "name": "Dora"}, timeout=10).json()
    good = {"scope": "workspace", "scope_id": tree.workspace_id, "role": "WORKSPACE_OWNER"}
    assert admin.put(f"{_org_url(server, tree)}/users/{user['id']}/roles", json={"roles": [good]}, timeout=10).ok
    bad = {"scope": "deployment", "scope_id": tree.deployment_id, "role": "ORGANIZATION_OWNER"}
    response = admin.put(f"{_org_url(server, tree)}/users/{user['id']}/roles", json={"roles": [good, bad]}, timeout=10)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "roles.1.role"
    roles = admin.get(f"{_org_url(server, tree)}/users/{user['id']}", timeout=10).json()["roles"]
    assert [(r["scope"], r["role"]) for r in roles] == [("workspace", "WORKSPACE_OWNER")]


def test_api_token_secret_is_shown_once_stored_hashed_and_revocable(server: ControlPlaneServer, tree: Tree) -> None:
    admin = server.admin()
    created = admin.post(
        f"{_org_url(server, tree)}/tokens",
        json={"name": "deploy-bot", "scope": "deployment", "scope_id": tree.deployment_id, "role": "DEPLOYMENT_ADMIN"},
        timeout=10,
    )
    assert created.status_code == 201
    secret, token_id = created.json()["secret"], created.json()["token"]["id"]
    listing = admin.get(f"{_org_url(server, tree)}/tokens", timeout=10)
    assert secret not in listing.text and token_id in listing.text
    database = server.data_dir / "control-plane.db"
    stored = b"".join(Path(p).read_bytes() for p in server.data_dir.glob("control-plane.db*"))
    assert secret.encode() not in stored and database.exists()

    agent = {"Authorization": f"Bearer {tree.agent_token}"}
    revoked_url = f"{server.url}/v1/deployments/{tree.deployment_id}/revoked-tokens"
    start = requests.get(revoked_url, headers=agent, timeout=10).json()
    assert admin.delete(f"{_org_url(server, tree)}/tokens/{token_id}", timeout=10).json()["revoked_at"]
    assert admin.delete(f"{_org_url(server, tree)}/tokens/{token_id}", timeout=10).status_code == 200  # idempotent
    page = requests.get(revoked_url, headers=agent, params={"since": start["cursor"]}, timeout=10).json()
    assert [entry["jti"] for entry in page["revoked"]] == [token_id]
    empty = requests.get(revoked_url, headers=agent, params={"since": page["cursor"]}, timeout=10).json()
    assert empty["revoked"] == [] and empty["cursor"] == page["cursor"]


def test_data_survives_a_restart(tmp_path: Path) -> None:
    server = ControlPlaneServer(tmp_path / "data").start()
    try:
        tree = make_tree(server, "persistent")
        admin_token = server.admin_token
        jwks_before = requests.get(f"{server.url}/.well-known/jwks.json", timeout=10).json()
        server.restart()
        assert server.admin_token == admin_token
        deployments = server.admin().get(f"{server.url}/v1/organizations/{tree.organization_id}/deployments", timeout=10)
        assert [d["id"] for d in deployments.json()] == [tree.deployment_id]
        assert requests.get(f"{server.url}/.well-known/jwks.json", timeout=10).json() == jwks_before
        agent = {"Authorization": f"Bearer {tree.agent_token}"}
        assert requests.get(f"{server.url}/v1/deployments/{tree.deployment_id}/components", headers=agent, timeout=10).ok
    finally:
        server.stop()


def test_secrets_never_reach_the_log(server: ControlPlaneServer, tree: Tree) -> None:
    created = server.admin().post(
        f"{_org_url(server, tree)}/tokens",
        json={"name": "logged?", "scope": "organization", "scope_id": tree.organization_id, "role": "ORGANIZATION_MEMBER"},
        timeout=10,
    ).json()
    log = server.log_path.read_text()
    private_keys = [p.read_text() for p in (server.data_dir / "keys").glob("*.pem")]
    assert "GET /v1/organizations" in log or "POST /v1/organizations" in log  # the log is really there
    for secret in [server.admin_token, tree.agent_token, created["secret"], *private_keys]:
        assert secret.strip() not in log
    assert "PRIVATE KEY" not in log
