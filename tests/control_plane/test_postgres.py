"""The control plane on PostgreSQL (by URL) instead of its default SQLite: a real throwaway server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from astronomer_control_plane.orm import Revocation
from astronomer_control_plane.services import revocations
from tests.support.control_plane import Tree, concurrent_redemptions, create_api_token, create_user, make_tree
from tests.support.postgres import PostgresServer
from tests.support.servers import ControlPlaneServer, poll

pytestmark = pytest.mark.integration


@pytest.fixture
def postgres_url(postgres_server: PostgresServer, request: pytest.FixtureRequest) -> str:
    """A database of its own for each test, on the session's throwaway PostgreSQL."""
    return postgres_server.create_database(request.node.name)


def test_control_plane_runs_and_persists_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    server = ControlPlaneServer(tmp_path / "cp", database_url=postgres_url).start()
    try:
        assert not (tmp_path / "cp" / "control-plane.db").exists()  # nothing went to SQLite
        tree = make_tree(server, "on-postgres")
        duplicate = server.admin().post(f"{server.url}/v1/organizations", json={"name": "on-postgres"}, timeout=10)
        assert duplicate.status_code == 409 and duplicate.json()["error"]["field"] == "name"
        server.restart()
        listed = server.admin().get(f"{server.url}/v1/organizations/{tree.organization_id}/deployments", timeout=10)
        assert [d["id"] for d in listed.json()] == [tree.deployment_id]
        agent = {"Authorization": f"Bearer {tree.agent_token}"}
        assert requests.get(f"{server.url}/v1/deployments/{tree.deployment_id}/revoked-tokens", headers=agent, timeout=10).ok
    finally:
        server.stop()


@pytest.fixture
def pg_server(tmp_path: Path, postgres_url: str) -> Iterator[ControlPlaneServer]:
    server = ControlPlaneServer(tmp_path / "cp", database_url=postgres_url).start()
    try:
        yield server
    finally:
        server.stop()


def _revoked_since(server: ControlPlaneServer, tree: Tree, cursor: str) -> tuple[set[str], str]:
    """What a deployment's poll collects from `cursor` on (every page), and the cursor it keeps."""
    seen: set[str] = set()
    while True:
        page = requests.get(
            f"{server.url}/v1/deployments/{tree.deployment_id}/revoked-tokens", params={"since": cursor},
            headers={"Authorization": f"Bearer {tree.agent_token}"}, timeout=10,
        ).json()  # fmt: skip
        seen |= {entry["jti"] for entry in page["revoked"]}
        if not page["revoked"]:
            return seen, page["cursor"]
        cursor = page["cursor"]


def _waiting_on_a_lock(engine: Engine) -> bool:
    with engine.connect() as connection:
        query = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        return connection.execute(text(query)).scalar_one() > 0


def _interleave(server: ControlPlaneServer, postgres_url: str, first_revocation: Callable[[Session], None], tree: Tree, second: str) -> set[str]:
    """Two revocations in concurrent transactions: the first (given) takes its seq and stays open
    while the second (`DELETE .../tokens/{second}` over HTTP) runs and a deployment polls; then the
    first commits and the deployment polls again from its cursor. Returns every jti it collected."""
    engine = create_engine(postgres_url)
    try:
        _, cursor = _revoked_since(server, tree, "")
        slow = Session(engine)
        slow.begin()
        first_revocation(slow)
        with ThreadPoolExecutor(1) as pool:
            fast = pool.submit(server.admin().delete, f"{server.url}/v1/organizations/{tree.organization_id}/tokens/{second}", timeout=60)
            # The second either commits at once, or waits for the first's lock: both are what we want to see.
            poll(lambda: fast.done() or _waiting_on_a_lock(engine), timeout=30, interval=0.05, what="the second revocation")
            seen, cursor = _revoked_since(server, tree, cursor)
            slow.commit()
            slow.close()
            assert fast.result(timeout=60).status_code == 200
        later, _ = _revoked_since(server, tree, cursor)
        return seen | later
    finally:
        engine.dispose()


def test_revocation_cursor_misses_nothing_when_transactions_commit_out_of_order(pg_server: ControlPlaneServer) -> None:
    tree = make_tree(pg_server, "revocation-order")
    (first, _), (second, _) = (create_api_token(pg_server, tree, "deployment", "DEPLOYMENT_ADMIN") for _ in range(2))

    def revoke_first(session: Session) -> None:  # as the control plane writes a revocation
        revocations.record(session, tree.organization_id, first, None)

    assert _interleave(pg_server, pg_server.database_url, revoke_first, tree, second) == {first, second}


def test_without_the_lock_the_cursor_skips_a_late_commit(pg_server: ControlPlaneServer) -> None:
    """The hazard the lock exists for, shown with the same interleaving and a bare INSERT: the poll
    sees the second revocation, moves its cursor past the first's seq, and never sees the first."""
    tree = make_tree(pg_server, "revocation-skip")
    (_, _), (second, _) = (create_api_token(pg_server, tree, "deployment", "DEPLOYMENT_ADMIN") for _ in range(2))

    def bare_insert(session: Session) -> None:
        session.add(Revocation(organization_id=tree.organization_id, jti="unserialised-jti", expires_at=None))
        session.flush()

    assert _interleave(pg_server, pg_server.database_url, bare_insert, tree, second) == {second}


def test_concurrent_redemptions_on_postgresql_have_one_winner(pg_server: ControlPlaneServer) -> None:
    tree = make_tree(pg_server, "redemption-race")
    user_id = create_user(pg_server, tree, "race@example.com", [])
    for _ in range(3):
        assert concurrent_redemptions(pg_server, tree, user_id) == [200] + [422] * 7


def test_a_login_racing_a_role_change_carries_the_new_roles_or_is_revoked(pg_server: ControlPlaneServer) -> None:
    """A role change (held open after it revoked the user's live tokens, as set_user_roles does it)
    and a code redemption at the same time: the redemption waits for the organization's revocation
    lock, so its token carries the new roles (without the lock: the old ones, and nothing revokes it)."""
    import jwt
    from sqlalchemy import delete

    from astronomer_control_plane.orm import RoleBinding, User
    from astronomer_control_plane.services import management
    from tests.support.control_plane import issue_code, pkce, redeem_code

    tree = make_tree(pg_server, "role-race")
    workspace = {"scope": "workspace", "scope_id": tree.workspace_id}
    user_id = create_user(pg_server, tree, "racer@example.com", [{**workspace, "role": "WORKSPACE_OPERATOR"}])
    verifier, challenge = pkce()
    code = issue_code(pg_server, tree, user_id, challenge)
    engine = create_engine(pg_server.database_url)
    try:
        change = Session(engine)
        change.begin()
        change.execute(delete(RoleBinding).where(RoleBinding.user_id == user_id))
        change.add(RoleBinding(user_id=user_id, role="WORKSPACE_MEMBER", **workspace))
        change.flush()
        user = change.get(User, user_id)
        assert user is not None
        management._revoke_user_tokens(change, user)
        with ThreadPoolExecutor(1) as pool:
            redeemed = pool.submit(redeem_code, pg_server, tree, code, verifier)
            poll(lambda: redeemed.done() or _waiting_on_a_lock(engine), timeout=30, interval=0.05, what="the redemption")
            change.commit()
            change.close()
            response = redeemed.result(timeout=60)
    finally:
        engine.dispose()
    assert response.status_code == 200, response.text
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    revoked, _ = _revoked_since(pg_server, tree, "")
    assert claims["astro_roles"].get("workspace") == "WORKSPACE_MEMBER" or claims["jti"] in revoked, claims["astro_roles"]
