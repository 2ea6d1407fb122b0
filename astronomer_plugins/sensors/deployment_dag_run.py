"""DeploymentDagRunSensor: wait for a DAG run in another deployment (latest, or at a logical date)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseSensorOperator
from airflow.sdk.exceptions import AirflowFailException

from astronomer_plugins.hooks.deployment import AstroDeploymentHook
from astronomer_plugins.operators.deployment_dag_run import outcome
from astronomer_plugins.triggers.deployment_dag_run import DeploymentDagRunTrigger


class DeploymentDagRunSensor(BaseSensorOperator):
    """Succeeds when the run reaches `allowed_states`; fails fast on `failed_states`."""

    template_fields: Sequence[str] = ("external_dag_id", "logical_date")

    def __init__(
        self,
        *,
        astro_conn_id: str,
        external_dag_id: str,
        logical_date: str | None = None,
        allowed_states: Sequence[str] = ("success",),
        failed_states: Sequence[str] = ("failed",),
        deferrable: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.astro_conn_id = astro_conn_id
        self.external_dag_id = external_dag_id
        self.logical_date = logical_date
        self.allowed_states = list(allowed_states)
        self.failed_states = list(failed_states)
        self.deferrable = deferrable

    def execute(self, context: Any) -> Any:
        if not self.deferrable:
            return super().execute(context)
        self.defer(
            trigger=DeploymentDagRunTrigger(
                astro_conn_id=self.astro_conn_id,
                dag_id=self.external_dag_id,
                logical_date=self.logical_date,
                allowed_states=self.allowed_states,
                failed_states=self.failed_states,
                poke_interval=self.poke_interval,
            ),
            method_name="execute_complete",
            timeout=dt.timedelta(seconds=self.timeout),
        )

    def poke(self, context: Any) -> bool:
        hook = AstroDeploymentHook(self.astro_conn_id)
        target = hook.target()
        logical = dt.datetime.fromisoformat(self.logical_date) if self.logical_date else None
        run = hook.find_dag_run(target, self.external_dag_id, logical)
        if run is None:
            return False
        state = run.get("state")
        if state in self.failed_states:
            raise AirflowFailException(
                f"remote DAG run {self.external_dag_id}/{run['dag_run_id']} is {state}: "
                f"{target.run_url(self.external_dag_id, run['dag_run_id'])}"
            )
        return state in self.allowed_states

    def execute_complete(self, context: Any, event: dict[str, Any]) -> str:
        return outcome(event, self.external_dag_id)
