"""The one component agent of a process: started once, stopped within 2 s, forgotten by forks.

This is where a component's jobs are put together: registration and heartbeats (when [astronomer]
configures a control plane) and, in the scheduler, dag-processor and triggerer, the metrics flush and
push. Components fork (the scheduler's LocalExecutor workers, task runners, DAG-file processors); a
forked child inherits this module's state but not the agent's thread, so the state is reset in the
child (`os.register_at_fork`) and every stop checks the pid: a child never deregisters its parent.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from astronomer_plugins import config
from astronomer_plugins.agent import identity
from astronomer_plugins.agent.agent import STOP_BUDGET, ComponentAgent, PeriodicJob

if TYPE_CHECKING:
    from astronomer_plugins.registration.payload import StatusProbe

log = logging.getLogger(__name__)

# How a component's heartbeat status is probed, given its kind and its metrics' last push time.
ProbeFactory = Callable[[str, Callable[[], "float | None"]], "StatusProbe"]

_lock = threading.Lock()
_agent: ComponentAgent | None = None
_owner: object | None = None  # the Job (or "api-server") the agent belongs to
_owner_pid: int | None = None
_hooks_installed = False


def _reset_in_child() -> None:
    global _agent, _owner, _owner_pid
    _agent, _owner, _owner_pid = None, None, None


def _install_process_hooks() -> None:
    global _hooks_installed
    if not _hooks_installed:
        os.register_at_fork(after_in_child=_reset_in_child)
        atexit.register(stop)  # a stop that skipped before_stopping/lifespan still deregisters (bounded)
        _hooks_installed = True


def current() -> ComponentAgent | None:
    """The agent of this process, if one runs."""
    return _agent if _owner_pid == os.getpid() else None


def _jobs(
    status_probe: ProbeFactory, *, with_metrics: bool, registration_fields: Mapping[str, object] | None = None
) -> tuple[list[PeriodicJob], str]:
    """The jobs this component runs (registration first: it gets the stop budget first) and the
    deployment its instance id is claimed for."""
    from astronomer_plugins.metrics.job import MetricsJob
    from astronomer_plugins.registration.job import RegistrationJob
    from astronomer_plugins.registration.settings import Off, load

    metrics = MetricsJob.from_config() if with_metrics else None
    last_push_at = (lambda: metrics.last_push_at) if metrics is not None else (lambda: None)
    jobs: list[PeriodicJob] = []
    deployment_id = config.get(config.DEPLOYMENT_ID).strip()
    decided = load()
    if isinstance(decided, Off):
        log.log(decided.level, "%s", decided.message)
    else:
        jobs.append(
            RegistrationJob(
                decided,
                status_probe=lambda kind: status_probe(kind, last_push_at),
                registration_fields=registration_fields,
            )
        )
        deployment_id = decided.deployment_id
    if metrics is not None:
        jobs.append(metrics)
    return jobs, deployment_id


def _start(
    owner: object,
    resolve_kind: Callable[[], str | None],
    status_probe: ProbeFactory,
    *,
    fallback_kind: Callable[[], str | None] | None = None,
    with_metrics: bool = True,
    registration_fields: Mapping[str, object] | None = None,
) -> ComponentAgent | None:
    global _agent, _owner, _owner_pid
    with _lock:
        if _owner_pid == os.getpid() and _agent is not None:
            log.debug("The Astronomer agent already runs in this process")
            return None
        jobs, deployment_id = _jobs(
            status_probe, with_metrics=with_metrics, registration_fields=registration_fields
        )
        if not jobs:
            return None
        agent = ComponentAgent(
            jobs, deployment_id=deployment_id, resolve_kind=resolve_kind, fallback_kind=fallback_kind
        )
        _install_process_hooks()
        agent.start()
        _agent, _owner, _owner_pid = agent, owner, os.getpid()
        return agent


def start_for_job(job: object) -> ComponentAgent | None:
    """A Job-based component is starting (scheduler, dag-processor, triggerer): start its agent.

    on_starting fires inside Job.__init__, before the job runner sets Job.job_type; the agent's
    thread waits briefly for it and falls back to the `airflow <command>` of the command line.
    """
    from astronomer_plugins.registration import payload

    return _start(
        job,
        lambda: identity.kind_of_job(job),
        lambda kind, last_push_at: payload.job_status_probe(job, kind, last_push_at),
        fallback_kind=lambda: identity.job_kind_from_argv(sys.argv),
    )


def start_for_api_server() -> ComponentAgent | None:
    """The api-server's ASGI lifespan started: register it (each worker process separately). Its
    metrics are Airflow's own; the api-server counts no task or DAG-run outcomes."""
    from astronomer_plugins.registration import payload

    return _start(
        identity.API_SERVER,
        lambda: identity.API_SERVER,
        lambda _kind, _last_push_at: payload.api_server_status,
        with_metrics=False,
    )


def start_for_celery_worker(owner: str, details: Mapping[str, object]) -> ComponentAgent | None:
    """A Celery worker consumes (Celery's worker_ready, see celery_worker.py): register it as a
    `worker` with its queues and concurrency. Its tasks' metrics are counted and sent by the task
    runners (tagged component:worker), so the worker's agent runs no metrics job of its own."""
    from astronomer_plugins.registration import payload

    return _start(
        owner,
        lambda: identity.WORKER,
        lambda _kind, _last_push_at: payload.celery_worker_status,
        with_metrics=False,
        registration_fields=details,
    )


def stop(owner: object | None = None, budget: float = STOP_BUDGET) -> bool:
    """Stop this process's agent (only if it belongs to `owner`, when given) within `budget`
    seconds. Safe to call from forks, twice, or when nothing runs."""
    global _agent, _owner, _owner_pid
    with _lock:
        if _agent is None or _owner_pid != os.getpid() or (owner is not None and owner is not _owner):
            return False
        agent = _agent
        _agent, _owner = None, None
    return agent.stop(budget)
