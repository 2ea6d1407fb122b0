"""Real Airflow components for registration tests: started as processes, always stopped.

Each stack gets its own AIRFLOW_HOME (secrets from the local runtime's `prepare`, a copy of a
database migrated once per session), its own DAGs folder and one log file per component.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import requests
from astronomer_runtime.local.home import LocalHome, environment, prepare
from astronomer_runtime.local.supervisor import processes_with_env

from tests.support.servers import final_state, free_port, poll, start_dag_run

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
MARKER = "ASTRO_REGISTRATION_TEST_STACK"
RUNTIME_VERSION = "3.3-2"
# --skip-serve-logs: Airflow's log servers bind every interface on fixed ports (8793/8794); tests
# listen on 127.0.0.1 only, and several stacks may run at once.
COMMANDS = {
    "scheduler": ["scheduler", "--skip-serve-logs"],
    "dag-processor": ["dag-processor"],
    "triggerer": ["triggerer", "--skip-serve-logs"],
}

FANOUT_DAG = """
from __future__ import annotations

import pendulum
from airflow.sdk import dag, task


@dag(dag_id="registration_fanout", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False)
def registration_fanout():
    @task
    def work(i: int) -> int:
        import time

        time.sleep(0.5)
        return i

    for i in range({tasks}):
        work.override(task_id=f"work_{{i}}")(i)


registration_fanout()
"""


def migrated_database(directory: Path) -> Path:
    """An Airflow database migrated once, copied by every stack (saves `db migrate` per test)."""
    home = LocalHome(path=directory / "home", project=directory / "project")
    home.dags_folder.mkdir(parents=True, exist_ok=True)
    prepare(home)
    env = environment(home, runtime_version=RUNTIME_VERSION)
    result = subprocess.run([AIRFLOW, "db", "migrate"], env=env, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return home.path / "airflow.db"


@dataclass
class AirflowStack:
    """Airflow's components for one test, pointed at a control plane through [astronomer] settings."""

    root: Path
    database: Path
    settings: dict[str, str]
    fanout_tasks: int = 8
    port: int = field(default_factory=free_port)
    marker: str = field(default_factory=lambda: uuid.uuid4().hex)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.home = LocalHome(path=self.root / "airflow", project=self.root / "project", port=self.port)
        self.home.dags_folder.mkdir(parents=True, exist_ok=True)
        (self.home.dags_folder / "registration_fanout.py").write_text(
            FANOUT_DAG.format(tasks=self.fanout_tasks)
        )
        prepare(self.home)
        shutil.copyfile(self.database, self.home.path / "airflow.db")
        self.logs = self.root / "logs"
        self.logs.mkdir(exist_ok=True)

    @property
    def base_url(self) -> str:
        return self.home.base_url

    def env(self) -> dict[str, str]:
        env = environment(self.home, runtime_version=RUNTIME_VERSION, parallelism=4)
        env.update(
            {
                MARKER: self.marker,
                "PYTHONUNBUFFERED": "1",
                "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
                **self.settings,
            }
        )
        return env

    def command(self, name: str) -> list[str]:
        if name == "api-server":
            return [AIRFLOW, "api-server", "--host", "127.0.0.1", "--port", str(self.port)]
        return [AIRFLOW, *COMMANDS[name]]

    def log_path(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def scheduler_loop_running(self) -> bool:
        """The scheduler Job heartbeat again after it started: its loop runs (executor started, signal
        handlers in place), so a SIGTERM now takes the clean path through before_stopping."""
        import sqlite3

        with sqlite3.connect(self.home.path / "airflow.db") as db:
            row = db.execute(
                "SELECT COUNT(*) FROM job WHERE job_type = 'SchedulerJob' AND state = 'running'"
                " AND latest_heartbeat > start_date"
            ).fetchone()
        return bool(row and row[0])

    def log(self, name: str) -> str:
        return self.log_path(name).read_text(errors="replace")

    def start(self, *names: str) -> None:
        env = self.env()
        for name in names:
            with self.log_path(name).open("a") as log:
                self.processes[name] = subprocess.Popen(
                    self.command(name), env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True,
                )  # fmt: skip

    def alive(self, name: str) -> bool:
        return self.processes[name].poll() is None

    def assert_alive(self) -> None:
        for name, process in self.processes.items():
            assert process.poll() is None, (
                f"{name} exited with {process.returncode}:\n{self.log(name)[-4000:]}"
            )

    def stop(self, *names: str, timeout: float = 30.0) -> dict[str, float]:
        """SIGTERM (to the component process only, like a container runtime), then wait; seconds taken."""
        names = names or tuple(self.processes)
        started = time.monotonic()
        for name in names:
            if self.processes[name].poll() is None:
                self.processes[name].send_signal(signal.SIGTERM)
        taken = {}
        for name in names:
            try:
                self.processes[name].wait(timeout=max(0.1, started + timeout - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(self.processes[name].pid, signal.SIGKILL)
                self.processes[name].wait()
            taken[name] = time.monotonic() - started
        return taken

    def kill_all(self) -> None:
        """Nothing of this stack survives the test (process groups, then anything with our marker)."""
        for process in self.processes.values():
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()
        deadline = time.monotonic() + 5
        while (pids := processes_with_env(MARKER, self.marker)) and time.monotonic() < deadline:
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.1)

    # -- Airflow's REST API ---------------------------------------------------------------------------

    def healthy(self) -> bool:
        self.assert_alive()
        try:
            return requests.get(f"{self.base_url}/api/v2/monitor/health", timeout=2).ok
        except requests.RequestException:
            return False

    def api(self) -> requests.Session:
        password = json.loads(self.home.passwords_file.read_text())["admin"]
        token = requests.post(
            f"{self.base_url}/auth/token", json={"username": "admin", "password": password}, timeout=10
        )
        assert token.status_code == 201, token.text
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        return session

    def run_dag(self, api: requests.Session, dag_id: str, *, timeout: float) -> tuple[str, list[dict]]:
        """Trigger `dag_id` once it is parsed; its final state and task instances."""
        poll(
            lambda: api.get(f"{self.base_url}/api/v2/dags/{dag_id}", timeout=10).ok,
            timeout=timeout,
            what=f"{dag_id} parsed",
        )
        api.patch(
            f"{self.base_url}/api/v2/dags/{dag_id}", json={"is_paused": False}, timeout=10
        ).raise_for_status()
        run_url = start_dag_run(api, self.base_url, dag_id)
        state = final_state(api, run_url, timeout=timeout, alive=self.assert_alive)
        tis = api.get(f"{run_url}/taskInstances", timeout=10).json()["task_instances"]
        return state, tis

    # -- what the processes wrote --------------------------------------------------------------------

    def all_log_files(self) -> Iterable[Path]:
        yield from self.logs.glob("*.log")
        task_logs = self.home.path / "logs"
        if task_logs.exists():
            yield from (path for path in task_logs.rglob("*") if path.is_file())


def thread_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")
