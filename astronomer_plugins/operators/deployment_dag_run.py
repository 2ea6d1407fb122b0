"""TriggerDeploymentDagRunOperator: start a DAG run in another deployment, optionally wait for it.

The run id is derived from (this DAG, this run, this task, map index), so a retry finds the run it
started before instead of starting a second one. Waiting is deferrable: a trigger polls in the
triggerer and no worker slot is held.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException

from astronomer_plugins.hooks.deployment import TERMINAL_STATES, AstroDeploymentHook
from astronomer_plugins.triggers.deployment_dag_run import DeploymentDagRunTrigger


def deterministic_run_id(context: Any, prefix: str = "astro_triggered") -> str:
    """Same (DAG, run, task, map index) -> same run id in the target deployment."""
    ti = context["ti"]
    key = f"{ti.dag_id}\0{ti.run_id}\0{ti.task_id}\0{getattr(ti, 'map_index', -1)}"
    return f"{prefix}__{ti.dag_id[:80]}__{hashlib.sha256(key.encode()).hexdigest()[:20]}"


def outcome(event: dict[str, Any], dag_id: str) -> str:
    """The remote run id on success; a clear failure with the remote state and a link otherwise."""
    if event.get("status") == "success":
        return str(event["run_id"])
    if event.get("status") == "failed":
        raise AirflowException(
            f"remote DAG run {dag_id}/{event.get('run_id')} finished in state {event.get('state')}: "
            f"{event.get('url')}"
        )
    raise AirflowException(f"waiting for {dag_id} failed: {event.get('message')}")


class TriggerDeploymentDagRunOperator(BaseOperator):
    """Triggers `trigger_dag_id` in the deployment of `astro_conn_id` (an astro_deployment connection)."""

    template_fields: Sequence[str] = (
        "astro_conn_id",
        "trigger_dag_id",
        "conf",
        "logical_date",
        "trigger_run_id",
    )
    ui_color = "#c7d9f5"

    def __init__(
        self,
        *,
        astro_conn_id: str,
        trigger_dag_id: str,
        conf: dict[str, Any] | None = None,
        logical_date: str | dt.datetime | None = None,
        trigger_run_id: str | None = None,
        wait_for_completion: bool = False,
        poke_interval: float = 30.0,
        timeout: float | None = None,
        deferrable: bool = True,
        allowed_states: Sequence[str] = ("success",),
        failed_states: Sequence[str] = ("failed",),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.astro_conn_id = astro_conn_id
        self.trigger_dag_id = trigger_dag_id
        self.conf = conf
        self.logical_date = logical_date
        self.trigger_run_id = trigger_run_id
        self.wait_for_completion = wait_for_completion
        self.poke_interval = poke_interval
        self.timeout = timeout
        self.deferrable = deferrable
        self.allowed_states = list(allowed_states)
        self.failed_states = list(failed_states)

    def execute(self, context: Any) -> str:
        hook = AstroDeploymentHook(self.astro_conn_id)
        target = hook.target()
        run_id = self.trigger_run_id or deterministic_run_id(context)
        logical = (
            dt.datetime.fromisoformat(self.logical_date)
            if isinstance(self.logical_date, str)
            else self.logical_date
        )
        run = hook.trigger_dag_run(target, self.trigger_dag_id, run_id, self.conf, logical)
        self.log.info(
            "Run %s of %s in %s: %s",
            run_id,
            self.trigger_dag_id,
            target.base_url,
            target.run_url(self.trigger_dag_id, run_id),
        )
        context["ti"].xcom_push(key="remote_run_url", value=target.run_url(self.trigger_dag_id, run_id))
        if not self.wait_for_completion:
            return run_id
        if self.deferrable:
            self.defer(
                trigger=DeploymentDagRunTrigger(
                    astro_conn_id=self.astro_conn_id,
                    dag_id=self.trigger_dag_id,
                    run_id=run_id,
                    allowed_states=self.allowed_states,
                    failed_states=self.failed_states,
                    poke_interval=self.poke_interval,
                ),
                method_name="execute_complete",
                timeout=dt.timedelta(seconds=self.timeout) if self.timeout else None,
            )
        return self._wait_blocking(hook, target, run_id, run)

    def _wait_blocking(self, hook: AstroDeploymentHook, target: Any, run_id: str, run: dict[str, Any]) -> str:
        deadline = time.monotonic() + self.timeout if self.timeout else None
        while run.get("state") not in (*self.allowed_states, *self.failed_states, *TERMINAL_STATES):
            if deadline is not None and time.monotonic() > deadline:
                raise AirflowException(
                    f"remote DAG run {self.trigger_dag_id}/{run_id} did not finish within {self.timeout} s"
                )
            time.sleep(self.poke_interval)
            run = hook.get_dag_run(target, self.trigger_dag_id, run_id)
        status = "success" if run["state"] in self.allowed_states else "failed"
        return outcome(
            {
                "status": status,
                "state": run["state"],
                "run_id": run_id,
                "url": target.run_url(self.trigger_dag_id, run_id),
            },
            self.trigger_dag_id,
        )

    def execute_complete(self, context: Any, event: dict[str, Any]) -> str:
        return outcome(event, self.trigger_dag_id)
