"""`deploy --wait` end to end with real processes: the real control plane, and Airflow's api-server
(with the Astronomer auth manager, which takes the CLI's control-plane token) and dag-processor
configured with the control-plane DAG bundle. The command returns once the deployment's dag-processor
has reported serving the bundle version it uploaded (the deploy's `served_at`), with an API token and
with a browser login alike; Airflow then parses that version."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from subprocess import CompletedProcess

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
    return make_tree(server, f"org-cli-wait-{port}", base_url=f"http://127.0.0.1:{port}")


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


def served_at(server: ControlPlaneServer, tree: Tree, token: str, stdout: str) -> str | None:
    """The control plane's record of the deploy the command printed ("Deploy <id>: ...")."""
    deploy_id = re.match(r"Deploy (\S+):", stdout)
    assert deploy_id, stdout
    url = f"{server.url}/v1/organizations/{tree.organization_id}/deployments/{tree.deployment_id}/deploys"
    record = requests.get(
        f"{url}/{deploy_id.group(1)}", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert record.status_code == 200, record.text
    return record.json()["served_at"]


def deploy_waiting(home: Path, project: Path, tree: Tree, wait_timeout: float, **env: str) -> CompletedProcess[str]:
    """`astro-runtime deploy --wait` of `project` to the tree's deployment."""
    return run_cli(
        home, "deploy", "--project", str(project), "--deployment", tree.deployment_id,
        "--wait", "--wait-timeout", str(wait_timeout), timeout=wait_timeout + 60, **env,
    )  # fmt: skip


def test_deploy_wait_returns_once_the_deployment_serves_the_new_version(
    server: ControlPlaneServer, tree: Tree, stack: AirflowStack, config_home: Path, tmp_path: Path
) -> None:
    _, secret = create_api_token(server, tree, "workspace", "WORKSPACE_AUTHOR")
    env = {"ASTRO_RUNTIME_API_TOKEN": secret, "ASTRO_RUNTIME_URL": server.url}
    stack.start("api-server", "dag-processor")
    poll(stack.healthy, timeout=TIMEOUT, what="the api-server")
    project = write_project(tmp_path / "project", text="waited-for")
    version = archive.build(project).sha256

    result = deploy_waiting(config_home, project, tree, TIMEOUT, **env)
    assert result.returncode == 0, result.stderr + stack.log("dag-processor")[-3000:]
    assert re.search(rf"serves bundle {version[:12]} \(reported after \d+\.\d s\)", result.stdout), (
        result.stdout
    )
    # The deploy records when the dag-processor first served it; Airflow then parses that version.
    assert served_at(server, tree, secret, result.stdout) is not None
    history = run_cli(config_home, "deploys", "--deployment", tree.deployment_id, **env)
    assert "SERVED (UTC)" in history.stdout.splitlines()[0], history.stdout + history.stderr

    def parsed(bundle_version: str) -> bool:
        versions = requests.get(
            f"{stack.base_url}/api/v2/dags/cli_deploy_hello/dagVersions",
            headers={"Authorization": f"Bearer {secret}"},
            timeout=10,
        )
        assert versions.status_code in (200, 404), versions.text
        return versions.ok and bundle_version in [
            v["bundle_version"] for v in versions.json()["dag_versions"]
        ]

    poll(lambda: parsed(version), timeout=TIMEOUT, what=f"Airflow's DAG version of bundle {version[:12]}")

    # A browser login's token is organization-wide: the deployment's Airflow would refuse it, but the
    # wait reads the control plane's deploy record, which any login that may deploy may read.
    author_home = tmp_path / "author-config"
    roles = [{"scope": "workspace", "scope_id": tree.workspace_id, "role": "WORKSPACE_AUTHOR"}]
    log_in(author_home, server, create_user(server, tree, "waiting-author@example.com", roles))
    (project / "dags" / "hello.py").write_text((project / "dags" / "hello.py").read_text() + "# second\n")
    second = archive.build(project).sha256
    waited = deploy_waiting(author_home, project, tree, TIMEOUT)
    assert waited.returncode == 0, waited.stderr + stack.log("dag-processor")[-3000:]
    assert f"serves bundle {second[:12]}" in waited.stdout, waited.stdout
    poll(lambda: parsed(second), timeout=TIMEOUT, what=f"Airflow's DAG version of bundle {second[:12]}")


def test_deploy_wait_times_out_naming_the_dag_processor(
    server: ControlPlaneServer, tree: Tree, config_home: Path, tmp_path: Path
) -> None:
    """No dag-processor runs: the deploy lands, the wait ends at its deadline with the reason."""
    _, secret = create_api_token(server, tree, "workspace", "WORKSPACE_AUTHOR")
    project = write_project(tmp_path / "project", text="nobody serves")
    result = deploy_waiting(config_home, project, tree, 2, ASTRO_RUNTIME_API_TOKEN=secret, ASTRO_RUNTIME_URL=server.url)
    assert result.returncode == 1
    assert result.stdout.startswith("Deploy ")
    assert f"deployment {tree.deployment_id} did not report serving bundle" in result.stderr
    assert "dag-processor" in result.stderr
    assert served_at(server, tree, secret, result.stdout) is None
