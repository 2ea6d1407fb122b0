"""`astro-runtime dev --executor celery`: PostgreSQL, Redis and two Celery workers next to Airflow's
components, a project DAG green through the workers, everything stopped on SIGTERM."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from astronomer_runtime.local.celery import LocalCelery
from astronomer_runtime.local.home import LocalHome
from astronomer_runtime.local.supervisor import processes_with_env
from tests.projects import HELLO_DAG, write_project
from tests.support.servers import final_state, free_port, poll, start_dag_run


def test_celery_wiring_and_workers() -> None:
    celery = LocalCelery(Path("/x/celery"), postgres_port=5555, redis_port=6666, workers=2, concurrency=3)
    assert celery.airflow_settings() == {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql+psycopg2://postgres@127.0.0.1:5555/airflow",
        "AIRFLOW__CELERY__BROKER_URL": "redis://127.0.0.1:6666/0",
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+postgresql://postgres@127.0.0.1:5555/airflow",
    }
    workers = celery.worker_components("/venv/bin/airflow")
    assert [w.name for w in workers] == ["worker-1", "worker-2"]
    assert workers[0].argv[:7] == [
        "/venv/bin/airflow",
        "celery",
        "worker",
        "--queues",
        "default",
        "--concurrency",
        "3",
    ]
    assert [c.name for c in celery.services()] == ["postgres", "redis"]
    assert all(c.stop_last for c in celery.services())
    assert "127.0.0.1" in celery.services()[1].argv and "0.0.0.0" not in celery.services()[1].argv


@pytest.fixture
def runtime() -> Iterator[tuple[subprocess.Popen, str, LocalHome, Path]]:
    # Not under pytest's tmp_path (private to root): PostgreSQL runs as the postgres user.
    top = Path(tempfile.mkdtemp(prefix="astro-dev-celery-"))
    top.chmod(0o755)
    home = LocalHome(path=top / "airflow", project=write_project(top / "project"), port=free_port())
    log_path = top / "runtime.log"
    dev = ["dev", "--executor", "celery", "--without-control-plane", "--port", str(home.port)]
    dev += ["--home", str(home.path), "--project", str(home.project)]
    dev += ["--postgres-port", str(free_port()), "--redis-port", str(free_port())]
    env = {**os.environ, "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False"}
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "astronomer_runtime", *dev],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env,
        )  # fmt: skip
    try:
        yield process, home.base_url, home, log_path
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        for pid in processes_with_env("AIRFLOW_HOME", str(home.path)):
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(top, ignore_errors=True)


@pytest.mark.integration
@pytest.mark.slow
def test_dev_with_celery_runs_a_dag_on_the_workers_and_stops_everything(runtime) -> None:
    process, base_url, home, log_path = runtime

    def healthy() -> bool:
        assert process.poll() is None, (
            f"dev exited with {process.returncode}:\n{log_path.read_text()[-4000:]}"
        )
        try:
            return requests.get(f"{base_url}/api/v2/monitor/health", timeout=2).ok
        except requests.ConnectionError:
            return False

    poll(healthy, timeout=240, what="the api-server to be healthy")
    password = json.loads(home.passwords_file.read_text())["admin"]
    token = requests.post(
        f"{base_url}/auth/token", json={"username": "admin", "password": password}, timeout=10
    )
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
    poll(
        lambda: api.get(f"{base_url}/api/v2/dags/{HELLO_DAG}", timeout=10).ok,
        timeout=120,
        what="the DAG parsed",
    )
    run_url = start_dag_run(api, base_url, HELLO_DAG)
    assert final_state(api, run_url, timeout=240) == "success"
    # The task ran in a Celery worker (its result reaches the worker's log just after the run ends).

    def ran_in_a_worker() -> bool:
        lines = log_path.read_text().splitlines()
        return any("worker-" in line and "execute_workload" in line and "succeeded" in line for line in lines)

    poll(ran_in_a_worker, timeout=30, interval=0.5, what="a Celery worker to log the task's success")
    log = log_path.read_text()
    assert "worker1@" in log and "worker2@" in log and " ready." in log

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0, log_path.read_text()[-3000:]
    assert "All components stopped." in log_path.read_text()
    assert processes_with_env("AIRFLOW_HOME", str(home.path)) == []
    assert not (home.path.parent / "celery" / "postgres" / "postmaster.pid").exists()  # PostgreSQL stopped
