"""The management API under /v1/organizations, modelled on Astro's public API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from astronomer_control_plane.access import Caller, Viewer, management_caller, viewer
from astronomer_control_plane.context import ControlPlane, control_plane
from astronomer_control_plane.schemas import (
    AgentTokenOut,
    ApiTokenCreated,
    ApiTokenIn,
    ApiTokenOut,
    ClusterIn,
    ClusterOut,
    DeploymentCreated,
    DeploymentIn,
    DeploymentOut,
    OrganizationIn,
    OrganizationOut,
    UserIn,
    UserOut,
    UserRolesIn,
    WorkspaceIn,
    WorkspaceOut,
)
from astronomer_control_plane.services import management as svc

router = APIRouter(prefix="/v1/organizations", tags=["management"])
Id = Annotated[str, Path(max_length=40)]
CP = Depends(control_plane)
CALLER = Depends(management_caller)
VIEWER = Depends(viewer)


@router.post("", status_code=201)
def create_organization(
    body: OrganizationIn, cp: ControlPlane = CP, caller: Caller = CALLER
) -> OrganizationOut:
    return svc.create_organization(cp, caller, body)


@router.get("")
def list_organizations(cp: ControlPlane = CP, caller: Caller = CALLER) -> list[OrganizationOut]:
    return svc.list_organizations(cp, caller)


@router.get("/{org}")
def get_organization(org: Id, cp: ControlPlane = CP, caller: Caller = CALLER) -> OrganizationOut:
    return svc.get_organization(cp, caller, org)


@router.post("/{org}/workspaces", status_code=201)
def create_workspace(
    body: WorkspaceIn, org: Id, cp: ControlPlane = CP, caller: Caller = CALLER
) -> WorkspaceOut:
    return svc.create_workspace(cp, caller, org, body)


@router.get("/{org}/workspaces")
def list_workspaces(org: Id, cp: ControlPlane = CP, seer: Viewer = VIEWER) -> list[WorkspaceOut]:
    """All of them for the admin and ORGANIZATION_OWNER; for any other user or API token of the
    organization, those it has a role in or reaches a deployment of."""
    return svc.list_workspaces(cp, seer, org)


@router.post("/{org}/clusters", status_code=201)
def create_cluster(body: ClusterIn, org: Id, cp: ControlPlane = CP, caller: Caller = CALLER) -> ClusterOut:
    return svc.create_cluster(cp, caller, org, body)


@router.get("/{org}/clusters")
def list_clusters(org: Id, cp: ControlPlane = CP, caller: Caller = CALLER) -> list[ClusterOut]:
    return svc.list_clusters(cp, caller, org)


@router.get("/{org}/clusters/{cluster}")
def get_cluster(org: Id, cluster: Id, cp: ControlPlane = CP, caller: Caller = CALLER) -> ClusterOut:
    return svc.get_cluster(cp, caller, org, cluster)


@router.post("/{org}/deployments", status_code=201)
def create_deployment(
    body: DeploymentIn, org: Id, cp: ControlPlane = CP, caller: Caller = CALLER
) -> DeploymentCreated:
    return svc.create_deployment(cp, caller, org, body)


@router.get("/{org}/deployments")
def list_deployments(org: Id, cp: ControlPlane = CP, seer: Viewer = VIEWER) -> list[DeploymentOut]:
    """All of them for the admin and ORGANIZATION_OWNER; for any other user or API token of the
    organization, those its roles reach."""
    return svc.list_deployments(cp, seer, org)


@router.get("/{org}/deployments/{deployment}")
def get_deployment(org: Id, deployment: Id, cp: ControlPlane = CP, caller: Caller = CALLER) -> DeploymentOut:
    return svc.get_deployment(cp, caller, org, deployment)


@router.post("/{org}/deployments/{deployment}/agent-token", status_code=201)
def rotate_agent_token(
    org: Id, deployment: Id, cp: ControlPlane = CP, caller: Caller = CALLER
) -> AgentTokenOut:
    return AgentTokenOut(agent_token=svc.rotate_agent_token(cp, caller, org, deployment))


@router.post("/{org}/users", status_code=201)
def create_user(body: UserIn, org: Id, cp: ControlPlane = CP, caller: Caller = CALLER) -> UserOut:
    return svc.create_user(cp, caller, org, body)


@router.get("/{org}/users")
def list_users(org: Id, cp: ControlPlane = CP, caller: Caller = CALLER) -> list[UserOut]:
    return svc.list_users(cp, caller, org)


@router.get("/{org}/users/{user}")
def get_user(org: Id, user: Id, cp: ControlPlane = CP, caller: Caller = CALLER) -> UserOut:
    return svc.get_user(cp, caller, org, user)


@router.put("/{org}/users/{user}/roles")
def set_user_roles(
    body: UserRolesIn, org: Id, user: Id, cp: ControlPlane = CP, caller: Caller = CALLER
) -> UserOut:
    return svc.set_user_roles(cp, caller, org, user, body.roles)


@router.post("/{org}/tokens", status_code=201)
def create_api_token(
    body: ApiTokenIn, org: Id, cp: ControlPlane = CP, caller: Caller = CALLER
) -> ApiTokenCreated:
    return svc.create_api_token(cp, caller, org, body)


@router.get("/{org}/tokens")
def list_api_tokens(org: Id, cp: ControlPlane = CP, caller: Caller = CALLER) -> list[ApiTokenOut]:
    return svc.list_api_tokens(cp, caller, org)


@router.delete("/{org}/tokens/{token}")
def revoke_api_token(org: Id, token: Id, cp: ControlPlane = CP, caller: Caller = CALLER) -> ApiTokenOut:
    return svc.revoke_api_token(cp, caller, org, token)
