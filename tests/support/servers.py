"""Real servers for tests: started as processes on a free 127.0.0.1 port, always stopped."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def poll(check, *, timeout: float, interval: float = 1.0, what: str):  # noqa: ANN001, ANN201
    """Call `check` until it returns something truthy, or fail the test after `timeout` seconds."""
    import pytest

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


EXECUTION_API_WARMUP_SECONDS = 120.0


def warm_execution_api(base_url: str) -> None:
    """Make the api-server build its execution API now. Airflow builds that versioned app lazily, on
    the event loop, at its first request: many seconds of CPU on a busy 2-core machine, during which
    the api-server answers nothing and task runners (5 s client timeout, 3 tries) give up."""
    requests.get(f"{base_url}/execution/health", timeout=EXECUTION_API_WARMUP_SECONDS).raise_for_status()


def start_dag_run(api: requests.Session, base_url: str, dag_id: str, conf: dict | None = None) -> str:
    """Trigger a run of `dag_id` through the REST API, once the execution API its tasks call is
    ready; returns the run's URL."""
    warm_execution_api(base_url)
    body = {"logical_date": None, **({"conf": conf} if conf is not None else {})}
    run = api.post(f"{base_url}/api/v2/dags/{dag_id}/dagRuns", json=body, timeout=10)
    assert run.status_code == 200, run.text
    return f"{base_url}/api/v2/dags/{dag_id}/dagRuns/{run.json()['dag_run_id']}"


def final_state(api: requests.Session, run_url: str, *, timeout: float, alive=None) -> str:  # noqa: ANN001
    """Poll a DAG run until it is `success` or `failed`; `alive()` may fail the test early."""

    def finished() -> str | None:
        if alive is not None:
            alive()
        state = api.get(run_url, timeout=10).json()["state"]
        return state if state in ("success", "failed") else None

    return poll(finished, timeout=timeout, interval=1, what=f"the run {run_url.rsplit('/', 1)[-1]} to finish")


def stop_process_group(process: subprocess.Popen | None, timeout: float = 10.0) -> None:
    """SIGTERM a process started with start_new_session=True and its children; SIGKILL after `timeout`."""
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_until_healthy(url: str, process: subprocess.Popen, log_path: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=2).ok:
                return
        except (requests.ConnectionError, requests.Timeout):  # e.g. a first request that configures the ORM
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} not healthy after {timeout:.0f}s:\n{log_path.read_text()[-3000:]}")


@dataclass
class ControlPlaneServer:
    """`astro-runtime control-plane serve` as a real process."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    database_url: str = ""
    catalog_file: Path | None = None  # the catalog whose update feed it serves (default: versions.yaml)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}.log"

    @property
    def admin_token(self) -> str:
        return (self.data_dir / "admin-token").read_text().strip()

    def command(self, *args: str) -> list[str]:
        database = ["--database-url", self.database_url] if self.database_url else []
        catalog = ["--catalog", str(self.catalog_file)] if self.catalog_file else []
        serve = ["control-plane", "--data-dir", str(self.data_dir), "--port", str(self.port)]
        return [sys.executable, "-m", "astronomer_runtime", *catalog, *serve, *database, *args]

    def start(self) -> ControlPlaneServer:
        log = self.log_path.open("a")
        command = self.command("serve")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_until_healthy(f"{self.url}/health", self.process, self.log_path)
        return self

    def stop(self) -> None:
        stop_process_group(self.process, timeout=10)

    def restart(self) -> None:
        self.stop()
        self.start()

    def admin(self) -> requests.Session:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.admin_token}"
        return session

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.command(*args), capture_output=True, text=True, timeout=120)


@dataclass
class AirflowApiServer:
    """`airflow api-server` (with `db migrate` and a DAG reserialize first) as a real process."""

    home: Path
    environment: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.home / "api-server.log"

    def env(self) -> dict[str, str]:
        base = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
        return {
            **base,
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API_AUTH__JWT_SECRET": "tests-only-jwt-secret-" + "0123456789abcdef" * 4,
            **self.environment,
        }

    def airflow(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        airflow = str(Path(sys.executable).with_name("airflow"))
        env = self.env()
        return subprocess.run([airflow, *args], env=env, capture_output=True, text=True, timeout=timeout)

    def start(self) -> AirflowApiServer:
        self.home.mkdir(parents=True, exist_ok=True)
        for command in (("db", "migrate"), ("dags", "reserialize")):
            result = self.airflow(*command)
            if result.returncode != 0:
                output = f"{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
                raise RuntimeError(f"airflow {' '.join(command)} failed:\n{output}")
        airflow = str(Path(sys.executable).with_name("airflow"))
        log = self.log_path.open("a")
        command = [airflow, "api-server", "--host", "127.0.0.1", "--port", str(self.port)]
        self.process = subprocess.Popen(
            command, env=self.env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        wait_until_healthy(f"{self.url}/api/v2/monitor/health", self.process, self.log_path, timeout=120)
        return self

    def stop(self) -> None:
        stop_process_group(self.process, timeout=15)


@dataclass
class LocalRuntime:
    """`astro-runtime dev` (control plane + four Airflow components) as a real process tree."""

    root: Path
    project: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    catalog_file: Path | None = None  # `astro-runtime --catalog`: the release it runs and the feed it serves
    port: int = field(default_factory=free_port)
    control_plane_port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def home(self) -> Path:
        return self.root / "airflow"

    @property
    def control_plane_dir(self) -> Path:
        return self.root / "control-plane"

    @property
    def log_path(self) -> Path:
        return self.root / "runtime.log"

    def seeded(self) -> dict[str, str]:
        import json

        return json.loads((self.control_plane_dir / "deployment.json").read_text())

    def start(self, timeout: float = 240) -> LocalRuntime:
        self.root.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False", **self.extra_env}
        catalog = ["--catalog", str(self.catalog_file)] if self.catalog_file else []
        dev = ["dev", "--port", str(self.port), "--home", str(self.home)]
        dev += ["--control-plane-port", str(self.control_plane_port), "--project", str(self.project)]
        command = [sys.executable, "-m", "astronomer_runtime", *catalog, *dev]
        with self.log_path.open("a") as log:
            self.process = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        wait_until_healthy(f"{self.url}/api/v2/monitor/health", self.process, self.log_path, timeout=timeout)
        return self

    def admin_api_token(self, role: str = "WORKSPACE_OPERATOR") -> str:
        """A control-plane API token for this deployment, made with the control plane's admin token."""
        seeded = self.seeded()
        admin = (self.control_plane_dir / "admin-token").read_text().strip()
        body = {
            "name": f"tests-{role.lower()}",
            "scope": "workspace",
            "scope_id": seeded["workspace_id"],
            "role": role,
        }
        response = requests.post(
            f"{seeded['control_plane_url']}/v1/organizations/{seeded['organization_id']}/tokens",
            json=body,
            headers={"Authorization": f"Bearer {admin}"},
            timeout=10,
        )
        response.raise_for_status()
        return response.json()["secret"]

    def stop(self) -> None:
        stop_process_group(self.process, timeout=20)
