"""Property-based test of the control plane against its own OpenAPI document (schemathesis):
whatever the generated input, the service never answers with a 5xx."""

from __future__ import annotations

import hypothesis
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error

from tests.support.control_plane import Tree, make_tree
from tests.support.servers import ControlPlaneServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

schema = schemathesis.pytest.from_fixture("api_schema")
SETTINGS = hypothesis.settings(
    max_examples=25, deadline=None, derandomize=True, database=None,
    suppress_health_check=list(hypothesis.HealthCheck),
)  # fmt: skip


@pytest.fixture(scope="module")
def agent_tree(server: ControlPlaneServer) -> Tree:
    return make_tree(server, "schemathesis")


@pytest.fixture
def api_schema(server: ControlPlaneServer):  # noqa: ANN201 - schemathesis' schema type
    return schemathesis.openapi.from_url(f"{server.url}/openapi.json")


@schema.parametrize()
@SETTINGS
def test_no_server_errors_as_admin(case, server: ControlPlaneServer) -> None:  # noqa: ANN001
    case.call_and_validate(
        base_url=server.url, headers={"Authorization": f"Bearer {server.admin_token}"}, checks=[not_a_server_error]
    )


@schema.include(path_regex="^/v1/deployments/").parametrize()
@SETTINGS
def test_no_server_errors_as_agent(case, server: ControlPlaneServer, agent_tree: Tree) -> None:  # noqa: ANN001
    case.path_parameters = {**(case.path_parameters or {}), "deployment_id": agent_tree.deployment_id}
    case.call_and_validate(
        base_url=server.url, headers={"Authorization": f"Bearer {agent_tree.agent_token}"}, checks=[not_a_server_error]
    )
