"""The customer's deploy path end to end on one machine: `project start --deploys` runs the project's
Airflow as a deployment runs (DAGs only from the control plane's deploys), `astro-runtime deploy --wait`
uploads the project with a workspace API token and returns once that Airflow parsed the version, and a
run of the deployed DAG executes the deployed code."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from astronomer_runtime.cloud import archive
from astronomer_runtime.local.supervisor import processes_with_env
from astronomer_runtime.project.state import airflow_home, control_plane_dir
from tests.projects import CUSTOMER_DAG, GREETING, write_project
from tests.runtime.project.test_lifecycle import _cli, _ok
from tests.support.servers import final_state, free_port, poll, start_dag_run, warm_execution_api

pytestmark = pytest.mark.integration
DEPLOYED_NAME = "deployed customer"


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict, str]]:
    project = write_project(tmp_path_factory.mktemp("deploy-local") / "customer")
    _ok(_cli(project, "start", "--deploys", "--port", str(free_port()), "--control-plane-port", str(free_port())))
    try:
        seeded = json.loads((control_plane_dir(project) / "deployment.json").read_text())
        admin = (control_plane_dir(project) / "admin-token").read_text().strip()
        created = requests.post(
            f"{seeded['control_plane_url']}/v1/organizations/{seeded['organization_id']}/tokens",
            json={"name": "deployer", "scope": "workspace", "scope_id": seeded["workspace_id"], "role": "WORKSPACE_AUTHOR"},
            headers={"Authorization": f"Bearer {admin}"}, timeout=10,
        )  # fmt: skip
        created.raise_for_status()
        yield project, seeded, created.json()["secret"]
    finally:
        _cli(project, "stop", timeout=120)
        for pid in processes_with_env("AIRFLOW_HOME", str(airflow_home(project))):
            os.kill(pid, 9)


def test_deploy_then_run_the_deployed_code(deployment, tmp_path: Path) -> None:
    project, seeded, token = deployment
    airflow_url = seeded.get("airflow_base_url") or _airflow_url(project)
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"
    # Nothing deployed yet: the project's own dags/ is not what this Airflow runs.
    assert api.get(f"{airflow_url}/api/v2/dags/{CUSTOMER_DAG}", timeout=10).status_code == 404

    dag_file = project / "dags" / "customer.py"
    dag_file.write_text(dag_file.read_text().replace('greet("customer")', f'greet("{DEPLOYED_NAME}")'))
    version = archive.build(project).sha256
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config"), "ASTRO_RUNTIME_API_TOKEN": token,
           "ASTRO_RUNTIME_URL": seeded["control_plane_url"]}  # fmt: skip
    command = [sys.executable, "-m", "astronomer_runtime", "deploy", "--project", str(project),
               "--deployment", seeded["deployment_id"], "--description", "local deploy", "--wait"]  # fmt: skip
    deployed = subprocess.run(command, capture_output=True, text=True, timeout=400, env=env)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    assert version[:12] in deployed.stdout

    assert re.search(rf"serves bundle {version[:12]} \(reported after \d+\.\d s\)", deployed.stdout)

    def parsed() -> bool:  # served, then parsed by the dag-processor's next cycle
        versions = api.get(f"{airflow_url}/api/v2/dags/{CUSTOMER_DAG}/dagVersions", timeout=10).json()
        return version in [entry.get("bundle_version") for entry in versions.get("dag_versions", [])]

    poll(parsed, timeout=120, what=f"a DAG version of bundle {version[:12]}")
    warm_execution_api(airflow_url)
    assert api.patch(f"{airflow_url}/api/v2/dags/{CUSTOMER_DAG}", json={"is_paused": False}, timeout=10).ok
    run_url = start_dag_run(api, airflow_url, CUSTOMER_DAG)
    assert final_state(api, run_url, timeout=240) == "success"
    xcom = api.get(f"{run_url}/taskInstances/say_hello/xcomEntries/return_value", timeout=10).json()
    assert xcom["value"] == f"{GREETING}, {DEPLOYED_NAME}!".upper()


def _airflow_url(project: Path) -> str:
    from astronomer_runtime.project.state import RunRecord

    record = RunRecord.read(project)
    assert record is not None
    poll(lambda: requests.get(f"{record.url}/api/v2/monitor/health", timeout=5).ok, timeout=60, what="Airflow")
    return record.url
