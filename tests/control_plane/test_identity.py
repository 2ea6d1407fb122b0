"""The authorization-code + PKCE flow over real HTTP, tokens checked with PyJWT against the JWKS,
key rotation, the redirect rules, single-use and expiring codes, and the logout page."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from contextlib import closing
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests

from tests.support.control_plane import Tree, concurrent_redemptions, create_user, issue_code, make_tree, pkce, redeem_code, user_token
from tests.support.servers import ControlPlaneServer

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


PREFIXED_BASE = "https://airflow.example.com/some/prefix"
# (deployment base URL, redirect_uri asked for). Only `<base>/auth/callback`, character for character,
# is accepted: a browser resolves dot segments (also percent-encoded ones) before it sends the code on.
REFUSED_REDIRECTS = [
    ("http://127.0.0.1:8080", "http://evil.example.com/auth/callback"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8081/auth/callback"),
    ("http://127.0.0.1:8080", "https://127.0.0.1:8080/auth/callback"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080@evil.example.com/"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080@evil.example.com/auth/callback"),
    ("http://127.0.0.1:8080", "//evil.example.com/x"),
    ("http://127.0.0.1:8080", "/auth/callback"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080/%2e%2e/other/cb"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080/%2E%2E/other/cb"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080/.%2e/other/cb"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080/%2e./other/cb"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080/.%2E/other/cb"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080/auth/callback/%2e%2e/%2e%2e/other/cb"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080/auth/callback/../../other/cb"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080/auth/../auth/callback"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080/./auth/callback"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080//auth/callback"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080/auth%2fcallback"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080/auth%2Fcallback"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080/auth%5ccallback"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080/auth\\callback"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080\\auth\\callback"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080/auth/callback/"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080/auth/callbackx"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080/auth/callback?next=/x"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080/auth/callback#x"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080/auth/callback%00"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080/auth/%63allback"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080/AUTH/CALLBACK"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080/other/cb"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:80800/auth/callback"),
    (PREFIXED_BASE, "https://airflow.example.com/auth/callback"),
    (PREFIXED_BASE, "https://airflow.example.com/some/other/auth/callback"),
    (PREFIXED_BASE, "https://airflow.example.com/some/prefixx/auth/callback"),
    (PREFIXED_BASE, "https://airflow.example.com/some/prefix/%2e%2e/other/auth/callback"),
    (PREFIXED_BASE, "https://airflow.example.com/some/prefix/%2E%2E/other/auth/callback"),
    (PREFIXED_BASE, "https://airflow.example.com/some/prefix/.%2e/other/auth/callback"),
    (PREFIXED_BASE, "https://airflow.example.com/some/prefix/../other/auth/callback"),
    (PREFIXED_BASE, "https://airflow.example.com/some/prefix/%2e%2e%2fother/auth/callback"),
    (PREFIXED_BASE, "https://airflow.example.com/some%2fprefix/auth/callback"),
    (PREFIXED_BASE, "http://airflow.example.com/some/prefix/auth/callback"),
]


@pytest.fixture(scope="module")
def redirect_trees(server: ControlPlaneServer) -> dict[str, tuple[Tree, str]]:
    """Per base URL: a deployment and a user of its organization."""
    trees = {}
    for base in ("http://127.0.0.1:8080", PREFIXED_BASE):
        tree = make_tree(server, f"redirects {base}", base_url=base)
        trees[base] = (tree, create_user(server, tree, "redirects@example.com", []))
    return trees


@pytest.mark.parametrize(("base_url", "redirect_uri"), REFUSED_REDIRECTS)
def test_redirect_uri_other_than_the_exact_callback_is_refused_without_redirecting(
    server: ControlPlaneServer, redirect_trees: dict[str, tuple[Tree, str]], base_url: str, redirect_uri: str
) -> None:
    tree, user_id = redirect_trees[base_url]
    _, challenge = pkce()
    fields = {"client_id": tree.deployment_id, "redirect_uri": redirect_uri, "state": "state-123", "code_challenge": challenge}
    page = requests.get(f"{server.url}/authorize", params=fields, allow_redirects=False, timeout=10)
    picked = requests.post(f"{server.url}/authorize", data={**fields, "user_id": user_id}, allow_redirects=False, timeout=10)
    for response in (page, picked):
        assert response.status_code == 422, response.text
        assert response.json()["error"]["field"] == "redirect_uri"
        assert "Location" not in response.headers


@pytest.mark.parametrize(
    ("base_url", "redirect_uri"),
    [("http://127.0.0.1:8080", "http://127.0.0.1:8080/auth/callback"),
     (PREFIXED_BASE, "https://airflow.example.com/some/prefix/auth/callback")],
)  # fmt: skip
def test_the_exact_callback_is_accepted(
    server: ControlPlaneServer, redirect_trees: dict[str, tuple[Tree, str]], base_url: str, redirect_uri: str
) -> None:
    tree, user_id = redirect_trees[base_url]
    _, challenge = pkce()
    fields = {"client_id": tree.deployment_id, "redirect_uri": redirect_uri, "state": "state-123", "code_challenge": challenge}
    assert requests.get(f"{server.url}/authorize", params=fields, timeout=10).status_code == 200
    picked = requests.post(f"{server.url}/authorize", data={**fields, "user_id": user_id}, allow_redirects=False, timeout=10)
    assert picked.status_code == 303
    assert picked.headers["Location"].split("?")[0] == redirect_uri


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


def test_discovery_names_the_logout_page(server: ControlPlaneServer) -> None:
    discovery = requests.get(f"{server.url}/.well-known/openid-configuration", timeout=10).json()
    assert discovery["end_session_endpoint"] == f"{server.url}/logout"


def test_logout_page_links_back_only_to_a_known_deployment(server: ControlPlaneServer, tree: Tree) -> None:
    plain = requests.get(f"{server.url}/logout", allow_redirects=False, timeout=10)
    assert plain.status_code == 200 and "text/html" in plain.headers["Content-Type"]
    assert "You are signed out" in plain.text and "<a " not in plain.text
    known = requests.get(f"{server.url}/logout", params={"client_id": tree.deployment_id}, allow_redirects=False, timeout=10)
    assert known.status_code == 200 and "Location" not in known.headers
    assert "You are signed out" in known.text and '<a href="http://127.0.0.1:8080">Back to dep</a>' in known.text
    unknown = requests.get(f"{server.url}/logout", params={"client_id": "dep_unknown"}, allow_redirects=False, timeout=10)
    assert unknown.status_code == 200 and "You are signed out" in unknown.text and "<a " not in unknown.text
    # Nothing the caller sends becomes a link or a redirect.
    sneaky = requests.get(
        f"{server.url}/logout", params={"client_id": tree.deployment_id, "post_logout_redirect_uri": "https://evil.example.com/"},
        allow_redirects=False, timeout=10,
    )  # fmt: skip
    assert sneaky.status_code == 200 and "evil.example.com" not in sneaky.text


def test_logout_page_escapes_the_stored_base_url(server: ControlPlaneServer) -> None:
    odd = make_tree(server, "logout-escaping", base_url='http://127.0.0.1:8080/a"><script>alert(1)</script>')
    page = requests.get(f"{server.url}/logout", params={"client_id": odd.deployment_id}, timeout=10).text
    assert "<script>" not in page
    assert '<a href="http://127.0.0.1:8080/a&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;">' in page


def test_concurrent_redemptions_of_one_code_have_one_winner(server: ControlPlaneServer, tree: Tree) -> None:
    user_id = create_user(server, tree, "race@example.com", [])
    for _ in range(3):
        assert concurrent_redemptions(server, tree, user_id) == [200] + [422] * 7


class ShortCodeServer(ControlPlaneServer):
    """A control plane whose authorization codes live 2 s (`--code-lifetime 2`)."""

    def command(self, *args: str) -> list[str]:
        return super().command("--code-lifetime", "2", *args)


def test_unused_codes_expire_and_are_deleted(tmp_path: Path) -> None:
    server = ShortCodeServer(tmp_path / "data").start()
    try:
        tree = make_tree(server, "short-codes")
        user_id = create_user(server, tree, "eve@example.com", [])
        verifier, challenge = pkce()
        stale = issue_code(server, tree, user_id, challenge)
        time.sleep(2.5)  # not synchronisation: the code's 2 s lifetime has to pass on the clock
        fresh = issue_code(server, tree, user_id, challenge)  # issuing deletes expired codes
        with closing(sqlite3.connect(f"file:{server.data_dir / 'control-plane.db'}?mode=ro", uri=True)) as db:
            stored = {row[0] for row in db.execute("SELECT code_hash FROM authorization_codes")}
        assert stored == {hashlib.sha256(fresh.encode()).hexdigest()}
        late = redeem_code(server, tree, stale, verifier)
        assert late.status_code == 422 and late.json()["error"]["field"] == "code"
        assert redeem_code(server, tree, fresh, verifier).status_code == 200
    finally:
        server.stop()
