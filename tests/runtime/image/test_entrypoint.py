"""The image's entrypoint (tini + astro-entrypoint), run as the container would start it."""

from __future__ import annotations

import time

import pytest

from tests.runtime.image.drivers import ImageDriver

pytestmark = pytest.mark.image

UNREACHABLE_DB = "postgresql://airflow:s3cr3t-pw-1f2e@127.0.0.1:1/airflow"


def test_entrypoint_is_tini(container: ImageDriver) -> None:
    assert container.config["Entrypoint"] == ["/usr/bin/tini", "--", "/usr/local/bin/astro-entrypoint"]


def test_bash_passes_through(container: ImageDriver) -> None:
    result = container.run(["bash", "-c", "true"], entrypoint=True)
    assert result.returncode == 0, result.stderr


def test_exit_status_is_the_commands(container: ImageDriver) -> None:
    assert container.run(["bash", "-c", "exit 7"], entrypoint=True).returncode == 7
    assert container.run(["python", "-c", "raise SystemExit(3)"], entrypoint=True).returncode == 3


def test_umask_is_group_writable(container: ImageDriver) -> None:
    result = container.run(["bash", "-c", "umask"], entrypoint=True)
    assert result.stdout.strip() == "0002"


def test_database_wait_times_out_clearly_without_secrets(container: ImageDriver) -> None:
    env = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": UNREACHABLE_DB, "ASTRONOMER_DB_WAIT_TIMEOUT": "3"}
    started = time.monotonic()
    result = container.run(["airflow", "scheduler"], env=env, entrypoint=True, timeout=120)
    elapsed = time.monotonic() - started
    output = result.stdout + result.stderr
    assert result.returncode == 1
    assert "postgresql://127.0.0.1:1/airflow did not accept connections within 3 s" in output
    assert "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN" in output and "ASTRONOMER_DB_WAIT_TIMEOUT" in output
    assert "s3cr3t-pw-1f2e" not in output and "airflow:" not in output
    assert elapsed < 60  # bounded: 3 s of waiting plus one Python start, never the default 60 s


def test_commands_without_database_do_not_wait(container: ImageDriver) -> None:
    env = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": UNREACHABLE_DB, "ASTRONOMER_DB_WAIT_TIMEOUT": "30"}
    result = container.run(["airflow", "version"], env=env, entrypoint=True)
    assert result.returncode == 0 and "waiting" not in result.stderr


def test_migrate_runs_only_when_asked(container: ImageDriver) -> None:
    env = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "sqlite:////tmp/entrypoint-migrate.db"}
    skipped = container.run(["bash", "-c", "test ! -e /tmp/entrypoint-migrate.db"], env=env, entrypoint=True)
    assert skipped.returncode == 0
    migrated = container.run(["bash", "-c", "test -s /tmp/entrypoint-migrate.db"], env={**env, "_AIRFLOW_DB_MIGRATE": "true"},
                             entrypoint=True, timeout=300)  # fmt: skip
    assert migrated.returncode == 0, migrated.stderr
    assert "running airflow db migrate" in migrated.stderr


@pytest.mark.parametrize(
    ("env", "section", "key", "expected"),
    [
        ({}, "openlineage", "disabled", "True"),
        ({}, "metrics", "statsd_on", "False"),
        ({"AIRFLOW__ASTRONOMER__STATSD_HOST": "statsd.monitoring"}, "metrics", "statsd_host", "statsd.monitoring"),
        ({"AIRFLOW__ASTRONOMER__STATSD_HOST": "statsd.monitoring"}, "metrics", "statsd_on", "True"),
        ({"AIRFLOW__ASTRONOMER__OPENLINEAGE_URL": "https://lineage.example.com"}, "openlineage", "disabled", "False"),
        ({"AIRFLOW__ASTRONOMER__OPENLINEAGE_URL": "https://lineage.example.com", "AIRFLOW__ASTRONOMER__DEPLOYMENT_ID": "dep_9"},
         "openlineage", "namespace", "dep_9"),
    ],
)
def test_astronomer_settings_become_airflows(
    container: ImageDriver, env: dict[str, str], section: str, key: str, expected: str
) -> None:
    result = container.run(["airflow", "config", "get-value", section, key], env=env, entrypoint=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == expected


def test_a_bad_derived_setting_stops_the_container_naming_it(container: ImageDriver) -> None:
    env = {"AIRFLOW__ASTRONOMER__STATSD_HOST": "statsd", "AIRFLOW__ASTRONOMER__STATSD_PORT": "not-a-port"}
    result = container.run(["airflow", "version"], env=env, entrypoint=True)
    assert result.returncode == 1
    assert "[astronomer] statsd_port = 'not-a-port': expected a UDP port (AIRFLOW__ASTRONOMER__STATSD_PORT)" in result.stderr


def test_the_pod_template_ships_where_airflow_looks(container: ImageDriver) -> None:
    """KubernetesExecutor in the image finds /etc/astronomer/pod_template.yaml through the image's
    airflow.cfg and loads it with Airflow's pod generator (tests/runtime/image/test_pod_template.py
    checks the template itself on the host)."""
    probe = (
        "from airflow.configuration import conf\n"
        "from airflow.providers.cncf.kubernetes.pod_generator import PodGenerator\n"
        "path = conf.get('kubernetes_executor', 'pod_template_file')\n"
        "print(path, PodGenerator.deserialize_model_file(path).spec.security_context.run_as_user)\n"
    )
    result = container.run(["python", "-c", probe], entrypoint=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "/etc/astronomer/pod_template.yaml 50000"
