"""`astro-runtime project parse`: real child processes importing a generated customer project.

One parse run per project (module-scoped fixtures), several tests reading its report.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from astronomer_runtime.cli import main
from astronomer_runtime.project import parse_report
from astronomer_runtime.project.parse_run import run_probe
from tests.projects import DAG_IDS, write_project

PROBLEM_FILES = {
    "dags/syntax_error.py": """\
from airflow.sdk import DAG

def broken(:
    pass
""",
    "dags/missing_module.py": """\
from airflow.sdk import DAG
import not_a_real_module_for_parse_tests
""",
    "dags/touches.py": """\
import os

from airflow.sdk import DAG, BaseHook, Connection, Variable

region = Variable.get("customer_region")
threshold = Variable.get("customer_threshold", default="10")
from_env = Variable.get("customer_from_env")
warehouse = BaseHook.get_connection("warehouse")
lake = Connection.get("lake")
bucket = os.getenv("CUSTOMER_BUCKET", "none")
setting = os.environ.get("CUSTOMER_SETTING")

with DAG(dag_id=f"touches_{threshold}_{from_env}_{warehouse.conn_type}_{lake.host}", schedule=None):
    pass
""",
    "dags/network.py": """\
import socket

import requests
from airflow.sdk import DAG

try:
    socket.create_connection(("example.com", 80), timeout=2)
except OSError as exc:
    caught = exc
raw = socket.socket()
try:
    raw.connect(("127.0.0.1", {port}))
except OSError:
    pass
raw.close()
requests.get("http://127.0.0.1:{port}/", timeout=2)
""",
    "dags/slow.py": """\
import time

from airflow.sdk import DAG

time.sleep(60)
""",
    "dags/duplicate.py": """\
from airflow.sdk import DAG

with DAG(dag_id="customer_dag", schedule=None):
    pass
""",
}
DOTENV_EXTRA = """
AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT=2
AIRFLOW_VAR_CUSTOMER_FROM_ENV=fromenv
AIRFLOW_CONN_LAKE=s3://lake.example.com
"""


def _parse(*args: str) -> tuple[int, str, str]:
    """`astro-runtime project parse ...` in this process (the DAG imports run in its child)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["project", "parse", *args])
    return status, out.getvalue(), err.getvalue()


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in folder.rglob("*") if path.is_file()}


def _by_file(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {result["file"]: result for result in report["files"]}


@pytest.fixture(scope="module")
def listener() -> Iterator[socket.socket]:
    """A real server the network DAG aims at: it must never see a connection."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    yield server
    server.close()


@pytest.fixture(scope="module")
def problems(
    tmp_path_factory: pytest.TempPathFactory, listener: socket.socket
) -> tuple[int, dict[str, Any], dict]:
    project = tmp_path_factory.mktemp("parse") / "problems"
    write_project(project)
    port = listener.getsockname()[1]
    for relative, text in PROBLEM_FILES.items():
        (project / relative).write_text(text.replace("{port}", str(port)))
    with (project / ".env").open("a") as dotenv:
        dotenv.write(DOTENV_EXTRA)
    before = _tree(project)
    status, out, _ = _parse("--project", str(project), "--json")
    return status, json.loads(out), {"before": before, "after": _tree(project)}


def test_customer_project_parses_clean_through_the_cli(tmp_path: Path) -> None:
    project = tmp_path / "customer"
    write_project(project)
    before = _tree(project)
    command = [
        sys.executable,
        "-m",
        "astronomer_runtime",
        "project",
        "parse",
        "--project",
        str(project),
        "--json",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is True
    assert report["dag_ids"] == sorted(DAG_IDS)
    assert {result["status"] for result in report["files"]} == {"ok"}
    assert _tree(project) == before  # no __pycache__, no airflow.cfg, nothing written into the project


def test_problem_project_fails_and_writes_nothing(problems: tuple[int, dict[str, Any], dict]) -> None:
    status, report, trees = problems
    assert status == 1
    assert report["ok"] is False
    assert trees["after"] == trees["before"]
    assert set(DAG_IDS) <= set(report["dag_ids"])


def test_syntax_error_reports_its_line(problems: tuple[int, dict[str, Any], dict]) -> None:
    result = _by_file(problems[1])["dags/syntax_error.py"]
    assert result["status"] == "error"
    assert result["errors"][0]["line"] == 3
    assert result["errors"][0]["message"].startswith("SyntaxError:")
    assert result["errors"][0]["origin"] == "dags/syntax_error.py:3"


def test_missing_module_reports_the_import_line(problems: tuple[int, dict[str, Any], dict]) -> None:
    result = _by_file(problems[1])["dags/missing_module.py"]
    assert result["status"] == "error"
    assert result["errors"][0]["line"] == 2
    assert result["errors"][0]["message"] == (
        "ModuleNotFoundError: No module named 'not_a_real_module_for_parse_tests'"
    )


def test_variables_connections_and_environment_are_recorded(
    problems: tuple[int, dict[str, Any], dict],
) -> None:
    result = _by_file(problems[1])["dags/touches.py"]
    assert result["status"] == "ok", result["errors"]
    # default returned, AIRFLOW_VAR_ from .env used, placeholder connection, AIRFLOW_CONN_ from .env
    assert result["dag_ids"] == ["touches_10_fromenv_generic_lake.example.com"]
    assert result["touches"]["variables"] == [
        {"name": "customer_region", "resolved": "placeholder"},
        {"name": "customer_threshold", "resolved": "default"},
        {"name": "customer_from_env", "resolved": "environment"},
    ]
    assert result["touches"]["connections"] == [
        {"name": "warehouse", "resolved": "placeholder"},
        {"name": "lake", "resolved": "environment"},
    ]
    assert result["touches"]["environment"] == [
        {"name": "CUSTOMER_BUCKET", "set": False},
        {"name": "CUSTOMER_SETTING", "set": True},
    ]
    assert result["touches"]["network"] == []


def test_network_is_refused_and_reported(
    problems: tuple[int, dict[str, Any], dict], listener: socket.socket
) -> None:
    result = _by_file(problems[1])["dags/network.py"]
    port = listener.getsockname()[1]
    assert result["touches"]["network"] == [
        {"target": "example.com:80", "call": "getaddrinfo"},
        {"target": f"127.0.0.1:{port}", "call": "connect"},
        {"target": f"127.0.0.1:{port}", "call": "getaddrinfo"},
    ]
    assert result["status"] == "error"  # requests.get raised at line 16: the import failed there
    assert result["errors"][0]["line"] == 16
    assert "refuses network access" in result["errors"][0]["message"]
    with pytest.raises(BlockingIOError):
        listener.accept()  # nothing ever reached the server


def test_file_past_the_import_timeout_is_timed_out(problems: tuple[int, dict[str, Any], dict]) -> None:
    result = _by_file(problems[1])["dags/slow.py"]
    assert result["status"] == "timeout"
    assert result["timeout_seconds"] == 2.0
    assert 2.0 <= result["seconds"] < 10
    assert result["errors"][0]["line"] == 5
    assert result["errors"][0]["message"].startswith("AirflowTaskTimeout: DagBag import timeout")


def test_duplicate_dag_id_is_an_error(problems: tuple[int, dict[str, Any], dict]) -> None:
    files = _by_file(problems[1])
    duplicated = [
        name
        for name in ("dags/customer.py", "dags/duplicate.py")
        if any("AirflowDagDuplicatedIdException" in error["message"] for error in files[name]["errors"])
    ]
    assert len(duplicated) == 1


def test_json_report_structure(problems: tuple[int, dict[str, Any], dict]) -> None:
    report = problems[1]
    assert set(report) == {"project", "ok", "dag_ids", "files"}
    for result in report["files"]:
        assert {"file", "status", "dag_ids", "errors", "touches", "tolerated", "slow"} <= set(result)
        assert result["status"] in {"ok", "error", "timeout", "skipped", "not_parsed"}
    assert _by_file(report)["dags/customer.py"]["timeout_seconds"] == 2.0


def test_declared_exception_exits_zero_and_still_lists_the_error(tmp_path: Path) -> None:
    project = tmp_path / "tolerant"
    write_project(project)
    (project / "dags/missing_module.py").write_text(PROBLEM_FILES["dags/missing_module.py"])
    (project / ".astro-runtime.yaml").write_text(
        "parse:\n  allow_import_errors:\n"
        "    - file: dags/missing_module.py\n      reason: vendor SDK pending\n"
    )
    status, out, _ = _parse("--project", str(project))
    assert status == 0, out
    line = next(line for line in out.splitlines() if line.startswith("dags/missing_module.py"))
    assert line.split()[1] == "ERROR"
    assert "    line 2: ModuleNotFoundError: No module named 'not_a_real_module_for_parse_tests'" in out
    assert "    tolerated: vendor SDK pending" in out
    assert out.splitlines()[-1] == "4 file(s), 3 DAG(s), 1 with errors (1 tolerated by .astro-runtime.yaml)"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("parse:\n  allow_import_errors:\n    - file: dags/customer.py\n",
         "parse.allow_import_errors[0].reason is required (a non-empty string)"),
        ("parse:\n  allow_import_errors:\n    - file: dags/customer.py\n      reason: x\n      until: 2027\n",
         "parse.allow_import_errors[0] has unknown key(s) until; known: file, reason"),
        ("parse:\n  allow_import_errors:\n    - file: dags/gone.py\n      reason: x\n",
         "parse.allow_import_errors[0].file 'dags/gone.py' is not a file in the project"),
        ("parse:\n  allow_errors: []\n", "parse has unknown key(s) allow_errors; known: allow_import_errors"),
        ("parse: [\n", "cannot be read as YAML"),
    ],
)  # fmt: skip
def test_invalid_exceptions_file_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    project = tmp_path / "invalid"
    write_project(project)
    (project / ".astro-runtime.yaml").write_text(text)
    status, out, err = _parse("--project", str(project))
    assert status == 1
    assert out == ""
    assert err.startswith(f"{project / '.astro-runtime.yaml'}: ")
    assert message in err


def test_file_ignoring_the_timeout_is_stopped_by_the_watchdog(tmp_path: Path) -> None:
    project = tmp_path / "hung"
    (project / "dags").mkdir(parents=True)
    (project / ".env").write_text("AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT=1\n")
    (project / "dags/a_hung.py").write_text(
        "import signal, time\nfrom airflow.sdk import DAG\n"
        "signal.signal(signal.SIGALRM, signal.SIG_IGN)\ntime.sleep(60)\n"
    )
    (project / "dags/b_ok.py").write_text(
        "from airflow.sdk import DAG\nwith DAG(dag_id='b', schedule=None):\n    pass\n"
    )
    results = run_probe(project, python=sys.executable, runtime_version="3.3-2", grace=1.0)
    by_file = {result["file"]: result for result in results}
    assert by_file["dags/a_hung.py"]["status"] == "timeout"
    assert by_file["dags/a_hung.py"]["errors"][0]["message"].startswith(
        "still importing 1s past the import timeout"
    )
    # Airflow's order decides whether the other file came before the hung one or was never reached.
    assert by_file["dags/b_ok.py"]["status"] in {"ok", "not_parsed"}


def test_file_killing_the_parse_process_is_an_error_naming_it(tmp_path: Path) -> None:
    project = write_project(tmp_path / "crash")
    shutil.rmtree(project / "dags")
    (project / "dags").mkdir()
    (project / "dags/crash.py").write_text(
        "import os, signal\nfrom airflow.sdk import DAG\nos.kill(os.getpid(), signal.SIGKILL)\n"
    )
    status, out, _ = _parse("--project", str(project), "--json")
    assert status == 1
    (result,) = json.loads(out)["files"]
    assert result["status"] == "error"
    assert result["errors"] == [{"message": "the parse process ended (signal 9) while importing this file"}]


def test_project_without_dags_folder_is_refused(tmp_path: Path) -> None:
    status, out, err = _parse("--project", str(tmp_path))
    assert (status, out) == (1, "")
    assert err == f"{tmp_path / 'dags'} is not a folder: is {tmp_path} an Astro project (--project)?\n"


@pytest.mark.parametrize(
    ("status", "seconds", "limit", "slow"),
    [("ok", 1.6, 3.0, True), ("ok", 1.4, 3.0, False), ("ok", 5.0, 0.0, False), ("timeout", 3.0, 3.0, False)],
)
def test_slow_is_more_than_half_of_the_import_timeout(
    status: str, seconds: float, limit: float, slow: bool
) -> None:
    result = {"file": "dags/a.py", "status": status, "seconds": seconds, "timeout_seconds": limit}
    assert parse_report.annotate([result], {})[0]["slow"] is slow


@pytest.mark.parametrize("release", ["3.1-1", "3.2-1"])
def test_older_airflow_lines_parse_in_their_own_environment(tmp_path: Path, release: str) -> None:
    """`--runtime-version` parses with that release's Airflow (its own environment): `airflow.sdk`
    DAGs, import errors with their line and import-time touches are reported on 3.1 and 3.2 too."""
    project = write_project(tmp_path / f"on-{release}")
    for relative in ("dags/syntax_error.py", "dags/missing_module.py", "dags/touches.py"):
        (project / relative).write_text(PROBLEM_FILES[relative])
    with (project / ".env").open("a") as dotenv:
        dotenv.write(DOTENV_EXTRA)
    status, out, _ = _parse("--project", str(project), "--json", "--runtime-version", release)
    assert status == 1
    by_file = _by_file(json.loads(out))
    assert by_file["dags/syntax_error.py"]["status"] == "error"
    assert by_file["dags/missing_module.py"]["status"] == "error"
    assert "not_a_real_module_for_parse_tests" in json.dumps(by_file["dags/missing_module.py"]["errors"])
    assert by_file["dags/touches.py"]["status"] == "ok"
    assert by_file["dags/touches.py"]["touches"]["variables"]
    assert sorted(set(DAG_IDS) - {dag for result in by_file.values() for dag in result["dag_ids"]}) == []
    probe = "import airflow; print(airflow.__version__)"
    state = Path(os.environ["ASTRO_RUNTIME_STATE_DIR"])
    python = next(state.glob(f"projects/on-{release}-*/venvs/{release}-*/bin/python"))
    version = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=True).stdout
    assert version.strip().rsplit(".", 1)[0] == release.split("-")[0]
