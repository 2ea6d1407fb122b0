"""Runs `parse_probe.py` in a child process with the project's environment and collects its report.

The child gets what a local start gives every component (local/home.py: the runtime's defaults, the
project's `.env`, the shell, then the wiring the runtime owns: the project root first on PYTHONPATH,
`dags/` and `plugins/` as Airflow's folders), with a throwaway AIRFLOW_HOME and SQLite database, and
`PYTHONDONTWRITEBYTECODE` so that nothing is written into the project. Airflow's own import timeout
interrupts a slow file in the child; a file that ignores it (stuck in C code) is caught here by a
watchdog, reported as timed out, and the child is killed.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

from astronomer_runtime.errors import RuntimeToolError
from astronomer_runtime.project import parse_probe
from astronomer_runtime.project.environment import project_environment

STARTUP_SECONDS = 120.0  # importing Airflow in the child, before the first file
GRACE_SECONDS = 10.0  # beyond a file's own import timeout before the watchdog kills the child


class ParseRunError(RuntimeToolError):
    """The child process could not set Airflow up; the message carries its own error."""


def child_environment(project: Path, home: Path, *, runtime_version: str, python: str) -> dict[str, str]:
    """The project's environment (project/environment.py), writing no bytecode into the project."""
    env = project_environment(project, home, runtime_version=runtime_version, python=Path(python))
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def require_dags(project: Path) -> None:
    """Checked first: without `dags/` there is nothing to parse, whatever else the project has."""
    if not (project / "dags").is_dir():
        raise ParseRunError(f"{project / 'dags'} is not a folder: is {project} an Astro project (--project)?")


def _read_events(stream: Any, events: queue.Queue[dict[str, Any] | None]) -> None:
    for line in stream:
        events.put(json.loads(line))
    events.put(None)


def run_probe(
    project: Path, *, python: str, runtime_version: str, grace: float = GRACE_SECONDS, structure: bool = False
) -> list[dict[str, Any]]:
    """One result per file under the project's `dags/` that Airflow would parse, in Airflow's order;
    `structure` adds each DAG's shape ("dags": schedule, tasks, operators, upstream ids)."""
    require_dags(project)
    with tempfile.TemporaryDirectory(prefix="astro-runtime-parse-") as scratch:
        home = Path(scratch) / "airflow"
        home.mkdir()
        env = child_environment(project, home, runtime_version=runtime_version, python=python)
        read_end, write_end = os.pipe()
        log_path = Path(scratch) / "child.log"
        # `-c` and not the script path: a script's folder would come first on sys.path; `-c` puts ''
        # (the scratch folder, the child's cwd) there, which the child removes.
        bootstrap = "import sys, runpy; sys.path.pop(0); sys.argv.pop(0); runpy.run_path(sys.argv[0], run_name='__main__')"  # noqa: E501
        command = [python, "-c", bootstrap, parse_probe.__file__, "--project", str(project)]
        command += ["--dags", str(project / "dags"), "--report-fd", str(write_end)]
        command += ["--structure"] if structure else []
        with open(log_path, "wb") as log:
            child = subprocess.Popen(
                command,
                env=env,
                cwd=scratch,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(write_end,),
                start_new_session=True,
            )
        os.close(write_end)
        try:
            return _collect(child, os.fdopen(read_end, encoding="utf-8"), log_path, grace)
        finally:
            if child.poll() is None:
                os.killpg(child.pid, 9)
            child.wait()


def _collect(
    child: subprocess.Popen[bytes], stream: Any, log_path: Path, grace: float
) -> list[dict[str, Any]]:
    events: queue.Queue[dict[str, Any] | None] = queue.Queue()
    threading.Thread(target=_read_events, args=(stream, events), daemon=True).start()
    files: list[str] = []
    results: dict[str, dict[str, Any]] = {}
    current: str | None = None
    timeout: float | None = STARTUP_SECONDS
    while True:
        try:
            event = events.get(timeout=timeout)
        except queue.Empty:
            if current is None:
                raise ParseRunError(f"the parse child did not start within {STARTUP_SECONDS:.0f}s") from None
            os.killpg(child.pid, 9)  # stuck where Airflow's timeout cannot interrupt it
            results[current] = _hung(current, (timeout or 0) - grace, grace)
            break
        if event is None:
            break
        if event["event"] == "fatal":
            raise ParseRunError(f"Airflow could not be set up to parse the project:\n{event['error']}")
        if event["event"] == "files":
            files = event["files"]
        elif event["event"] == "start":
            current = event["file"]
            limit = float(event["timeout_seconds"])
            timeout = limit + grace if limit > 0 else None  # 0: Airflow sets no limit either
        elif event["event"] == "file":
            results[event["file"]] = {key: value for key, value in event.items() if key != "event"}
            current = None
            timeout = STARTUP_SECONDS
    if not files and child.wait() != 0:
        tail = log_path.read_text(errors="replace")[-2000:]
        raise ParseRunError(f"the parse child exited with {child.returncode}:\n{tail}")
    if current is not None and current not in results:  # the child died inside this file
        results[current] = _died(current, child.wait())
    return [results.get(name) or _not_parsed(name, current) for name in files]


def _hung(name: str, seconds: float, grace: float) -> dict[str, Any]:
    message = f"still importing {grace:g}s past the import timeout; the parse was stopped"
    result: dict[str, Any] = {
        "file": name,
        "status": "timeout",
        "seconds": None,
        "timeout_seconds": seconds,
        "dag_ids": [],
    }
    return {**result, "errors": [{"message": message}], "touches": {}}


def _died(name: str, returncode: int) -> dict[str, Any]:
    how = f"signal {-returncode}" if returncode < 0 else f"exit status {returncode}"
    message = f"the parse process ended ({how}) while importing this file"
    result: dict[str, Any] = {"file": name, "status": "error", "seconds": None, "dag_ids": []}
    return {**result, "errors": [{"message": message}], "touches": {}}


def _not_parsed(name: str, hung: str | None) -> dict[str, Any]:
    reason = (
        f"not parsed: the parse stopped at {hung}" if hung else "not parsed: the parse child exited early"
    )
    return {
        "file": name,
        "status": "not_parsed",
        "dag_ids": [],
        "errors": [{"message": reason}],
        "touches": {},
    }
