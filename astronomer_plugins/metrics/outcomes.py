"""Task outcomes of finished DAG runs, read from the metadata database by the scheduler's metrics job.

Task hooks fire in task runners, which may run on other machines and never push; the scheduler sees
every run finish, so its agent's metrics job (never the scheduler loop) reads the run's task instances:
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
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.taskinstancehistory import TaskInstanceHistory
    from airflow.utils.session import create_session
    from sqlalchemy import select, tuple_

    counts: Counter[tuple[tuple[str, str], ...]] = Counter()
    with create_session() as session:
        for start in range(0, len(runs), 200):
            chunk = runs[start : start + 200]
            ti = TaskInstance
            in_chunk = tuple_(ti.dag_id, ti.run_id).in_(chunk)
            rows = session.execute(select(ti.dag_id, ti.task_id, ti.operator, ti.state).where(in_chunk)).all()
            for dag_id, task_id, operator, ti_state in rows:
                outcome = getattr(ti_state, "value", ti_state)
                if outcome in FINAL_STATES:
                    counts[
                        (
                            ("dag_id", dag_id),
                            ("task_id", task_id),
                            ("operator", operator or "unknown"),
                            ("outcome", outcome),
                        )
                    ] += 1
            tih = TaskInstanceHistory
            earlier = tuple_(tih.dag_id, tih.run_id).in_(chunk)
            history = session.execute(select(tih.dag_id, tih.task_id, tih.operator).where(earlier)).all()
            for dag_id, task_id, operator in history:
                counts[
                    (
                        ("dag_id", dag_id),
                        ("task_id", task_id),
                        ("operator", operator or "unknown"),
                        ("outcome", "up_for_retry"),
                    )
                ] += 1
    return [Sample(TASK_OUTCOME, "counter", float(value), key, now) for key, value in counts.items()]
