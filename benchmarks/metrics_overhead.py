"""Per-task overhead of our metrics listener and tagged statsd client.

1. Microbenchmark (in process): one task event = the listener's success hook (count + duration in
   memory) plus, as when a task runner stops, sending its counts as tagged statsd lines over UDP to a
   local socket. Reported in microseconds per task event against a baseline that calls a no-op hook
   the same way, in the same run. Target (DESIGN.md / issue 6): <= 0.2 ms per task.
2. A 200-task DAG (`dag.test()`, every task really executed in process, listeners fired by Airflow)
   with metrics on (listener + tagged statsd to a local UDP socket) vs off, alternating runs, medians.
   Target: ratio <= 1.01.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parents[1]
BENCH_DIR = REPO / ".bench" / "metrics_overhead"
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
TASKS = int(os.environ.get("BENCH_TASKS", "200"))
EVENTS = 20_000
TARGET_US, TARGET_RATIO = 200.0, 1.01
TAGGED_CLIENT = "astronomer_plugins.metrics.statsd_client.TaggedStatsClient"

DAG_FILE = """
from __future__ import annotations
import pendulum
from airflow.sdk import dag, task

START = pendulum.datetime(2026, 1, 1, tz="UTC")

@dag(dag_id="bench_metrics_{tasks}", schedule=None, start_date=START, catchup=False)
def bench():
    @task
    def noop(i: int) -> None:
        return None
    for i in range({tasks}):
        noop.override(task_id=f"t{{i}}")(i)

the_dag = bench()
"""

PROBE = """
import sys, time
from airflow.sdk.execution_time.task_runner import TaskRunnerMarker
from astronomer_plugins.agent import listener
listener.on_starting(TaskRunnerMarker())  # what a task runner's start does (dag.test() skips it)
import importlib.util
spec = importlib.util.spec_from_file_location("bench_metrics", sys.argv[1] + "/bench_metrics.py")
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
dag = module.the_dag
started = time.perf_counter()
run = dag.test()
elapsed = time.perf_counter() - started
assert str(getattr(run.state, "value", run.state)) == "success", run.state
print(elapsed)
"""


def micro() -> tuple[float, float]:
    """Microseconds per task event: our listener + statsd emission, and a no-op baseline."""
    from airflow.sdk.execution_time.task_runner import TaskRunnerMarker

    from astronomer_plugins.agent import listener as agent_listener
    from astronomer_plugins.metrics import emit, listener

    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    os.environ.update(
        {
            "AIRFLOW__METRICS__STATSD_ON": "True",
            "AIRFLOW__METRICS__STATSD_HOST": "127.0.0.1",
            "AIRFLOW__METRICS__STATSD_PORT": str(sink.getsockname()[1]),
            "AIRFLOW__ASTRONOMER__DEPLOYMENT_ID": "dep_bench",
        }
    )
    start = dt.datetime.now(dt.UTC)
    end = start + dt.timedelta(seconds=1)
    task = SimpleNamespace(task_type="PythonOperator")
    ti = SimpleNamespace(
        dag_id="bench_dag", task_id="task_1", task=task, state="success", start_date=start, end_date=end
    )
    marker = TaskRunnerMarker()
    agent_listener.on_starting(marker)
    emit._statsd()  # the client exists before the first measured event, as in a warmed-up runner

    def noop(previous_state: object, task_instance: object) -> None:
        return None

    def measure(hook) -> float:
        began = time.perf_counter()
        for _ in range(EVENTS):
            hook(None, ti)
            agent_listener.before_stopping(marker) if hook is listener.on_task_instance_success else None
        return (time.perf_counter() - began) / EVENTS * 1e6

    baseline, ours = [], []
    for _ in range(5):
        baseline.append(measure(noop))
        ours.append(measure(listener.on_task_instance_success))
    sink.close()
    return statistics.median(ours), statistics.median(baseline)


def dag_ratio() -> tuple[float, float]:
    """Median wall time of the 200-task DAG with metrics on and off (seconds)."""
    home = BENCH_DIR / "airflow-home"
    dags = BENCH_DIR / "dags"
    dags.mkdir(parents=True, exist_ok=True)
    (dags / "bench_metrics.py").write_text(DAG_FILE.format(tasks=TASKS))
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    base = {
        "PATH": os.environ["PATH"],
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
    }
    metrics_on = {
        "AIRFLOW__ASTRONOMER__METRICS_LISTENER_ENABLED": "True",
        "AIRFLOW__METRICS__STATSD_ON": "True",
        "AIRFLOW__METRICS__STATSD_HOST": "127.0.0.1",
        "AIRFLOW__METRICS__STATSD_PORT": str(sink.getsockname()[1]),
        "AIRFLOW__METRICS__STATSD_CUSTOM_CLIENT_PATH": TAGGED_CLIENT,
        "AIRFLOW__METRICS__STATSD_INFLUXDB_ENABLED": "True",
        "AIRFLOW__ASTRONOMER__DEPLOYMENT_ID": "dep_bench",
    }
    variants = {
        "off": {**base, "AIRFLOW__ASTRONOMER__METRICS_LISTENER_ENABLED": "False"},
        "on": {**base, **metrics_on},
    }
    if not (home / "airflow.db").exists():
        home.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"], env=base, check=True, capture_output=True
        )
    probe = PROBE.format(tasks=TASKS)
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(RUNS):
        for name, env in variants.items():
            result = subprocess.run(
                [sys.executable, "-c", probe, str(dags)], env=env, capture_output=True, text=True
            )
            if result.returncode != 0:
                raise SystemExit(f"metrics_overhead: the {name} run failed:\n{result.stderr[-3000:]}")
            samples[name].append(float(result.stdout.strip().splitlines()[-1]))
    sink.close()
    return statistics.median(samples["on"]), statistics.median(samples["off"])


def main() -> int:
    ours, baseline = micro()
    print(
        f"metrics_overhead: listener + tagged statsd {ours:.1f} us per task event, "
        f"no-op hook {baseline:.2f} us, overhead {ours - baseline:.1f} us (target <= {TARGET_US:.0f} us); "
        f"{EVENTS} events x 5"
    )
    on, off = dag_ratio()
    print(
        f"metrics_overhead: {TASKS}-task DAG (dag.test) median on {on:.2f} s, off {off:.2f} s, "
        f"ratio {on / off:.3f} (target <= {TARGET_RATIO}); {RUNS} alternating runs each"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
