"""The customer's project loop (#15): start, restart and parse, against baselines measured in this run.

1. cold `project start` (no environment, no database: the project's state folder is new; uv's download
   cache is warm, as for any second project on a machine) of a project with three requirements of its
   own, vs `astro-runtime dev` of an empty project (this checkout's venv, a new AIRFLOW_HOME): ratio.
2. warm `project restart` with unchanged inputs (stop + start, the environment and database reused)
   vs the cold start: ratio, goal <= 0.3; and once vs a first start on a machine whose uv cache is
   empty (every wheel downloaded from PyPI: network-bound, so one sample, printed apart).
3. `project parse` of 50 generated DAG files (the whole command: environment check, a child process,
   per-file probes) vs Airflow's own DagBag import of the same files in the same environment: ratio,
   goal <= 1.2.
Each figure is the median of BENCH_RUNS runs (default 3). Times are to "healthy" (the command returns
once the api-server answers /api/v2/monitor/health).
"""

from __future__ import annotations

import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.projects import EXTRAS_DAG, EXTRAS_REQUIREMENTS, write_project
from tests.support.servers import free_port, wait_until_healthy

REPO = Path(__file__).resolve().parents[1]
BENCH_DIR = REPO / ".bench" / "project_loop"
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
DAG_FILES = 50
RESTART_GOAL, PARSE_GOAL = 0.3, 1.2

GENERATED_DAG = """
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import PythonOperator

with DAG(dag_id="generated_{n}", schedule="@daily", catchup=False, tags=["bench"]):
    first = EmptyOperator(task_id="first")
    for i in range(10):
        first >> PythonOperator(task_id=f"work_{{i}}", python_callable=lambda: None)
"""


def _cli(*args: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "astronomer_runtime", *args], capture_output=True, text=True, env=env
    )
    if result.returncode != 0:
        raise SystemExit(f"astro-runtime {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def dev_of_empty_project(root: Path) -> float:
    """`astro-runtime dev` of a project with an empty dags/, to healthy, then stopped."""
    shutil.rmtree(root, ignore_errors=True)
    (root / "project" / "dags").mkdir(parents=True)
    port, control_plane_port = free_port(), free_port()
    where = [
        "--home",
        str(root / "airflow"),
        "--port",
        str(port),
        "--control-plane-port",
        str(control_plane_port),
    ]
    command = [sys.executable, "-m", "astronomer_runtime", "dev", "--project", str(root / "project"), *where]
    log = root / "dev.log"
    started = time.perf_counter()
    with log.open("w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}/api/v2/monitor/health", process, log, timeout=300)
        return time.perf_counter() - started
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)


def main() -> int:
    shutil.rmtree(BENCH_DIR, ignore_errors=True)
    BENCH_DIR.mkdir(parents=True)
    project = write_project(BENCH_DIR / "customer", requirements=EXTRAS_REQUIREMENTS)
    (project / "dags" / "project_extras.py").write_text(EXTRAS_DAG)
    ports = ["--port", str(free_port()), "--control-plane-port", str(free_port())]
    project_args = ["--project", str(project)]

    dev, cold, warm = [], [], []
    for run in range(RUNS):
        dev.append(dev_of_empty_project(BENCH_DIR / "dev"))
        env = {**os.environ, "ASTRO_RUNTIME_STATE_DIR": str(BENCH_DIR / f"state-{run}")}
        cold.append(_timed(lambda env=env: _cli("project", "start", *project_args, *ports, env=env)))
        warm.append(_timed(lambda env=env: _cli("project", "restart", *project_args, *ports, env=env)))
        _cli("project", "stop", *project_args, env=env)
        print(
            f"  run {run + 1}: dev(empty) {dev[-1]:.1f}s, cold start {cold[-1]:.1f}s, "
            f"warm restart {warm[-1]:.1f}s"
        )

    uncached_env = {
        **os.environ,
        "ASTRO_RUNTIME_STATE_DIR": str(BENCH_DIR / "state-uncached"),
        "UV_CACHE_DIR": str(BENCH_DIR / "uv-cache-empty"),
    }
    uncached = _timed(lambda: _cli("project", "start", *project_args, *ports, env=uncached_env))
    _cli("project", "stop", *project_args, env=uncached_env)
    shutil.rmtree(BENCH_DIR / "uv-cache-empty", ignore_errors=True)

    parse_project = write_project(BENCH_DIR / "parse")
    for dag in list((parse_project / "dags").rglob("*.py")):
        dag.unlink()
    for n in range(DAG_FILES):
        (parse_project / "dags" / f"generated_{n}.py").write_text(GENERATED_DAG.format(n=n))
    env = {**os.environ, "ASTRO_RUNTIME_STATE_DIR": str(BENCH_DIR / "state-parse")}
    _cli("project", "parse", "--project", str(parse_project), env=env)  # builds the environment once
    python = next((BENCH_DIR / "state-parse").glob("projects/*/venvs/*/bin/python"))
    dagbag = (
        "from airflow.dag_processing.dagbag import DagBag\n"
        f"bag = DagBag(dag_folder={str(parse_project / 'dags')!r})\n"
        f"assert len(bag.dag_ids) == {DAG_FILES} and not bag.import_errors, bag.import_errors\n"
    )
    dagbag_env = {**env, "AIRFLOW_HOME": str(BENCH_DIR / "dagbag-home"), "PYTHONPATH": str(parse_project)}
    ours, airflows = [], []
    for _ in range(RUNS):
        ours.append(_timed(lambda: _cli("project", "parse", "--project", str(parse_project), env=env)))
        airflows.append(
            _timed(
                lambda: subprocess.run(
                    [str(python), "-c", dagbag], check=True, env=dagbag_env, capture_output=True
                )
            )
        )

    dev_s, cold_s, warm_s = statistics.median(dev), statistics.median(cold), statistics.median(warm)
    ours_s, airflow_s = statistics.median(ours), statistics.median(airflows)
    figures = [
        f"cold `project start` {cold_s:.1f}s vs `astro-runtime dev` of an empty project {dev_s:.1f}s: "
        f"ratio {cold_s / dev_s:.2f}",
        f"warm `project restart` {warm_s:.1f}s vs cold start {cold_s:.1f}s: ratio {warm_s / cold_s:.2f} "
        f"(goal <= {RESTART_GOAL})",
        f"warm `project restart` {warm_s:.1f}s vs a first start with an empty uv cache {uncached:.1f}s: "
        f"ratio {warm_s / uncached:.2f}",
        f"`project parse` of {DAG_FILES} files {ours_s:.1f}s vs DagBag {airflow_s:.1f}s: "
        f"ratio {ours_s / airflow_s:.2f} (goal <= {PARSE_GOAL})",
    ]
    for figure in figures:
        print(f"project_loop: {figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
