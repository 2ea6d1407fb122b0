"""Cross-deployment orchestration with Astronomer operators.

Needs an `astro_deployment` connection named `other_deployment`: host = the other deployment's base
URL (or extra {"deployment_id": "..."}), password = a control-plane API token for it. Then:
1. trigger `example_runtime_hello` over there and wait for it (deferrable: no worker slot is held);
2. wait until the latest run of `example_runtime_hello` over there has succeeded.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag

from astronomer_plugins import DeploymentDagRunSensor, TriggerDeploymentDagRunOperator


@dag(
    dag_id="example_cross_deployment",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["example", "astronomer"],
)
def example_cross_deployment():
    trigger = TriggerDeploymentDagRunOperator(
        task_id="trigger_hello_elsewhere",
        astro_conn_id="other_deployment",
        trigger_dag_id="example_runtime_hello",
        conf={"requested_by": "{{ dag.dag_id }}"},
        wait_for_completion=True,
        poke_interval=10,
        timeout=3600,
    )
    wait = DeploymentDagRunSensor(
        task_id="latest_hello_succeeded",
        astro_conn_id="other_deployment",
        external_dag_id="example_runtime_hello",
        poke_interval=10,
        timeout=600,
    )
    trigger >> wait


example_cross_deployment()
