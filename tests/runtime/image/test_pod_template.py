"""The image's KubernetesExecutor pod template, loaded and merged by Airflow's own pod generator.

No Kubernetes cluster exists here: the template goes through exactly what the scheduler does with it
(PodGenerator.deserialize_model_file, then construct_pod with the executor's per-task pod and a task's
pod_override) and the result is checked; creating the pod in a cluster is not tested.
"""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest
from airflow.providers.cncf.kubernetes.pod_generator import PodGenerator
from kubernetes.client import ApiClient
from kubernetes.client import models as k8s

from astronomer_plugins import config
from astronomer_runtime.paths import REPO_ROOT

ROOTFS = REPO_ROOT / "runtime" / "image" / "rootfs"
IMAGE_CFG = ROOTFS / "etc" / "astronomer" / "airflow.cfg"
IMAGE_PATH = "/etc/astronomer/pod_template.yaml"
TEMPLATE = ROOTFS / IMAGE_PATH.lstrip("/")
TOKEN_FILE = "/var/run/secrets/astronomer/agent-token"
WORKER_IMAGE = "registry.example.com/astronomer/runtime:3.3-2-python-3.11"


@pytest.fixture(scope="module")
def template() -> k8s.V1Pod:
    assert TEMPLATE.is_file()  # Airflow's loader only logs a warning for a missing file
    return PodGenerator.deserialize_model_file(str(TEMPLATE))


@pytest.fixture(scope="module")
def task_pod(template: k8s.V1Pod) -> k8s.V1Pod:
    """The pod the scheduler would create for one task instance from this template."""
    return PodGenerator.construct_pod(
        dag_id="etl",
        task_id="extract",
        pod_id="etl-extract-1",
        try_number=1,
        kube_image=WORKER_IMAGE,
        date=None,
        args=["python", "-m", "airflow.sdk.execution_time.execute_workload", "--json-string", "{}"],
        pod_override_object=None,
        base_worker_pod=template,
        namespace="airflow",
        scheduler_job_id="42",
    )


def _base(pod: k8s.V1Pod) -> k8s.V1Container:
    (container,) = [c for c in pod.spec.containers if c.name == "base"]
    return container


def test_the_image_config_points_kubernetes_executor_at_the_template() -> None:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(IMAGE_CFG)
    assert parser.get("kubernetes_executor", "pod_template_file") == IMAGE_PATH


def test_the_template_is_a_pod_with_the_base_container(template: k8s.V1Pod) -> None:
    assert (template.kind, template.api_version) == ("Pod", "v1")
    assert [c.name for c in template.spec.containers] == ["base"]
    assert template.spec.restart_policy == "Never"


@pytest.mark.parametrize("pod_fixture", ["template", "task_pod"])
def test_it_runs_as_uid_50000_gid_0(pod_fixture: str, request: pytest.FixtureRequest) -> None:
    pod = request.getfixturevalue(pod_fixture)
    context = pod.spec.security_context
    assert (context.run_as_user, context.run_as_group, context.fs_group, context.run_as_non_root) == (
        50000,
        0,
        0,
        True,
    )
    assert context.seccomp_profile.type == "RuntimeDefault"
    container = _base(pod).security_context
    assert container.allow_privilege_escalation is False
    assert container.capabilities.drop == ["ALL"]


def test_the_agent_token_is_a_file_from_the_secret_never_an_env_value(task_pod: k8s.V1Pod) -> None:
    container = _base(task_pod)
    (mount,) = [m for m in container.volume_mounts if m.name == "astronomer-agent-token"]
    (volume,) = [v for v in task_pod.spec.volumes if v.name == "astronomer-agent-token"]
    assert (mount.mount_path, mount.read_only) == ("/var/run/secrets/astronomer", True)
    assert volume.secret.secret_name == "astronomer-agent-token"
    assert [(item.key, item.path) for item in volume.secret.items] == [("agent-token", "agent-token")]
    assert volume.secret.default_mode == 0o440  # readable through gid 0, the image user's group
    env = {var.name: var for var in container.env}
    assert (
        env["AIRFLOW__ASTRONOMER__AGENT_TOKEN_FILE"].value == TOKEN_FILE == f"{mount.mount_path}/agent-token"
    )
    assert config.AGENT_TOKEN.env_var not in env  # no token literal and no secretKeyRef as env either
    assert all(var.value_from is None for var in container.env)


def test_the_deployment_settings_come_from_the_configmap(task_pod: k8s.V1Pod) -> None:
    sources = _base(task_pod).env_from
    assert [(s.config_map_ref.name, s.secret_ref) for s in sources] == [("astronomer-deployment", None)]


def test_the_plugin_reads_the_token_from_the_mounted_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file as the Secret volume lays it out (a trailing newline, as `kubectl create secret
    --from-file` keeps it) is what astronomer_plugins.config hands to the control-plane client."""
    token_file = tmp_path / "agent-token"
    token_file.write_text("agt_3f9c1e\n")
    monkeypatch.setenv(config.AGENT_TOKEN_FILE.env_var, str(token_file))
    assert config.agent_token() == "agt_3f9c1e"


def test_resource_defaults_survive_the_merge(task_pod: k8s.V1Pod) -> None:
    resources = _base(task_pod).resources
    assert resources.requests == {"cpu": "500m", "memory": "1Gi"}
    assert resources.limits == {"cpu": "1", "memory": "2Gi"}


def test_the_scheduler_sets_image_args_and_keeps_the_template(task_pod: k8s.V1Pod) -> None:
    container = _base(task_pod)
    assert container.image == WORKER_IMAGE
    assert container.args[:3] == ["python", "-m", "airflow.sdk.execution_time.execute_workload"]
    names = [var.name for var in container.env]
    assert "AIRFLOW_IS_K8S_EXECUTOR_POD" in names and "AIRFLOW__ASTRONOMER__AGENT_TOKEN_FILE" in names
    assert task_pod.metadata.labels["component"] == "worker"
    assert task_pod.metadata.labels["dag_id"] == "etl"
    assert task_pod.spec.termination_grace_period_seconds == 600


def test_a_task_can_ask_for_more_than_the_defaults(template: k8s.V1Pod) -> None:
    """Airflow's merge replaces a requests/limits map whole: an override names cpu and memory together."""
    override = k8s.V1Pod(
        spec=k8s.V1PodSpec(
            containers=[
                k8s.V1Container(
                    name="base",
                    resources=k8s.V1ResourceRequirements(
                        requests={"memory": "4Gi"}, limits={"cpu": "2", "memory": "8Gi"}
                    ),
                )
            ]
        )
    )
    pod = PodGenerator.construct_pod(
        dag_id="etl",
        task_id="big",
        pod_id="etl-big-1",
        try_number=1,
        kube_image=WORKER_IMAGE,
        date=None,
        args=[],
        pod_override_object=override,
        base_worker_pod=template,
        namespace="airflow",
        scheduler_job_id="42",
    )
    resources = _base(pod).resources
    assert resources.requests == {"memory": "4Gi"}  # the template's cpu request went with its map
    assert resources.limits == {"cpu": "2", "memory": "8Gi"}
    assert pod.spec.security_context.run_as_user == 50000  # the override keeps the template's identity


def test_the_merged_pod_serializes_for_the_api(task_pod: k8s.V1Pod) -> None:
    """What the executor sends to the Kubernetes API: camelCase JSON with the security context intact."""
    body = ApiClient().sanitize_for_serialization(task_pod)
    assert body["spec"]["securityContext"]["runAsUser"] == 50000
    assert body["spec"]["volumes"][0]["secret"]["defaultMode"] == 0o440
