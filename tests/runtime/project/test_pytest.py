"""`astro-runtime project pytest`, run as a real process on projects written by `project init`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from astronomer_runtime.project import init

# The project's own checks of its environment: .env values, the shell beating .env, the owned
# dags folder beating both, and `from include...` resolving from the project root.
ENVIRONMENT_TESTS = """
import os
from pathlib import Path

from include.greetings import greeting

PROJECT = Path(__file__).resolve().parents[1]


def test_that_fails():  # first, so that -x stops the run here
    assert greeting("x") == "something else"


def test_dotenv_reaches_the_tests():
    assert os.environ["FROM_DOTENV"] == "dotenv value"


def test_the_shell_beats_dotenv():
    assert os.environ["BOTH"] == "from the shell"


def test_the_dags_folder_is_the_projects():
    assert os.environ["AIRFLOW__CORE__DAGS_FOLDER"] == str(PROJECT / "dags")
    assert Path(os.environ["AIRFLOW_HOME"]) != Path.home() / "airflow"


def test_include_is_importable():
    assert greeting("tests") == "Hello, tests!"

"""
DOTENV = 'FROM_DOTENV="dotenv value"\nBOTH=from-dotenv\nAIRFLOW__CORE__DAGS_FOLDER=/somewhere/else\n'


def project_pytest(
    project: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "astronomer_runtime",
        "project",
        "pytest",
        "--project",
        str(project),
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    path = tmp_path / "project"
    init.create(path, "localhost/astronomer/runtime:3.3-2-python-3.11")
    return path


@pytest.fixture
def checked_project(project: Path) -> Path:
    """The new project with tests of its environment added and a `.env` that sets some values."""
    (project / "tests" / "test_environment.py").write_text(ENVIRONMENT_TESTS)
    (project / ".env").write_text(DOTENV)
    return project


def fast_shell(**values: str) -> dict[str, str]:
    """The shell of the command, without pytest plugin autoloading (the child inherits it: seconds saved)."""
    return {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", **values}


def test_a_new_project_passes_its_own_tests(project: Path) -> None:
    result = project_pytest(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "tests/dags/test_dag_example.py ..." in result.stdout  # imports, tags, retries
    assert "3 passed" in result.stdout


def test_the_projects_environment_reaches_its_tests(checked_project: Path) -> None:
    result = project_pytest(
        checked_project,
        "--",
        "tests/test_environment.py",
        "-k",
        "not fails",
        env=fast_shell(BOTH="from the shell"),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed, 1 deselected" in result.stdout
    assert "note: AIRFLOW__CORE__DAGS_FOLDER from .env or the shell replaced" in result.stderr


@pytest.mark.parametrize(
    ("args", "exit_code", "summary"),
    [
        (("-k", "test_that_fails"), 1, "1 failed, 4 deselected"),
        (("-k", "no_such_test"), 5, "5 deselected"),
        (("-x", "-q"), 1, "\n1 failed in "),  # -x: nothing after the failure
    ],
)
def test_arguments_pass_through_and_the_exit_code_is_pytests(
    checked_project: Path, args: tuple[str, ...], exit_code: int, summary: str
) -> None:
    result = project_pytest(
        checked_project, "--", "tests/test_environment.py", *args, env=fast_shell(BOTH="from the shell")
    )
    assert result.returncode == exit_code, result.stdout + result.stderr
    assert summary in result.stdout


def test_a_project_without_tests_is_refused(tmp_path: Path) -> None:
    result = project_pytest(tmp_path)
    assert result.returncode == 1
    assert f"{tmp_path} has no tests/ folder: nothing to test" in result.stderr
