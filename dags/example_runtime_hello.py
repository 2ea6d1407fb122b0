"""A small example DAG that shows a Runtime deployment works end to end.

It reads the Runtime release in a Python task and greets with it in a Bash task (through XCom); the local
runtime's integration test triggers it and waits for it to succeed.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task


@dag(
    dag_id="example_runtime_hello",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["example", "astronomer"],
)
def example_runtime_hello():
    @task
    def runtime_version() -> str:
        import os

        return os.environ.get("AIRFLOW__ASTRONOMER__RUNTIME_VERSION", "unknown")

    @task.bash
    def greet(version: str) -> str:
        return f"echo 'Hello from Astronomer Runtime {version}'"

    greet(runtime_version())


example_runtime_hello()
