"""`astro-runtime project pytest`: run the project's tests/ in the project's environment.

The child pytest sees the project as the image's processes do: the project root first on
PYTHONPATH (`from include.x import y`), the project's `.env` applied with the local runtime's
precedence (defaults < `.env` < the shell < the wiring owned here), and a throwaway AIRFLOW_HOME whose
`[core] dags_folder` is the project's `dags/` with examples off. A DagBag import needs no database:
the throwaway home is only there so that nothing reads or writes the developer's ~/airflow.
Interpreter: the one running astro-runtime (per-project environments come with `start`).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from astronomer_runtime.catalog import Catalog
from astronomer_runtime.errors import RuntimeToolError
from astronomer_runtime.local.home import import_path
from astronomer_runtime.local.project_env import DOTENV_FILE, layered, read_dotenv, replaced
from astronomer_runtime.project.cli import project_argument

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
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER, help="arguments for pytest (after --)")
    parser.set_defaults(handler=run)


def owned_settings(project: Path, home: Path) -> dict[str, str]:
    """The wiring this command owns; it beats `.env` and the shell."""
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(project / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(project / "plugins"),
    }


def environment(
    project: Path, home: Path, *, dotenv: Mapping[str, str], shell: Mapping[str, str]
) -> dict[str, str]:
    """Defaults < the project's `.env` < the shell < the owned wiring; the project root first on
    PYTHONPATH, as in the image and under `astro-runtime dev`."""
    defaults = {
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
    }
    merged = layered(defaults, dotenv, shell)
    merged.update(owned_settings(project, home))
    merged["PYTHONPATH"] = import_path(project, merged.get("PYTHONPATH", ""))
    return merged


def pytest_command(project: Path, pytest_args: list[str]) -> list[str]:
    """pytest from the project's root; tests/ unless the arguments name other paths (testpaths)."""
    if pytest_args[:1] == ["--"]:
        pytest_args = pytest_args[1:]
    return [
        sys.executable,
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
    if importlib.util.find_spec("pytest") is None:
        raise ProjectTestsError(f"pytest is not installed for {sys.executable}: pip install pytest")
    dotenv = read_dotenv(project / DOTENV_FILE)
    with tempfile.TemporaryDirectory(prefix="astro-runtime-pytest-") as home:
        owned = owned_settings(project, Path(home))
        names = replaced(owned, layered({}, dotenv, os.environ))
        if names:
            print(
                f"note: {', '.join(names)} from {DOTENV_FILE} or the shell replaced by the project's own "
                "folders",
                file=sys.stderr,
            )
        env = environment(project, Path(home), dotenv=dotenv, shell=os.environ)
        return subprocess.run(pytest_command(project, args.pytest_args), cwd=project, env=env).returncode
