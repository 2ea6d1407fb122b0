"""`astro-runtime project start | stop | restart`: the project's local runtime, in the background.

`start` checks what can be checked before anything runs (the release in the Dockerfile, `.env`,
airflow_settings.yaml, the ports), makes or reuses the project's environment (venv.py), starts
serve.py in its own session with its output in the project's state folder (state.py), waits until the
api-server is healthy and returns. `stop` sends that process SIGTERM: it stops every component and
the control plane, as `make dev` does on Ctrl-C.
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from astronomer_runtime.catalog import Catalog
from astronomer_runtime.errors import RuntimeToolError
from astronomer_runtime.local.control_plane import DEPLOYS_HELP
from astronomer_runtime.local.home import LocalHome
from astronomer_runtime.local.project_env import DOTENV_FILE, read_dotenv
from astronomer_runtime.local.runner import HEALTH_PATH, project_settings
from astronomer_runtime.project import packages, venv
from astronomer_runtime.project.cli import project_argument
from astronomer_runtime.project.release import project_release
from astronomer_runtime.project.state import RunRecord, airflow_home, log_file, process_alive

START_DEADLINE_SECONDS = 240.0
STOP_DEADLINE_SECONDS = 60.0
LOG_TAIL_LINES = 40


class ProjectStartError(RuntimeToolError):
    """The project cannot start; the message names what to fix. Nothing was left running."""


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _check_ports(args: argparse.Namespace) -> None:
    wanted = [("--port", args.port)]
    if not args.without_control_plane:
        wanted.append(("--control-plane-port", args.control_plane_port))
    for option, port in wanted:
        if _port_in_use(port):
            raise ProjectStartError(
                f"port {port} on 127.0.0.1 is in use (another Airflow or project?): stop it, or pass "
                f"{option} with a free port. Nothing was started."
            )


def _check_inputs(project: Path) -> None:
    """`.env` and airflow_settings.yaml are checked before an environment is made or anything runs."""
    read_dotenv(project / DOTENV_FILE)  # ProjectEnvError names the file and line
    errors = io.StringIO()
    _, valid = project_settings(LocalHome(path=airflow_home(project), project=project), errors)
    if not valid:
        raise ProjectStartError(errors.getvalue().strip())


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + HEALTH_PATH, timeout=2):
            return True
    except (urllib.error.URLError, OSError):
        return False


def _stop_process(pid: int, deadline: float = STOP_DEADLINE_SECONDS) -> bool:
    """SIGTERM the start's process (it stops its components), SIGKILL its group after `deadline`;
    True when it stopped by itself."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    give_up = time.monotonic() + deadline
    while time.monotonic() < give_up:
        try:
            finished, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # not our child: poll its existence instead
            finished = 0 if process_alive(pid) else pid
        if finished == pid:
            return True
        time.sleep(0.2)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return False


def start(catalog: Catalog, args: argparse.Namespace) -> int:
    project: Path = args.project.resolve()
    running = RunRecord.read(project)
    if running:
        raise ProjectStartError(
            f"{project} is already running at {running.url} (pid {running.pid}): "
            "`astro-runtime project stop` or `restart` it"
        )
    release = project_release(catalog, project, args.runtime_version)
    _check_inputs(project)
    _check_ports(args)
    for note in (release.python_note, packages.host_note(project)):
        if note:
            print(note)
    print(f"Runtime {release.release.name} (Airflow {release.release.airflow}), Python {release.python}")
    environment = venv.ensure(project, release)
    print(f"environment {environment.path} ({environment.how} in {environment.seconds:.1f}s)")
    log = log_file(project)
    log.parent.mkdir(parents=True, exist_ok=True)
    if log.exists():
        log.replace(log.with_suffix(".log.1"))
    serve = [sys.executable, "-m", "astronomer_runtime.project.serve", "--project", str(project)]
    what = ["--release", release.release.name, "--python", str(environment.python), "--port", str(args.port)]
    command = [*serve, *what, "--catalog", str(args.catalog.resolve())]
    if not args.without_control_plane:
        command += ["--control-plane-port", str(args.control_plane_port)]
        command += ["--deploys"] if args.deploys else []
    url = f"http://127.0.0.1:{args.port}"
    with open(log, "ab") as output:
        process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    control_plane_url = None if args.without_control_plane else f"http://127.0.0.1:{args.control_plane_port}"
    record = RunRecord(process.pid, url, release.release.name, str(environment.python), control_plane_url)
    record.write(project)
    deadline = time.monotonic() + START_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            RunRecord.clear(project)
            raise ProjectStartError(f"the project stopped while starting; the end of {log}:\n{_tail(log)}")
        if _healthy(url):
            print(f"Airflow is up: {url}")
            if control_plane_url:
                print(f"Log in through the control plane: {control_plane_url} (a seeded user per role)")
            print(f"Logs: astro-runtime project logs --project {project} [-f]; stop with `project stop`.")
            return 0
        time.sleep(0.5)
    _stop_process(process.pid)
    RunRecord.clear(project)
    raise ProjectStartError(
        f"Airflow was not healthy at {url} within {START_DEADLINE_SECONDS:.0f}s; it was stopped. "
        f"The end of {log}:\n{_tail(log)}"
    )


def stop(catalog: Catalog, args: argparse.Namespace) -> int:
    project: Path = args.project.resolve()
    running = RunRecord.read(project)
    if not running:
        print(f"{project} is not running")
        return 0
    clean = _stop_process(running.pid)
    RunRecord.clear(project)
    print(
        "stopped" if clean else f"not stopped within {STOP_DEADLINE_SECONDS:.0f}s; its processes were killed"
    )
    return 0


def restart(catalog: Catalog, args: argparse.Namespace) -> int:
    stop(catalog, args)
    return start(catalog, args)


def _start_options(parser: argparse.ArgumentParser) -> None:
    project_argument(parser)
    parser.add_argument("--runtime-version", metavar="RELEASE", help="instead of the Dockerfile's release")
    parser.add_argument("--port", type=int, default=8080, help="the api-server's port (default 8080)")
    parser.add_argument("--control-plane-port", type=int, default=8800, help="reference control plane port")
    parser.add_argument("--without-control-plane", action="store_true", help="no control plane")
    parser.add_argument("--deploys", action="store_true", help=DEPLOYS_HELP)


def add_command(verbs: Any) -> None:
    """`start`, `stop` and `restart`."""
    starting = verbs.add_parser("start", help="run the project locally in its own environment (background)")
    _start_options(starting)
    starting.set_defaults(handler=start)
    stopping = verbs.add_parser("stop", help="stop the project's local runtime")
    project_argument(stopping)
    stopping.set_defaults(handler=stop)
    restarting = verbs.add_parser("restart", help="stop, then start with unchanged or changed inputs")
    _start_options(restarting)
    restarting.set_defaults(handler=restart)
