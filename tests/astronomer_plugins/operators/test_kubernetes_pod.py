"""AstroKubernetesPodOperator: no cluster exists here, so the pod is built with the provider's own
pod-building code (dry run) and checked as a literal spec, then round-tripped through the kubernetes
client's models."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from kubernetes.client import ApiClient
from kubernetes.client import models as k8s

from astronomer_plugins.operators.kubernetes_pod import AstroKubernetesPodOperator, PodLimitExceeded


@pytest.fixture(autouse=True)
def deployment_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "ORGANIZATION_ID": "org_1", "WORKSPACE_ID": "ws_1", "DEPLOYMENT_ID": "dep_1", "KPO_NAMESPACE": "dep-1-pods",
        "KPO_SERVICE_ACCOUNT": "dep-1-runner", "KPO_MAX_CPU": "2", "KPO_MAX_MEMORY": "4Gi",
    }.items():  # fmt: skip
        monkeypatch.setenv(f"AIRFLOW__ASTRONOMER__{key}", value)


def _context() -> dict:
    """What the provider reads from a task's context to label the pod (no scheduler here)."""
    ti = SimpleNamespace(dag_id="etl", task_id="crunch", map_index=-1, try_number=2)
    return {"ti": ti, "run_id": "manual__2026-11-28", "dag": SimpleNamespace(parent_dag=None)}


def _spec(operator: AstroKubernetesPodOperator) -> dict:
    pod = operator.build_pod_request_obj(_context(), dry_run=True)
    as_dict = ApiClient().sanitize_for_serialization(pod)
    rebuilt = ApiClient()._ApiClient__deserialize(as_dict, "V1Pod")  # the client's own model validation
    assert isinstance(rebuilt, k8s.V1Pod)
    return as_dict


def test_defaults_come_from_the_deployment() -> None:
    spec = _spec(AstroKubernetesPodOperator(task_id="crunch", name="crunch", image="python:3.12-slim", cmds=["true"]))
    assert spec["metadata"]["namespace"] == "dep-1-pods"
    assert spec["spec"]["serviceAccountName"] == "dep-1-runner"
    labels = spec["metadata"]["labels"]
    assert {k: labels[k] for k in ("astronomer.io/organization-id", "astronomer.io/workspace-id", "astronomer.io/deployment-id")} == {
        "astronomer.io/organization-id": "org_1", "astronomer.io/workspace-id": "ws_1", "astronomer.io/deployment-id": "dep_1",
    }  # fmt: skip
    assert (labels["dag_id"], labels["task_id"], labels["try_number"]) == ("etl", "crunch", "2")
    assert spec["spec"]["containers"][0]["resources"] == {
        "requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "1Gi"},
    }  # fmt: skip


def test_authors_override_within_limits() -> None:
    operator = AstroKubernetesPodOperator(
        task_id="crunch", name="crunch", image="python:3.12-slim", namespace="custom", labels={"team": "a"},
        container_resources=k8s.V1ResourceRequirements(requests={"cpu": "2", "memory": "4Gi"}, limits={"cpu": "2"}),
    )  # fmt: skip
    spec = _spec(operator)
    assert spec["metadata"]["namespace"] == "custom"
    assert spec["metadata"]["labels"]["team"] == "a"
    assert spec["metadata"]["labels"]["astronomer.io/deployment-id"] == "dep_1"
    assert spec["spec"]["containers"][0]["resources"] == {"requests": {"cpu": "2", "memory": "4Gi"}, "limits": {"cpu": "2"}}


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        (k8s.V1ResourceRequirements(requests={"cpu": "2500m"}), "cpu requests 2500m is above this deployment's limit 2"),
        (k8s.V1ResourceRequirements(limits={"memory": "5Gi"}), "memory limits 5Gi is above this deployment's limit 4Gi"),
        (k8s.V1ResourceRequirements(requests={"memory": "4097Mi"}), "memory requests 4097Mi is above"),
    ],
)
def test_requests_above_the_deployment_limits_are_refused_at_parse_time(resources, message: str) -> None:
    with pytest.raises(PodLimitExceeded) as raised:
        AstroKubernetesPodOperator(task_id="greedy", name="g", image="python:3.12-slim", container_resources=resources)
    assert message in str(raised.value) and "task 'greedy'" in str(raised.value)
    assert "AIRFLOW__ASTRONOMER__KPO_MAX" in str(raised.value)
