"""Airflow settings derived from [astronomer]: literal tables, the entrypoint's shell exports, and a
real lineage event from a real `airflow dags test` to a real HTTP receiver."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from astronomer_plugins.derived_settings import derived_environment
from astronomer_plugins.errors import AstronomerConfigError
from tests.support.servers import poll

STATSD = {
    "AIRFLOW__METRICS__STATSD_ON": "True",
    "AIRFLOW__METRICS__STATSD_HOST": "statsd.local",
    "AIRFLOW__METRICS__STATSD_PORT": "8125",
    "AIRFLOW__METRICS__STATSD_CUSTOM_CLIENT_PATH": "astronomer_plugins.metrics.statsd_client.TaggedStatsClient",
    "AIRFLOW__METRICS__STATSD_INFLUXDB_ENABLED": "True",
}


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, {"AIRFLOW__OPENLINEAGE__DISABLED": "True"}),
        ({"AIRFLOW__ASTRONOMER__STATSD_HOST": "statsd.local"}, {**STATSD, "AIRFLOW__OPENLINEAGE__DISABLED": "True"}),
        # what the deployment set itself always wins
        (
            {"AIRFLOW__ASTRONOMER__STATSD_HOST": "statsd.local", "AIRFLOW__METRICS__STATSD_PORT": "9125",
             "AIRFLOW__OPENLINEAGE__DISABLED": "False"},
            {key: value for key, value in STATSD.items() if key != "AIRFLOW__METRICS__STATSD_PORT"},
        ),
        (
            {"AIRFLOW__ASTRONOMER__OPENLINEAGE_URL": "https://lineage.example.com/",
             "AIRFLOW__ASTRONOMER__OPENLINEAGE_API_KEY": "k-1", "AIRFLOW__ASTRONOMER__DEPLOYMENT_ID": "dep_1"},
            {
                "AIRFLOW__OPENLINEAGE__DISABLED": "False",
                "AIRFLOW__OPENLINEAGE__TRANSPORT": '{"type": "http", "url": "https://lineage.example.com", '
                '"endpoint": "api/v1/lineage", "auth": {"type": "api_key", "apiKey": "k-1"}}',
                "AIRFLOW__OPENLINEAGE__NAMESPACE": "dep_1",
            },
        ),
        (
            {"AIRFLOW__ASTRONOMER__OPENLINEAGE_URL": "http://127.0.0.1:5000",
             "AIRFLOW__ASTRONOMER__OPENLINEAGE_ENDPOINT": "/events/", "AIRFLOW__ASTRONOMER__OPENLINEAGE_NAMESPACE": "team"},
            {
                "AIRFLOW__OPENLINEAGE__DISABLED": "False",
                "AIRFLOW__OPENLINEAGE__TRANSPORT": '{"type": "http", "url": "http://127.0.0.1:5000", "endpoint": "events"}',
                "AIRFLOW__OPENLINEAGE__NAMESPACE": "team",
            },
        ),
    ],
)
def test_derived_environment(environ: dict[str, str], expected: dict[str, str]) -> None:
    assert derived_environment(environ) == expected


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"AIRFLOW__ASTRONOMER__OPENLINEAGE_URL": "lineage.example.com"},
         "[astronomer] openlineage_url = 'lineage.example.com': expected an http(s) URL (AIRFLOW__ASTRONOMER__OPENLINEAGE_URL)"),
        ({"AIRFLOW__ASTRONOMER__OPENLINEAGE_URL": "user:s3cret@lineage.example.com"},
         "[astronomer] openlineage_url = <a value with credentials>: expected an http(s) URL (AIRFLOW__ASTRONOMER__OPENLINEAGE_URL)"),
        ({"AIRFLOW__ASTRONOMER__STATSD_HOST": "s", "AIRFLOW__ASTRONOMER__STATSD_PORT": "udp"},
         "[astronomer] statsd_port = 'udp': expected a UDP port (AIRFLOW__ASTRONOMER__STATSD_PORT)"),
    ],
)
def test_bad_settings_are_named(environ: dict[str, str], message: str) -> None:
    with pytest.raises(AstronomerConfigError) as error:
        derived_environment(environ)
    assert str(error.value) == message


def _entrypoint_eval(environ: dict[str, str], show: str) -> subprocess.CompletedProcess[str]:
    """What the image's entrypoint does: eval the printed exports in bash, then read one variable."""
    script = f'set -e; derived=$("{sys.executable}" -m astronomer_plugins.derived_settings); eval "$derived"; printf %s "${show}"'
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW__METRICS", "AIRFLOW__OPENLINEAGE"))}
    return subprocess.run(["bash", "-c", script], env={**clean, **environ}, capture_output=True, text=True, timeout=30)


def test_exports_survive_the_shell_with_quotes_in_values() -> None:
    key = "k'ey \"with\" $(quotes) `and` spaces"
    result = _entrypoint_eval({"AIRFLOW__ASTRONOMER__OPENLINEAGE_URL": "https://l.example.com",
                               "AIRFLOW__ASTRONOMER__OPENLINEAGE_API_KEY": key}, "{AIRFLOW__OPENLINEAGE__TRANSPORT}")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["auth"]["apiKey"] == key


def test_a_bad_setting_stops_with_one_line_and_no_secret() -> None:
    result = _entrypoint_eval({"AIRFLOW__ASTRONOMER__OPENLINEAGE_URL": "ftp://x",
                               "AIRFLOW__ASTRONOMER__OPENLINEAGE_API_KEY": "SECRET-CANARY-7f"}, "{AIRFLOW__OPENLINEAGE__TRANSPORT}")
    assert result.returncode == 1
    assert result.stderr.strip().startswith("astro-entrypoint: [astronomer] openlineage_url = 'ftp://x'")
    assert "SECRET-CANARY-7f" not in result.stderr + result.stdout


LINEAGE_DAG = """
import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

with DAG("lineage_dag", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False):
    BashOperator(task_id="echo", bash_command="echo lineage")
"""


@pytest.fixture
def lineage_receiver() -> Iterator[tuple[str, list[dict]]]:
    """A real HTTP server on 127.0.0.1 that keeps every JSON body POSTed to it."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.append({"path": self.path, "auth": self.headers.get("Authorization"), "event": json.loads(body)})
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", received
    finally:
        server.shutdown()


@pytest.mark.integration
def test_the_local_runtime_sends_lineage_where_the_deployment_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lineage_receiver: tuple[str, list[dict]]
) -> None:
    from astronomer_runtime.local.home import LocalHome, environment, prepare

    url, received = lineage_receiver
    monkeypatch.setenv("AIRFLOW__ASTRONOMER__OPENLINEAGE_URL", url)
    monkeypatch.setenv("AIRFLOW__ASTRONOMER__OPENLINEAGE_API_KEY", "lineage-key")
    monkeypatch.setenv("AIRFLOW__ASTRONOMER__OPENLINEAGE_NAMESPACE", "test-deployment")
    home = LocalHome(path=tmp_path / "home", project=tmp_path / "project")
    home.dags_folder.mkdir(parents=True)
    (home.dags_folder / "lineage_dag.py").write_text(LINEAGE_DAG)
    prepare(home)
    env = environment(home, runtime_version="3.3-2")
    airflow = str(Path(sys.executable).with_name("airflow"))
    for command in (["db", "migrate"], ["dags", "test", "lineage_dag"]):
        result = subprocess.run([airflow, *command], env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    def completed() -> list[dict]:
        return [r for r in received if r["event"].get("eventType") == "COMPLETE" and r["event"]["job"]["name"] == "lineage_dag.echo"]

    done = poll(completed, timeout=60, what="the task's COMPLETE lineage event")
    assert done[0]["path"] == "/api/v1/lineage"
    assert done[0]["auth"] == "Bearer lineage-key"
    assert done[0]["event"]["job"]["namespace"] == "test-deployment"
