"""runtime/kubernetes/: the deployment's manifests and the Helm values, parsed into the `kubernetes`
client's models (the classes the API server's schema generates) and checked against each other, the
image's pod template and airflow.cfg, our config declarations and the catalog.

No Kubernetes cluster and no Helm exist here, and the network reaches no chart repository: nothing
is applied or rendered. The Helm values are checked for the keys and shapes the official chart's
values.yaml declares in the version named in CHART_VERSION.
"""

from __future__ import annotations

import configparser
from pathlib import Path
from typing import Any

import pytest
import yaml
from airflow.configuration import conf
from kubernetes.client import ApiClient

from astronomer_plugins import config
from astronomer_runtime.catalog import load_catalog
from astronomer_runtime.paths import CATALOG_FILE, REPO_ROOT

MANIFESTS = REPO_ROOT / "runtime" / "kubernetes"
VALUES = MANIFESTS / "helm-values.yaml"
ROOTFS = REPO_ROOT / "runtime" / "image" / "rootfs"
POD_TEMPLATE = ROOTFS / "etc" / "astronomer" / "pod_template.yaml"
IMAGE_CFG = ROOTFS / "etc" / "astronomer" / "airflow.cfg"
CHART_VERSION = "1.19.0"
KINDS = {"ConfigMap": "V1ConfigMap", "Secret": "V1Secret"}
PLACEHOLDER_TOKEN = "REPLACE-WITH-THE-DEPLOYMENT-AGENT-TOKEN"

# Top-level keys of the official chart's values.yaml (chart 1.19.0) that helm-values.yaml may set.
CHART_TOP_LEVEL_KEYS = {
    "defaultAirflowRepository",
    "defaultAirflowTag",
    "airflowVersion",
    "images",
    "uid",
    "gid",
    "airflowHome",
    "securityContexts",
    "executor",
    "env",
    "extraEnvFrom",
    "volumes",
    "volumeMounts",
    "workers",
    "statsd",
    "createUserJob",
    "migrateDatabaseJob",
    "dags",
    "config",
    "apiServer",
    "scheduler",
    "triggerer",
    "dagProcessor",
    "data",
    "fernetKeySecretName",
    "apiSecretKeySecretName",
    "jwtSecretName",
    "postgresql",
    "redis",
    "podTemplate",
    "extraSecrets",
    "extraConfigMaps",
    "extraEnv",
    "ingress",
    "labels",
}

# (path, type) the chart reads for what we set: the shapes its templates expect.
CHART_KEYS = [
    ("defaultAirflowRepository", str),
    ("defaultAirflowTag", str),
    ("airflowVersion", str),
    ("images.airflow.repository", str),
    ("images.airflow.tag", str),
    ("images.airflow.pullPolicy", str),
    ("uid", int),
    ("gid", int),
    ("airflowHome", str),
    ("securityContexts.pod", dict),
    ("securityContexts.containers", dict),
    ("executor", str),
    ("env", list),
    ("extraEnvFrom", str),  # a templated string in the chart, not a list
    ("volumes", list),
    ("volumeMounts", list),
    ("workers.resources", dict),
    ("workers.terminationGracePeriodSeconds", int),
    ("statsd.enabled", bool),
    ("createUserJob.enabled", bool),
    ("migrateDatabaseJob.enabled", bool),
    ("dags.persistence.enabled", bool),
    ("dags.gitSync.enabled", bool),
    ("config", dict),
]


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def _model(data: Any, model: str) -> Any:
    """`data` as the kubernetes client's model; unknown fields are dropped by the client, so the round
    trip back to JSON must give `data` again (a misspelt or misplaced field fails here)."""
    client = ApiClient()
    parsed = client._ApiClient__deserialize(data, model)  # the deserializer Airflow's pod generator uses
    assert client.sanitize_for_serialization(parsed) == data, f"{model}: fields the API does not know"
    return parsed


def _at(values: dict, path: str) -> Any:
    node: Any = values
    for part in path.split("."):
        assert isinstance(node, dict) and part in node, f"{VALUES.name}: {path} is missing"
        node = node[part]
    return node


@pytest.fixture(scope="module")
def values() -> dict:
    return _load(VALUES)


@pytest.fixture(scope="module")
def configmap() -> Any:
    return _model(_load(MANIFESTS / "deployment-configmap.yaml"), "V1ConfigMap")


@pytest.fixture(scope="module")
def secret() -> Any:
    return _model(_load(MANIFESTS / "agent-token-secret.yaml"), "V1Secret")


@pytest.fixture(scope="module")
def template() -> dict:
    return _load(POD_TEMPLATE)


@pytest.mark.parametrize("path", sorted(p.name for p in MANIFESTS.glob("*.yaml") if p.name != VALUES.name))
def test_every_manifest_parses_into_its_model(path: str) -> None:
    data = _load(MANIFESTS / path)
    assert data["kind"] in KINDS, f"{path}: a kind this test does not know; add it to KINDS"
    parsed = _model(data, KINDS[data["kind"]])
    assert parsed.metadata.labels == {"app.kubernetes.io/part-of": "astronomer-runtime"}


def test_the_configmap_holds_declared_non_secret_astronomer_options(configmap: Any) -> None:
    options = {option.env_var: option for option in config.OPTIONS}
    for name, value in configmap.data.items():
        if not name.startswith("AIRFLOW__ASTRONOMER__"):
            continue
        assert name in options, f"{name} is not an [astronomer] option (astronomer_plugins/config.py)"
        option = options[name]
        assert not option.sensitive, f"{name} is secret: it belongs in a Secret, not a ConfigMap"
        if option.type == "integer":
            config.parse_int(option, value)  # raises naming the option when out of range
    assert config.AGENT_TOKEN.env_var not in configmap.data
    assert configmap.data["AIRFLOW__ASTRONOMER__CONTROL_PLANE_URL"].startswith("https://")


def test_the_configmap_airflow_settings_exist_in_airflow(configmap: Any) -> None:
    for name in configmap.data:
        if name.startswith("AIRFLOW__ASTRONOMER__"):
            continue
        _, section, key = (part.lower() for part in name.split("__", 2))
        declared = conf.configuration_description.get(section, {}).get("options", {})  # core + providers
        assert key in declared, f"{name}: Airflow declares no [{section}] {key}"


def test_the_secret_holds_only_the_agent_token_placeholder(secret: Any, template: dict) -> None:
    assert secret.string_data == {"agent-token": PLACEHOLDER_TOKEN} and secret.data is None
    (volume,) = [v for v in template["spec"]["volumes"] if "secret" in v]
    assert volume["secret"]["secretName"] == secret.metadata.name
    assert [item["key"] for item in volume["secret"]["items"]] == list(secret.string_data)


def test_the_pod_template_reads_this_configmap(configmap: Any, template: dict) -> None:
    (container,) = template["spec"]["containers"]
    assert container["envFrom"] == [{"configMapRef": {"name": configmap.metadata.name}}]


def test_the_configmap_names_the_same_worker_image_as_the_values(configmap: Any, values: dict) -> None:
    image = _at(values, "images.airflow")
    assert configmap.data["AIRFLOW__KUBERNETES_EXECUTOR__WORKER_CONTAINER_REPOSITORY"] == image["repository"]
    assert configmap.data["AIRFLOW__KUBERNETES_EXECUTOR__WORKER_CONTAINER_TAG"] == image["tag"]
    assert configmap.data["AIRFLOW__ASTRONOMER__IMAGE"] == f"{image['repository']}:{image['tag']}"


def test_the_values_name_the_chart_version_they_target() -> None:
    header = VALUES.read_text().split("\n\n", 1)[0]
    assert f"chart {CHART_VERSION}" in header and f"--version {CHART_VERSION}" in header


def test_the_values_use_only_keys_the_chart_declares(values: dict) -> None:
    assert set(values) <= CHART_TOP_LEVEL_KEYS, set(values) - CHART_TOP_LEVEL_KEYS


@pytest.mark.parametrize(("path", "kind"), CHART_KEYS)
def test_the_values_have_the_shapes_the_chart_expects(values: dict, path: str, kind: type) -> None:
    assert isinstance(_at(values, path), kind), f"{path}: the chart expects a {kind.__name__}"


def test_the_values_parse_into_kubernetes_models(values: dict) -> None:
    for item in values["env"]:
        _model(item, "V1EnvVar")
    for item in values["volumes"]:
        _model(item, "V1Volume")
    for item in values["volumeMounts"]:
        _model(item, "V1VolumeMount")
    for item in yaml.safe_load(values["extraEnvFrom"]):
        _model(item, "V1EnvFromSource")
    _model(values["securityContexts"]["pod"], "V1PodSecurityContext")
    _model(values["securityContexts"]["containers"], "V1SecurityContext")
    _model(values["workers"]["resources"], "V1ResourceRequirements")


def test_the_values_give_task_pods_what_the_image_template_gives(values: dict, template: dict) -> None:
    """With the chart its own pod template is used; it must carry the same identity, token mount,
    settings and resources as the image's."""
    (container,) = template["spec"]["containers"]
    assert values["volumes"] == [v for v in template["spec"]["volumes"] if "secret" in v]
    assert values["volumeMounts"] == [
        m for m in container["volumeMounts"] if m["name"] == "astronomer-agent-token"
    ]
    pod_context = {k: v for k, v in template["spec"]["securityContext"].items() if k != "seccompProfile"}
    assert values["securityContexts"]["pod"] == pod_context
    assert values["securityContexts"]["containers"] == container["securityContext"]
    assert values["workers"]["resources"] == container["resources"]
    assert (
        values["workers"]["terminationGracePeriodSeconds"]
        == template["spec"]["terminationGracePeriodSeconds"]
    )
    assert {
        "name": "AIRFLOW__ASTRONOMER__AGENT_TOKEN_FILE",
        "value": "/var/run/secrets/astronomer/agent-token",
    } in (values["env"])
    assert yaml.safe_load(values["extraEnvFrom"]) == container["envFrom"]
    assert (values["uid"], values["gid"]) == (50000, 0)


def test_the_values_keep_the_image_airflow_defaults(values: dict) -> None:
    """The chart's airflow.cfg replaces the image's (AIRFLOW_CONFIG in env): every image default is
    repeated, except what the chart writes itself: the pod template (generated from `workers`) and
    statsd_on (from statsd.enabled, on here: its statsd-exporter takes our tagged metrics)."""
    image = configparser.ConfigParser(interpolation=None)
    image.read(IMAGE_CFG)
    chart_owned = {("kubernetes_executor", "pod_template_file"), ("metrics", "statsd_on")}
    assert values["statsd"]["enabled"] is True
    for section in image.sections():
        for key, value in image.items(section):
            if (section, key) in chart_owned:
                continue
            given = values["config"].get(section, {}).get(key)
            assert given is not None, f"config.{section}.{key} is missing (image airflow.cfg has {value!r})"
            if key == "dag_bundle_config_list":
                assert yaml.safe_load(given) == yaml.safe_load(value)
            else:
                assert str(given) == value, f"config.{section}.{key}"
    env = {item["name"]: item["value"] for item in values["env"]}
    assert env["AIRFLOW_CONFIG"] == f"{values['airflowHome']}/airflow.cfg"


def test_the_values_run_a_release_of_the_catalog(values: dict) -> None:
    tag = values["images"]["airflow"]["tag"]
    name, python = tag.split("-python-")
    release = load_catalog(CATALOG_FILE).get(name)
    assert python in release.python.supported
    assert values["airflowVersion"] == release.airflow
    assert (
        values["defaultAirflowTag"] == tag
        and values["defaultAirflowRepository"] == values["images"]["airflow"]["repository"]
    )
