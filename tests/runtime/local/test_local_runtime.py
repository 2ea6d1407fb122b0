"""The local runtime for real: four Airflow components run a customer's Astro project (its DAGs
import from include/, dags/ and plugins/ as in the image), DAGs green, nothing left behind."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from astronomer_runtime.catalog import load_catalog
from astronomer_runtime.local.supervisor import processes_with_env
from tests.projects import (
    CUSTOMER_DAG,
    DAG_IDS,
    DOTENV_SETTING,
    DOTENV_SHELL_WINS,
    GREETING,
    HELLO_DAG,
    PLUGIN_NAME,
    SETTINGS_CONNECTION,
    SETTINGS_CONNECTION_EXTRA,
    SETTINGS_POOL,
    SETTINGS_VARIABLE,
    write_project,
)
from tests.support.servers import final_state, free_port, poll, start_dag_run

pytestmark = pytest.mark.integration

DAG_ID = HELLO_DAG
SHELL_VALUE = "from-the-shell"



@pytest.fixture
def local_runtime(tmp_path: Path):
    home = tmp_path / "airflow"
    project = write_project(tmp_path / "project")
    log_path = tmp_path / "runtime.log"
    port, control_plane_port = free_port(), free_port()
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "astronomer_runtime", "dev", "--port", str(port), "--home", str(home),
             "--control-plane-port", str(control_plane_port), "--project", str(project)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, DOTENV_SHELL_WINS[0]: SHELL_VALUE},
        )  # fmt: skip
    try:
        yield process, f"http://127.0.0.1:{port}", home, log_path
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        for pid in processes_with_env("AIRFLOW_HOME", str(home)):
            os.kill(pid, signal.SIGKILL)


def _healthy(base_url: str, process: subprocess.Popen, log_path: Path) -> bool:
    if process.poll() is not None:
        pytest.fail(f"the local runtime exited with {process.returncode}:\n{log_path.read_text()[-4000:]}")
    try:
        return requests.get(f"{base_url}/api/v2/monitor/health", timeout=2).ok
    except requests.ConnectionError:
        return False


def test_project_dags_run_green_and_stop_leaves_nothing(local_runtime) -> None:
    process, base_url, home, log_path = local_runtime
    poll(lambda: _healthy(base_url, process, log_path), timeout=180, what="the api-server to be healthy")

    # People and tokens come from the seeded control plane: log in through its user picker, as a
    # browser would, then drive the REST API with the session cookie.
    control_plane = home.parent / "control-plane"
    seeded = json.loads((control_plane / "deployment.json").read_text())
    api = requests.Session()
    start = api.get(f"{base_url}/auth/login", params={"next": "/"}, allow_redirects=False, timeout=10)
    assert start.headers["Location"].startswith(f"{seeded['control_plane_url']}/authorize?")
    picker = requests.get(start.headers["Location"], timeout=10)
    owner = re.search(r'name="user_id" value="([^"]+)">Olivia Owner', picker.text)
    assert owner, picker.text[:500]
    form = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', picker.text))
    picked = requests.post(f"{seeded['control_plane_url']}/authorize", data={**form, "user_id": owner.group(1)},
                           allow_redirects=False, timeout=10)  # fmt: skip
    landed = api.get(picked.headers["Location"], allow_redirects=False, timeout=10)
    assert landed.status_code == 303 and api.cookies.get("_token")

    # The project's airflow_settings.yaml was applied before the components started.
    connection = api.get(f"{base_url}/api/v2/connections/{SETTINGS_CONNECTION}", timeout=10).json()
    assert connection["host"] == "api.example.com"
    assert json.loads(connection["extra"]) == SETTINGS_CONNECTION_EXTRA
    assert api.get(f"{base_url}/api/v2/variables/{SETTINGS_VARIABLE}", timeout=10).json()["value"] == "local"
    assert api.get(f"{base_url}/api/v2/pools/{SETTINGS_POOL}", timeout=10).json()["slots"] == 2

    poll(lambda: api.get(f"{base_url}/api/v2/dags/{DAG_ID}", timeout=10).ok, timeout=120, what="the DAG to be parsed")
    assert api.patch(f"{base_url}/api/v2/dags/{DAG_ID}", json={"is_paused": False}, timeout=10).ok
    run_url = start_dag_run(api, base_url, DAG_ID)
    assert final_state(api, run_url, timeout=180) == "success"
    xcom = api.get(f"{run_url}/taskInstances/runtime_version/xcomEntries/return_value", timeout=10)
    assert xcom.json()["value"] == load_catalog().newest_stable(f"{sys.version_info.major}.{sys.version_info.minor}").name

    # The project's own DAGs import as they do in the image: every DAG parsed, no import errors, the
    # api-server loaded the plugin that imports include/, and a task ran include/ and plugins/ code.
    def every_dag_parsed() -> bool:
        errors = api.get(f"{base_url}/api/v2/importErrors", timeout=10).json()
        assert errors["total_entries"] == 0, errors  # names the file and the failed import
        listed = api.get(f"{base_url}/api/v2/dags", params={"limit": 100}, timeout=10).json()["dags"]
        return sorted(dag["dag_id"] for dag in listed) == sorted(DAG_IDS)

    poll(every_dag_parsed, timeout=120, what="every DAG of the project to be parsed")
    plugins = api.get(f"{base_url}/api/v2/plugins", timeout=10).json()
    assert PLUGIN_NAME in [plugin["name"] for plugin in plugins["plugins"]], plugins
    assert api.patch(f"{base_url}/api/v2/dags/{CUSTOMER_DAG}", json={"is_paused": False}, timeout=10).ok
    customer_run = start_dag_run(api, base_url, CUSTOMER_DAG)
    assert final_state(api, customer_run, timeout=180) == "success"
    xcom = api.get(f"{customer_run}/taskInstances/say_hello/xcomEntries/return_value", timeout=10)
    assert xcom.json()["value"] == f"{GREETING}, customer!".upper()
    # The project's .env reached the task; the shell beat it; the runtime's own port beat both, out loud.
    seen = api.get(f"{customer_run}/taskInstances/settings_seen/xcomEntries/return_value", timeout=10)
    assert seen.json()["value"] == f"{DOTENV_SETTING[1]}|{SHELL_VALUE}"
    assert "note: AIRFLOW__API__PORT from .env or the shell replaced by the local runtime" in log_path.read_text()

    # The control plane started first, was seeded for this Airflow, and its status page lists it.
    seeded = json.loads((home.parent / "control-plane" / "deployment.json").read_text())
    status = requests.get(f"{seeded['control_plane_url']}/deployments/{seeded['deployment_id']}/status", timeout=10)
    assert status.status_code == 200 and "Deployment local" in status.text
    assert f"Control plane status page: {seeded['control_plane_url']}/deployments/" in log_path.read_text()
    assert len(processes_with_env("AIRFLOW__ASTRONOMER__DEPLOYMENT_ID", seeded["deployment_id"])) >= 4
    agent = {"Authorization": f"Bearer {Path(seeded['agent_token_file']).read_text().strip()}"}
    components_url = f"{seeded['control_plane_url']}/v1/deployments/{seeded['deployment_id']}/components"

    def all_healthy() -> bool:
        listed = requests.get(components_url, headers=agent, timeout=10).json()
        return sorted(c["component"] for c in listed if c["state"] == "healthy") == [
            "api-server", "dag-processor", "scheduler", "triggerer",
        ]  # fmt: skip

    poll(all_healthy, timeout=60, what="all four components to show healthy on the control plane")
    page = requests.get(f"{seeded['control_plane_url']}/deployments/{seeded['deployment_id']}/status", timeout=10).text
    assert page.count("class='healthy'") >= 4
    assert len(processes_with_env("AIRFLOW_HOME", str(home))) >= 5
    stop_started = time.monotonic()
    os.kill(process.pid, signal.SIGTERM)
    assert process.wait(timeout=15) == 0
    assert time.monotonic() - stop_started < 15
    assert processes_with_env("AIRFLOW_HOME", str(home)) == []
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{seeded['control_plane_url']}/health", timeout=2)
    assert "All components stopped." in log_path.read_text()
