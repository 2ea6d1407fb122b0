"""`deploy --wait` end to end with real processes: the real control plane, and Airflow's api-server
(with the Astronomer auth manager, which takes the CLI's control-plane token) and dag-processor
configured with the control-plane DAG bundle. The command returns once the deployment's Airflow has
parsed the bundle version it uploaded."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from astronomer_runtime.cloud import archive
from tests.astronomer_plugins.registration.airflow_stack import AirflowStack, migrated_database
from tests.runtime.cloud.cli_support import log_in, run_cli
from tests.runtime.cloud.test_deploy import write_project
from tests.support.control_plane import Tree, create_api_token, create_user, deployment_settings, make_tree
from tests.support.servers import ControlPlaneServer, free_port, poll

pytestmark = pytest.mark.integration
TIMEOUT = 240.0
AUTH_MANAGER = "astronomer_plugins.auth.manager.AstronomerAuthManager"


@pytest.fixture(scope="module")
def airflow_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return migrated_database(tmp_path_factory.mktemp("airflow-template"))


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def tree(server: ControlPlaneServer, port: int) -> Tree:
    return make_tree(server, "org-cli-wait", base_url=f"http://127.0.0.1:{port}")


@pytest.fixture
def stack(
    tmp_path: Path, airflow_database: Path, server: ControlPlaneServer, tree: Tree, port: int
) -> Iterator[AirflowStack]:
    bundles = [
        {
            "name": "control-plane",
            "classpath": "astronomer_plugins.bundles.ControlPlaneDagBundle",
            "kwargs": {"refresh_interval": 2},
        }
    ]
    settings = deployment_settings(
        server,
        tree,
        AIRFLOW__CORE__AUTH_MANAGER=AUTH_MANAGER,
        AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST=json.dumps(bundles),
        AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH=str(tmp_path / "dag-bundles"),
        AIRFLOW__DAG_PROCESSOR__BUNDLE_REFRESH_CHECK_INTERVAL="1",
        AIRFLOW__ASTRONOMER__METRICS_PUSH_ENABLED="False",
    )
    stack = AirflowStack(tmp_path / "stack", airflow_database, settings, fanout_tasks=1, port=port)
    try:
        yield stack
    finally:
        stack.kill_all()


def test_deploy_wait_returns_once_the_deployment_parsed_the_new_version(
    server: ControlPlaneServer, tree: Tree, stack: AirflowStack, config_home: Path, tmp_path: Path
) -> None:
    _, secret = create_api_token(server, tree, "workspace", "WORKSPACE_AUTHOR")
    env = {"ASTRO_RUNTIME_API_TOKEN": secret, "ASTRO_RUNTIME_URL": server.url}
    stack.start("api-server", "dag-processor")
    poll(stack.healthy, timeout=TIMEOUT, what="the api-server")
    project = write_project(tmp_path / "project", text="waited-for")
    version = archive.build(project).sha256

    result = run_cli(
        config_home,
        "deploy",
        "--project",
        str(project),
        "--deployment",
        tree.deployment_id,
        "--wait",
        "--wait-timeout",
        str(TIMEOUT),
        timeout=TIMEOUT + 60,
        **env,
    )
    assert result.returncode == 0, result.stderr + stack.log("dag-processor")[-3000:]
    assert re.search(rf"runs bundle {version[:12]} \(parsed after \d+\.\d s\)", result.stdout), result.stdout
    # When the command returned, the DAG version of that bundle version was there, by Airflow's own API.
    versions = requests.get(
        f"{stack.base_url}/api/v2/dags/cli_deploy_hello/dagVersions",
        headers={"Authorization": f"Bearer {secret}"},
        timeout=10,
    )
    assert versions.status_code == 200, versions.text
    assert version in [v["bundle_version"] for v in versions.json()["dag_versions"]]

    # A browser login's token is organization-wide and carries only the organization role: its deploy
    # lands, but the deployment's Airflow refuses that token (401: it takes organization-wide audiences
    # from API tokens only), and the wait says so at once instead of timing out.
    member_home = tmp_path / "author-config"
    roles = [{"scope": "workspace", "scope_id": tree.workspace_id, "role": "WORKSPACE_AUTHOR"}]
    log_in(member_home, server, create_user(server, tree, "waiting-author@example.com", roles))
    (project / "include" / "helpers.py").write_text("VALUE = 'second'\n")
    refused = run_cli(
        member_home,
        "deploy",
        "--project",
        str(project),
        "--deployment",
        tree.deployment_id,
        "--wait",
        timeout=TIMEOUT,
    )
    assert refused.returncode == 1
    assert refused.stdout.startswith("Deploy ")
    assert refused.stderr.strip() == (
        f"--wait: the deployment's Airflow at {stack.base_url} refused this login (HTTP 401) to read DAG "
        "versions; a deployment or workspace API token (ASTRO_RUNTIME_API_TOKEN) carries the roles it checks"
    )
