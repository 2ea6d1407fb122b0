"""`control-plane seed`: idempotent, one user per role, settings and a private agent-token file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from tests.support.servers import ControlPlaneServer

pytestmark = pytest.mark.integration


def test_seed_is_idempotent_and_gives_every_role(tmp_path: Path) -> None:
    server = ControlPlaneServer(tmp_path / "data")
    first = server.run("seed", "--base-url", "http://127.0.0.1:9090")
    assert first.returncode == 0, first.stderr
    settings = json.loads(first.stdout)
    token_file = Path(settings["agent_token_file"])
    token = token_file.read_text()
    assert token_file.stat().st_mode & 0o077 == 0
    second = server.run("seed", "--base-url", "http://127.0.0.1:9090")
    assert json.loads(second.stdout) == settings
    assert token_file.read_text() == token

    server.start()
    try:
        users = server.admin().get(f"{server.url}/v1/organizations/{settings['organization_id']}/users", timeout=10).json()
        roles = sorted(binding["role"] for user in users for binding in user["roles"])
        assert roles == sorted([
            "ORGANIZATION_OWNER", "ORGANIZATION_BILLING_ADMIN", "ORGANIZATION_MEMBER", "WORKSPACE_OWNER",
            "WORKSPACE_OPERATOR", "WORKSPACE_AUTHOR", "WORKSPACE_MEMBER", "DEPLOYMENT_ADMIN",
        ])  # fmt: skip
        deployment = server.admin().get(
            f"{server.url}/v1/organizations/{settings['organization_id']}/deployments/{settings['deployment_id']}",
            timeout=10,
        ).json()
        assert deployment["base_url"] == "http://127.0.0.1:9090" and deployment["name"] == "local"
        components = requests.get(
            f"{server.url}/v1/deployments/{settings['deployment_id']}/components",
            headers={"Authorization": f"Bearer {token.strip()}"}, timeout=10,
        )  # fmt: skip
        assert components.status_code == 200
    finally:
        server.stop()
