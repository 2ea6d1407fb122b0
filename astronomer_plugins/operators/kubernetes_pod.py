"""AstroKubernetesPodOperator: KubernetesPodOperator with this deployment's defaults and limits.

Fills the namespace, service account, identity labels and resource requests/limits from
[astronomer] kpo_* settings; DAG authors may override them, but requests or limits above the
deployment's maxima are refused when the DAG is parsed, with the task, the value and the limit named.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import models as k8s
from kubernetes.utils.quantity import parse_quantity

from astronomer_plugins import config
from astronomer_plugins.errors import AstronomerConfigError

LABEL_PREFIX = "astronomer.io"


class PodLimitExceeded(AstronomerConfigError):
    """A pod asks for more than this deployment allows (raised at DAG parse time)."""


def deployment_labels() -> dict[str, str]:
    ids = {
        "organization-id": config.get(config.ORGANIZATION_ID),
        "workspace-id": config.get(config.WORKSPACE_ID),
        "deployment-id": config.get(config.DEPLOYMENT_ID),
    }
    return {f"{LABEL_PREFIX}/{key}": value for key, value in ids.items() if value}


def default_resources() -> k8s.V1ResourceRequirements:
    return k8s.V1ResourceRequirements(
        requests={"cpu": config.get(config.KPO_CPU_REQUEST), "memory": config.get(config.KPO_MEMORY_REQUEST)},
        limits={"cpu": config.get(config.KPO_CPU_LIMIT), "memory": config.get(config.KPO_MEMORY_LIMIT)},
    )


def check_within_limits(task_id: str, resources: k8s.V1ResourceRequirements) -> None:
    """Every request and limit must be at most [astronomer] kpo_max_cpu / kpo_max_memory."""
    maxima = {"cpu": config.KPO_MAX_CPU, "memory": config.KPO_MAX_MEMORY}
    for kind, values in (("requests", resources.requests or {}), ("limits", resources.limits or {})):
        for resource, option in maxima.items():
            if resource not in values:
                continue
            asked, allowed = parse_quantity(values[resource]), parse_quantity(config.get(option))
            if Decimal(asked) > Decimal(allowed):
                raise PodLimitExceeded(
                    f"task {task_id!r}: {resource} {kind} {values[resource]} is above this deployment's "
                    f"limit {config.get(option)} ([astronomer] {option.key}, {option.env_var}); ask for less"
                )


class AstroKubernetesPodOperator(KubernetesPodOperator):
    def __init__(
        self,
        *,
        namespace: str | None = None,
        service_account_name: str | None = None,
        container_resources: k8s.V1ResourceRequirements | None = None,
        labels: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        resources = container_resources or default_resources()
        check_within_limits(kwargs.get("task_id", "?"), resources)
        super().__init__(
            namespace=namespace or config.get(config.KPO_NAMESPACE),
            service_account_name=service_account_name or config.get(config.KPO_SERVICE_ACCOUNT) or None,
            container_resources=resources,
            labels={**deployment_labels(), **(labels or {})},
            **kwargs,
        )
