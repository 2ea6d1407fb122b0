"""`astro-runtime login`: the browser flow against the real control plane's authorize page (a real
HTTP client plays the browser), its loopback listener, and an API token from the environment."""

from __future__ import annotations

import json
import socket
import stat
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import requests

from tests.runtime.cloud.cli_support import browser, run_cli, start_login
from tests.support.control_plane import Tree, create_api_token, create_user, make_tree, pkce
from tests.support.servers import ControlPlaneServer


@pytest.fixture(scope="module")
def tree(server: ControlPlaneServer) -> Tree:
    return make_tree(server, "org-cli-login")


@pytest.fixture(scope="module")
def author(server: ControlPlaneServer, tree: Tree) -> str:
    return create_user(
        server,
        tree,
        "author@example.com",
        [{"scope": "workspace", "scope_id": tree.workspace_id, "role": "WORKSPACE_AUTHOR"}],
    )


def test_browser_login_stores_an_organization_token_0600_and_never_prints_it(
    server: ControlPlaneServer, tree: Tree, author: str, config_home: Path
) -> None:
    process, authorize_url = start_login(config_home, server.url)
    query = parse_qs(urlsplit(authorize_url).query)
    assert query["client_id"] == ["astro-runtime-cli"]
    assert query["code_challenge_method"] == ["S256"]
    assert urlsplit(query["redirect_uri"][0]).hostname == "127.0.0.1"
    answer = browser(server, authorize_url, author)
    assert answer.status_code == 200 and "Logged in" in answer.text
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert f"Logged in to {server.url} as Author (organization {tree.organization_id}" in stdout

    path = config_home / "astro-runtime" / "config.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    token = json.loads(path.read_text())["token"]
    assert token not in stdout + stderr
    # The token is the control plane's, for the organization: it reaches the deployment's endpoint.
    endpoint = requests.get(
        f"{server.url}/v1/deployments/{tree.deployment_id}/endpoint",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert endpoint.status_code == 200, endpoint.text
    assert endpoint.json()["base_url"] == tree.base_url


def test_a_forged_state_is_refused_and_nothing_is_stored(
    server: ControlPlaneServer, author: str, config_home: Path
) -> None:
    from tests.support.control_plane import pick_user

    process, authorize_url = start_login(config_home, server.url)
    location = urlsplit(pick_user(server, authorize_url, author))
    params = {k: v[0] for k, v in parse_qs(location.query).items()}
    params["state"] = "forged-state-value"
    answer = requests.get(urlunsplit(location._replace(query=urlencode(params))), timeout=30)
    assert answer.status_code == 400
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 1
    assert stderr.strip().splitlines()[-1] == (
        "the login answer's state does not match this login (another tab or a forged link)"
    )
    assert not (config_home / "astro-runtime" / "config.json").exists()


def test_no_answer_ends_at_the_timeout(server: ControlPlaneServer, config_home: Path) -> None:
    process, _ = start_login(config_home, server.url, "--timeout", "2")
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1
    assert stderr.strip().splitlines()[-1] == "no login within 2 s; run astro-runtime login again"


def test_other_paths_on_the_listener_do_not_end_the_login(
    server: ControlPlaneServer, author: str, config_home: Path
) -> None:
    process, authorize_url = start_login(config_home, server.url)
    redirect = parse_qs(urlsplit(authorize_url).query)["redirect_uri"][0]
    assert requests.get(redirect.replace("/callback", "/favicon.ico"), timeout=10).status_code == 404
    assert browser(server, authorize_url, author).status_code == 200
    process.communicate(timeout=60)
    assert process.returncode == 0


def test_a_silent_connection_does_not_hold_the_listener(
    server: ControlPlaneServer, author: str, config_home: Path
) -> None:
    process, authorize_url = start_login(config_home, server.url)
    redirect = urlsplit(parse_qs(urlsplit(authorize_url).query)["redirect_uri"][0])
    with socket.create_connection((redirect.hostname, redirect.port), timeout=10):  # sends nothing
        assert browser(server, authorize_url, author).status_code == 200
    process.communicate(timeout=60)
    assert process.returncode == 0


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://localhost:5000/callback",
        "http://127.0.0.1/callback",
        "http://127.0.0.1:5000/other",
        "http://127.0.0.1:5000/callback?next=x",
        "https://127.0.0.1:5000/callback",
        "http://127.0.0.1:5000@evil.example/callback",
        "http://evil.example:5000/callback",
    ],
)
def test_the_control_plane_takes_only_an_exact_loopback_redirect(
    server: ControlPlaneServer, redirect_uri: str
) -> None:
    _, challenge = pkce()
    params = {
        "client_id": "astro-runtime-cli",
        "redirect_uri": redirect_uri,
        "state": "state-12345",
        "code_challenge": challenge,
    }
    page = requests.get(f"{server.url}/authorize", params=params, timeout=10)
    assert page.status_code == 422, page.text
    assert "http://127.0.0.1:<port>/callback" in page.text


def test_a_cli_code_is_not_redeemable_by_a_deployment_client(
    server: ControlPlaneServer, tree: Tree, author: str
) -> None:
    verifier, challenge = pkce()
    redirect = "http://127.0.0.1:5000/callback"
    picked = requests.post(
        f"{server.url}/authorize",
        data={
            "client_id": "astro-runtime-cli",
            "redirect_uri": redirect,
            "state": "state-12345",
            "code_challenge": challenge,
            "user_id": author,
        },
        allow_redirects=False,
        timeout=10,
    )
    assert picked.status_code == 303
    code = parse_qs(urlsplit(picked.headers["Location"]).query)["code"][0]
    token = requests.post(
        f"{server.url}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect,
            "client_id": tree.deployment_id,
            "code_verifier": verifier,
        },
        timeout=10,
    )
    assert token.status_code == 422, token.text


def test_an_environment_token_is_used_and_not_stored(
    server: ControlPlaneServer, tree: Tree, config_home: Path
) -> None:
    _, secret = create_api_token(server, tree, "workspace", "WORKSPACE_AUTHOR")
    result = run_cli(config_home, "login", server.url, ASTRO_RUNTIME_API_TOKEN=secret)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(
        f"Using the API token in ASTRO_RUNTIME_API_TOKEN for organization {tree.organization_id}"
    )
    stored = (config_home / "astro-runtime" / "config.json").read_text()
    assert secret not in stored + result.stdout + result.stderr
    assert json.loads(stored)["token"] is None


def test_commands_without_a_login_say_how_to_log_in(config_home: Path) -> None:
    result = run_cli(config_home, "deploys")
    assert result.returncode == 1
    assert (
        result.stderr.strip() == "not logged in: run astro-runtime login URL (or set ASTRO_RUNTIME_API_TOKEN)"
    )
