"""Deploys: the management side (upload a DAG bundle, record an image, history, rollback) and the
agent side (the current bundle, and the bundles a deployment may download)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from astronomer_control_plane import bundle_store
from astronomer_control_plane.access import Deployer, agent_deployment, deploy_access, deployer
from astronomer_control_plane.context import ControlPlane, control_plane
from astronomer_control_plane.schemas import ImageDeployIn
from astronomer_control_plane.services import deploys as svc
from astronomer_plugins.control_plane.models import BundleRef, BundleServed, Deploy

Id = Annotated[str, Path(max_length=40)]
CP = Depends(control_plane)
DEPLOYER = Depends(deployer)
READER = Depends(deploy_access)
AGENT = Depends(agent_deployment)
Description = Annotated[str, Query(max_length=1000, pattern=r"^[^\x00]*$")]
GitCommit = Annotated[str | None, Query(min_length=4, max_length=64, pattern=r"^[0-9a-fA-F]+$")]

router = APIRouter(prefix="/v1/organizations/{org}/deployments/{deployment}/deploys", tags=["deploys"])

# The body is streamed into storage (bundle_store.receive), so FastAPI does not see it: document it.
_BUNDLE_BODY = {
    "required": True,
    "content": {"application/gzip": {"schema": {"type": "string", "format": "binary"}}},
    "description": "The bundle: a tar.gz of dags/ (required), include/ and plugins/.",
}


@router.post("", status_code=201, openapi_extra={"requestBody": _BUNDLE_BODY})
async def create_dag_deploy(
    request: Request,
    org: Id,
    deployment: Id,
    description: Description = "",
    git_commit: GitCommit = None,
    x_bundle_sha256: Annotated[str | None, Header(max_length=64)] = None,
    caller: Deployer = DEPLOYER,
    cp: ControlPlane = CP,
) -> Deploy:
    """Upload a DAG bundle (raw tar.gz body, `Content-Type: application/gzip`); it becomes the
    deployment's current bundle. Checked before it is stored; a refused bundle is not kept."""
    stored = await bundle_store.receive(request, cp.settings, declared_sha256=x_bundle_sha256)
    return await run_in_threadpool(
        svc.create_dag_deploy, cp, caller, stored, description=description, git_commit=git_commit
    )


@router.post("/image", status_code=201)
def create_image_deploy(
    body: ImageDeployIn, org: Id, deployment: Id, caller: Deployer = DEPLOYER, cp: ControlPlane = CP
) -> Deploy:
    """Record an image deploy: its release must be in the catalog and not yanked."""
    return svc.create_image_deploy(cp, caller, body)


@router.get("")
def list_deploys(org: Id, deployment: Id, caller: Deployer = READER, cp: ControlPlane = CP) -> list[Deploy]:
    """The deployment's deploys, newest first (the last 100)."""
    return svc.history(cp, caller.deployment_id)


@router.get("/{deploy_id}")
def get_deploy(
    org: Id, deployment: Id, deploy_id: Id, caller: Deployer = READER, cp: ControlPlane = CP
) -> Deploy:
    """One deploy; `served_at` is set once the deployment's dag-processor serves its bundle."""
    return svc.get(cp, caller.deployment_id, deploy_id)


@router.post("/{deploy_id}/rollback", status_code=201)
def rollback(
    org: Id,
    deployment: Id,
    deploy_id: Id,
    description: Description = "",
    caller: Deployer = DEPLOYER,
    cp: ControlPlane = CP,
) -> Deploy:
    """Make an earlier DAG deploy's bundle current again, as a new deploy (rollback_of names it)."""
    return svc.rollback(cp, caller, deploy_id, description=description)


agent_router = APIRouter(prefix="/v1/deployments/{deployment_id}", tags=["deployments"])


@agent_router.get("/bundle")
def current_bundle(deployment: str = AGENT, cp: ControlPlane = CP) -> BundleRef:
    """The bundle of the deployment's current DAG deploy (404 before its first DAG deploy)."""
    return svc.current_bundle(cp, deployment)


@agent_router.put("/bundle/served", status_code=204)
def bundle_served(body: BundleServed, deployment: str = AGENT, cp: ControlPlane = CP) -> None:
    """The deployment's dag-processor serves this bundle version: its deploy records when (once)."""
    svc.mark_served(cp, deployment, body.version)


@agent_router.get("/deploys")
def agent_deploy_history(deployment: str = AGENT, cp: ControlPlane = CP) -> list[Deploy]:
    """The deployment's recent deploys, newest first (for the Runtime page)."""
    return svc.history(cp, deployment, limit=20)


@agent_router.get(
    "/bundles/{version}",
    response_class=FileResponse,
    responses={200: {"content": {"application/gzip": {"schema": {"type": "string", "format": "binary"}}}}},
)
def download_bundle(
    version: Annotated[str, Path(max_length=64)], deployment: str = AGENT, cp: ControlPlane = CP
) -> FileResponse:
    """A bundle version deployed to this deployment, streamed, with its sha256 in X-Bundle-SHA256."""
    path = svc.deployed_bundle(cp, deployment, version)
    return FileResponse(
        path,
        media_type="application/gzip",
        filename=f"{version}.tar.gz",
        headers={"X-Bundle-SHA256": version},
    )
