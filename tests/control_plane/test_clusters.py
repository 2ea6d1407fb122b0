"""Clusters as records of an organization: the management API over HTTP, deployments placed on a
cluster of their own organization, and a database made before clusters existed brought up to date."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import requests

from astronomer_control_plane.app import bootstrap
from astronomer_control_plane.orm import Cluster, Deployment
from astronomer_control_plane.settings import Settings
from tests.support.bundles import dag_bundle
from tests.support.control_plane import Tree, create_api_token, make_tree
from tests.support.servers import ControlPlaneServer


def _org_url(server: ControlPlaneServer, tree: Tree) -> str:
    return f"{server.url}/v1/organizations/{tree.organization_id}"


def _deployment(tree: Tree, name: str, **extra: str) -> dict[str, str]:
    body = {"name": name, "workspace_id": tree.workspace_id, "runtime_version": "3.3-2"}
    return {**body, "base_url": "http://127.0.0.1:9100", **extra}


@pytest.mark.integration
def test_deployments_land_on_a_cluster_of_their_organization(server: ControlPlaneServer, tree: Tree) -> None:
    admin = server.admin()
    # make_tree named no cluster: the organization's `local` cluster was made for it.
    [local] = admin.get(f"{_org_url(server, tree)}/clusters", timeout=10).json()
    assert (local["name"], local["kind"], local["cloud_provider"], local["region"]) == (
        "local",
        "local",
        "local",
        "local",
    )
    first = admin.get(f"{_org_url(server, tree)}/deployments/{tree.deployment_id}", timeout=10).json()
    assert (first["cluster_id"], first["cluster"]) == (local["id"], "local")

    body = {"name": "prod-eu", "cloud_provider": "aws", "region": "eu-central-1", "kind": "kubernetes"}
    created = admin.post(f"{_org_url(server, tree)}/clusters", json=body, timeout=10)
    assert created.status_code == 201, created.text
    cluster = created.json()
    assert {k: cluster[k] for k in body} == body and cluster["id"].startswith("cls_")
    assert admin.post(f"{_org_url(server, tree)}/clusters", json=body, timeout=10).status_code == 409
    assert admin.get(f"{_org_url(server, tree)}/clusters/{cluster['id']}", timeout=10).json() == cluster

    placed = admin.post(
        f"{_org_url(server, tree)}/deployments",
        json=_deployment(tree, "eu", cluster_id=cluster["id"]),
        timeout=10,
    )
    assert placed.status_code == 201, placed.text
    deployment = placed.json()["deployment"]
    assert (deployment["cluster_id"], deployment["cluster"], deployment["region"]) == (
        cluster["id"],
        "prod-eu",
        "eu-central-1",
    )

    other = make_tree(server, "clusters-other-org")
    [foreign] = admin.get(
        f"{server.url}/v1/organizations/{other.organization_id}/clusters", timeout=10
    ).json()
    refused = admin.post(
        f"{_org_url(server, tree)}/deployments",
        json=_deployment(tree, "x", cluster_id=foreign["id"]),
        timeout=10,
    )
    assert refused.status_code == 404 and refused.json()["error"]["field"] == "cluster_id"
    page = requests.get(f"{server.url}/deployments/{deployment['id']}/status", timeout=10).text
    assert "cluster prod-eu" in page


@pytest.mark.integration
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "c", "cloud_provider": "aws", "region": "us-east-1", "kind": "mainframe"}, "kind"),
        (
            {"name": "c", "cloud_provider": "AWS cloud", "region": "us-east-1", "kind": "kubernetes"},
            "cloud_provider",
        ),
        ({"name": "", "cloud_provider": "aws", "region": "us-east-1", "kind": "kubernetes"}, "name"),
        ({"name": "c", "cloud_provider": "aws", "kind": "kubernetes"}, "region"),
    ],
)
def test_bad_cluster_names_the_field(server: ControlPlaneServer, tree: Tree, body: dict, field: str) -> None:
    response = server.admin().post(f"{_org_url(server, tree)}/clusters", json=body, timeout=10)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field


@pytest.mark.integration
def test_clusters_need_an_organization_owner(server: ControlPlaneServer, tree: Tree) -> None:
    _, author = create_api_token(server, tree, "workspace", "WORKSPACE_AUTHOR")
    response = requests.get(
        f"{_org_url(server, tree)}/clusters", headers={"Authorization": f"Bearer {author}"}, timeout=10
    )
    assert response.status_code == 403


# The deployments table as it was before clusters were records (from the commit before issue 16).
OLD_SCHEMA = """
CREATE TABLE organizations (id VARCHAR(40) PRIMARY KEY, name VARCHAR(200) UNIQUE NOT NULL,
    created_at DATETIME NOT NULL);
CREATE TABLE workspaces (id VARCHAR(40) PRIMARY KEY,
    organization_id VARCHAR(40) NOT NULL REFERENCES organizations (id), name VARCHAR(200) NOT NULL, created_at DATETIME NOT NULL, UNIQUE (organization_id, name));
CREATE TABLE deployments (id VARCHAR(40) PRIMARY KEY,
    organization_id VARCHAR(40) NOT NULL REFERENCES organizations (id), workspace_id VARCHAR(40) NOT NULL REFERENCES workspaces (id), name VARCHAR(200) NOT NULL,
    cluster VARCHAR(200) NOT NULL, region VARCHAR(100) NOT NULL, runtime_version VARCHAR(64) NOT NULL,
    base_url VARCHAR(2048) NOT NULL, agent_token_hash VARCHAR(64) UNIQUE, created_at DATETIME NOT NULL,
    UNIQUE (workspace_id, name));
INSERT INTO organizations VALUES ('org_old', 'Old Org', '2026-11-01 00:00:00');
INSERT INTO workspaces VALUES ('ws_old', 'org_old', 'ws', '2026-11-01 00:00:00');
INSERT INTO deployments VALUES ('dep_local', 'org_old', 'ws_old', 'a', 'local', 'local', '3.3-2',
    'http://127.0.0.1:1', NULL, '2026-11-01 00:00:00');
INSERT INTO deployments VALUES ('dep_eks', 'org_old', 'ws_old', 'b', 'eks-prod', 'us-east-1', '3.3-2',
    'http://127.0.0.1:2', NULL, '2026-11-01 00:00:00');
"""


def test_a_database_from_before_clusters_is_migrated(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    with sqlite3.connect(data_dir / "control-plane.db") as connection:
        connection.executescript(OLD_SCHEMA)
    for _ in range(2):  # every start upgrades; the second finds nothing to do
        cp = bootstrap(Settings(data_dir=data_dir))
        with cp.transaction() as session:
            clusters = {c.id: (c.name, c.kind, c.region) for c in session.query(Cluster)}
            placed = {d.id: clusters[d.cluster_id] for d in session.query(Deployment) if d.cluster_id}
        cp.engine.dispose()
        assert placed == {
            "dep_local": ("local", "local", "local"),
            "dep_eks": ("eks-prod", "kubernetes", "us-east-1"),
        }
        assert len(clusters) == 2


@pytest.mark.integration
def test_seeded_deployment_is_on_the_local_cluster(tmp_path: Path) -> None:
    server = ControlPlaneServer(tmp_path / "data")
    seeded = server.run("seed", "--base-url", "http://127.0.0.1:9091")
    assert seeded.returncode == 0, seeded.stderr
    assert server.run("seed", "--base-url", "http://127.0.0.1:9091").returncode == 0  # idempotent
    server.start()
    try:
        settings = json.loads(seeded.stdout)
        org_url = f"{server.url}/v1/organizations/{settings['organization_id']}"
        [cluster] = server.admin().get(f"{org_url}/clusters", timeout=10).json()
        assert (cluster["name"], cluster["kind"]) == ("local", "local")
        deployment = (
            server.admin().get(f"{org_url}/deployments/{settings['deployment_id']}", timeout=10).json()
        )
        assert deployment["cluster_id"] == cluster["id"]
        upload = requests.post(
            f"{org_url}/deployments/{settings['deployment_id']}/deploys",
            data=dag_bundle("seeded"),
            headers={"Content-Type": "application/gzip", "Authorization": f"Bearer {server.admin_token}"},
            timeout=30,
        )
        assert upload.status_code == 201, upload.text
        page = requests.get(f"{server.url}/deployments/{settings['deployment_id']}/status", timeout=10).text
        assert upload.json()["bundle"]["version"] in page and "cluster local" in page
    finally:
        server.stop()
