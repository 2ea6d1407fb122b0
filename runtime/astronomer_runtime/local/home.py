"""Prepares a local AIRFLOW_HOME and the environment every local component runs with.

Secrets (the JWT secret shared by api-server and scheduler, the fernet key, the admin password) are
generated once, kept in 0600 files under AIRFLOW_HOME and reused by later runs; they are never
printed.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet

from astronomer_runtime.local.project_env import layered

ADMIN_USER = "admin"
PASSWORDS_FILE = "simple_auth_manager_passwords.json"
SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"


@dataclass(frozen=True)
class LocalHome:
    """AIRFLOW_HOME for Airflow's state (database, logs, secrets), and the Astro-layout project whose
    root plays /usr/local/airflow's part in the image: `dags/` and `plugins/` are Airflow's folders,
    and the root is the first import root, so `from include.x`, `from dags.pkg` and `from plugins.x`
    resolve as they do in the image. `python` is the interpreter whose Airflow runs the components:
    this checkout's venv for `make dev`, the project's own environment for `project start`."""

    path: Path
    project: Path
    host: str = "127.0.0.1"
    port: int = 8080
    python: Path = Path(sys.executable)

    @property
    def airflow(self) -> str:
        return str(self.python.with_name("airflow"))

    @property
    def dags_folder(self) -> Path:
        return self.project / "dags"

    @property
    def plugins_folder(self) -> Path:
        return self.project / "plugins"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def passwords_file(self) -> Path:
        return self.path / PASSWORDS_FILE

    @property
    def feed_file(self) -> Path:
        return self.path / "runtime-feed.json"

    @property
    def release_manifest_file(self) -> Path:
        return self.path / "runtime-release.json"

    def admin_password(self) -> str:
        return json.loads(self.passwords_file.read_text())[ADMIN_USER]


def _write_private(path: Path, text: str) -> None:
    """Create a file readable by its owner only (created with 0600, never widened)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(text)


def prepare(home: LocalHome) -> None:
    """Create AIRFLOW_HOME with its secrets on first use; later runs reuse them."""
    home.path.mkdir(parents=True, exist_ok=True)
    config = home.path / "airflow.cfg"
    if not config.exists():
        _write_private(
            config,
            "# Written once by `astro-runtime dev`; settings that follow the checkout come from the\n"
            "# environment (see astronomer_runtime/local/home.py). Keep this file private.\n"
            f"[core]\nfernet_key = {Fernet.generate_key().decode()}\n\n"
            f"[api_auth]\njwt_secret = {secrets.token_urlsafe(48)}\n",
        )
    if not home.passwords_file.exists():
        _write_private(home.passwords_file, json.dumps({ADMIN_USER: secrets.token_urlsafe(12)}))


def write_release_files(home: LocalHome, feed_json: str, manifest_json: str) -> None:
    """The files an image ships in /etc/astronomer, for the Runtime page (rewritten every start)."""
    home.path.mkdir(parents=True, exist_ok=True)
    home.feed_file.write_text(feed_json)
    home.release_manifest_file.write_text(manifest_json)


def import_path(project: Path, inherited: str) -> str:
    """PYTHONPATH with the project root first, as the image's PYTHONPATH=/usr/local/airflow; the
    shell's own entries follow."""
    entries = [str(project)] + [
        entry for entry in inherited.split(os.pathsep) if entry and entry != str(project)
    ]
    return os.pathsep.join(entries)


def owned_settings(home: LocalHome, *, runtime_version: str) -> dict[str, str]:
    """The wiring the local runtime owns: it beats `.env` and the shell (project_env.py says why)."""
    from astronomer_plugins import config

    return {
        "AIRFLOW_HOME": str(home.path),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home.dags_folder),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(home.plugins_folder),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home.passwords_file),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{home.base_url}/execution/",
        "AIRFLOW__API__BASE_URL": home.base_url,
        "AIRFLOW__API__HOST": home.host,
        "AIRFLOW__API__PORT": str(home.port),
        config.RUNTIME_VERSION.env_var: runtime_version,
        config.OFFLINE_FEED_FILE.env_var: str(home.feed_file),
        config.RELEASE_MANIFEST_FILE.env_var: str(home.release_manifest_file),
    }


def environment(
    home: LocalHome,
    *,
    runtime_version: str,
    parallelism: int = 4,
    dotenv: Mapping[str, str] | None = None,
    shell: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Every local component's environment: the runtime's defaults, then the project's `.env`, then
    the shell (`os.environ` unless given), then the wiring the runtime owns (project_env.py)."""
    from astronomer_plugins.derived_settings import derived_environment

    defaults = {
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": str(parallelism),
        "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH_MANAGER,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home.path / 'airflow.db'}",
    }
    merged = layered(defaults, dotenv or {}, os.environ if shell is None else shell)
    # Tagged statsd and OpenLineage from [astronomer] settings, as the image's entrypoint derives them.
    merged.update(derived_environment(merged))
    merged.update(owned_settings(home, runtime_version=runtime_version))
    merged["PYTHONPATH"] = import_path(home.project, merged.get("PYTHONPATH", ""))
    # The interpreter's bin first, as the image's PATH starts with its venv (BashOperator's `python`).
    merged["PATH"] = os.pathsep.join([str(home.python.parent), merged.get("PATH", os.defpath)])
    return merged
