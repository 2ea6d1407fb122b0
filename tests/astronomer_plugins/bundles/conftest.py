"""Fixtures for the DAG bundle: the real control plane over HTTP, one deployment per test, and the
bundle's settings ([astronomer] and Airflow's bundle storage) in this process's environment."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.astronomer_plugins.bundles.deploys import Deployer
from tests.support.control_plane import Tree, deployment_settings, make_tree
from tests.support.servers import ControlPlaneServer


@pytest.fixture(scope="module")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlaneServer]:
    server = ControlPlaneServer(tmp_path_factory.mktemp("bundles") / "control-plane")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def tree(control_plane: ControlPlaneServer, request: pytest.FixtureRequest) -> Tree:
    return make_tree(control_plane, f"org-{request.node.name}"[:190])


@pytest.fixture
def deployer(control_plane: ControlPlaneServer, tree: Tree) -> Deployer:
    return Deployer(control_plane, tree)


@pytest.fixture
def storage(tmp_path: Path) -> Path:
    return tmp_path / "dag-bundles"


@pytest.fixture
def connected(
    control_plane: ControlPlaneServer, tree: Tree, storage: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """This process is a component of the test's deployment, with its own bundle storage."""
    settings = deployment_settings(
        control_plane, tree, AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH=str(storage)
    )
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    return settings
