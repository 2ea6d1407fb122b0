"""Our task and DAG-run outcome listener: counts in memory, nothing else.

Airflow calls these hooks on the task's own path (task runner) and in the scheduler's loop, so a
hook only updates the process's `Aggregator` (a dict under a lock): no socket, no file, no database.
The agent's listener (astronomer_plugins.agent.listener) says what to count when the component
starts: task outcomes in task runners, sent to statsd when the runner stops; DAG-run outcomes in the
scheduler, where the agent's metrics job also derives the run's task outcomes for the control plane
(task runners never push). In other processes (the api-server) the hooks do nothing.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import deque
from typing import Any

from pluggy import HookimplMarker

from astronomer_plugins.agent import identity
from astronomer_plugins.metrics import tags as tagging
from astronomer_plugins.metrics.aggregator import Aggregator
from astronomer_plugins.metrics.outcomes import TASK_OUTCOME

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


state = _ProcessState()


def _reset_after_fork() -> None:
    global state
    state = _ProcessState()
    tagging._component = None


os.register_at_fork(after_in_child=_reset_after_fork)


def enabled() -> bool:
    """[astronomer] metrics_listener_enabled; a bad value turns counting off (the metrics job of a
    long-lived component logs why), it never stops a component."""
    from astronomer_plugins import config

    try:
        return config.get_bool(config.METRICS_LISTENER_ENABLED)
    except Exception:  # noqa: BLE001
        return False


def start_counting(kind: str) -> None:
    """The component of this process is known (the agent's on_starting): tag its metrics, and
    count task outcomes in a task runner, DAG-run outcomes in the scheduler."""
    tagging.set_component(kind)
    state.component = kind
    if enabled():
        state.count_tasks = kind == identity.WORKER
        state.count_dag_runs = kind == identity.SCHEDULER


def task_runner_stopping() -> None:
    """A task runner stops: hand its counts to statsd (the agent's before_stopping)."""
    if state.count_tasks:
        from astronomer_plugins.metrics.emit import emit_to_statsd

        emit_to_statsd(state.aggregator.drain(_now().timestamp()))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


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
        seconds = (ended - started).total_seconds()
        state.aggregator.observe(TASK_DURATION, (*key, ("outcome", outcome)), seconds, now.timestamp())


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
        seconds = (ended - dag_run.start_date).total_seconds()
        state.aggregator.observe(DAG_RUN_DURATION, tags, seconds, now.timestamp())
    state.finished_runs.append((dag_run.dag_id, dag_run.run_id))


@hookimpl
def on_dag_run_success(dag_run: Any, msg: str) -> None:
    _dag_run_outcome(dag_run, "success")


@hookimpl
def on_dag_run_failed(dag_run: Any, msg: str) -> None:
    _dag_run_outcome(dag_run, "failed")
