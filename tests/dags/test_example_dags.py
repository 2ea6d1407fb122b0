"""The example DAGs (shipped in the image) parse with zero import errors."""

from __future__ import annotations

from pathlib import Path

from airflow.dag_processing.dagbag import DagBag

DAGS = Path(__file__).resolve().parents[2] / "dags"


def test_example_dags_parse_cleanly() -> None:
    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == {"example_runtime_hello", "example_cross_deployment", "example_kubernetes_pod"}
    operators = {type(task).__name__ for dag in bag.dags.values() for task in dag.tasks}
    assert {"TriggerDeploymentDagRunOperator", "DeploymentDagRunSensor", "AstroKubernetesPodOperator"} <= operators
