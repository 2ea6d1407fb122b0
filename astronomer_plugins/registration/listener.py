"""Airflow lifecycle hooks: Job-based components (scheduler, dag-processor, triggerer) register.

`on_starting` and `before_stopping` fire in Job.__init__ / Job.complete_execution (airflow.jobs.job)
of every Job-based component, and also in every task runner (airflow.sdk.execution_time.task_runner,
with a `TaskRunnerMarker`). Task runners return on the first line: this module is imported in every
Airflow process, so it imports only pluggy (already loaded by Airflow's listener manager) and the
stdlib-only `identity` (the one classification of components), and loads the registration machinery
only in a component that registers.
"""

from __future__ import annotations

import logging

from pluggy import HookimplMarker

from astronomer_plugins.registration import identity

# Airflow's own marker is HookimplMarker("airflow") in both airflow-core and the task SDK.
hookimpl = HookimplMarker("airflow")
log = logging.getLogger(__name__)


@hookimpl
def on_starting(component: object) -> None:
    """Start registration in a long-lived Job-based component; never raise into Airflow."""
    if identity.is_task_runner(component):
        return  # a task process: tasks never talk to the control plane
    try:
        from astronomer_plugins.registration import lifecycle

        job = identity.as_job(component)
        if job is None:
            log.debug("on_starting(%s): not a Job, not registering", type(component).__name__)
            return
        lifecycle.start_for_job(job)
    except Exception:  # noqa: BLE001 - registration must never stop a component from starting
        log.exception("Control-plane registration could not start; the component runs without it")


@hookimpl
def before_stopping(component: object) -> None:
    """Deregister on a clean stop, within 2 seconds."""
    if identity.is_task_runner(component):
        return
    try:
        from astronomer_plugins.registration import lifecycle

        lifecycle.stop(owner=component)
    except Exception:  # noqa: BLE001
        log.exception("Control-plane deregistration failed; the control plane marks the component gone later")
