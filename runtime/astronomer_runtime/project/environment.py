"""The environment every project verb runs its child in: what a local start gives each component.

One way to build it (local/home.py's layering: the runtime's defaults < the project's `.env` < the
shell < the wiring the runtime owns, the project root first on PYTHONPATH), with AIRFLOW_HOME under a
throwaway folder, so a verb never reads or writes the developer's ~/airflow.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from astronomer_runtime.local.home import LocalHome, environment, owned_settings
from astronomer_runtime.local.project_env import DOTENV_FILE, layered, read_dotenv, replaced, replaced_note


def project_environment(
    project: Path, home: Path, *, runtime_version: str, python: Path | None = None
) -> dict[str, str]:
    """The child environment for `project` with AIRFLOW_HOME `home` and `python`'s bin first on PATH
    (the project's environment; this interpreter when not given); a `note:` on stderr names the
    `.env` or shell values the runtime's wiring replaced."""
    local = LocalHome(path=home, project=project, python=python or Path(sys.executable))
    dotenv = read_dotenv(project / DOTENV_FILE)
    owned = owned_settings(local, runtime_version=runtime_version)
    note = replaced_note(replaced(owned, layered({}, dotenv, os.environ)))
    if note:
        print(note, file=sys.stderr)
    env = environment(local, runtime_version=runtime_version, dotenv=dotenv)
    env["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"  # a verb looks at the project's DAGs only
    return env
