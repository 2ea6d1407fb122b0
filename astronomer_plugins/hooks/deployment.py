"""The `astro_deployment` connection: another deployment's Airflow REST API (v2), called with a
control-plane API token kept in the connection's password (never logged).

The connection names the target by its base URL (host) or by its deployment id (extra
`deployment_id`, resolved through `[astronomer] control_plane_url`). Request building and answer
interpretation are shared by the blocking hook and the async trigger, so both behave alike.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests
from airflow.sdk import BaseHook

from astronomer_plugins.errors import AstronomerError

TERMINAL_STATES = ("success", "failed")
TIMEOUT = (5.0, 30.0)


class DeploymentCallError(AstronomerError):
    """A call to another deployment failed; the message names the connection, never the token."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class DeploymentTarget:
    conn_id: str
    base_url: str
    token: str = field(repr=False)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}

    def api(self, path: str) -> str:
        return f"{self.base_url}/api/v2{path}"

    def run_url(self, dag_id: str, run_id: str) -> str:
        """Link to the run in the target's UI."""
        return f"{self.base_url}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"


def runs_path(dag_id: str) -> str:
    return f"/dags/{quote(dag_id, safe='')}/dagRuns"


def run_path(dag_id: str, run_id: str) -> str:
    return f"{runs_path(dag_id)}/{quote(run_id, safe='')}"


def interpret(target: DeploymentTarget, what: str, status: int, body: Any) -> Any:
    """The answer's JSON, or one clear error naming the connection and what to fix."""
    if 200 <= status < 300:
        return body
    detail = body.get("detail") if isinstance(body, dict) else body
    detail = str(detail)[:300].replace(target.token, "[token]") if detail else ""
    where = f"astro_deployment connection {target.conn_id!r} ({target.base_url})"
    if status == 401:
        raise DeploymentCallError(
            f"{where}: the target deployment refused the token (HTTP 401) while trying to {what}; "
            f"put a valid API token for that deployment in the connection's password",
            status=status,
        )
    if status == 403:
        raise DeploymentCallError(
            f"{where}: the token may not {what} (HTTP 403); give the API token a role that allows it",
            status=status,
        )
    if status == 404:
        raise DeploymentCallError(f"{where}: not found while trying to {what}: {detail}", status=status)
    raise DeploymentCallError(f"{where}: HTTP {status} while trying to {what}: {detail}", status=status)


def target_from_connection(conn_id: str, connection: Any) -> tuple[DeploymentTarget, str]:
    """The target named by a connection (base URL may be empty: then resolve the deployment id)."""
    token = connection.password or ""
    if not token:
        raise DeploymentCallError(f"astro_deployment connection {conn_id!r} has no API token in its password")
    base_url = (connection.host or "").rstrip("/")
    if base_url and "://" not in base_url:
        base_url = f"https://{base_url}"
    deployment_id = str(connection.extra_dejson.get("deployment_id", "")) if not base_url else ""
    if not base_url and not deployment_id:
        raise DeploymentCallError(
            f"astro_deployment connection {conn_id!r} needs a host (base URL) or extra deployment_id"
        )
    return DeploymentTarget(conn_id, base_url, token), deployment_id


def endpoint_request(target: DeploymentTarget, deployment_id: str) -> tuple[str, dict[str, str], str | bool]:
    """URL, headers and TLS verification for resolving a deployment id through the control plane."""
    from astronomer_plugins import config

    control_plane = config.require(config.CONTROL_PLANE_URL).rstrip("/")
    url = f"{control_plane}/v1/deployments/{quote(deployment_id, safe='')}/endpoint"
    return url, target.headers, config.get(config.CA_BUNDLE) or True


def with_resolved_url(
    target: DeploymentTarget, deployment_id: str, status: int, body: Any
) -> DeploymentTarget:
    answer = interpret(target, f"resolve deployment {deployment_id} through the control plane", status, body)
    return DeploymentTarget(target.conn_id, str(answer["base_url"]).rstrip("/"), target.token)


def trigger_body(
    run_id: str, conf: dict[str, Any] | None, logical_date: dt.datetime | None
) -> dict[str, Any]:
    return {
        "dag_run_id": run_id,
        "conf": conf or {},
        "logical_date": logical_date.isoformat() if logical_date else None,
    }


def latest_run_query(logical_date: dt.datetime | None) -> dict[str, str]:
    if logical_date is None:
        return {"order_by": "-run_after", "limit": "1"}
    iso = logical_date.isoformat()
    return {"logical_date_gte": iso, "logical_date_lte": iso, "limit": "1"}


class AstroDeploymentHook(BaseHook):
    conn_name_attr = "astro_conn_id"
    default_conn_name = "astro_deployment_default"
    conn_type = "astro_deployment"
    hook_name = "Astronomer Deployment"

    def __init__(self, astro_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.astro_conn_id = astro_conn_id

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return {
            "hidden_fields": ["schema", "port", "login"],
            "relabeling": {"host": "Deployment base URL", "password": "API token"},
            "placeholders": {
                "host": "https://deployment.example.com (or leave empty and set extra deployment_id)",
                "extra": '{"deployment_id": "dep_..."}',
            },
        }

    def target(self) -> DeploymentTarget:
        target, deployment_id = target_from_connection(
            self.astro_conn_id, self.get_connection(self.astro_conn_id)
        )
        if target.base_url:
            return target
        url, headers, verify = endpoint_request(target, deployment_id)
        response = requests.get(url, headers=headers, timeout=TIMEOUT, verify=verify)
        return with_resolved_url(target, deployment_id, response.status_code, _json(response))

    def _call(
        self, target: DeploymentTarget, method: str, path: str, what: str, **kwargs: Any
    ) -> tuple[int, Any]:
        try:
            response = requests.request(
                method, target.api(path), headers=target.headers, timeout=TIMEOUT, **kwargs
            )
        except requests.RequestException as exc:
            raise DeploymentCallError(
                f"astro_deployment connection {target.conn_id!r}: {target.base_url} unreachable "
                f"while trying to {what}: {type(exc).__name__}"
            ) from None
        return response.status_code, _json(response)

    def trigger_dag_run(
        self,
        target: DeploymentTarget,
        dag_id: str,
        run_id: str,
        conf: dict[str, Any] | None = None,
        logical_date: dt.datetime | None = None,
    ) -> dict[str, Any]:
        """Create the run, or return it when it exists already (a retry must not start a second run)."""
        what = f"trigger {dag_id}"
        status, body = self._call(
            target, "POST", runs_path(dag_id), what, json=trigger_body(run_id, conf, logical_date)
        )
        if status == 409:
            return self.get_dag_run(target, dag_id, run_id)
        return interpret(target, what, status, body)

    def get_dag_run(self, target: DeploymentTarget, dag_id: str, run_id: str) -> dict[str, Any]:
        what = f"read run {run_id} of {dag_id}"
        return interpret(target, what, *self._call(target, "GET", run_path(dag_id, run_id), what))

    def find_dag_run(
        self, target: DeploymentTarget, dag_id: str, logical_date: dt.datetime | None
    ) -> dict[str, Any] | None:
        """The run at `logical_date`, or the latest run; None when there is none yet."""
        what = f"list runs of {dag_id}"
        body = interpret(
            target,
            what,
            *self._call(target, "GET", runs_path(dag_id), what, params=latest_run_query(logical_date)),
        )
        runs = body.get("dag_runs", []) if isinstance(body, dict) else []
        return runs[0] if runs else None


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:300]
