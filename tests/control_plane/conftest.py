"""A real control-plane process per test module, and an organization tree built through its API."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.servers import ControlPlaneServer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlaneServer]:
    instance = ControlPlaneServer(tmp_path_factory.mktemp("cp") / "data")
    instance.start()
    try:
        yield instance
    finally:
        instance.stop()


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
        json={"name": "dep", "workspace_id": ws.json()["id"], "runtime_version": "3.3-2", "base_url": base_url},
        timeout=10,
    )
    assert dep.status_code == 201, dep.text
    body = dep.json()
    return Tree(org_id, ws.json()["id"], body["deployment"]["id"], body["agent_token"], base_url)


@pytest.fixture
def tree(server: ControlPlaneServer, request: pytest.FixtureRequest) -> Tree:
    return make_tree(server, f"org-{request.node.name}"[:190])
