"""The revocation list: in process against a scripted endpoint (paging, catching up, failures), and
against a real control plane (controllable clocks stand in for waiting)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from astronomer_plugins.auth.revocations import MAX_PAGES_PER_POLL, RevocationList, revocation_leeway
from astronomer_plugins.control_plane.client import ControlPlaneClient, RetryPolicy
from astronomer_plugins.control_plane.models import RevokedToken, RevokedTokenPage
from astronomer_plugins.errors import ControlPlaneAuthError, ControlPlaneUnavailable, VerificationUnavailable
from tests.support.control_plane import create_api_token, make_tree
from tests.support.servers import ControlPlaneServer

LEEWAY = 30


class Clocks:
    def __init__(self) -> None:
        self.wall = dt.datetime.now(dt.UTC)
        self.monotonic = 1000.0


class Pages:
    """The revocation endpoint as RevocationList.poll calls it: one revoked jti per page, `pages` pages
    after cursor 0; `down` makes every call fail as an unreachable control plane does."""

    def __init__(self, pages: int) -> None:
        self.pages, self.down, self.calls = pages, False, []

    def revoked_tokens(self, deployment_id: str, since: str = "") -> RevokedTokenPage:
        self.calls.append(since)
        if self.down:
            raise ControlPlaneUnavailable("GET revoked-tokens: no answer")
        position = int(since or 0)
        if position >= self.pages:
            return RevokedTokenPage(revoked=[], cursor=str(position))
        now = dt.datetime.now(dt.UTC)
        entry = RevokedToken(jti=f"jti-{position}", revoked_at=now, expires_at=now + dt.timedelta(hours=1))
        return RevokedTokenPage(revoked=[entry], cursor=str(position + 1))


def test_a_poll_follows_the_cursor_and_the_next_one_starts_where_it_ended() -> None:
    revocations, pages = RevocationList(max_staleness=60), Pages(3)
    assert revocations.poll(pages, "dep") == 3  # type: ignore[arg-type]
    assert pages.calls == ["", "1", "2", "3"]
    assert [revocations.is_revoked(f"jti-{n}") for n in range(4)] == [True, True, True, False]
    revocations.check_fresh()
    pages.pages = 4
    assert revocations.poll(pages, "dep") == 1  # type: ignore[arg-type]
    assert pages.calls[4:] == ["3", "4"]


def test_a_list_not_caught_up_within_one_poll_is_not_fresh() -> None:
    """More pages than one poll takes: what it read is kept, but the list is not trusted yet."""
    revocations, pages = RevocationList(max_staleness=60), Pages(MAX_PAGES_PER_POLL + 5)
    assert revocations.poll(pages, "dep") == MAX_PAGES_PER_POLL  # type: ignore[arg-type]
    with pytest.raises(VerificationUnavailable, match="not been fetched"):
        revocations.check_fresh()
    assert revocations.poll(pages, "dep") == 5  # type: ignore[arg-type]
    revocations.check_fresh()


def test_a_failed_poll_keeps_the_list_and_lets_it_age() -> None:
    clocks, pages = Clocks(), Pages(1)
    revocations = RevocationList(max_staleness=10, clock=lambda: clocks.monotonic)
    revocations.poll(pages, "dep")  # type: ignore[arg-type]
    pages.down, clocks.monotonic = True, clocks.monotonic + 11
    with pytest.raises(ControlPlaneUnavailable):
        revocations.poll(pages, "dep")  # type: ignore[arg-type]
    assert revocations.is_revoked("jti-0")
    with pytest.raises(VerificationUnavailable, match="more than 10s"):
        revocations.check_fresh()


@pytest.mark.parametrize(("auth_leeway", "jwt_leeway", "kept"), [(10, 10, 11), (30, 10, 31), (0, 45, 46)])
def test_entries_are_kept_past_the_longer_leeway(auth_leeway: int, jwt_leeway: int, kept: int) -> None:
    assert revocation_leeway(auth_leeway, jwt_leeway) == kept


@pytest.mark.integration
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
