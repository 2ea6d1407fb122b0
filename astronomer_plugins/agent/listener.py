"""Airflow lifecycle hooks: the one place a process learns which component it is.

`on_starting` and `before_stopping` fire in Job.__init__ / Job.complete_execution (airflow.jobs.job)
of every Job-based component (scheduler, dag-processor, triggerer), and also in every task runner
(airflow.sdk.execution_time.task_runner, with a `TaskRunnerMarker`). A task runner only counts its
task outcomes (sent to statsd when it stops); a Job-based component starts its agent. This module is
imported in every Airflow process, so it imports only pluggy (already loaded by Airflow's listener
manager), the stdlib-only `identity` and the in-memory metrics listener; the agent's machinery loads
only in a long-lived component.
"""

from __future__ import annotations

import logging

from pluggy import HookimplMarker

from astronomer_plugins.agent import identity
from astronomer_plugins.metrics import listener as metrics_listener

# Airflow's own marker is HookimplMarker("airflow") in both airflow-core and the task SDK.
hookimpl = HookimplMarker("airflow")
log = logging.getLogger(__name__)


@hookimpl
def on_starting(component: object) -> None:
    """Count metrics in a task runner; start the agent in a long-lived Job-based component. Never
    raises into Airflow."""
    try:
        kind = identity.kind_of(component)
        if kind is not None:
            metrics_listener.start_counting(kind)
        if kind == identity.WORKER:
            return  # a task process: tasks never talk to the control plane
        job = identity.as_job(component)
        if job is None:
            log.debug("on_starting(%s): not a Job, no agent", type(component).__name__)
            return
        from astronomer_plugins.agent import lifecycle

        lifecycle.start_for_job(job)
    except Exception:  # noqa: BLE001 - the agent must never stop a component from starting
        log.exception("The Astronomer agent could not start; the component runs without it")


@hookimpl
def before_stopping(component: object) -> None:
    """A task runner hands its counts to statsd; a component stops its agent within 2 seconds."""
    try:
        if identity.kind_of(component) == identity.WORKER:
            metrics_listener.task_runner_stopping()
            return
        from astronomer_plugins.agent import lifecycle

        lifecycle.stop(owner=component)
    except Exception:  # noqa: BLE001
        log.exception(
            "The Astronomer agent did not stop cleanly; the control plane marks the component gone later"
        )
