"""Run a container in Kubernetes with this deployment's defaults (namespace, labels, resources).

AstroKubernetesPodOperator fills what the deployment decides ([astronomer] kpo_* settings); the task
below overrides the memory request within the deployment's limits.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag
from kubernetes.client import models as k8s

from astronomer_plugins import AstroKubernetesPodOperator


@dag(
    dag_id="example_kubernetes_pod",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["example", "astronomer", "kubernetes"],
)
def example_kubernetes_pod():
    AstroKubernetesPodOperator(
        task_id="crunch_numbers",
        name="crunch-numbers",
        image="python:3.12-slim",
        cmds=["python", "-c", "print(sum(range(10**6)))"],
        container_resources=k8s.V1ResourceRequirements(
            requests={"cpu": "500m", "memory": "512Mi"}, limits={"cpu": "1", "memory": "1Gi"}
        ),
        labels={"team": "analytics"},
    )


example_kubernetes_pod()
