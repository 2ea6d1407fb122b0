"""`astro-runtime dev`: the local runtime, api-server + scheduler + dag-processor + triggerer."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from astronomer_runtime.local import celery as local_celery
from astronomer_runtime.local.celery import LocalCelery, LocalCeleryError
from astronomer_runtime.local.control_plane import LocalControlPlane
from astronomer_runtime.local.home import ADMIN_USER, LocalHome, environment, owned_settings, prepare
from astronomer_runtime.local.project_env import (
    DOTENV_FILE,
    ProjectEnvError,
    layered,
    read_dotenv,
    replaced,
    replaced_note,
)
from astronomer_runtime.local.supervisor import Component, Supervisor

HEALTH_PATH = "/api/v2/monitor/health"
HEALTH_DEADLINE_SECONDS = 120.0
SETTINGS_FILE = "airflow_settings.yaml"
MIGRATED_MARKER = "migrated-for-runtime"


def components(home: LocalHome) -> list[Component]:
    airflow = home.airflow
    return [
        Component("api-server", [airflow, "api-server", "--host", home.host, "--port", str(home.port)]),
        # No log servers: they listen on every interface, and the api-server reads the local files.
        Component("scheduler", [airflow, "scheduler", "--skip-serve-logs"]),
        Component("dag-processor", [airflow, "dag-processor"]),
        Component("triggerer", [airflow, "triggerer", "--skip-serve-logs"]),
    ]


def project_settings(home: LocalHome, output: TextIO) -> tuple[Path | None, bool]:
    """The project's airflow_settings.yaml if it has one, checked before anything starts (so a bad
    file costs no control plane and no migration); False when it is invalid (the error is written)."""
    from astronomer_plugins.errors import ProjectSettingsError
    from astronomer_plugins.project_settings import load_settings

    path = home.project / SETTINGS_FILE
    if not path.exists():
        return None, True
    try:
        load_settings(path)
    except ProjectSettingsError as exc:
        output.write(f"error: {exc}\nNothing was started; fix {path} and start again.\n")
        return path, False
    return path, True


def _apply_settings(home: LocalHome, path: Path, supervisor: Supervisor, output: TextIO) -> int:
    """Apply the settings file in its own process, as a customer would in the image; idempotent, so
    every start brings the database back to what the file says."""
    command = [str(home.python), "-m", "astronomer_plugins.project_settings", "apply", str(path)]
    code = supervisor.run_once(Component("settings", command))
    if code != 0:
        output.write(f"{path} was not applied (nothing of it was); see the error above\n")
    return code


def _migrate(home: LocalHome, runtime_version: str, supervisor: Supervisor, output: TextIO) -> int:
    """`airflow db migrate`, skipped when this release already migrated this home's SQLite database
    (a marker next to it), so that a warm start does not pay for a no-op migration. Any other
    database is migrated every time: the marker cannot know what happened to it."""
    database = supervisor.environment.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "")
    ours = database == f"sqlite:///{home.path / 'airflow.db'}"
    marker = home.path / MIGRATED_MARKER
    recorded = marker.read_text() if marker.is_file() else None
    if ours and (home.path / "airflow.db").exists() and recorded == runtime_version:
        output.write(f"The database is already migrated for Runtime {runtime_version}.\n")
        return 0
    marker.unlink(missing_ok=True)
    code = supervisor.run_once(Component("db-migrate", [home.airflow, "db", "migrate"]))
    if code == 0 and ours:
        marker.write_text(runtime_version)
    return code


def _announce_when_healthy(
    home: LocalHome, control_plane: LocalControlPlane | None, output: TextIO, stopping: threading.Event
) -> None:
    deadline = time.monotonic() + HEALTH_DEADLINE_SECONDS
    while time.monotonic() < deadline and not stopping.is_set():
        try:
            with urllib.request.urlopen(home.base_url + HEALTH_PATH, timeout=2):
                break
        except (urllib.error.URLError, OSError):
            stopping.wait(1.0)
    else:
        return
    if control_plane:
        how = (
            f"Log in through the control plane (pick a seeded user, one per role).\n"
            f"Control plane status page: {control_plane.status_page()}\n"
        )
    else:
        how = f"Log in as '{ADMIN_USER}'; the password is in {home.passwords_file}\n"
    output.write(f"\nAirflow is up: {home.base_url}\n{how}Stop with Ctrl-C.\n\n")
    output.flush()


def _report_replaced(names: list[str], output: TextIO) -> None:
    """Say which variables of `.env` or the shell the local runtime's own wiring replaced."""
    note = replaced_note(names)
    if note:
        output.write(note + "\n")


def _ready_control_plane(
    control_plane: LocalControlPlane,
    home: LocalHome,
    runtime_version: str,
    supervisor: Supervisor,
    stopping: threading.Event,
    output: TextIO,
    sources: Mapping[str, str],
) -> bool:
    """Wait for the control plane (started earlier, so that it boots while the database migrates)
    and seed it; then hand its settings to Airflow's components (they replace what `sources`, the
    project's `.env` and the shell, say)."""
    process = supervisor.processes["control-plane"]
    if not control_plane.wait_until_healthy(stopping, lambda: process.poll() is None):
        output.write(
            f"the control plane did not become healthy at {control_plane.url}; see its output above\n"
        )
        return False
    if supervisor.run_once(control_plane.seed(home.base_url, runtime_version)) != 0:
        output.write("seeding the control plane failed; see its output above\n")
        return False
    wiring = control_plane.airflow_settings()
    _report_replaced(replaced(wiring, sources), output)
    supervisor.environment = {**supervisor.environment, **wiring}
    return True


def run(
    home: LocalHome,
    *,
    runtime_version: str,
    control_plane: LocalControlPlane | None,
    output: TextIO = sys.stdout,
    celery: LocalCelery | None = None,
) -> int:
    """The control plane boots (unless None) while the database migrates (skipped when already done
    for this release); then the control plane is seeded, the project's airflow_settings.yaml applied,
    and every Airflow component runs (with the project's `.env`, project_env.py) until a signal or a
    component exits; everything is stopped on the way out. An invalid settings file or `.env` stops
    the start before anything runs."""
    settings_file, settings_valid = project_settings(home, output)
    if not settings_valid:
        return 1
    try:
        dotenv = read_dotenv(home.project / DOTENV_FILE)
    except ProjectEnvError as exc:
        output.write(f"error: {exc}\nNothing was started.\n")
        return 1
    prepare(home)
    sources = layered({}, dotenv, os.environ)
    _report_replaced(replaced(owned_settings(home, runtime_version=runtime_version), sources), output)
    supervisor = Supervisor(environment(home, runtime_version=runtime_version, dotenv=dotenv), output=output)
    if celery:  # PostgreSQL + Redis + Celery workers (local/celery.py)
        try:
            celery.check(home.python)
            celery.initialize()
        except LocalCeleryError as exc:
            output.write(f"error: {exc}\nNothing was started.\n")
            return 1
        _report_replaced(replaced(celery.airflow_settings(), sources), output)
        supervisor.environment = {**supervisor.environment, **celery.airflow_settings()}
    stopping = threading.Event()
    previous = {
        signum: signal.signal(signum, lambda *_: stopping.set()) for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        output.write(f"Astronomer Runtime {runtime_version} (local), AIRFLOW_HOME={home.path}\n")
        if celery and not local_celery.start(celery, supervisor, stopping, output):
            return 0 if stopping.is_set() else 1
        if control_plane:
            supervisor.start([control_plane.serve()])
        code = _migrate(home, runtime_version, supervisor, output)
        if code != 0:
            output.write(f"airflow db migrate failed with exit code {code}; see its output above\n")
            return code
        if control_plane and not _ready_control_plane(
            control_plane, home, runtime_version, supervisor, stopping, output, sources
        ):
            return 0 if stopping.is_set() else 1
        if settings_file and not stopping.is_set():
            code = _apply_settings(home, settings_file, supervisor, output)
            if code != 0:
                return code
        if stopping.is_set():
            return 0
        supervisor.start(components(home) + (celery.worker_components(home.airflow) if celery else []))
        threading.Thread(
            target=_announce_when_healthy, args=(home, control_plane, output, stopping), daemon=True
        ).start()
        exited = None
        while not stopping.is_set() and exited is None:
            stopping.wait(0.5)
            exited = supervisor.first_exited()
        if exited:
            output.write(f"{exited[0]} exited with code {exited[1]}; stopping the other components\n")
        return 1 if exited else 0
    finally:
        stopping.set()
        supervisor.stop()
        output.write("All components stopped.\n")
        output.flush()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
