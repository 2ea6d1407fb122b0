"""Organizations, workspaces, clusters, deployments, users with their roles, and API tokens."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from astronomer_control_plane import roles
from astronomer_control_plane.access import Caller, Viewer
from astronomer_control_plane.context import ControlPlane
from astronomer_control_plane.errors import BadRequest, Conflict, Forbidden, NotFound
from astronomer_control_plane.orm import (
    ApiToken,
    Cluster,
    Deployment,
    IssuedUserToken,
    Organization,
    RoleBinding,
    User,
    Workspace,
    new_id,
    utcnow,
)
from astronomer_control_plane.schemas import (
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
    RoleBindingIn,
    RoleBindingOut,
    UserIn,
    UserOut,
    WorkspaceIn,
    WorkspaceOut,
)
from astronomer_control_plane.secrets_store import digest, new_secret
from astronomer_control_plane.services import revocations
from astronomer_control_plane.services.identity import api_token_claims


def _organization(session: Session, caller: Caller, organization_id: str) -> Organization:
    caller.require_organization(organization_id)
    organization = session.get(Organization, organization_id)
    if organization is None:
        raise NotFound(f"organization {organization_id!r} not found", field="organization_id")
    return organization


# The records that belong to one organization.
Owned = TypeVar("Owned", Workspace, Deployment, User, ApiToken, Cluster)


def _in_organization(
    session: Session, model: type[Owned], record_id: str, organization_id: str, field: str
) -> Owned:
    record = session.get(model, record_id)
    if record is None or record.organization_id != organization_id:
        raise NotFound(f"{field.removesuffix('_id')} {record_id!r} not found", field=field)
    return record


def _unique(session: Session, query: Select[Any], field: str, value: str) -> None:
    if session.scalar(query) is not None:
        raise Conflict(f"{field} {value!r} already exists", field=field)


# Organizations
def create_organization(cp: ControlPlane, caller: Caller, body: OrganizationIn) -> OrganizationOut:
    if not caller.superuser:
        raise Forbidden("only the admin token creates organizations")
    with cp.transaction() as session:
        _unique(session, select(Organization).where(Organization.name == body.name), "name", body.name)
        organization = Organization(name=body.name)
        session.add(organization)
        session.flush()
        return OrganizationOut.model_validate(organization)


def list_organizations(cp: ControlPlane, caller: Caller) -> list[OrganizationOut]:
    with cp.transaction() as session:
        query = select(Organization).order_by(Organization.name)
        if not caller.superuser:
            query = query.where(Organization.id == caller.organization_id)
        return [OrganizationOut.model_validate(o) for o in session.scalars(query)]


def get_organization(cp: ControlPlane, caller: Caller, organization_id: str) -> OrganizationOut:
    with cp.transaction() as session:
        return OrganizationOut.model_validate(_organization(session, caller, organization_id))


# Workspaces
def create_workspace(
    cp: ControlPlane, caller: Caller, organization_id: str, body: WorkspaceIn
) -> WorkspaceOut:
    with cp.transaction() as session:
        _organization(session, caller, organization_id)
        _unique(
            session,
            select(Workspace).where(
                Workspace.organization_id == organization_id, Workspace.name == body.name
            ),
            "name",
            body.name,
        )
        workspace = Workspace(organization_id=organization_id, name=body.name)
        session.add(workspace)
        session.flush()
        return WorkspaceOut.model_validate(workspace)


def list_workspaces(cp: ControlPlane, viewer: Viewer, organization_id: str) -> list[WorkspaceOut]:
    """The organization's workspaces the viewer has a role in or sees a deployment of."""
    with cp.transaction() as session:
        _organization(session, viewer.caller, organization_id)
        query = select(Workspace).where(Workspace.organization_id == organization_id).order_by(Workspace.name)
        deployments = select(Deployment).where(Deployment.organization_id == organization_id)
        seen = {d.workspace_id for d in session.scalars(deployments) if viewer.sees(d)}
        return [
            WorkspaceOut.model_validate(w)
            for w in session.scalars(query)
            if w.id in seen or viewer.has_role_in_workspace(w.id)
        ]


# Clusters
LOCAL_CLUSTER = "local"


def create_cluster(cp: ControlPlane, caller: Caller, organization_id: str, body: ClusterIn) -> ClusterOut:
    with cp.transaction() as session:
        _organization(session, caller, organization_id)
        _unique(
            session,
            select(Cluster).where(Cluster.organization_id == organization_id, Cluster.name == body.name),
            "name",
            body.name,
        )
        cluster = Cluster(organization_id=organization_id, **body.model_dump())
        session.add(cluster)
        session.flush()
        return ClusterOut.model_validate(cluster)


def list_clusters(cp: ControlPlane, caller: Caller, organization_id: str) -> list[ClusterOut]:
    with cp.transaction() as session:
        _organization(session, caller, organization_id)
        query = select(Cluster).where(Cluster.organization_id == organization_id).order_by(Cluster.name)
        return [ClusterOut.model_validate(c) for c in session.scalars(query)]


def get_cluster(cp: ControlPlane, caller: Caller, organization_id: str, cluster_id: str) -> ClusterOut:
    with cp.transaction() as session:
        _organization(session, caller, organization_id)
        return ClusterOut.model_validate(
            _in_organization(session, Cluster, cluster_id, organization_id, "cluster_id")
        )


def local_cluster(session: Session, organization_id: str) -> Cluster:
    """The organization's `local` cluster (development), made when missing: where deployments go
    when no cluster is named (and where the seed puts its deployment)."""
    cluster = session.scalar(
        select(Cluster).where(Cluster.organization_id == organization_id, Cluster.name == LOCAL_CLUSTER)
    )
    if cluster is None:
        cluster = Cluster(
            organization_id=organization_id,
            name=LOCAL_CLUSTER,
            cloud_provider="local",
            region="local",
            kind="local",
        )
        session.add(cluster)
        session.flush()
    return cluster


# Deployments
def create_deployment(
    cp: ControlPlane, caller: Caller, organization_id: str, body: DeploymentIn
) -> DeploymentCreated:
    with cp.transaction() as session:
        _organization(session, caller, organization_id)
        _in_organization(session, Workspace, body.workspace_id, organization_id, "workspace_id")
        if body.cluster_id is None:
            cluster = local_cluster(session, organization_id)
        else:
            cluster = _in_organization(session, Cluster, body.cluster_id, organization_id, "cluster_id")
        _unique(
            session,
            select(Deployment).where(
                Deployment.workspace_id == body.workspace_id, Deployment.name == body.name
            ),
            "name",
            body.name,
        )
        agent_token = new_secret("astro_agent")
        deployment = Deployment(
            organization_id=organization_id,
            agent_token_hash=digest(agent_token),
            **body.model_dump(exclude={"cluster_id"}),
            cluster_id=cluster.id,
            cluster=cluster.name,
            region=cluster.region,
        )
        session.add(deployment)
        session.flush()
        return DeploymentCreated(deployment=DeploymentOut.model_validate(deployment), agent_token=agent_token)


def list_deployments(cp: ControlPlane, viewer: Viewer, organization_id: str) -> list[DeploymentOut]:
    """The organization's deployments the viewer's roles reach."""
    with cp.transaction() as session:
        _organization(session, viewer.caller, organization_id)
        query = (
            select(Deployment).where(Deployment.organization_id == organization_id).order_by(Deployment.name)
        )
        return [DeploymentOut.model_validate(d) for d in session.scalars(query) if viewer.sees(d)]


def get_deployment(
    cp: ControlPlane, caller: Caller, organization_id: str, deployment_id: str
) -> DeploymentOut:
    with cp.transaction() as session:
        _organization(session, caller, organization_id)
        return DeploymentOut.model_validate(
            _in_organization(session, Deployment, deployment_id, organization_id, "deployment_id")
        )


def rotate_agent_token(cp: ControlPlane, caller: Caller, organization_id: str, deployment_id: str) -> str:
    with cp.transaction() as session:
        _organization(session, caller, organization_id)
        deployment = _in_organization(session, Deployment, deployment_id, organization_id, "deployment_id")
        agent_token = new_secret("astro_agent")
        deployment.agent_token_hash = digest(agent_token)
        return agent_token


# Users and roles
def _user_out(session: Session, user: User) -> UserOut:
    bindings = session.scalars(
        select(RoleBinding).where(RoleBinding.user_id == user.id).order_by(RoleBinding.id)
    )
    out = UserOut.model_validate(user)
    out.roles = [RoleBindingOut.model_validate(b) for b in bindings]
    return out


def create_user(cp: ControlPlane, caller: Caller, organization_id: str, body: UserIn) -> UserOut:
    with cp.transaction() as session:
        _organization(session, caller, organization_id)
        _unique(
            session,
            select(User).where(User.organization_id == organization_id, User.email == body.email),
            "email",
            body.email,
        )
        user = User(organization_id=organization_id, **body.model_dump())
        session.add(user)
        session.flush()
        return _user_out(session, user)


def list_users(cp: ControlPlane, caller: Caller, organization_id: str) -> list[UserOut]:
    with cp.transaction() as session:
        _organization(session, caller, organization_id)
        users = session.scalars(
            select(User).where(User.organization_id == organization_id).order_by(User.email)
        )
        return [_user_out(session, u) for u in users]


def get_user(cp: ControlPlane, caller: Caller, organization_id: str, user_id: str) -> UserOut:
    with cp.transaction() as session:
        _organization(session, caller, organization_id)
        return _user_out(session, _in_organization(session, User, user_id, organization_id, "user_id"))


def _check_scope(session: Session, organization_id: str, scope: str, scope_id: str, field: str) -> None:
    models = {"organization": Organization, "workspace": Workspace, "deployment": Deployment}
    record = session.get(models[scope], scope_id)
    owner = record.id if isinstance(record, Organization) else getattr(record, "organization_id", None)
    if record is None or owner != organization_id:
        raise NotFound(f"{scope} {scope_id!r} not found in this organization", field=field)


def _check_binding(session: Session, organization_id: str, binding: RoleBindingIn, index: int) -> None:
    field = f"roles.{index}"
    _check_scope(session, organization_id, binding.scope, binding.scope_id, f"{field}.scope_id")
    is_dag_grant = any(s is not None for s in (binding.dag_id, binding.dag_prefix, binding.dag_tag))
    allowed = roles.DAG_ROLES if is_dag_grant else roles.ROLES_BY_SCOPE[binding.scope]
    if binding.role not in allowed:
        raise BadRequest(f"role {binding.role!r} is not one of {', '.join(allowed)}", field=f"{field}.role")


def set_user_roles(
    cp: ControlPlane, caller: Caller, organization_id: str, user_id: str, bindings: list[RoleBindingIn]
) -> UserOut:
    """Replace all of a user's role bindings at once (all valid, or nothing changes)."""
    with cp.transaction() as session:
        _organization(session, caller, organization_id)
        user = _in_organization(session, User, user_id, organization_id, "user_id")
        for index, binding in enumerate(bindings):
            _check_binding(session, organization_id, binding, index)
        for old in session.scalars(select(RoleBinding).where(RoleBinding.user_id == user.id)):
            session.delete(old)
        session.add_all(RoleBinding(user_id=user.id, **binding.model_dump()) for binding in bindings)
        _revoke_user_tokens(session, user)
        session.flush()
        return _user_out(session, user)


def _revoke_user_tokens(session: Session, user: User) -> None:
    """Tokens carry the roles they were issued with: when roles change, revoke the user's live tokens
    (deployments refuse them after their next revocation poll; the user logs in again)."""
    revocations.lock(session, user.organization_id)
    live = select(IssuedUserToken).where(
        IssuedUserToken.user_id == user.id, IssuedUserToken.expires_at > utcnow()
    )
    for token in list(session.scalars(live)):
        revocations.record(session, user.organization_id, token.jti, token.expires_at)


# API tokens
def create_api_token(
    cp: ControlPlane, caller: Caller, organization_id: str, body: ApiTokenIn
) -> ApiTokenCreated:
    with cp.transaction() as session:
        _organization(session, caller, organization_id)
        _check_scope(session, organization_id, body.scope, body.scope_id, "scope_id")
        if not roles.valid_role(body.scope, body.role):
            allowed = ", ".join(roles.ROLES_BY_SCOPE[body.scope])
            raise BadRequest(f"role {body.role!r} is not one of {allowed}", field="role")
        token = ApiToken(
            id=new_id("tok"),
            organization_id=organization_id,
            name=body.name,
            description=body.description,
            scope=body.scope,
            scope_id=body.scope_id,
            role=body.role,
            token_hash="",
            dag_selectors=[selector.model_dump(exclude_none=True) for selector in body.dags],
            expires_at=utcnow() + dt.timedelta(days=body.expires_in_days),
        )
        secret = cp.keys.sign(session, api_token_claims(cp.issuer, token))
        token.token_hash = digest(secret)
        session.add(token)
        session.flush()
        return ApiTokenCreated(token=ApiTokenOut.model_validate(token), secret=secret)


def list_api_tokens(cp: ControlPlane, caller: Caller, organization_id: str) -> list[ApiTokenOut]:
    with cp.transaction() as session:
        _organization(session, caller, organization_id)
        query = (
            select(ApiToken).where(ApiToken.organization_id == organization_id).order_by(ApiToken.created_at)
        )
        return [ApiTokenOut.model_validate(t) for t in session.scalars(query)]


def revoke_api_token(cp: ControlPlane, caller: Caller, organization_id: str, token_id: str) -> ApiTokenOut:
    """Revoke once; revoking again answers the same token unchanged (idempotent)."""
    with cp.transaction() as session:
        _organization(session, caller, organization_id)
        revocations.lock(session, organization_id)  # before reading revoked_at: two revokes run in turn
        token = _in_organization(session, ApiToken, token_id, organization_id, "token_id")
        if token.revoked_at is None:
            token.revoked_at = utcnow()
            revocations.record(session, organization_id, token.id, token.expires_at)
        session.flush()
        return ApiTokenOut.model_validate(token)
