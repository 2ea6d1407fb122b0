"""The control plane on PostgreSQL (by URL) instead of its default SQLite: a real throwaway server."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.control_plane.conftest import make_tree
from tests.servers import ControlPlaneServer, free_port, poll, stop_process_group

pytestmark = pytest.mark.integration
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _as_postgres(*argv: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else list(argv)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    if not (PG_BIN / "initdb").exists():
        pytest.fail("PostgreSQL 15 is not installed: apt-get install postgresql (as .ci/run does)")
    # Not under pytest's tmp_path: that is private to root, and PostgreSQL refuses to run as root.
    top = Path(tempfile.mkdtemp(prefix="astro-pg-"))
    top.chmod(0o755)
    data = top / "data"
    data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(data, "postgres")
    init = subprocess.run(_as_postgres(str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"),
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert init.returncode == 0, init.stderr
    port = free_port()
    server = subprocess.Popen(
        _as_postgres(str(PG_BIN / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(port), "-k", str(data)),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        ready = [str(PG_BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)]
        poll(lambda: subprocess.run(ready, capture_output=True).returncode == 0, timeout=30, interval=0.2, what="PostgreSQL")
        create = subprocess.run([str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "control_plane"],
                                capture_output=True, text=True, timeout=30)  # fmt: skip
        assert create.returncode == 0, create.stderr
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/control_plane"
    finally:
        stop_process_group(server)
        shutil.rmtree(top, ignore_errors=True)


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
