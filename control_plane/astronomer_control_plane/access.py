"""Who is calling: the bootstrap admin, an organization owner's API token, or a deployment agent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jwt
from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from astronomer_control_plane.context import ControlPlane, control_plane
from astronomer_control_plane.errors import Forbidden, NotFound, Unauthorized
from astronomer_control_plane.orm import AdminCredential, ApiToken, Deployment, Organization
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
        if revocations.is_revoked(session, claims["jti"]):
            raise Unauthorized("the bearer token is not valid")
        audiences = claims.get("aud")
        audiences = set(audiences) if isinstance(audiences, list) else {audiences}
        if deployment is None or not audiences & {
            deployment.id,
            f"workspace:{deployment.workspace_id}",
            f"organization:{deployment.organization_id}",
        }:
            raise NotFound(f"deployment {deployment_id!r} not found", field="deployment_id")
        session.expunge(deployment)
        return deployment
