"""Astronomer Runtime's Airflow plugin: ties a running Airflow to its control plane.

This module is imported by every Airflow process, task runners included, so it imports nothing
heavy: each feature loads its own dependencies when it is first used.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = [
    "AstroDeploymentHook",
    "AstroKubernetesPodOperator",
    "DeploymentDagRunSensor",
    "TriggerDeploymentDagRunOperator",
    "__version__",
]

# DAG authors import our operators from the package root; resolved on first use so that plain
# plugin loading (every task process) stays cheap.
_LAZY = {
    "AstroDeploymentHook": "astronomer_plugins.hooks.deployment",
    "AstroKubernetesPodOperator": "astronomer_plugins.operators.kubernetes_pod",
    "DeploymentDagRunSensor": "astronomer_plugins.sensors.deployment_dag_run",
    "TriggerDeploymentDagRunOperator": "astronomer_plugins.operators.deployment_dag_run",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'astronomer_plugins' has no attribute {name!r}")
