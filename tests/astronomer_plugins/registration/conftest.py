"""Fixtures for registration tests: a real control plane, a migrated Airflow database, Airflow stacks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from astronomer_plugins.control_plane.models import ComponentStatus
from tests.astronomer_plugins.registration.airflow_stack import AirflowStack, migrated_database
from tests.support.control_plane import Tree, deployment_settings, make_tree
from tests.support.servers import ControlPlaneServer


@pytest.fixture
def control_plane(tmp_path: Path) -> Iterator[ControlPlaneServer]:
    """A control plane of the test's own (tests stop and restart it)."""
    server = ControlPlaneServer(tmp_path / "control-plane")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def tree(control_plane: ControlPlaneServer, request: pytest.FixtureRequest) -> Tree:
    return make_tree(control_plane, f"org-{request.node.name}"[:190])


@pytest.fixture(scope="session")
def airflow_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return migrated_database(tmp_path_factory.mktemp("airflow-template"))


def agent_settings(server: ControlPlaneServer, tree: Tree, *, interval: int, **extra: str) -> dict[str, str]:
    """[astronomer] settings of a deployment's components, as the local runtime passes them."""
    return deployment_settings(server, tree, AIRFLOW__ASTRONOMER__HEARTBEAT_INTERVAL=str(interval), **extra)


@pytest.fixture
def make_stack(tmp_path: Path, airflow_database: Path) -> Iterator[Callable[..., AirflowStack]]:
    stacks: list[AirflowStack] = []

    def make(settings: dict[str, str], **kwargs: object) -> AirflowStack:
        stack = AirflowStack(tmp_path / f"stack{len(stacks)}", airflow_database, settings, **kwargs)  # type: ignore[arg-type]
        stacks.append(stack)
        return stack

    try:
        yield make
    finally:
        for stack in stacks:
            stack.kill_all()


def components(server: ControlPlaneServer, tree: Tree) -> list[ComponentStatus]:
    """What the control plane knows about the deployment's components (asked with the agent token)."""
    response = requests.get(
        f"{server.url}/v1/deployments/{tree.deployment_id}/components",
        headers={"Authorization": f"Bearer {tree.agent_token}"}, timeout=10,
    )  # fmt: skip
    response.raise_for_status()
    return [ComponentStatus.model_validate(item) for item in response.json()]
