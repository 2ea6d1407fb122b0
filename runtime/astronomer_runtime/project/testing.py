"""`astro-runtime project pytest`: run the project's tests/ in the project's environment.

The child pytest sees the project as a local start's components do (project/environment.py): the
project root first on PYTHONPATH (`from include.x import y`), the project's `.env` applied with the
local runtime's precedence, and a throwaway AIRFLOW_HOME whose `[core] dags_folder` is the project's
`dags/` with examples off. A DagBag import needs no database: the throwaway home is only there so that
nothing reads or writes the developer's ~/airflow.
Interpreter: the project's environment for its Dockerfile's release (venv.py), which has pytest.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from astronomer_runtime.catalog import Catalog
from astronomer_runtime.errors import RuntimeToolError
from astronomer_runtime.project import venv
from astronomer_runtime.project.cli import project_argument
from astronomer_runtime.project.environment import project_environment
from astronomer_runtime.project.release import project_release

TESTS_FOLDER = "tests"


class ProjectTestsError(RuntimeToolError):
    """The project's tests cannot be run (no tests/ folder, no pytest); the message says why."""


def add_command(verbs: Any) -> None:
    parser = verbs.add_parser(
        "pytest",
        help="run the project's tests/ with the project importable and its .env applied",
        description="Arguments after -- go to pytest unchanged, e.g. `project pytest -- -k dags -x`.",
    )
    project_argument(parser)
    parser.add_argument("--runtime-version", metavar="RELEASE", help="instead of the Dockerfile's release")
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER, help="arguments for pytest (after --)")
    parser.set_defaults(handler=run)


def pytest_command(python: Path, project: Path, pytest_args: list[str]) -> list[str]:
    """pytest from the project's root; tests/ unless the arguments name other paths (testpaths)."""
    if pytest_args[:1] == ["--"]:
        pytest_args = pytest_args[1:]
    return [
        str(python),
        "-m",
        "pytest",
        f"--rootdir={project}",
        "-o",
        f"testpaths={TESTS_FOLDER}",
        *pytest_args,
    ]


def run(catalog: Catalog, args: argparse.Namespace) -> int:
    project: Path = args.project.absolute()
    if not (project / TESTS_FOLDER).is_dir():
        raise ProjectTestsError(
            f"{project} has no {TESTS_FOLDER}/ folder: nothing to test (`astro-runtime project init` "
            f"writes one with tests/dags/test_dag_example.py; check --project)"
        )
    release = project_release(catalog, project, args.runtime_version)
    environment = venv.ensure(project, release)
    with tempfile.TemporaryDirectory(prefix="astro-runtime-pytest-") as home:
        env = project_environment(
            project, Path(home), runtime_version=release.release.name, python=environment.python
        )
        command = pytest_command(environment.python, project, args.pytest_args)
        return subprocess.run(command, cwd=project, env=env).returncode
