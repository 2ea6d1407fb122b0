"""Celery workers as components: the agent of `airflow celery worker`, started by Celery's signals.

`airflow celery worker` runs no Airflow Job, so Airflow's `on_starting`/`before_stopping` never fire
in it (they fire in Job.__init__ and in task runners only), and it loads plugins lazily, i.e. not in
its main process. What every Airflow process does load, the worker included and before its command
runs, is provider metadata: our `apache_airflow_provider` entry point (provider_info.py) calls
`install()` here. Only in the main process of `airflow celery worker` does that connect two Celery
signals, and only then is Celery imported:

- `worker_ready` (the consumer is consuming; the prefork pool already forked): start the one agent
  of the process, kind `worker`, with the worker's queues and concurrency in its registration;
- `worker_shutdown` (warm shutdown, e.g. SIGTERM, after the running tasks finished): stop it, which
  deregisters within the agent's 2 s budget.

A SIGKILLed worker says nothing: the control plane marks it unhealthy after its missed heartbeats.
Task runners inside the worker are separate processes; they never start an agent (listener.py).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import Any

from astronomer_plugins.agent import identity

log = logging.getLogger(__name__)

OWNER = "celery-worker"  # the lifecycle owner of a Celery worker's agent
_READY_UID = "astronomer-agent-worker-ready"
_SHUTDOWN_UID = "astronomer-agent-worker-shutdown"


def install(argv: Sequence[str] | None = None) -> bool:
    """Connect the agent to Celery's worker signals when this process is `airflow celery worker`;
    True when connected. Idempotent (Celery's dispatch_uid); never raises."""
    if not identity.is_celery_worker(sys.argv if argv is None else argv):
        return False
    try:
        from celery import signals  # type: ignore[import-untyped]

        signals.worker_ready.connect(_on_worker_ready, weak=False, dispatch_uid=_READY_UID)
        signals.worker_shutdown.connect(_on_worker_shutdown, weak=False, dispatch_uid=_SHUTDOWN_UID)
        return True
    except Exception:  # noqa: BLE001 - the agent must never stop a worker from starting
        log.exception("The Astronomer agent cannot watch this Celery worker; it runs without the agent")
        return False


def worker_details(consumer: Any) -> dict[str, object]:
    """The registration fields of a Celery worker: the queues it consumes (sorted) and its pool's
    task slots, read from the consumer Celery hands to `worker_ready`."""
    queues = sorted(str(name) for name in consumer.app.amqp.queues.consume_from)
    concurrency = getattr(consumer.controller, "concurrency", None)
    details: dict[str, object] = {"queues": queues}
    if isinstance(concurrency, int) and concurrency > 0:
        details["concurrency"] = concurrency
    return details


def _on_worker_ready(sender: Any = None, **_: Any) -> None:
    try:
        from astronomer_plugins.agent import lifecycle

        lifecycle.start_for_celery_worker(OWNER, worker_details(sender))
    except Exception:  # noqa: BLE001
        log.exception("The Astronomer agent could not start; the Celery worker runs without it")


def _on_worker_shutdown(sender: Any = None, **_: Any) -> None:
    try:
        from astronomer_plugins.agent import lifecycle

        lifecycle.stop(owner=OWNER)
    except Exception:  # noqa: BLE001
        log.exception(
            "The Astronomer agent did not stop cleanly; the control plane marks the worker gone later"
        )
