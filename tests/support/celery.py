"""Airflow on CeleryExecutor for tests: PostgreSQL metadata database, Redis broker, the result
backend on PostgreSQL, the scheduler, dag-processor, triggerer and api-server, and any number of
`airflow celery worker` processes, each on its own queues. Real processes, always stopped; they run
on the venv's own celery, the lock's (versions.yaml holds it below 5.7, which the provider needs).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import requests

from astronomer_runtime.local.home import LocalHome, environment, prepare
from astronomer_runtime.local.supervisor import processes_with_env
from tests.support.servers import free_port, poll

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
MARKER = "ASTRO_CELERY_TEST_STACK"
RUNTIME_VERSION = "3.3-2"
# --skip-serve-logs: Airflow's log servers bind every interface on fixed ports; tests stay on loopback.
COMMANDS = {
    "scheduler": ["scheduler", "--skip-serve-logs"],
    "dag-processor": ["dag-processor"],
    "triggerer": ["triggerer", "--skip-serve-logs"],
}


def celery_provider_import() -> subprocess.CompletedProcess[str]:
    """Import CeleryExecutor's utilities in a fresh interpreter of the venv (as every component does)."""
    probe = "import airflow.providers.celery.executors.celery_executor_utils"
    return subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)


@dataclass
class CeleryStack:
    """One Airflow deployment on CeleryExecutor; components and workers started by name."""

    root: Path
    database_url: str  # postgresql+psycopg2://... for Airflow's metadata database
    broker_url: str  # redis://...
    settings: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    marker: str = field(default_factory=lambda: uuid.uuid4().hex)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.home = LocalHome(path=self.root / "airflow", project=self.root / "project", port=self.port)
        self.home.dags_folder.mkdir(parents=True, exist_ok=True)
        prepare(self.home)
        self.logs = self.root / "logs"
        self.logs.mkdir(exist_ok=True)

    @property
    def base_url(self) -> str:
        return self.home.base_url

    @property
    def result_backend(self) -> str:
        return "db+" + self.database_url.replace("postgresql+psycopg2://", "postgresql://", 1)

    def add_dag(self, name: str, source: str) -> None:
        (self.home.dags_folder / f"{name}.py").write_text(source)

    def env(self, **extra: str) -> dict[str, str]:
        shell = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
        shell.update(
            {
                "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.database_url,
                "AIRFLOW__CELERY__BROKER_URL": self.broker_url,
                "AIRFLOW__CELERY__RESULT_BACKEND": self.result_backend,
                "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
                **self.settings,
            }
        )
        env = environment(self.home, runtime_version=RUNTIME_VERSION, parallelism=8, shell=shell)
        env.update({MARKER: self.marker, "PYTHONUNBUFFERED": "1", **extra})
        return env

    def migrate(self) -> None:
        result = subprocess.run(
            [AIRFLOW, "db", "migrate"], env=self.env(), capture_output=True, text=True, timeout=600
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"airflow db migrate failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )

    def log_path(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def log(self, name: str) -> str:
        return self.log_path(name).read_text(errors="replace")

    def _spawn(self, name: str, command: list[str], env: dict[str, str]) -> None:
        with self.log_path(name).open("a") as log:
            self.processes[name] = subprocess.Popen(
                command, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def start(self, *names: str) -> None:
        env = self.env()
        for name in names:
            if name == "api-server":
                command = [AIRFLOW, "api-server", "--host", "127.0.0.1", "--port", str(self.port)]
            else:
                command = [AIRFLOW, *COMMANDS[name]]
            self._spawn(name, command, env)

    def start_worker(self, name: str, queues: list[str], concurrency: int) -> None:
        """`airflow celery worker` on `queues`; its tasks see ASTRO_TEST_WORKER=<name>."""
        command = [
            AIRFLOW,
            "celery",
            "worker",
            "--queues",
            ",".join(queues),
            "--concurrency",
            str(concurrency),
        ]
        command += [
            "--skip-serve-logs",
            "--celery-hostname",
            f"{name}@%h",
            "--without-mingle",
            "--without-gossip",
        ]
        self._spawn(name, command, self.env(ASTRO_TEST_WORKER=name))

    def worker_ready(self, name: str) -> bool:
        self.assert_alive(name)
        return " ready." in self.log(name)

    def assert_alive(self, *names: str) -> None:
        for name in names or tuple(self.processes):
            process = self.processes[name]
            assert process.poll() is None, (
                f"{name} exited with {process.returncode}:\n{self.log(name)[-4000:]}"
            )

    def stop(self, name: str, sig: signal.Signals = signal.SIGTERM, timeout: float = 60.0) -> int:
        """Send `sig` to the component's main process only (as a container runtime does); its exit code."""
        process = self.processes.pop(name)
        if process.poll() is None:
            process.send_signal(sig)
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            return process.wait()

    def kill_all(self) -> None:
        """Nothing of this stack survives (process groups, then anything carrying our marker)."""
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

    def wait_parsed(self, api: requests.Session, dag_id: str, timeout: float = 120) -> None:
        poll(lambda: api.get(f"{self.base_url}/api/v2/dags/{dag_id}", timeout=10).ok, timeout=timeout,
             what=f"{dag_id} parsed")  # fmt: skip
