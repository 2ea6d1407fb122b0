"""Our task and DAG-run outcome listener: counts in memory, nothing else.

Airflow calls these hooks on the task's own path (task runner) and in the scheduler's loop, so a
hook only updates the process's `Aggregator` (a dict under a lock): no socket, no file, no database.
Task outcomes are counted in task runners and sent to statsd when the runner stops; DAG-run outcomes
are counted in the scheduler, where the pusher thread also derives the run's task outcomes for the
control plane (task runners never push). In other processes (the api-server) the hooks do nothing.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections import deque
from typing import TYPE_CHECKING, Any

from pluggy import HookimplMarker

from astronomer_plugins.metrics import tags as tagging
from astronomer_plugins.registration import identity
from astronomer_plugins.metrics.aggregator import Aggregator
from astronomer_plugins.metrics.outcomes import TASK_OUTCOME

if TYPE_CHECKING:
    from astronomer_plugins.metrics.pusher import MetricsPusher

hookimpl = HookimplMarker("airflow")

TASK_DURATION = "astronomer.task.duration"
DAG_RUN_OUTCOME = "astronomer.dag_run.outcome"
DAG_RUN_DURATION = "astronomer.dag_run.duration"
MAX_PENDING_RUNS = 10_000


class _ProcessState:
    """What this process counts; rebuilt in a forked child (task runners fork from the scheduler)."""

    def __init__(self) -> None:
        self.component: str | None = None
        self.count_tasks = False
        self.count_dag_runs = False
        self.aggregator = Aggregator()
        self.finished_runs: deque[tuple[str, str]] = deque(maxlen=MAX_PENDING_RUNS)
        self.pusher: MetricsPusher | None = None
        self.lock = threading.Lock()


state = _ProcessState()


def last_push_at() -> float | None:
    """When this process last pushed metrics to the control plane (reported in heartbeats)."""
    pusher = state.pusher
    return pusher.last_push_at if pusher is not None else None


def _reset_after_fork() -> None:
    global state
    state = _ProcessState()
    tagging._component = None


os.register_at_fork(after_in_child=_reset_after_fork)


def _component_of(component: Any) -> str | None:
    """worker for a task runner; the long-lived kind for a Job, None for anything else
    (the one classification, `identity.kind_of`)."""
    return identity.kind_of(component)


def _listener_enabled() -> bool:
    from astronomer_plugins import config

    try:
        return config.get_bool(config.METRICS_LISTENER_ENABLED)
    except Exception:  # a bad setting must not stop a component; the pusher logs it
        return True


@hookimpl
def on_starting(component: Any) -> None:
    """Learn which component this is; long-lived ones start the pusher thread. Never raises."""
    try:
        _starting(component)
    except Exception:  # metrics must never stop a component from starting
        import logging

        logging.getLogger(__name__).exception("astronomer metrics could not start; the component runs without them")


def _starting(component: Any) -> None:
    kind = _component_of(component)
    if kind is None:
        return
    tagging.set_component(kind)
    state.component = kind
    if not _listener_enabled():
        return
    if kind == identity.WORKER:
        state.count_tasks = True
        return
    state.count_dag_runs = kind == identity.SCHEDULER
    from astronomer_plugins.metrics.pusher import MetricsPusher

    with state.lock:
        if state.pusher is None:
            state.pusher = MetricsPusher.start(kind, state)


@hookimpl
def before_stopping(component: Any) -> None:
    """Task runner: hand its counts to statsd. Long-lived: stop the pusher after a last flush."""
    try:
        if _component_of(component) == identity.WORKER and state.count_tasks:
            from astronomer_plugins.metrics.pusher import emit_to_statsd

            emit_to_statsd(state.aggregator.drain(_now().timestamp()))
        elif state.pusher is not None:
            with state.lock:
                pusher, state.pusher = state.pusher, None
            if pusher is not None:
                pusher.stop()
    except Exception:  # never fail a task or a component's shutdown over metrics
        import logging

        logging.getLogger(__name__).exception("astronomer metrics: final flush failed")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _task_outcome(task_instance: Any, outcome: str) -> None:
    if not state.count_tasks:
        return
    task = getattr(task_instance, "task", None)
    operator = getattr(task, "task_type", None) or getattr(task_instance, "operator", None) or "unknown"
    key = (("dag_id", task_instance.dag_id), ("task_id", task_instance.task_id), ("operator", operator))
    now = _now()
    state.aggregator.count(TASK_OUTCOME, (*key, ("outcome", outcome)))
    started = getattr(task_instance, "start_date", None)
    if started is not None:
        ended = getattr(task_instance, "end_date", None) or now
        state.aggregator.observe(TASK_DURATION, (*key, ("outcome", outcome)), (ended - started).total_seconds(), now.timestamp())


@hookimpl
def on_task_instance_success(previous_state: Any, task_instance: Any) -> None:
    _task_outcome(task_instance, "success")


@hookimpl
def on_task_instance_failed(previous_state: Any, task_instance: Any, error: Any) -> None:
    ti_state = getattr(task_instance, "state", None)
    outcome = "up_for_retry" if getattr(ti_state, "value", ti_state) == "up_for_retry" else "failed"
    _task_outcome(task_instance, outcome)


@hookimpl
def on_task_instance_skipped(previous_state: Any, task_instance: Any) -> None:
    _task_outcome(task_instance, "skipped")


def _dag_run_outcome(dag_run: Any, outcome: str) -> None:
    if not state.count_dag_runs:
        return
    now = _now()
    tags = (("dag_id", dag_run.dag_id), ("outcome", outcome))
    state.aggregator.count(DAG_RUN_OUTCOME, tags)
    if dag_run.start_date is not None:
        ended = dag_run.end_date or now
        state.aggregator.observe(DAG_RUN_DURATION, tags, (ended - dag_run.start_date).total_seconds(), now.timestamp())
    state.finished_runs.append((dag_run.dag_id, dag_run.run_id))


@hookimpl
def on_dag_run_success(dag_run: Any, msg: str) -> None:
    _dag_run_outcome(dag_run, "success")


@hookimpl
def on_dag_run_failed(dag_run: Any, msg: str) -> None:
    _dag_run_outcome(dag_run, "failed")
