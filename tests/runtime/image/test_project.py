"""A real Astro project in the real image: its DAGs import from AIRFLOW_HOME (`from include...`,
`from dags.pkg...`, `from plugins...`) for the image's user and for an arbitrary uid with gid 0,
and one of them runs to success with its output visible."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass

import pytest

from tests.projects import CUSTOMER_DAG, DAG_IDS, GREETING, PLUGIN_NAME
from tests.runtime.image.drivers import BuildahDriver

pytestmark = pytest.mark.image

AIRFLOW_HOME = "/usr/local/airflow"
ARBITRARY_UID = "12345:0"  # OpenShift's habit: any uid, gid 0, no passwd entry


def _json_output(result: subprocess.CompletedProcess[str]) -> list[dict]:
    """The JSON list a `-o json` command printed (log lines may come before it)."""
    lines = result.stdout.splitlines()
    first = next((i for i, line in enumerate(lines) if line.startswith("[")), None)
    assert result.returncode == 0 and first is not None, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads("\n".join(lines[first:]))


@pytest.fixture(scope="module")
def project(customer_container: BuildahDriver) -> BuildahDriver:
    """The customer's container with its metadata database migrated by the image's user."""
    migrated = customer_container.run(["airflow", "db", "migrate"], entrypoint=True)
    assert migrated.returncode == 0, migrated.stdout[-3000:] + migrated.stderr[-3000:]
    return customer_container


@dataclass(frozen=True)
class RunAs:
    user: str
    env: dict[str, str]


@pytest.fixture(scope="module", params=["50000:0", ARBITRARY_UID])
def run_as(request: pytest.FixtureRequest, project: BuildahDriver) -> RunAs:
    """The image's user, or an arbitrary uid with its own SQLite database (SQLite gives its files mode
    0644 whatever the umask, so two uids cannot share one; deployments use PostgreSQL)."""
    if request.param == "50000:0":
        return RunAs(request.param, {})
    env = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{AIRFLOW_HOME}/arbitrary-uid.db"}
    migrated = project.run(["airflow", "db", "migrate"], user=request.param, env=env, entrypoint=True)
    assert migrated.returncode == 0, migrated.stdout[-3000:] + migrated.stderr[-3000:]
    return RunAs(request.param, env)


def _import_errors(container: BuildahDriver, run_as: RunAs) -> str:
    result = container.run(["airflow", "dags", "list-import-errors", "--local"], user=run_as.user, env=run_as.env,
                           entrypoint=True)
    return f"airflow dags list-import-errors --local:\n{result.stdout[-4000:]}{result.stderr[-2000:]}"


def test_every_dag_imports_from_the_project_root(project: BuildahDriver, run_as: RunAs) -> None:
    command = ["airflow", "dags", "list", "--local", "-o", "json"]
    result = project.run(command, user=run_as.user, env=run_as.env, entrypoint=True)
    listed = sorted(dag["dag_id"] for dag in _json_output(result))
    assert listed == sorted(DAG_IDS), _import_errors(project, run_as)
    assert "Failed to import" not in result.stdout + result.stderr, _import_errors(project, run_as)


def test_the_plugin_importing_include_loads(project: BuildahDriver, run_as: RunAs) -> None:
    result = project.run(["airflow", "plugins", "-o", "json"], user=run_as.user, env=run_as.env, entrypoint=True)
    assert PLUGIN_NAME in [plugin["name"] for plugin in _json_output(result)], result.stderr[-3000:]


def test_a_dag_runs_to_success_with_its_output(project: BuildahDriver, run_as: RunAs) -> None:
    result = project.run(["airflow", "dags", "test", CUSTOMER_DAG], user=run_as.user, env=run_as.env, entrypoint=True)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:] + "\n" + _import_errors(project, run_as)
    assert f"{GREETING}, customer!".upper() in output, output[-6000:]  # the task's own print


@pytest.mark.parametrize(
    ("pythonpath", "expected_order"),
    [
        (None, [AIRFLOW_HOME]),  # the image's own ENV
        ("/opt/extra", ["/opt/extra", AIRFLOW_HOME]),  # a project's ENV that replaced it
        (f"/opt/extra:{AIRFLOW_HOME}", ["/opt/extra", AIRFLOW_HOME]),  # one that extended it
    ],
)
def test_a_projects_pythonpath_extends_the_import_roots(
    customer_container: BuildahDriver, pythonpath: str | None, expected_order: list[str]
) -> None:
    script = "import json, sys, include.helpers; print(json.dumps(sys.path))"
    env = {"PYTHONPATH": pythonpath} if pythonpath is not None else None
    result = customer_container.run(["python", "-c", script], env=env, entrypoint=True)
    assert result.returncode == 0, result.stderr[-3000:]
    sys_path = json.loads(result.stdout.strip().splitlines()[-1])
    assert [entry for entry in sys_path if entry in expected_order] == expected_order
