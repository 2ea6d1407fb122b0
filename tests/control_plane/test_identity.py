"""The authorization-code + PKCE flow over real HTTP, tokens checked with PyJWT against the JWKS,
key rotation, and the redirect rules."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests

from tests.control_plane.conftest import Tree
from tests.control_plane.flows import create_user, pkce, user_token
from tests.servers import ControlPlaneServer

pytestmark = pytest.mark.integration


def verify(server: ControlPlaneServer, token: str, audience: str) -> dict:
    discovery = requests.get(f"{server.url}/.well-known/openid-configuration", timeout=10).json()
    key = jwt.PyJWKClient(discovery["jwks_uri"]).get_signing_key_from_jwt(token)
    return jwt.decode(
        token, key, algorithms=["RS256"], audience=audience, issuer=discovery["issuer"],
        options={"require": ["exp", "iat", "nbf", "iss", "sub", "aud", "jti"]},
    )  # fmt: skip


def test_discovery_document(server: ControlPlaneServer) -> None:
    discovery = requests.get(f"{server.url}/.well-known/openid-configuration", timeout=10).json()
    assert discovery["issuer"] == server.url
    assert discovery["jwks_uri"] == f"{server.url}/.well-known/jwks.json"
    assert discovery["authorization_endpoint"] == f"{server.url}/authorize"
    assert discovery["token_endpoint"] == f"{server.url}/oauth/token"
    keys = requests.get(discovery["jwks_uri"], timeout=10).json()["keys"]
    assert keys and all(k["kty"] == "RSA" and k["alg"] == "RS256" and k["kid"] and "d" not in k for k in keys)


def test_full_flow_gives_a_verified_user_token_with_this_deployments_grants(server: ControlPlaneServer, tree: Tree) -> None:
    user_id = create_user(
        server, tree, "ann@example.com",
        [{"scope": "organization", "scope_id": tree.organization_id, "role": "ORGANIZATION_MEMBER"},
         {"scope": "workspace", "scope_id": tree.workspace_id, "role": "WORKSPACE_AUTHOR"},
         {"scope": "deployment", "scope_id": tree.deployment_id, "role": "WORKSPACE_OPERATOR", "dag_prefix": "etl_"}],
    )  # fmt: skip
    token = user_token(server, tree, user_id)
    claims = verify(server, token, tree.deployment_id)
    assert claims["sub"] == user_id
    assert claims["aud"] == tree.deployment_id
    assert claims["astro_kind"] == "user"
    assert claims["astro_org"] == tree.organization_id
    assert claims["email"] == "ann@example.com" and claims["name"] == "Ann"
    assert claims["astro_roles"] == {
        "organization": "ORGANIZATION_MEMBER",
        "workspace": "WORKSPACE_AUTHOR",
        "dags": [{"role": "WORKSPACE_OPERATOR", "prefix": "etl_"}],
    }
    assert claims["exp"] - claims["iat"] == 3600
    assert len(token) < 2048


def test_code_is_single_use_and_pkce_is_checked(server: ControlPlaneServer, tree: Tree) -> None:
    user_id = create_user(server, tree, "bob@example.com", [])
    verifier, challenge = pkce()
    redirect_uri = tree.base_url + "/auth/callback"
    picked = requests.post(
        f"{server.url}/authorize",
        data={"client_id": tree.deployment_id, "redirect_uri": redirect_uri, "state": "state-123",
              "code_challenge": challenge, "user_id": user_id},
        allow_redirects=False, timeout=10,
    )  # fmt: skip
    code = parse_qs(urlsplit(picked.headers["Location"]).query)["code"][0]
    exchange = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                "client_id": tree.deployment_id}  # fmt: skip
    wrong = requests.post(f"{server.url}/oauth/token", data={**exchange, "code_verifier": pkce()[0]}, timeout=10)
    assert wrong.status_code == 422
    assert wrong.json()["error"]["field"] == "code_verifier"
    # the code was burnt by the failed attempt: the right verifier is now too late
    again = requests.post(f"{server.url}/oauth/token", data={**exchange, "code_verifier": verifier}, timeout=10)
    assert again.status_code == 422
    assert again.json()["error"]["field"] == "code"


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://evil.example.com/auth/callback",
        "http://127.0.0.1:8081/auth/callback",
        "https://127.0.0.1:8080/auth/callback",
        "http://127.0.0.1:8080@evil.example.com/",
        "//evil.example.com/x",
    ],
)
def test_foreign_redirect_uri_is_refused_without_redirecting(server: ControlPlaneServer, tree: Tree, redirect_uri: str) -> None:
    _, challenge = pkce()
    response = requests.get(
        f"{server.url}/authorize",
        params={"client_id": tree.deployment_id, "redirect_uri": redirect_uri, "state": "state-123",
                "code_challenge": challenge},
        allow_redirects=False, timeout=10,
    )  # fmt: skip
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "redirect_uri"
    assert "Location" not in response.headers


def test_unknown_client_is_refused(server: ControlPlaneServer) -> None:
    _, challenge = pkce()
    response = requests.get(
        f"{server.url}/authorize",
        params={"client_id": "dep_nope", "redirect_uri": "http://127.0.0.1:8080/cb", "state": "state-123",
                "code_challenge": challenge},
        allow_redirects=False, timeout=10,
    )  # fmt: skip
    assert response.status_code == 404 and response.json()["error"]["field"] == "client_id"


def test_rotation_keeps_old_tokens_valid(server: ControlPlaneServer, tree: Tree) -> None:
    user_id = create_user(server, tree, "carl@example.com", [])
    before = user_token(server, tree, user_id)
    rotated = server.run("rotate-keys")
    assert rotated.returncode == 0, rotated.stderr
    after = user_token(server, tree, user_id)
    assert jwt.get_unverified_header(before)["kid"] != jwt.get_unverified_header(after)["kid"]
    assert verify(server, before, tree.deployment_id)["sub"] == user_id
    assert verify(server, after, tree.deployment_id)["sub"] == user_id
    kids = {k["kid"] for k in requests.get(f"{server.url}/.well-known/jwks.json", timeout=10).json()["keys"]}
    assert {jwt.get_unverified_header(before)["kid"], jwt.get_unverified_header(after)["kid"]} <= kids


def test_key_files_are_private(server: ControlPlaneServer) -> None:
    files = list((server.data_dir / "keys").glob("*.pem")) + [server.data_dir / "admin-token"]
    assert files
    assert all(path.stat().st_mode & 0o077 == 0 for path in files)
