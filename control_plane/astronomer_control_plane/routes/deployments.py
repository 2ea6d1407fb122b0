"""Agent-facing endpoints (authenticated by the deployment's agent token) and the status page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from astronomer_control_plane import limits
from astronomer_control_plane.access import agent_deployment, api_token_deployment
from astronomer_control_plane.context import ControlPlane, control_plane
from astronomer_control_plane.errors import NotFound, from_validation_errors
from astronomer_control_plane.limits import read_limited_body
from astronomer_control_plane.orm import Deployment
from astronomer_control_plane.schemas import DeploymentEndpoint
from astronomer_control_plane.services import agents, deploys
from astronomer_control_plane.status_page import render_status_page
from astronomer_plugins.control_plane.models import (
    ComponentRegistration,
    ComponentStatus,
    DeploymentProfile,
    Heartbeat,
    MetricBatch,
    MetricBatchAccepted,
    RevokedTokenPage,
)

router = APIRouter(prefix="/v1/deployments/{deployment_id}", tags=["deployments"])
InstanceId = Annotated[str, Path(pattern=agents.INSTANCE_ID_PATTERN)]
CP = Depends(control_plane)
AGENT = Depends(agent_deployment)


@router.put("/components/{instance_id}")
def register_component(
    body: ComponentRegistration,
    response: Response,
    instance_id: InstanceId,
    deployment: str = AGENT,
    cp: ControlPlane = CP,
) -> dict[str, str]:
    response.status_code = 201 if agents.register(cp, deployment, instance_id, body) else 200
    return {"instance_id": instance_id}


@router.post("/components/{instance_id}/heartbeat", status_code=204)
def component_heartbeat(
    body: Heartbeat, instance_id: InstanceId, deployment: str = AGENT, cp: ControlPlane = CP
) -> None:
    agents.heartbeat(cp, deployment, instance_id, body)


@router.delete("/components/{instance_id}", status_code=204)
def deregister_component(instance_id: InstanceId, deployment: str = AGENT, cp: ControlPlane = CP) -> None:
    agents.deregister(cp, deployment, instance_id)


@router.get("")
def deployment_profile(deployment: str = AGENT, cp: ControlPlane = CP) -> DeploymentProfile:
    """The deployment's organization, workspace and names (shown on the Runtime page)."""
    return agents.profile(cp, deployment)


@router.get("/components")
def list_components(deployment: str = AGENT, cp: ControlPlane = CP) -> list[ComponentStatus]:
    return agents.components(cp, deployment)


# The body is read with a size limit (read_limited_body), so FastAPI does not see it: document it.
_METRIC_BATCH_SCHEMA = MetricBatch.model_json_schema(ref_template="#/components/schemas/{model}")
_METRIC_BATCH_BODY = {"required": True, "content": {"application/json": {"schema": _METRIC_BATCH_SCHEMA}}}


@router.post("/metrics", status_code=202, openapi_extra={"requestBody": _METRIC_BATCH_BODY})
async def push_metrics(
    request: Request, deployment: str = AGENT, cp: ControlPlane = CP
) -> MetricBatchAccepted:
    raw = await read_limited_body(
        request, max_bytes=limits.MAX_METRICS_BODY_BYTES, max_decoded_bytes=limits.MAX_METRICS_DECODED_BYTES
    )
    try:
        batch = await run_in_threadpool(MetricBatch.model_validate_json, raw)
    except ValidationError as exc:
        raise from_validation_errors(exc.errors(), body=True) from None
    return await run_in_threadpool(agents.ingest_metrics, cp, deployment, batch)


@router.get("/revoked-tokens")
def revoked_tokens(
    since: str = Query(default="", max_length=20), deployment: str = AGENT, cp: ControlPlane = CP
) -> RevokedTokenPage:
    return agents.revoked_tokens(cp, deployment, since)


@router.get("/endpoint")
def deployment_endpoint(deployment: Deployment = Depends(api_token_deployment)) -> DeploymentEndpoint:
    """For API-token holders (e.g. the astro_deployment connection): the deployment's Airflow URL."""
    return DeploymentEndpoint(
        id=deployment.id,
        name=deployment.name,
        base_url=deployment.base_url,
        runtime_version=deployment.runtime_version,
    )


status_router = APIRouter(tags=["status"])


@status_router.get("/deployments/{deployment_id}/status", response_class=HTMLResponse)
def status_page(deployment_id: str = Path(max_length=40), cp: ControlPlane = CP) -> HTMLResponse:
    """Development page: components, versions, last heartbeat, deploys, last metrics (no secrets)."""
    with cp.transaction() as session:
        deployment = session.get(Deployment, deployment_id)
        if deployment is None:
            raise NotFound(f"deployment {deployment_id!r} not found", field="deployment_id")
        name, runtime_version, cluster = deployment.name, deployment.runtime_version, deployment.cluster
    html = render_status_page(
        deployment_id,
        name,
        runtime_version,
        agents.components(cp, deployment_id),
        agents.latest_metric_batches(cp, deployment_id),
        cluster=cluster,
        deploys=deploys.history(cp, deployment_id, limit=20),
    )
    return HTMLResponse(html)
