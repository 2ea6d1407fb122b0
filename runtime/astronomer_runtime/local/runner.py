"""`astro-runtime dev`: the local runtime, api-server + scheduler + dag-processor + triggerer."""

from __future__ import annotations

import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TextIO

from astronomer_runtime.local.home import ADMIN_USER, LocalHome, environment, prepare
from astronomer_runtime.local.supervisor import Component, Supervisor

HEALTH_PATH = "/api/v2/monitor/health"
HEALTH_DEADLINE_SECONDS = 120.0


def components(home: LocalHome) -> list[Component]:
    airflow = str(Path(sys.executable).with_name("airflow"))
    return [
        Component("api-server", [airflow, "api-server", "--host", home.host, "--port", str(home.port)]),
        Component("scheduler", [airflow, "scheduler"]),
        Component("dag-processor", [airflow, "dag-processor"]),
        Component("triggerer", [airflow, "triggerer"]),
    ]


def _announce_when_healthy(home: LocalHome, output: TextIO, stopping: threading.Event) -> None:
    deadline = time.monotonic() + HEALTH_DEADLINE_SECONDS
    while time.monotonic() < deadline and not stopping.is_set():
        try:
            with urllib.request.urlopen(home.base_url + HEALTH_PATH, timeout=2):
                break
        except (urllib.error.URLError, OSError):
            stopping.wait(1.0)
    else:
        return
    output.write(
        f"\nAirflow is up: {home.base_url}\n"
        f"Log in as '{ADMIN_USER}'; the password is in {home.passwords_file}\n"
        "Stop with Ctrl-C.\n\n"
    )
    output.flush()


def run(home: LocalHome, *, runtime_version: str, output: TextIO = sys.stdout) -> int:
    """Prepare AIRFLOW_HOME, migrate, run every component until a signal or a component exits."""
    prepare(home)
    supervisor = Supervisor(environment(home, runtime_version=runtime_version), output=output)
    stopping = threading.Event()
    previous = {signum: signal.signal(signum, lambda *_: stopping.set()) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        output.write(f"Astronomer Runtime {runtime_version} (local), AIRFLOW_HOME={home.path}\n")
        code = supervisor.run_once(Component("db-migrate", [str(Path(sys.executable).with_name("airflow")), "db", "migrate"]))
        if code != 0:
            output.write(f"airflow db migrate failed with exit code {code}; see its output above\n")
            return code
        if stopping.is_set():
            return 0
        supervisor.start(components(home))
        threading.Thread(target=_announce_when_healthy, args=(home, output, stopping), daemon=True).start()
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
