"""TaggedStatsClient: DogStatsD lines with sanitised constant and per-metric tags."""

from __future__ import annotations

import re
import socket

import pytest

from astronomer_plugins.errors import AstronomerConfigError
from astronomer_plugins.metrics import TAGGED_CLIENT_PATH, tags
from astronomer_plugins.metrics.settings import airflow_statsd_environment
from astronomer_plugins.metrics.statsd_client import TaggedStatsClient
from tests.astronomer_plugins.metrics.conftest import receive_lines

# name:value|type[|@rate][|#k:v(,k:v)*] with tag parts free of separators
WELL_FORMED = re.compile(r"^[A-Za-z0-9_.\-]+:-?[0-9.]+\|(c|g|ms)(\|@[0-9.]+)?(\|#[A-Za-z0-9_.\-]+:[A-Za-z0-9_.\-/]+(,[A-Za-z0-9_.\-]+:[A-Za-z0-9_.\-/]+)*)?$")


@pytest.fixture
def identity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__ASTRONOMER__ORGANIZATION_ID", "org1")
    monkeypatch.setenv("AIRFLOW__ASTRONOMER__WORKSPACE_ID", "ws1")
    monkeypatch.setenv("AIRFLOW__ASTRONOMER__DEPLOYMENT_ID", "dep1")
    monkeypatch.setenv("AIRFLOW__ASTRONOMER__RUNTIME_VERSION", "3.3-2")
    tags.set_component("scheduler")


CONSTANT = "organization:org1,workspace:ws1,deployment:dep1,component:scheduler,runtime_version:3.3-2"


@pytest.mark.parametrize(
    ("stat", "value", "rate", "metric_tags", "expected"),
    [
        ("scheduler_heartbeat", "1|c", 1, None, f"airflow.scheduler_heartbeat:1|c|#{CONSTANT}"),
        ("ti.finish,dag_id=d1,task_id=t1,state=success", "1|c", 1, None,
         f"airflow.ti.finish:1|c|#{CONSTANT},dag_id:d1,task_id:t1,state:success"),
        ("pool.open_slots,pool_name=default_pool", "128|g", 1, None, f"airflow.pool.open_slots:128|g|#{CONSTANT},pool_name:default_pool"),
        ("dag_processing.total_parse_time", "12.500000|ms", 0.5, None, f"airflow.dag_processing.total_parse_time:12.500000|ms|@0.5|#{CONSTANT}"),
        ("astronomer.task.outcome", "1|c", 1, {"dag_id": "d|1", "task_id": "t#1", "operator": "A,B", "outcome": "x:y"},
         f"airflow.astronomer.task.outcome:1|c|#{CONSTANT},dag_id:d_1,task_id:t_1,operator:A_B,outcome:x_y"),
    ],
)  # fmt: skip
def test_lines(identity: None, stat: str, value: str, rate: float, metric_tags: dict | None, expected: str) -> None:
    client = TaggedStatsClient("127.0.0.1", 9, "airflow")
    assert client.format_line(stat, value, rate, metric_tags) == expected


@pytest.mark.parametrize(
    ("dag_id", "task_id"),
    [("a|b", "c#d"), ("x,y:z", "p|#,:q"), ("dag\nname", "t k"), ("|#,:", ":::"), ("ü-dag", "task/with/slash")],
)
def test_injected_ids_give_well_formed_lines(identity: None, udp_receiver: socket.socket, dag_id: str, task_id: str) -> None:
    client = TaggedStatsClient(*udp_receiver.getsockname(), prefix="airflow")
    client.incr("astronomer.task.outcome", tags={"dag_id": dag_id, "task_id": task_id, "outcome": "success"})
    client.timing("astronomer.task.duration", 12.5, tags={"dag_id": dag_id, "task_id": task_id})
    client.gauge("astronomer.test.gauge", -3, tags={"dag_id": dag_id})
    lines = receive_lines(udp_receiver) + receive_lines(udp_receiver) + receive_lines(udp_receiver)
    assert len(lines) == 4  # the negative gauge is "0|g" then "-3|g" in one datagram
    for line in lines:
        assert WELL_FORMED.match(line), line
        tag_text = line.split("|#", 1)[1]
        assert len(dict(pair.split(":") for pair in tag_text.split(","))) == len(tag_text.split(","))


def test_extra_tags_are_sanitised_and_cannot_override_identity(identity: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__ASTRONOMER__METRICS_EXTRA_TAGS", "team:data|eng, deployment:evil ,env:pr#od")
    client = TaggedStatsClient("127.0.0.1", 9, "airflow")
    assert client.format_line("x", "1|c") == f"airflow.x:1|c|#{CONSTANT},team:data_eng,env:pr_od"


def test_bad_extra_tags_name_the_setting(identity: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__ASTRONOMER__METRICS_EXTRA_TAGS", "team")
    with pytest.raises(AstronomerConfigError, match=r"metrics_extra_tags: 'team' is not key:value \(AIRFLOW__ASTRONOMER__METRICS_EXTRA_TAGS\)"):
        TaggedStatsClient("127.0.0.1", 9).format_line("x", "1|c")


def test_component_change_rebuilds_constant_tags(identity: None) -> None:
    client = TaggedStatsClient("127.0.0.1", 9)
    assert "component:scheduler" in client.format_line("x", "1|c")
    tags.set_component("worker")
    assert "component:worker" in client.format_line("x", "1|c")


def test_airflow_accepts_it_as_custom_client(identity: None, monkeypatch: pytest.MonkeyPatch, udp_receiver: socket.socket) -> None:
    """Through Airflow's own factory and SafeStatsdLogger, the way every component builds it."""
    host, port = udp_receiver.getsockname()
    for key, value in airflow_statsd_environment(host, port).items():
        monkeypatch.setenv(key, value)
    from airflow.observability.metrics.statsd_logger import get_statsd_logger

    logger = get_statsd_logger()
    assert type(logger.statsd).__name__ == "TaggedStatsClient"
    logger.incr("ti.finish", tags={"dag_id": "d1", "task_id": "t1", "state": "success", "run_id": "manual__x"})
    assert receive_lines(udp_receiver) == [f"airflow.ti.finish:1|c|#{CONSTANT},dag_id:d1,task_id:t1,state:success"]


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("", "8125", {}),
        ("statsd.local", "9125", {
            "AIRFLOW__METRICS__STATSD_ON": "True", "AIRFLOW__METRICS__STATSD_HOST": "statsd.local",
            "AIRFLOW__METRICS__STATSD_PORT": "9125", "AIRFLOW__METRICS__STATSD_CUSTOM_CLIENT_PATH": TAGGED_CLIENT_PATH,
            "AIRFLOW__METRICS__STATSD_INFLUXDB_ENABLED": "True"}),
    ],
)  # fmt: skip
def test_settings_turn_tagged_statsd_on_only_with_a_host(host: str, port: str, expected: dict) -> None:
    assert airflow_statsd_environment(host, port) == expected


def test_a_bad_port_names_the_setting() -> None:
    with pytest.raises(AstronomerConfigError, match=r"statsd_port = 'http': expected a UDP port \(AIRFLOW__ASTRONOMER__STATSD_PORT\)"):
        airflow_statsd_environment("statsd.local", "http")
