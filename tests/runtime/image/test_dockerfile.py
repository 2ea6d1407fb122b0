"""The Runtime image, built from the Dockerfile on the debootstrap base and checked from inside."""

from __future__ import annotations

import json
import socket

import pytest

from astronomer_runtime.catalog import Release, load_catalog, views
from astronomer_runtime.image.engine import Buildah
from astronomer_runtime.paths import CATALOG_FILE, REPO_ROOT
from tests.runtime.image.conftest import PYTHON, image_config
from tests.runtime.image.drivers import ImageDriver

pytestmark = pytest.mark.image


def _ok(result) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_airflow_version_is_the_catalogs(container: ImageDriver, release: Release) -> None:
    assert _ok(container.run(["airflow", "version"])).strip() == release.airflow


def test_python_version(container: ImageDriver) -> None:
    assert _ok(container.run(["python", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"])).strip() == PYTHON


def test_pip_check_is_clean(container: ImageDriver) -> None:
    assert "No broken requirements found." in _ok(container.run(["pip", "check"]))


def test_providers_are_the_curated_set(container: ImageDriver, release: Release) -> None:
    listed = json.loads(_ok(container.run(["airflow", "providers", "list", "-o", "json"])))
    airflow_providers = {p["package_name"]: p["version"] for p in listed if p["package_name"].startswith("apache-airflow-providers-")}
    assert airflow_providers == dict(release.providers)


def test_our_plugin_is_listed(container: ImageDriver) -> None:
    plugins = json.loads(_ok(container.run(["airflow", "plugins", "-o", "json"])))
    assert "astronomer" in {plugin["name"] for plugin in plugins}


@pytest.mark.parametrize(
    ("section", "key", "expected"),
    [
        ("core", "load_examples", "False"),
        ("core", "lazy_load_plugins", "False"),
        ("astronomer", "runtime_version", "3.3-2"),
        ("core", "auth_manager", "astronomer_plugins.auth.manager.AstronomerAuthManager"),
        ("metrics", "statsd_custom_client_path", "astronomer_plugins.metrics.statsd_client.TaggedStatsClient"),
        ("metrics", "statsd_on", "False"),
    ],
)
def test_image_airflow_settings(container: ImageDriver, section: str, key: str, expected: str) -> None:
    assert _ok(container.run(["airflow", "config", "get-value", section, key])).strip() == expected


def test_api_server_without_control_plane_fails_closed(container: ImageDriver) -> None:
    """Our auth manager needs the control plane: without its settings the api-server must stop with
    an error naming the setting, never serve an unauthenticated UI (the timeout is the deadline)."""
    env = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "sqlite:////tmp/api-server-fails-closed.db", "_AIRFLOW_DB_MIGRATE": "true"}
    with socket.socket() as probe:  # chroot isolation shares the host's network: take a free port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = container.run(["airflow", "api-server", "--host", "127.0.0.1", "--port", str(port)], env=env,
                           entrypoint=True, timeout=240)  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert "[astronomer] control_plane_url is not set (AIRFLOW__ASTRONOMER__CONTROL_PLANE_URL)" in output, output[-3000:]


def test_simple_auth_manager_override_for_local_use(container: ImageDriver) -> None:
    """The documented escape hatch for use without a control plane (README, airflow.cfg)."""
    simple = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
    result = container.run(["airflow", "config", "get-value", "core", "auth_manager"], env={"AIRFLOW__CORE__AUTH_MANAGER": simple})
    assert _ok(result).strip() == simple


def test_astronomer_section_is_documented(container: ImageDriver) -> None:
    listed = _ok(container.run(["airflow", "config", "list", "--section", "astronomer"]))
    for key in ("control_plane_url", "deployment_id", "agent_token", "runtime_version"):
        assert key in listed


def test_user_is_astro_uid_50000_gid_0(container: ImageDriver) -> None:
    assert _ok(container.run(["id", "-u"])).strip() == "50000"
    assert _ok(container.run(["id", "-g"])).strip() == "0"
    assert _ok(container.run(["id", "-un"])).strip() == "astro"
    assert container.config["User"] == "50000"


def test_arbitrary_uid_with_gid_0_can_write_home_and_venv(container: ImageDriver) -> None:
    script = "set -e; cd $AIRFLOW_HOME; umask 0002; touch dags/x.py logs/x; mkdir -p tmp/y; touch $VIRTUAL_ENV/lib/x; pwd"
    assert _ok(container.run(["bash", "-c", script], user="123456:0")).strip() == "/usr/local/airflow"


def test_labels_match_the_catalog(container: ImageDriver, release: Release) -> None:
    labels = container.config["Labels"]
    assert labels["org.opencontainers.image.version"] == release.name
    assert labels["io.astronomer.runtime.version"] == release.name
    assert labels["io.astronomer.airflow.version"] == release.airflow
    assert labels["io.astronomer.python.version"] == PYTHON
    assert labels["io.astronomer.docker.runtime.version"] == release.name  # what Astro's CLI reads
    assert labels["io.astronomer.docker.airflow.version"] == release.airflow
    assert labels["org.opencontainers.image.title"] == "Astronomer Runtime"
    assert labels["org.opencontainers.image.created"].endswith("Z")
    assert len(labels["org.opencontainers.image.revision"].split("-")[0]) == 40


def test_environment(container: ImageDriver, release: Release) -> None:
    env = dict(item.split("=", 1) for item in container.config["Env"])
    assert env["ASTRONOMER_RUNTIME_VERSION"] == release.name
    assert env["AIRFLOW_HOME"] == "/usr/local/airflow"
    assert env["PIP_CONSTRAINT"] == env["UV_CONSTRAINT"] == "/etc/astronomer/constraints.txt"
    assert container.config["WorkingDir"] == "/usr/local/airflow"


def test_feed_in_the_image_is_the_catalogs(container: ImageDriver) -> None:
    shipped = json.loads(_ok(container.run(["cat", "/etc/astronomer/runtime-feed.json"])))
    assert shipped == json.loads(views.feed(load_catalog(CATALOG_FILE)).to_json())


def test_release_manifest_names_the_release_and_its_providers(container: ImageDriver, release: Release) -> None:
    """/etc/astronomer/runtime-release.json ([astronomer] release_manifest_file) for the Runtime page."""
    manifest = json.loads(_ok(container.run(["cat", "/etc/astronomer/runtime-release.json"])))
    assert manifest["name"] == release.name == "3.3-2"
    assert manifest["airflowVersion"] == release.airflow == "3.3.2"
    assert manifest["providers"] == dict(release.providers)
    assert manifest["providers"]["apache-airflow-providers-fab"] == "3.9.0"
    assert manifest["providers"]["apache-airflow-providers-cncf-kubernetes"] == "10.22.0"


def test_catalog_files_are_readable_by_any_uid(container: ImageDriver) -> None:
    script = "cat /etc/astronomer/runtime-feed.json /etc/astronomer/runtime-release.json >/dev/null && echo ok"
    assert _ok(container.run(["bash", "-c", script], user="123456:0")).strip() == "ok"


def test_no_apt_lists_or_caches_in_the_image(container: ImageDriver) -> None:
    """apt's lists and package caches (~80 MB) are rebuilt by any `apt-get update`; none ship."""
    script = "ls /var/lib/apt/lists/ /var/cache/apt/ /var/cache/apt/archives/ | grep -Ev '^(/.*:|lock|partial|archives|)$' || true"
    assert _ok(container.run(["bash", "-c", script])).strip() == ""


def test_constraint_pins_airflow_and_its_core(container: ImageDriver, release: Release) -> None:
    pins = dict(line.split("==") for line in _ok(container.run(["cat", "/etc/astronomer/constraints.txt"])).split()
                if "==" in line)  # fmt: skip
    assert pins["apache-airflow"] == release.airflow
    assert pins["apache-airflow-core"] == release.airflow
    assert {"apache-airflow-task-sdk", "sqlalchemy", "pydantic", "fastapi"} <= set(pins)
    assert not [name for name in pins if name.startswith("apache-airflow-providers-")]


def test_pip_refuses_to_move_airflow(container: ImageDriver, release: Release) -> None:
    """pip.conf and PIP_CONSTRAINT hold even for a plain `pip install` (no network needed to refuse)."""
    result = container.run(["pip", "install", "--dry-run", "--no-index", "apache-airflow==3.0.0"])
    assert result.returncode != 0
    assert "apache-airflow==3.0.0" in result.stdout + result.stderr


def test_default_target_has_onbuild_and_base_has_none(engine: Buildah, runtime_image: str, base_target_image: str) -> None:
    runtime = engine.inspect(runtime_image)
    base = engine.inspect(base_target_image)
    assert not image_config(engine, base_target_image).get("OnBuild")
    onbuild = image_config(engine, runtime_image)["OnBuild"]
    assert onbuild[-1] == "COPY --chown=50000:0 . /usr/local/airflow/"
    assert any("install-python-dependencies" in step for step in onbuild)
    # ONBUILD is metadata only: the default target adds no layer to the base's.
    assert len(runtime["Docker"]["rootfs"]["diff_ids"]) == len(base["Docker"]["rootfs"]["diff_ids"])
    assert [step.get("empty_layer", False) for step in runtime["Docker"]["history"][-7:]] == [True] * 7


def test_migrate_then_dags_test_example_dag(container: ImageDriver) -> None:
    """A real `airflow db migrate` and `airflow dags test` of our example DAG inside the container."""
    env = {"AIRFLOW__CORE__DAGS_FOLDER": "/tmp/dags", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "sqlite:////tmp/airflow.db",
           "_AIRFLOW_DB_MIGRATE": "true"}  # fmt: skip
    container.copy_in(REPO_ROOT / "dags" / "example_runtime_hello.py", "/tmp/dags")
    result = container.run(["airflow", "dags", "test", "example_runtime_hello"], env=env, entrypoint=True, timeout=600)
    output = _ok(result) + result.stderr
    assert "Hello from Astronomer Runtime 3.3-2" in output
    assert "state=success" in output.replace(" ", "").replace("'", "") or "success" in output.lower()


def test_example_dags_ship_and_parse_in_the_image(container: ImageDriver) -> None:
    probe = (
        "from airflow.dag_processing.dagbag import DagBag; "
        "bag = DagBag(dag_folder='/usr/local/astronomer/example_dags'); "
        "print(sorted(bag.dag_ids), len(bag.import_errors))"
    )
    result = container.run(["python", "-c", probe], env={"AIRFLOW__CORE__LOAD_EXAMPLES": "False"}, timeout=300)
    assert _ok(result).strip().splitlines()[-1] == (
        "['example_cross_deployment', 'example_kubernetes_pod', 'example_runtime_hello'] 0"
    )
