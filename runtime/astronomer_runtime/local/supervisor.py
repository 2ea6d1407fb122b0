"""Runs Airflow components as separate processes, prefixes their logs, and stops them all.

Each component runs in its own session (process group), so a stop signal reaches its children
(LocalExecutor workers, task runners, DAG-file processors) too. A marker variable in every
component's environment finds anything that escaped its group, so nothing is left behind
(`airflow standalone` leaves its scheduler's workers running when signalled).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

log = logging.getLogger(__name__)

MARKER_VARIABLE = "ASTRO_RUNTIME_SUPERVISOR_ID"
STOP_GRACE_SECONDS = 9.0
LAST_GRACE_SECONDS = 3.0


@dataclass(frozen=True)
class Component:
    name: str
    argv: Sequence[str]
    stop_last: bool = False  # e.g. the control plane: others deregister from it while stopping


@dataclass
class Supervisor:
    environment: Mapping[str, str]
    output: TextIO = sys.stdout
    supervisor_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    processes: dict[str, subprocess.Popen[str]] = field(default_factory=dict)
    stop_last: set[str] = field(default_factory=set)
    _print_lock: threading.Lock = field(default_factory=threading.Lock)

    def _env(self) -> dict[str, str]:
        return {**self.environment, MARKER_VARIABLE: self.supervisor_id, "PYTHONUNBUFFERED": "1"}

    def _pump(self, name: str, stream: TextIO) -> None:
        for line in stream:
            with self._print_lock:
                self.output.write(f"{name:>14} | {line.rstrip()}\n")
                self.output.flush()

    def _spawn(self, component: Component) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            list(component.argv),
            env=self._env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._pump, args=(component.name, process.stdout), daemon=True).start()
        return process

    def run_once(self, component: Component) -> int:
        """Run a preparatory command (e.g. `airflow db migrate`) to completion."""
        process = self._spawn(component)
        try:
            return process.wait()
        except BaseException:
            _signal_group(process, signal.SIGKILL)
            raise

    def start(self, components: Sequence[Component]) -> None:
        for component in components:
            self.processes[component.name] = self._spawn(component)
            if component.stop_last:
                self.stop_last.add(component.name)

    def first_exited(self) -> tuple[str, int] | None:
        for name, process in self.processes.items():
            code = process.poll()
            if code is not None:
                return name, code
        return None

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Stop the components, then those marked stop_last; SIGKILL what outlives its grace; then
        any stragglers. Bounded by grace + LAST_GRACE_SECONDS + 2 s."""
        first = [p for name, p in self.processes.items() if name not in self.stop_last]
        last = [p for name, p in self.processes.items() if name in self.stop_last]
        _stop_group(first, grace)
        _stop_group(last, min(grace, LAST_GRACE_SECONDS))
        # Anything that left its group (setsid) is found by the marker; SIGKILL is asynchronous,
        # so look again until they are gone (bounded).
        deadline = time.monotonic() + 2.0
        while (
            stragglers := processes_with_env(MARKER_VARIABLE, self.supervisor_id)
        ) and time.monotonic() < deadline:
            for pid in stragglers:
                _kill(pid)
            time.sleep(0.05)


def _stop_group(processes: list[subprocess.Popen[str]], grace: float) -> None:
    for process in processes:
        _signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in processes:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for process in processes:
        _signal_group(process, signal.SIGKILL)
        process.wait()


def _signal_group(process: subprocess.Popen[str], signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def processes_with_env(name: str, value: str) -> list[int]:
    """PIDs of live processes (not zombies) whose environment has name=value (Linux /proc)."""
    needle = f"{name}={value}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found
