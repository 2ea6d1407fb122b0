"""`astro-runtime project run -- COMMAND...`: a command in the project's environment.

The command sees what a started component sees: the project's environment first on PATH (so
`airflow` and `python` are the project's), its `.env` with the local runtime's precedence, and the
project's AIRFLOW_HOME, so `project run -- airflow dags list` reads the database `start` uses.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path
from typing import Any

from astronomer_runtime.catalog import Catalog
from astronomer_runtime.errors import RuntimeToolError
from astronomer_runtime.local.home import LocalHome, prepare
from astronomer_runtime.project import venv
from astronomer_runtime.project.cli import project_argument
from astronomer_runtime.project.environment import project_environment
from astronomer_runtime.project.release import project_release
from astronomer_runtime.project.state import airflow_home


def run(catalog: Catalog, args: argparse.Namespace) -> int:
    project: Path = args.project.resolve()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        raise RuntimeToolError("nothing to run: e.g. `astro-runtime project run -- airflow dags list`")
    release = project_release(catalog, project, args.runtime_version)
    environment = venv.ensure(project, release)
    home = airflow_home(project)
    prepare(LocalHome(path=home, project=project))
    env = project_environment(project, home, runtime_version=release.release.name, python=environment.python)
    program = shutil.which(command[0], path=env["PATH"])
    if program is None:
        raise RuntimeToolError(f"{command[0]!r} is not on the project environment's PATH ({env['PATH']})")
    return subprocess.run([program, *command[1:]], cwd=project, env=env).returncode


def add_command(verbs: Any) -> None:
    parser = verbs.add_parser(
        "run",
        help="run a command (e.g. airflow dags list) in the project's environment",
        description="Everything after -- is the command, e.g. `project run -- airflow dags list`.",
    )
    project_argument(parser)
    parser.add_argument("--runtime-version", metavar="RELEASE", help="instead of the Dockerfile's release")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command (after --)")
    parser.set_defaults(handler=run)
