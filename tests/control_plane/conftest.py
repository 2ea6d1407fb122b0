"""A real control-plane process per test module, and an organization tree built through its API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.control_plane import Tree, make_tree
from tests.support.servers import ControlPlaneServer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlaneServer]:
    instance = ControlPlaneServer(tmp_path_factory.mktemp("cp") / "data")
    instance.start()
    try:
        yield instance
    finally:
        instance.stop()


@pytest.fixture
def tree(server: ControlPlaneServer, request: pytest.FixtureRequest) -> Tree:
    return make_tree(server, f"org-{request.node.name}"[:190])
