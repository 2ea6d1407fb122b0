"""The Celery worker's hook: which processes connect to Celery's signals, and what a worker registers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from types import SimpleNamespace

import pydantic
import pytest

from astronomer_plugins.agent import celery_worker, identity
from astronomer_plugins.control_plane.models import ComponentRegistration
from astronomer_plugins.registration import payload


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["/venv/bin/airflow", "celery", "worker", "--queues", "a"], True),
        (["airflow", "celery", "worker"], True),
        (["airflow", "--verbose", "celery", "worker"], True),
        (["airflow", "celery", "flower"], False),
        (["airflow", "celery", "stop"], False),
        (["airflow", "scheduler"], False),
        (["airflow", "tasks", "run", "celery", "worker"], False),
        (["python"], False),
    ],
)
def test_is_celery_worker(argv: list[str], expected: bool) -> None:
    assert identity.is_celery_worker(argv) is expected


@pytest.fixture
def disconnect() -> Iterator[None]:
    from celery import signals

    yield
    signals.worker_ready.disconnect(dispatch_uid=celery_worker._READY_UID)
    signals.worker_shutdown.disconnect(dispatch_uid=celery_worker._SHUTDOWN_UID)


def _connected() -> tuple[bool, bool]:
    from celery import signals

    def has(signal: object, uid: str) -> bool:
        return any(key[0] == uid for key, _ in getattr(signal, "receivers", []))

    return has(signals.worker_ready, celery_worker._READY_UID), has(
        signals.worker_shutdown, celery_worker._SHUTDOWN_UID
    )


def test_install_connects_in_a_celery_worker_only(disconnect: None) -> None:
    assert celery_worker.install(["airflow", "scheduler"]) is False
    assert _connected() == (False, False)
    assert celery_worker.install(["airflow", "celery", "worker"]) is True
    assert celery_worker.install(["airflow", "celery", "worker"]) is True  # idempotent
    assert _connected() == (True, True)


def test_worker_details_from_a_celery_app() -> None:
    from celery import Celery

    app = Celery("tests", set_as_current=False)
    app.amqp.queues.select(["beta", "alpha"])
    consumer = SimpleNamespace(app=app, controller=SimpleNamespace(concurrency=4))
    assert celery_worker.worker_details(consumer) == {"queues": ["alpha", "beta"], "concurrency": 4}


def test_a_worker_registration_carries_queues_and_concurrency() -> None:
    started = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    fields = {"queues": ["alpha"], "concurrency": 4}
    body = payload.build_registration(
        "worker", "host", heartbeat_interval=30, started_at=started, fields=fields
    )
    wire = body.model_dump(mode="json")
    assert (wire["component"], wire["queues"], wire["concurrency"]) == ("worker", ["alpha"], 4)
    other = payload.build_registration("scheduler", "host", heartbeat_interval=30, started_at=started)
    assert (other.queues, other.concurrency) == (None, None)


@pytest.mark.parametrize(
    "fields",
    [{"queues": [""]}, {"queues": ["q"] * 65}, {"concurrency": 0}, {"queues": "alpha"}, {"workers": 2}],
)
def test_bad_worker_fields_are_refused(fields: dict[str, object]) -> None:
    base = {
        "component": "worker",
        "hostname": "h",
        "pid": 1,
        "airflow_version": "3.3.2",
        "python_version": "3.11.7",
        "started_at": "2026-12-01T00:00:00Z",
    }
    with pytest.raises(pydantic.ValidationError):
        ComponentRegistration.model_validate({**base, **fields})
