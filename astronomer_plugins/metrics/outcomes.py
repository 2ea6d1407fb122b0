"""Task outcomes of finished DAG runs, read from the metadata database by the scheduler's pusher.

Task hooks fire in task runners, which may run on other machines and never push; the scheduler sees
every run finish, so its pusher thread (never the scheduler loop) reads the run's task instances:
one row per task's final state, plus one `up_for_retry` per earlier try kept in the history table.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from astronomer_plugins.metrics.aggregator import Sample

TASK_OUTCOME = "astronomer.task.outcome"
FINAL_STATES = ("success", "failed", "skipped", "upstream_failed", "removed")


def task_outcomes(runs: Iterable[tuple[str, str]], now: float) -> list[Sample]:
    """Counter samples `astronomer.task.outcome{dag_id,task_id,operator,outcome}` for these runs."""
    runs = list(dict.fromkeys(runs))
    if not runs:
        return []
    from sqlalchemy import select, tuple_

    from airflow.models.taskinstance import TaskInstance
    from airflow.models.taskinstancehistory import TaskInstanceHistory
    from airflow.utils.session import create_session

    counts: Counter[tuple[tuple[str, str], ...]] = Counter()
    with create_session() as session:
        for start in range(0, len(runs), 200):
            chunk = runs[start : start + 200]
            rows = session.execute(
                select(TaskInstance.dag_id, TaskInstance.task_id, TaskInstance.operator, TaskInstance.state)
                .where(tuple_(TaskInstance.dag_id, TaskInstance.run_id).in_(chunk))
            ).all()  # fmt: skip
            for dag_id, task_id, operator, ti_state in rows:
                outcome = getattr(ti_state, "value", ti_state)
                if outcome in FINAL_STATES:
                    counts[(("dag_id", dag_id), ("task_id", task_id), ("operator", operator or "unknown"), ("outcome", outcome))] += 1
            history = session.execute(
                select(TaskInstanceHistory.dag_id, TaskInstanceHistory.task_id, TaskInstanceHistory.operator)
                .where(tuple_(TaskInstanceHistory.dag_id, TaskInstanceHistory.run_id).in_(chunk))
            ).all()  # fmt: skip
            for dag_id, task_id, operator in history:
                counts[(("dag_id", dag_id), ("task_id", task_id), ("operator", operator or "unknown"), ("outcome", "up_for_retry"))] += 1
    return [Sample(TASK_OUTCOME, "counter", float(value), key, now) for key, value in counts.items()]
