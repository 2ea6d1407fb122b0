"""Bundles as a customer's `deploy` makes them (tar.gz of dags/, include/, plugins/), and deploys made
through the control plane's management API with a WORKSPACE_AUTHOR API token, as the contract says."""

from __future__ import annotations

import hashlib
import io
import tarfile
import time

import requests

from tests.support.control_plane import Tree, create_api_token
from tests.support.servers import ControlPlaneServer


def make_bundle(files: dict[str, str], *, extra: list[tarfile.TarInfo] | None = None) -> bytes:
    """A tar.gz of `files` (path -> text) plus raw `extra` members (links, devices...)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = int(time.time()) - 86400  # older than any parse: the unpack must restamp it
            tar.addfile(info, io.BytesIO(data))
        for info in extra or []:
            tar.addfile(info)
    return buffer.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Deployer:
    """Deploys to one deployment through the management API, as the CLI does."""

    def __init__(self, server: ControlPlaneServer, tree: Tree) -> None:
        self.server = server
        self.tree = tree
        _, self.token = create_api_token(server, tree, "workspace", "WORKSPACE_AUTHOR")
        self.base = (
            f"{server.url}/v1/organizations/{tree.organization_id}/deployments/{tree.deployment_id}/deploys"
        )

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, deploy_id: str) -> dict:
        response = requests.get(f"{self.base}/{deploy_id}", headers=self._headers(), timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def deploy(self, data: bytes, description: str = "") -> dict:
        response = requests.post(
            self.base,
            params={"description": description},
            data=data,
            headers={**self._headers(), "Content-Type": "application/gzip"},
            timeout=30,
        )
        assert response.status_code == 201, response.text
        return response.json()

    def rollback(self, deploy_id: str) -> dict:
        response = requests.post(f"{self.base}/{deploy_id}/rollback", headers=self._headers(), timeout=30)
        assert response.status_code == 201, response.text
        return response.json()
