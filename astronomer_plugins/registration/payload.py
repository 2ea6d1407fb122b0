"""What a component sends: its registration once, a small status with every heartbeat.

Everything here runs in the component agent's thread, never on a component's own path. Status probes
are best effort: a probe that fails drops its fields from the heartbeat, it never skips a heartbeat.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import platform
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from astronomer_plugins import config
from astronomer_plugins.agent import identity

if TYPE_CHECKING:
    from astronomer_plugins.control_plane.models import ComponentRegistration, Heartbeat

log = logging.getLogger(__name__)

PROVIDER_PREFIX = "apache-airflow-providers-"
OWN_DISTRIBUTION = "astronomer-plugins"
StatusProbe = Callable[[], "Heartbeat"]


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def provider_versions() -> dict[str, str]:
    """Installed provider distributions (and ours) with their versions, from package metadata.

    Metadata, not Airflow's ProvidersManager: no provider code is imported to find out.
    """
    from importlib.metadata import distributions

    found: dict[str, str] = {}
    for dist in distributions():
        name = _normalize(dist.metadata["Name"] or "")
        if name.startswith(PROVIDER_PREFIX) or name == OWN_DISTRIBUTION:
            found[name] = dist.version
    return dict(sorted(found.items()))


def runtime_version() -> str:
    """The Runtime release: [astronomer] runtime_version, else the image's ASTRONOMER_RUNTIME_VERSION."""
    return config.get(config.RUNTIME_VERSION) or os.environ.get("ASTRONOMER_RUNTIME_VERSION", "")


def process_started_at() -> dt.datetime:
    """When this process started (the kernel's record), so a late registration keeps the true start."""
    try:
        import psutil

        return dt.datetime.fromtimestamp(psutil.Process().create_time(), tz=dt.UTC)
    except Exception:  # noqa: BLE001 - psutil is Airflow's dependency, but a start time is not worth failing for
        return dt.datetime.now(dt.UTC)


def build_registration(
    kind: str,
    host: str,
    *,
    heartbeat_interval: int,
    started_at: dt.datetime,
    fields: Mapping[str, object] | None = None,
) -> ComponentRegistration:
    """The PUT body: who and what this component is. Rebuilt identically for every (re)registration.
    `fields`: what only this kind of component knows (a Celery worker's queues and concurrency)."""
    import airflow
    from airflow.configuration import conf

    from astronomer_plugins.control_plane.models import ComponentKind, ComponentRegistration

    return ComponentRegistration(
        component=ComponentKind(kind),
        hostname=host,
        pid=os.getpid(),
        runtime_version=runtime_version(),
        airflow_version=airflow.__version__,
        python_version=platform.python_version(),
        image=config.get(config.IMAGE),
        providers=provider_versions(),
        base_url=conf.get("api", "base_url", fallback="") or "",
        started_at=started_at,
        heartbeat_interval_seconds=heartbeat_interval,
        **dict(fields or {}),
    )


def api_server_status() -> Heartbeat:
    """An api-server that runs its lifespan is serving; nothing more to say cheaply."""
    from astronomer_plugins.control_plane.models import Heartbeat

    return Heartbeat(healthy=True)


def celery_worker_status() -> Heartbeat:
    """A Celery worker that runs its agent is consuming; `active_tasks` is what its pool runs now
    (celery.worker.state, the worker's own bookkeeping: a set read without a lock, never a call)."""
    from astronomer_plugins.control_plane.models import Heartbeat

    details: dict[str, int | float | str | bool] = {}
    try:
        from celery.worker import state  # type: ignore[import-untyped]

        details["active_tasks"] = len(state.active_requests)
    except Exception as exc:  # noqa: BLE001 - a probe never costs a heartbeat
        log.debug("Celery worker status probe failed: %s", exc)
    return Heartbeat(healthy=True, details=details)


def job_status_probe(job: object, kind: str, last_push_at: Callable[[], float | None]) -> StatusProbe:
    """Heartbeat status of a Job-based component: healthy while its Job heartbeats in time.

    The Job's own heartbeat (written by the component's main loop) is the signal: a wedged scheduler
    loop stops it, so the control plane sees `healthy: false` although our thread is fine. The
    scheduler adds the running DAG runs and its executor's open slots; `last_push_at` is when the
    agent's metrics job last pushed (epoch seconds), shown on the Runtime page.
    """

    def probe() -> Heartbeat:
        from astronomer_plugins.control_plane.models import Heartbeat

        details: dict[str, int | float | str | bool] = {}
        healthy = True
        try:
            age, threshold = _job_heartbeat_age(job)
            if age is not None:
                details["job_heartbeat_age_seconds"] = round(age, 1)
                healthy = age <= threshold
        except Exception as exc:  # noqa: BLE001 - a probe never costs a heartbeat
            log.debug("Job heartbeat probe failed: %s", exc)
        pushed_at = last_push_at()
        if pushed_at is not None:
            details["metrics_last_push_at"] = dt.datetime.fromtimestamp(pushed_at, dt.UTC).isoformat()
        if kind == identity.SCHEDULER:
            try:
                details.update(_scheduler_details(job))
            except Exception as exc:  # noqa: BLE001
                log.debug("Scheduler status probe failed: %s", exc)
        return Heartbeat(healthy=healthy, details=details)

    return probe


def _job_heartbeat_age(job: object) -> tuple[float | None, float]:
    """Seconds since the Job's last heartbeat and the component's health threshold.

    Attributes are read from the instance dict so that this thread never triggers SQLAlchemy
    loading on an object the component's thread owns.
    """
    from airflow.jobs.job import Job, health_check_threshold

    state = vars(job)
    latest, job_type = state.get("latest_heartbeat"), str(state.get("job_type") or "")
    if latest is None:
        return None, 0.0
    if latest.tzinfo is None:
        latest = latest.replace(tzinfo=dt.UTC)
    age = (dt.datetime.now(dt.UTC) - latest).total_seconds()
    return age, float(health_check_threshold(job_type, Job._heartrate(job_type)))


def _scheduler_details(job: object) -> dict[str, int]:
    """Running DAG runs, and open slots: [core] parallelism minus the task instances this scheduler
    queued that are still queued or running (what its executor holds)."""
    from airflow.configuration import conf
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState, TaskInstanceState
    from sqlalchemy import func, select

    job_id = vars(job).get("id")
    with create_session() as session:
        running_runs = session.scalar(
            select(func.count()).select_from(DagRun).where(DagRun.state == DagRunState.RUNNING)
        )
        details = {"running_dag_runs": int(running_runs or 0)}
        if job_id is not None:
            occupied = session.scalar(
                select(func.count())
                .select_from(TaskInstance)
                .where(
                    TaskInstance.queued_by_job_id == job_id,
                    TaskInstance.state.in_([TaskInstanceState.QUEUED, TaskInstanceState.RUNNING]),
                )
            )
            details["executor_open_slots"] = max(0, conf.getint("core", "parallelism") - int(occupied or 0))
    return details
