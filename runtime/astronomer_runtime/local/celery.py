"""`astro-runtime dev --executor celery`: Airflow on CeleryExecutor, as a scaled-out deployment runs.

PostgreSQL 15 (Airflow's metadata database and Celery's result backend) and redis-server (the
broker) from Debian's packages run as the local runtime's first components, on 127.0.0.1 only; their
data lives next to AIRFLOW_HOME (`celery/postgres`, kept across starts; Redis keeps nothing). Airflow's
scheduler, dag-processor, triggerer and api-server then run as usual, plus `workers` Celery workers
on the `default` queue. The SQLite/LocalExecutor default of `astro-runtime dev` is unchanged.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from astronomer_runtime.local.supervisor import Component, Supervisor

PG_BIN = Path("/usr/lib/postgresql/15/bin")
DATABASE = "airflow"
READY_DEADLINE_SECONDS = 60.0
QUEUE = "default"  # Airflow's [operators] default_queue


class LocalCeleryError(RuntimeError):
    """What is missing for CeleryExecutor, named with its fix; nothing was started."""


def _as_postgres(argv: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run it as the `postgres` user Debian's package creates."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@dataclass(frozen=True)
class LocalCelery:
    root: Path  # <AIRFLOW_HOME's parent>/celery
    postgres_port: int = 8832
    redis_port: int = 8879
    workers: int = 2
    concurrency: int = 4

    @property
    def data(self) -> Path:
        return self.root / "postgres"

    def check(self, python: Path) -> None:
        """Fail before anything starts: the binaries exist and CeleryExecutor imports with `python`."""
        if not (PG_BIN / "initdb").exists():
            raise LocalCeleryError("PostgreSQL 15 is not installed: apt-get install postgresql")
        if shutil.which("redis-server") is None:
            raise LocalCeleryError("redis-server is not installed: apt-get install redis-server")
        probe = "import airflow.providers.celery.executors.celery_executor_utils"
        result = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            error = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise LocalCeleryError(
                f"CeleryExecutor cannot be imported by {python}: {error}. The Runtime's locks hold "
                "celery<5.7 (5.7.0 broke the Celery provider): reinstall the environment from its lock "
                "(make venv)"
            )

    def initialize(self) -> None:
        """initdb on first use (trust authentication: the server listens on 127.0.0.1 only)."""
        if (self.data / "PG_VERSION").exists():
            return
        self.data.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.data, "postgres")
        initdb = [str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust"]
        result = subprocess.run(_as_postgres(initdb), capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise LocalCeleryError(f"initdb {self.data} failed: {result.stderr.strip()[-2000:]}")

    def services(self) -> list[Component]:
        """PostgreSQL and Redis, stopped after Airflow's components (which use them to the end)."""
        postgres = [str(PG_BIN / "postgres"), "-D", str(self.data), "-h", "127.0.0.1"]
        postgres += ["-p", str(self.postgres_port), "-k", str(self.data)]
        redis = [shutil.which("redis-server") or "redis-server", "--bind", "127.0.0.1"]
        redis += ["--port", str(self.redis_port), "--protected-mode", "yes"]
        redis += ["--save", "", "--appendonly", "no"]  # a broker's queue, nothing worth keeping
        return [
            Component("postgres", _as_postgres(postgres), stop_last=True),
            Component("redis", redis, stop_last=True),
        ]

    def wait_ready(self, stopping: threading.Event, alive: Callable[[], bool]) -> bool:
        """Both servers answer, then the `airflow` database exists; False when stopping, a server
        died, or the deadline passed."""
        deadline = time.monotonic() + READY_DEADLINE_SECONDS
        ready = [str(PG_BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.postgres_port)]
        while time.monotonic() < deadline and not stopping.is_set() and alive():
            if subprocess.run(ready, capture_output=True).returncode == 0 and _redis_pong(self.redis_port):
                return self._create_database()
            stopping.wait(0.2)
        return False

    def _create_database(self) -> bool:
        where = ["-h", "127.0.0.1", "-p", str(self.postgres_port), "-U", "postgres"]
        result = subprocess.run([str(PG_BIN / "createdb"), *where, DATABASE], capture_output=True, text=True)
        return result.returncode == 0 or "already exists" in result.stderr

    def airflow_settings(self) -> dict[str, str]:
        """The wiring of every Airflow component (it replaces what `.env` or the shell say)."""
        database = f"postgres@127.0.0.1:{self.postgres_port}/{DATABASE}"
        return {
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://{database}",
            "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql://{database}",
        }

    def worker_components(self, airflow: str) -> list[Component]:
        """`airflow celery worker` processes; no log server (it would listen on every interface)."""
        host = socket.gethostname()
        worker = [airflow, "celery", "worker", "--queues", QUEUE, "--concurrency", str(self.concurrency)]
        worker += ["--skip-serve-logs", "--without-mingle", "--without-gossip"]
        return [
            Component(f"worker-{index}", [*worker, "--celery-hostname", f"worker{index}@{host}"])
            for index in range(1, self.workers + 1)
        ]


def _redis_pong(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def start(celery: LocalCelery, supervisor: Supervisor, stopping: threading.Event, output: TextIO) -> bool:
    """Start PostgreSQL and Redis under the local runtime's supervisor and wait for them; False
    (said on `output`) when they did not come up."""
    supervisor.start(celery.services())

    def alive() -> bool:
        return all(supervisor.processes[name].poll() is None for name in ("postgres", "redis"))

    if celery.wait_ready(stopping, alive):
        return True
    if not stopping.is_set():
        output.write(
            f"PostgreSQL (127.0.0.1:{celery.postgres_port}) and Redis (127.0.0.1:{celery.redis_port}) "
            f"did not become ready within {READY_DEADLINE_SECONDS:.0f}s; see their output above\n"
        )
    return False
