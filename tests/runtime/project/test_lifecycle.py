"""`project start | logs | run | restart | stop` for real, as a customer uses them: a project with three
requirements of its own (pure Python, a compiled wheel, an Airflow provider outside the curated set)
runs in its own environment with the control plane; a DAG that imports all three runs green through
the REST API with a control-plane token; airflow_settings.yaml is read back; a restart reuses the
environment; stop leaves nothing running."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from astronomer_runtime.local.supervisor import processes_with_env
from astronomer_runtime.project.state import RunRecord, airflow_home, control_plane_dir
from tests.projects import (
    EXTRAS_DAG,
    EXTRAS_DAG_ID,
    EXTRAS_REQUIREMENTS,
    SETTINGS_CONNECTION,
    SETTINGS_CONNECTION_EXTRA,
    write_project,
)
from tests.support.servers import final_state, free_port, poll, start_dag_run, warm_execution_api

pytestmark = pytest.mark.integration

def _cli(project: Path, verb: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "astronomer_runtime", "project", verb, "--project", str(project), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def started(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[str], str]]:
    project = write_project(tmp_path_factory.mktemp("lifecycle") / "customer", requirements=EXTRAS_REQUIREMENTS)
    (project / "dags" / "project_extras.py").write_text(EXTRAS_DAG)
    ports = ["--port", str(free_port()), "--control-plane-port", str(free_port())]
    output = _ok(_cli(project, "start", *ports))
    try:
        yield project, ports, output
    finally:
        _cli(project, "stop", timeout=120)
        for pid in processes_with_env("AIRFLOW_HOME", str(airflow_home(project))):
            subprocess.run(["kill", "-9", str(pid)], check=False)


def _api(project: Path) -> tuple[requests.Session, str]:
    """A REST API session with a control-plane API token of the seeded workspace."""
    record = RunRecord.read(project)
    assert record is not None
    seeded = json.loads((control_plane_dir(project) / "deployment.json").read_text())
    admin = (control_plane_dir(project) / "admin-token").read_text().strip()
    created = requests.post(
        f"{seeded['control_plane_url']}/v1/organizations/{seeded['organization_id']}/tokens",
        json={"name": "lifecycle", "scope": "workspace", "scope_id": seeded["workspace_id"], "role": "WORKSPACE_OPERATOR"},
        headers={"Authorization": f"Bearer {admin}"}, timeout=10,
    )  # fmt: skip
    created.raise_for_status()
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {created.json()['secret']}"
    return api, record.url


def test_start_builds_the_environment_and_runs_the_projects_requirements(started) -> None:
    project, _, output = started
    assert "environment " in output and "(built in " in output
    assert "Airflow is up: http://127.0.0.1:" in output
    api, url = _api(project)
    warm_execution_api(url)
    poll(lambda: api.get(f"{url}/api/v2/dags/{EXTRAS_DAG_ID}", timeout=10).ok, timeout=180, what="the DAG")
    run_url = start_dag_run(api, url, EXTRAS_DAG_ID)
    assert final_state(api, run_url, timeout=240) == "success"
    xcom = api.get(f"{run_url}/taskInstances/use_requirements/xcomEntries/return_value", timeout=10).json()
    assert xcom["value"] == '👍|{"a":1}|sqlite'


def test_settings_applied_and_read_back_through_the_rest_api(started) -> None:
    project, _, _ = started
    api, url = _api(project)
    connection = api.get(f"{url}/api/v2/connections/{SETTINGS_CONNECTION}", timeout=10)
    assert connection.ok, connection.text
    assert json.loads(connection.json()["extra"]) == SETTINGS_CONNECTION_EXTRA


def test_run_logs_and_refusals_while_running(started) -> None:
    project, ports, _ = started
    listed = _ok(_cli(project, "run", "--", "airflow", "dags", "list", "--output", "plain"))
    assert EXTRAS_DAG_ID in listed
    which = _ok(_cli(project, "run", "--", "python", "-c", "import sys; print(sys.prefix)"))
    assert "/venvs/" in which  # the project's environment, not the tool's
    scheduler = _ok(_cli(project, "logs", "scheduler"))
    assert scheduler and all(line.startswith("     scheduler | ") for line in scheduler.splitlines())
    again = _cli(project, "start", *ports)
    assert again.returncode == 1 and "is already running at http://127.0.0.1:" in again.stderr


def test_port_in_use_is_refused_before_anything_starts(tmp_path: Path) -> None:
    project = write_project(tmp_path / "busy")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = str(taken.getsockname()[1])
        refused = _cli(project, "start", "--port", port, "--control-plane-port", str(free_port()))
    assert refused.returncode == 1
    assert f"port {port} on 127.0.0.1 is in use" in refused.stderr and "pass --port" in refused.stderr
    assert RunRecord.read(project) is None


def test_restart_reuses_the_environment_and_stop_leaves_nothing(started) -> None:
    project, ports, _ = started
    restarted = _ok(_cli(project, "restart", *ports))
    assert "(reused in " in restarted and "Airflow is up" in restarted
    # The database this release migrated on the first start is not migrated again.
    assert "The database is already migrated for Runtime" in _ok(_cli(project, "logs"))
    home = airflow_home(project)
    assert len(processes_with_env("AIRFLOW_HOME", str(home))) >= 4
    assert _ok(_cli(project, "stop", timeout=120)).strip() == "stopped"
    assert processes_with_env("AIRFLOW_HOME", str(home)) == []
    assert RunRecord.read(project) is None
    assert _ok(_cli(project, "stop")).strip().endswith("is not running")
