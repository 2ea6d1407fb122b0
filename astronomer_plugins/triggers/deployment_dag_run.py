"""Waits, in the triggerer, for a DAG run in another deployment to reach a terminal state.

Serialisable (conn id, DAG id, run id or logical date, states, interval), so it resumes after a
triggerer restart; no worker slot is held while waiting. Polls with httpx asynchronously.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import httpx
from airflow.sdk import BaseHook
from airflow.triggers.base import BaseTrigger, TriggerEvent

from astronomer_plugins.hooks.deployment import (
    DeploymentCallError,
    DeploymentTarget,
    endpoint_request,
    interpret,
    latest_run_query,
    run_path,
    runs_path,
    target_from_connection,
    with_resolved_url,
)

MAX_CONSECUTIVE_NETWORK_ERRORS = 10


class DeploymentDagRunTrigger(BaseTrigger):
    def __init__(
        self,
        *,
        astro_conn_id: str,
        dag_id: str,
        run_id: str | None = None,
        logical_date: str | None = None,
        allowed_states: list[str] | None = None,
        failed_states: list[str] | None = None,
        poke_interval: float = 30.0,
    ) -> None:
        super().__init__()
        self.astro_conn_id = astro_conn_id
        self.dag_id = dag_id
        self.run_id = run_id
        self.logical_date = logical_date
        self.allowed_states = list(allowed_states or ["success"])
        self.failed_states = list(failed_states or ["failed"])
        self.poke_interval = poke_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "astro_conn_id": self.astro_conn_id,
                "dag_id": self.dag_id,
                "run_id": self.run_id,
                "logical_date": self.logical_date,
                "allowed_states": self.allowed_states,
                "failed_states": self.failed_states,
                "poke_interval": self.poke_interval,
            },
        )

    async def _target(self, client: httpx.AsyncClient) -> DeploymentTarget:
        """Resolved in the triggerer's event loop: the async connection API, never a blocking call."""
        connection = await BaseHook.aget_connection(self.astro_conn_id)
        target, deployment_id = target_from_connection(self.astro_conn_id, connection)
        if target.base_url:
            return target
        url, headers, verify = endpoint_request(target, deployment_id)
        async with httpx.AsyncClient(timeout=client.timeout, verify=verify) as resolver:
            response = await resolver.get(url, headers=headers)
        return with_resolved_url(target, deployment_id, response.status_code, _json(response))

    async def _current(self, client: httpx.AsyncClient, target: DeploymentTarget) -> dict[str, Any] | None:
        if self.run_id:
            what = f"read run {self.run_id} of {self.dag_id}"
            response = await client.get(
                target.api(run_path(self.dag_id, self.run_id)), headers=target.headers
            )
            return interpret(target, what, response.status_code, _json(response))
        logical = dt.datetime.fromisoformat(self.logical_date) if self.logical_date else None
        what = f"list runs of {self.dag_id}"
        response = await client.get(
            target.api(runs_path(self.dag_id)), headers=target.headers, params=latest_run_query(logical)
        )
        runs = interpret(target, what, response.status_code, _json(response)).get("dag_runs", [])
        return runs[0] if runs else None

    async def run(self) -> AsyncIterator[TriggerEvent]:
        network_errors = 0
        async with httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=5.0)) as client:
            try:
                target = await self._target(client)
            except (DeploymentCallError, httpx.HTTPError) as exc:
                yield TriggerEvent({"status": "error", "message": str(exc)})
                return
            while True:
                try:
                    run = await self._current(client, target)
                    network_errors = 0
                except DeploymentCallError as exc:
                    yield TriggerEvent({"status": "error", "message": str(exc)})
                    return
                except httpx.HTTPError as exc:
                    network_errors += 1
                    if network_errors >= MAX_CONSECUTIVE_NETWORK_ERRORS:
                        yield TriggerEvent(
                            {
                                "status": "error",
                                "message": f"{target.base_url} unreachable: {type(exc).__name__}",
                            }
                        )
                        return
                    run = None
                state = run.get("state") if run else None
                if state in self.allowed_states or state in self.failed_states:
                    assert run is not None
                    yield TriggerEvent(
                        {
                            "status": "success" if state in self.allowed_states else "failed",
                            "state": state,
                            "run_id": run["dag_run_id"],
                            "url": target.run_url(self.dag_id, run["dag_run_id"]),
                        }
                    )
                    return
                await asyncio.sleep(self.poke_interval)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:300]
