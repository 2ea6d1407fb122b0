"""Who is calling: the bootstrap admin, an organization owner's API token, a deployment agent, or
(at a deployment's deploys) a user or API token with a role on that deployment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jwt
from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from astronomer_control_plane.context import ControlPlane, control_plane
from astronomer_control_plane.errors import Forbidden, NotFound, Unauthorized
from astronomer_control_plane.orm import (
    AdminCredential,
    ApiToken,
    Deployment,
    Organization,
    RoleBinding,
    User,
)
from astronomer_control_plane.secrets_store import digest
from astronomer_control_plane.services import revocations


@dataclass(frozen=True)
class Caller:
    superuser: bool
    organization_id: str | None = None

    def require_organization(self, organization_id: str) -> None:
        """Other organizations' resources look absent (404), not forbidden: no enumeration."""
        if not self.superuser and self.organization_id != organization_id:
            raise NotFound(f"organization {organization_id!r} not found", field="organization_id")


def bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send 'Authorization: Bearer <token>'")
    return token.strip()


def verify_own_token(cp: ControlPlane, session: Session, token: str) -> dict[str, Any]:
    """Claims of a token this control plane signed; raises Unauthorized for anything else."""
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.PyJWTError:
        raise Unauthorized("the bearer token is not valid") from None
    public_key = cp.keys.public_key(session, kid) if isinstance(kid, str) else None
    if public_key is None:
        raise Unauthorized("the bearer token is not valid")
    try:
        return jwt.decode(
            token,
            public_key,
            algorithms=["RS256"],
            issuer=cp.issuer,
            options={"require": ["exp", "iat", "nbf", "iss", "sub", "jti"], "verify_aud": False},
        )
    except jwt.PyJWTError:
        raise Unauthorized("the bearer token is not valid") from None


def management_caller(request: Request, cp: ControlPlane = Depends(control_plane)) -> Caller:
    """The admin token (any organization) or an ORGANIZATION_OWNER API token (its organization)."""
    token = bearer_token(request)
    with cp.transaction() as session:
        if session.scalar(select(AdminCredential).where(AdminCredential.token_hash == digest(token))):
            return Caller(superuser=True)
        if token.count(".") != 2:
            raise Unauthorized("the bearer token is not valid")
        claims = verify_own_token(cp, session, token)
        record = session.get(ApiToken, claims["sub"])
        if claims.get("astro_kind") != "api_token" or record is None or record.revoked_at is not None:
            raise Unauthorized("the bearer token is not valid")
        if record.scope != "organization" or record.role != "ORGANIZATION_OWNER":
            raise Forbidden("the management API needs an ORGANIZATION_OWNER token or the admin token")
        if session.get(Organization, record.organization_id) is None:
            raise Unauthorized("the bearer token is not valid")
        return Caller(superuser=False, organization_id=record.organization_id)


def agent_deployment(deployment_id: str, request: Request, cp: ControlPlane = Depends(control_plane)) -> str:
    """The deployment whose agent token was presented; it must be the one in the path."""
    token = bearer_token(request)
    with cp.transaction() as session:
        deployment = session.scalar(select(Deployment).where(Deployment.agent_token_hash == digest(token)))
    if deployment is None:
        raise Unauthorized("the agent token is not valid")
    if deployment.id != deployment_id:
        raise Forbidden("this agent token belongs to another deployment")
    return deployment.id


def api_token_deployment(
    deployment_id: str, request: Request, cp: ControlPlane = Depends(control_plane)
) -> Deployment:
    """A deployment that the presented API token (or user token) was issued for. Revoked tokens of
    either kind are refused (user tokens are revoked when the user's roles change)."""
    token = bearer_token(request)
    with cp.transaction() as session:
        claims = verify_own_token(cp, session, token)
        deployment = session.get(Deployment, deployment_id)
        if claims.get("astro_kind") == "api_token":
            record = session.get(ApiToken, claims["sub"])
            if record is None or record.revoked_at is not None:
                raise Unauthorized("the bearer token is not valid")
        _refuse_revoked(session, claims)
        if deployment is None or not _reaches(_audiences(claims), deployment):
            raise NotFound(f"deployment {deployment_id!r} not found", field="deployment_id")
        session.expunge(deployment)
        return deployment


# Deploys: who may read a deployment's deploy history, and who may deploy to it.
WORKSPACE_DEPLOYERS = ("WORKSPACE_AUTHOR", "WORKSPACE_OPERATOR", "WORKSPACE_OWNER")
DEPLOY_ROLES = (
    "WORKSPACE_AUTHOR or above in the deployment's workspace, DEPLOYMENT_ADMIN on the deployment, or "
    "ORGANIZATION_OWNER (API tokens: the same roles, not limited to some DAGs)"
)


@dataclass(frozen=True)
class Deployer:
    """A caller allowed at a deployment's deploys: `author` is what deploy records show."""

    deployment_id: str
    author: str
    may_deploy: bool


Grant = tuple[str, str, str]  # (scope, scope_id, role)


def _audiences(claims: dict[str, Any]) -> set[str]:
    audiences = claims.get("aud")
    if isinstance(audiences, list):
        return {str(audience) for audience in audiences}
    return {audiences} if isinstance(audiences, str) else set()


def _reaches(audiences: set[str] | frozenset[str], deployment: Deployment) -> bool:
    return bool(
        audiences
        & {
            deployment.id,
            f"workspace:{deployment.workspace_id}",
            f"organization:{deployment.organization_id}",
        }
    )


def _refuse_revoked(session: Session, claims: dict[str, Any]) -> None:
    if revocations.is_revoked(session, claims["jti"]):
        raise Unauthorized("the bearer token is not valid")


def _identity(
    session: Session, claims: dict[str, Any], organization_id: str
) -> tuple[str, list[Grant]] | None:
    """(author, grants) of a token this control plane signed and `_refuse_revoked` let through,
    read from the database (a user's current bindings, an API token's record); None for an API
    token of another organization. Refused (401) when unknown."""
    kind = claims.get("astro_kind")
    if kind == "api_token":
        token = session.get(ApiToken, claims["sub"])
        if token is None or token.revoked_at is not None:
            raise Unauthorized("the bearer token is not valid")
        if token.organization_id != organization_id:
            return None
        if token.dag_selectors:  # a token limited to some DAGs cannot replace all of them
            return f"{token.name} (API token {token.id})", []
        return f"{token.name} (API token {token.id})", [(token.scope, token.scope_id, token.role)]
    if kind == "user":
        user = session.get(User, claims["sub"])
        if user is None or user.organization_id != organization_id:
            raise Unauthorized("the bearer token is not valid")
        bindings = session.scalars(
            select(RoleBinding).where(
                RoleBinding.user_id == user.id,
                RoleBinding.dag_id.is_(None),
                RoleBinding.dag_prefix.is_(None),
                RoleBinding.dag_tag.is_(None),
            )
        )
        return user.email, [(b.scope, b.scope_id, b.role) for b in bindings]
    raise Unauthorized("the bearer token is not valid")


def _grants(session: Session, claims: dict[str, Any], deployment: Deployment) -> tuple[str, list[Grant]]:
    """(author, grants) of the caller at `deployment`; 404 when its token does not reach it."""
    missing = NotFound(f"deployment {deployment.id!r} not found", field="deployment_id")
    _refuse_revoked(session, claims)
    if not _reaches(_audiences(claims), deployment):
        raise missing
    identity = _identity(session, claims, deployment.organization_id)
    if identity is None:
        raise missing
    return identity


def _may(grants: list[Grant] | tuple[Grant, ...], deployment: Deployment, *, deploy: bool) -> bool:
    for scope, scope_id, role in grants:
        if (scope, scope_id, role) == ("organization", deployment.organization_id, "ORGANIZATION_OWNER"):
            return True
        if (scope, scope_id, role) == ("deployment", deployment.id, "DEPLOYMENT_ADMIN"):
            return True
        if scope == "workspace" and scope_id == deployment.workspace_id:
            if not deploy or role in WORKSPACE_DEPLOYERS:
                return True
    return False


def deploy_access(
    org: str, deployment: str, request: Request, cp: ControlPlane = Depends(control_plane)
) -> Deployer:
    """The admin token, or a user or API token whose grants reach the deployment: WORKSPACE_AUTHOR
    and above, DEPLOYMENT_ADMIN and ORGANIZATION_OWNER may deploy; WORKSPACE_MEMBER may read."""
    token = bearer_token(request)
    with cp.transaction() as session:
        record = session.get(Deployment, deployment)
        if session.scalar(select(AdminCredential).where(AdminCredential.token_hash == digest(token))):
            if record is None or record.organization_id != org:
                raise NotFound(f"deployment {deployment!r} not found", field="deployment_id")
            return Deployer(deployment_id=record.id, author="admin", may_deploy=True)
        if token.count(".") != 2:
            raise Unauthorized("the bearer token is not valid")
        claims = verify_own_token(cp, session, token)
        if record is None or record.organization_id != org:
            raise NotFound(f"deployment {deployment!r} not found", field="deployment_id")
        author, grants = _grants(session, claims, record)
        if not _may(grants, record, deploy=False):
            raise Forbidden(
                f"no role on deployment {record.id!r}: reading its deploys needs a role in its workspace; "
                f"deploying needs {DEPLOY_ROLES}"
            )
        return Deployer(deployment_id=record.id, author=author, may_deploy=_may(grants, record, deploy=True))


def deployer(deployer: Deployer = Depends(deploy_access)) -> Deployer:
    """A caller who may deploy (WORKSPACE_MEMBER and DAG-limited tokens get 403)."""
    if not deployer.may_deploy:
        raise Forbidden(f"deploying needs {DEPLOY_ROLES}")
    return deployer


# Listing an organization's workspaces and deployments: what a caller's roles reach.
@dataclass(frozen=True)
class Viewer:
    """The admin and an ORGANIZATION_OWNER see the whole organization (grants None); any other user
    or API token of it sees the deployments its roles and its token's audience reach, and their
    workspaces (plus workspaces it has a role in)."""

    caller: Caller
    grants: tuple[Grant, ...] | None = None
    audiences: frozenset[str] = frozenset()

    def sees(self, deployment: Deployment) -> bool:
        if self.grants is None:
            return True
        return _reaches(self.audiences, deployment) and _may(self.grants, deployment, deploy=False)

    def has_role_in_workspace(self, workspace_id: str) -> bool:
        if self.grants is None:
            return True
        reached = {f"workspace:{workspace_id}", f"organization:{self.caller.organization_id}"}
        return bool(self.audiences & reached) and any(
            (scope, scope_id) == ("workspace", workspace_id) for scope, scope_id, _ in self.grants
        )


def viewer(org: str, request: Request, cp: ControlPlane = Depends(control_plane)) -> Viewer:
    """Who lists `org`'s workspaces or deployments (GET only): see Viewer."""
    token = bearer_token(request)
    with cp.transaction() as session:
        if session.scalar(select(AdminCredential).where(AdminCredential.token_hash == digest(token))):
            return Viewer(Caller(superuser=True))
        if token.count(".") != 2:
            raise Unauthorized("the bearer token is not valid")
        claims = verify_own_token(cp, session, token)
        _refuse_revoked(session, claims)
        identity = _identity(session, claims, org)
        if identity is None:
            raise NotFound(f"organization {org!r} not found", field="organization_id")
        _, grants = identity
        audiences = frozenset(_audiences(claims))
        caller = Caller(superuser=False, organization_id=org)
        if ("organization", org, "ORGANIZATION_OWNER") in grants and f"organization:{org}" in audiences:
            return Viewer(caller)
        return Viewer(caller, tuple(grants), audiences)
