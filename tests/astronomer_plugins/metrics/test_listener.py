"""The listener: counts in memory, and no network call on its path (socket guard)."""

from __future__ import annotations

import datetime as dt
import socket
from types import SimpleNamespace

import pytest

from astronomer_plugins.agent import listener as agent_listener
from astronomer_plugins.metrics import listener
from astronomer_plugins.metrics.aggregator import Aggregator, PushBuffer, Sample

START = dt.datetime(2026, 11, 28, 12, 0, 0, tzinfo=dt.timezone.utc)


class NetworkCalled(AssertionError):
    pass


@pytest.fixture
def socket_guard(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every way to reach the network raises (and is recorded)."""
    calls: list[str] = []

    def forbid(name: str):
        def guarded(*args, **kwargs):
            calls.append(name)
            raise NetworkCalled(f"network call on the listener path: {name}")

        return guarded

    for name in ("connect", "connect_ex", "send", "sendto", "sendall", "sendmsg"):
        monkeypatch.setattr(socket.socket, name, forbid(f"socket.{name}"))
    for name in ("create_connection", "getaddrinfo", "gethostbyname"):
        monkeypatch.setattr(socket, name, forbid(name))
    monkeypatch.setattr(socket.socket, "__init__", forbid("socket()"))
    return calls


def _task_runner() -> object:
    from airflow.sdk.execution_time.task_runner import TaskRunnerMarker

    return TaskRunnerMarker()


def _ti(task_id: str, state: str = "success", operator: str = "BashOperator") -> SimpleNamespace:
    return SimpleNamespace(
        dag_id="d1", task_id=task_id, task=SimpleNamespace(task_type=operator), state=state,
        start_date=START, end_date=START + dt.timedelta(seconds=2),
    )  # fmt: skip


def test_task_hooks_count_in_memory_without_any_network_call(socket_guard: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__METRICS__STATSD_ON", "False")
    agent_listener.on_starting(_task_runner())
    listener.on_task_instance_success(None, _ti("a"))
    listener.on_task_instance_failed(None, _ti("b", state="up_for_retry"), error=RuntimeError("x"))
    listener.on_task_instance_failed(None, _ti("b", state="failed"), error=None)
    listener.on_task_instance_skipped(None, _ti("c", operator="ShortCircuitOperator"))
    assert socket_guard == []
    samples = listener.state.aggregator.drain(0)
    counters = {(dict(s.tags)["task_id"], dict(s.tags)["outcome"]): s.value for s in samples if s.kind == "counter"}
    assert counters == {("a", "success"): 1, ("b", "up_for_retry"): 1, ("b", "failed"): 1, ("c", "skipped"): 1}
    durations = [s.value for s in samples if s.kind == "timer"]
    assert durations == [2.0, 2.0, 2.0, 2.0]


def test_task_hooks_do_nothing_outside_task_runners(socket_guard: list[str]) -> None:
    listener.on_task_instance_success(None, _ti("a"))  # e.g. the api-server marking a task
    assert len(listener.state.aggregator) == 0 and socket_guard == []


def test_task_runner_sends_its_counts_to_statsd_when_it_stops(udp_receiver: socket.socket, monkeypatch: pytest.MonkeyPatch) -> None:
    host, port = udp_receiver.getsockname()
    monkeypatch.setenv("AIRFLOW__METRICS__STATSD_ON", "True")
    monkeypatch.setenv("AIRFLOW__METRICS__STATSD_HOST", host)
    monkeypatch.setenv("AIRFLOW__METRICS__STATSD_PORT", str(port))
    monkeypatch.setenv("AIRFLOW__ASTRONOMER__DEPLOYMENT_ID", "dep1")
    agent_listener.on_starting(_task_runner())
    listener.on_task_instance_success(None, _ti("a|b"))
    agent_listener.before_stopping(_task_runner())
    lines = udp_receiver.recvfrom(65535)[0].decode().split("\n")
    assert sorted(line.split(":", 1)[0] for line in lines) == ["airflow.astronomer.task.duration", "airflow.astronomer.task.outcome"]
    outcome = next(line for line in lines if "outcome:" in line and "|c" in line)
    assert outcome == ("airflow.astronomer.task.outcome:1|c|#deployment:dep1,component:worker,"
                       "dag_id:d1,task_id:a_b,operator:BashOperator,outcome:success")  # fmt: skip


def test_listener_overhead_per_task_event_is_small(socket_guard: list[str]) -> None:
    """Not a timing assertion (benchmarks do ratios); this proves the path stays allocation-light."""
    agent_listener.on_starting(_task_runner())
    ti = _ti("a")
    for _ in range(1000):
        listener.on_task_instance_success(None, ti)
    samples = listener.state.aggregator.drain(0)
    assert [s.value for s in samples if s.kind == "counter"] == [1000]
    assert socket_guard == []


def test_aggregator_is_drained_once() -> None:
    agg = Aggregator()
    agg.count("x", (("k", "v"),))
    agg.count("x", (("k", "v"),), 2)
    agg.observe("t", (), 1.5, 10.0)
    assert agg.drain(5.0) == [Sample("x", "counter", 3.0, (("k", "v"),), 5.0), Sample("t", "timer", 1.5, (), 10.0)]
    assert agg.drain(6.0) == []


def _samples(n: int, start: int = 0) -> list[Sample]:
    return [Sample(f"m{i}", "counter", 1.0, (), float(i)) for i in range(start, start + n)]


def test_push_buffer_is_bounded_drops_oldest_and_counts() -> None:
    buffer = PushBuffer(capacity=5, instance_id="i")
    assert buffer.add(_samples(3)) == 0
    first = buffer.next_batch()
    assert [s.name for s in first.samples] == ["m0", "m1", "m2"] and first.dropped == 0
    assert buffer.next_batch() is first  # a retry sends the same batch_id
    assert buffer.add(_samples(4, start=3)) == 2  # m0, m1 dropped
    assert (len(buffer), buffer.dropped_total) == (5, 2)
    retry = buffer.next_batch()
    assert retry is not first and retry.batch_id != first.batch_id  # its samples changed
    assert [s.name for s in retry.samples] == ["m2", "m3", "m4", "m5", "m6"] and retry.dropped == 2
    buffer.acknowledge(retry)
    assert (len(buffer), buffer.next_batch()) == (0, None)


def test_push_buffer_abandons_refused_batches_as_drops() -> None:
    buffer = PushBuffer(capacity=10, instance_id="i")
    buffer.add(_samples(3))
    buffer.abandon(buffer.next_batch())
    batch = buffer.next_batch()
    assert (batch.samples, batch.dropped, buffer.dropped_total) == ([], 3, 3)
