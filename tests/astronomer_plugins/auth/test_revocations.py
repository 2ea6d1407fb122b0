"""The revocation list against a real control plane (controllable clocks stand in for waiting)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from astronomer_plugins.auth.revocations import RevocationList
from astronomer_plugins.control_plane.client import ControlPlaneClient, RetryPolicy
from astronomer_plugins.errors import ControlPlaneAuthError, VerificationUnavailable
from tests.support.control_plane import create_api_token, make_tree
from tests.support.servers import ControlPlaneServer

pytestmark = pytest.mark.integration
LEEWAY = 30


class Clocks:
    def __init__(self) -> None:
        self.wall = dt.datetime.now(dt.UTC)
        self.monotonic = 1000.0


def test_revoked_entries_live_until_exp_plus_leeway_and_a_stale_list_refuses(tmp_path: Path) -> None:
    server = ControlPlaneServer(tmp_path / "cp").start()
    try:
        tree = make_tree(server, "revocations")
        token_id, _ = create_api_token(server, tree, "workspace", "WORKSPACE_MEMBER")
        deleted = server.admin().delete(f"{server.url}/v1/organizations/{tree.organization_id}/tokens/{token_id}", timeout=10)
        assert deleted.status_code == 200, deleted.text
        expires_at = dt.datetime.fromisoformat(deleted.json()["expires_at"])
        clocks = Clocks()
        revocations = RevocationList(
            leeway=LEEWAY, max_staleness=10, wall_clock=lambda: clocks.wall, clock=lambda: clocks.monotonic
        )
        with pytest.raises(VerificationUnavailable, match="not been fetched"):
            revocations.check_fresh()  # fresh start: nothing known yet, so nothing is accepted
        client = ControlPlaneClient(server.url, tree.agent_token, retry=RetryPolicy(attempts=1))

        clocks.wall = expires_at + dt.timedelta(seconds=LEEWAY - 1)  # expired, but verification still accepts it
        assert revocations.poll(client, tree.deployment_id) == 1
        assert revocations.is_revoked(token_id)
        revocations.check_fresh()

        clocks.monotonic += 10.5  # more than max_staleness without a successful poll
        with pytest.raises(VerificationUnavailable, match="more than 10s"):
            revocations.check_fresh()
        with pytest.raises(ControlPlaneAuthError):  # a failed poll (wrong agent token) does not refresh it
            revocations.poll(ControlPlaneClient(server.url, "astro_agent_wrong", retry=RetryPolicy(attempts=1)), tree.deployment_id)
        with pytest.raises(VerificationUnavailable):
            revocations.check_fresh()

        clocks.wall = expires_at + dt.timedelta(seconds=LEEWAY + 1)  # past exp + leeway: verification refuses it anyway
        revocations.poll(client, tree.deployment_id)
        revocations.check_fresh()
        assert not revocations.is_revoked(token_id)
    finally:
        server.stop()
