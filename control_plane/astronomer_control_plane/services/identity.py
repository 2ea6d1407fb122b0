"""OAuth 2.0 authorization-code flow with PKCE (S256), and the tokens the control plane signs."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
import uuid
from typing import Any, cast
from urllib.parse import urlencode, urlsplit

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.orm import Session

from astronomer_control_plane import roles
from astronomer_control_plane.context import ControlPlane
from astronomer_control_plane.errors import BadRequest, NotFound
from astronomer_control_plane.orm import (
    ApiToken,
    AuthorizationCode,
    Deployment,
    IssuedUserToken,
    Organization,
    RoleBinding,
    User,
    utcnow,
)
from astronomer_control_plane.schemas import TokenResponse
from astronomer_control_plane.secrets_store import digest
from astronomer_control_plane.services import revocations
from astronomer_plugins.control_plane.models import AstroRoles, DagGrant, TokenKind

_PKCE_VERIFIER_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def discovery(cp: ControlPlane) -> dict[str, Any]:
    issuer = cp.issuer
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/oauth/token",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "end_session_endpoint": f"{issuer}/logout",
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code"],
        "code_challenge_methods_supported": ["S256"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["none"],
        "subject_types_supported": ["public"],
    }


CALLBACK_PATH = "/auth/callback"


def callback_url(deployment: Deployment) -> str:
    """The one redirect URI a deployment may ask for: its Airflow's login callback. Compared as a
    string, never resolved or prefix-matched: `<base>/%2e%2e/other/cb` leaves the deployment in a browser."""
    return deployment.base_url.rstrip("/") + CALLBACK_PATH


def check_client(session: Session, client_id: str, redirect_uri: str) -> Deployment:
    """The deployment asking for a login, after checking its redirect URI. Errors never redirect."""
    deployment = session.get(Deployment, client_id)
    if deployment is None:
        raise NotFound(f"unknown client_id {client_id!r}", field="client_id")
    if redirect_uri != callback_url(deployment):
        raise BadRequest(f"redirect_uri must be exactly {callback_url(deployment)}", field="redirect_uri")
    return deployment


CLI_CLIENT_ID = "astro-runtime-cli"
CLI_CALLBACK_PATH = "/callback"


def check_cli_redirect(redirect_uri: str) -> None:
    """The command line's loopback redirect (RFC 8252 §7.3): any port, but exactly
    `http://127.0.0.1:<port>/callback`, so a code never leaves the machine that asked for it."""
    try:
        port = urlsplit(redirect_uri).port
    except ValueError:
        port = None
    if port is None or redirect_uri != f"http://127.0.0.1:{port}{CLI_CALLBACK_PATH}":
        raise BadRequest(
            f"redirect_uri of {CLI_CLIENT_ID} must be exactly http://127.0.0.1:<port>{CLI_CALLBACK_PATH}",
            field="redirect_uri",
        )


def all_users(session: Session) -> list[tuple[User, str]]:
    """(user, organization name) for the command line's picker (development only, like the other)."""
    rows = session.execute(
        select(User, Organization.name)
        .join(Organization, Organization.id == User.organization_id)
        .order_by(Organization.name, User.email)
    )
    return [(user, name) for user, name in rows.tuples()]


def logout_link(session: Session, client_id: str | None) -> tuple[str, str] | None:
    """(deployment name, base URL) to offer after logout when `client_id` names a known deployment.
    Only the base URL stored for it is ever linked (no caller-supplied URL, no redirect)."""
    deployment = session.get(Deployment, client_id) if client_id else None
    return (deployment.name, deployment.base_url) if deployment is not None else None


def check_pkce_request(code_challenge: str, code_challenge_method: str, response_type: str) -> None:
    if response_type != "code":
        raise BadRequest("response_type must be 'code'", field="response_type")
    if code_challenge_method != "S256":
        raise BadRequest("code_challenge_method must be 'S256'", field="code_challenge_method")
    if not 43 <= len(code_challenge) <= 128:
        raise BadRequest(
            "code_challenge must be a base64url SHA-256 digest (43 characters)", field="code_challenge"
        )


def org_users(session: Session, deployment: Deployment) -> list[User]:
    return list(
        session.scalars(
            select(User).where(User.organization_id == deployment.organization_id).order_by(User.email)
        )
    )


def issue_code(
    cp: ControlPlane, *, client_id: str, redirect_uri: str, state: str, code_challenge: str, user_id: str
) -> str:
    """Record a one-time code for the chosen user; return the redirect back to the deployment."""
    with cp.transaction() as session:
        deployment: Deployment | None = None
        if client_id == CLI_CLIENT_ID:
            check_cli_redirect(redirect_uri)
            user = session.get(User, user_id)
        else:
            deployment = check_client(session, client_id, redirect_uri)
            user = session.get(User, user_id)
        if user is None or (deployment is not None and user.organization_id != deployment.organization_id):
            raise NotFound(f"unknown user {user_id!r}", field="user_id")
        # Unused codes expire after code_lifetime; expired ones (used or not) are deleted here.
        session.execute(delete(AuthorizationCode).where(AuthorizationCode.expires_at < utcnow()))
        code = secrets.token_urlsafe(32)
        session.add(
            AuthorizationCode(
                code_hash=digest(code),
                deployment_id=deployment.id if deployment is not None else None,
                user_id=user.id,
                redirect_uri=redirect_uri,
                code_challenge=code_challenge,
                expires_at=utcnow() + cp.settings.code_lifetime,
            )
        )
    return f"{redirect_uri}?{urlencode({'code': code, 'state': state})}"


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def exchange_code(
    cp: ControlPlane, *, grant_type: str, code: str, redirect_uri: str, client_id: str, code_verifier: str
) -> TokenResponse:
    if grant_type != "authorization_code":
        raise BadRequest("grant_type must be 'authorization_code'", field="grant_type")
    if not (43 <= len(code_verifier) <= 128 and set(code_verifier) <= _PKCE_VERIFIER_CHARS):
        raise BadRequest("code_verifier must be 43-128 characters of [A-Za-z0-9-._~]", field="code_verifier")
    invalid = BadRequest("the authorization code is invalid, expired or already used", field="code")
    with cp.transaction() as session:
        # Single use, decided by the database: of concurrent redemptions one updates the row, the
        # others find `used` already true (the UPDATE is this transaction's first statement, so on
        # SQLite it waits for the write lock rather than reading a stale snapshot). The code stays
        # burnt even when the checks below fail.
        update_result = session.execute(
            update(AuthorizationCode)
            .where(
                AuthorizationCode.code_hash == digest(code),
                AuthorizationCode.used.is_(False),
                AuthorizationCode.expires_at >= utcnow(),
            )
            .values(used=True)
            .execution_options(synchronize_session=False)
        )
        # An UPDATE's result is a CursorResult (rowcount); Session.execute is typed for any statement.
        claimed = cast(CursorResult[Any], update_result)
        if claimed.rowcount != 1:
            raise invalid
        record = session.get(AuthorizationCode, digest(code))
        assert record is not None
        expected_client = record.deployment_id if record.deployment_id is not None else CLI_CLIENT_ID
        if expected_client != client_id or record.redirect_uri != redirect_uri:
            error: BadRequest | None = invalid
        elif not hmac.compare_digest(_s256(code_verifier), record.code_challenge):
            error = BadRequest("code_verifier does not match the code_challenge", field="code_verifier")
        else:
            error = None
            user = session.get(User, record.user_id)
            deployment = session.get(Deployment, record.deployment_id) if record.deployment_id else None
            assert user is not None
            # The organization's revocation lock before reading the roles: a role change either
            # commits first (this token carries the new roles) or waits for this token to commit
            # and then revokes it with the user's other live tokens (management._revoke_user_tokens).
            revocations.lock(session, user.organization_id)
            lifetime = cp.settings.user_token_lifetime
            if deployment is None:
                claims = cli_user_claims(session, cp.issuer, user, lifetime)
            else:
                claims = user_claims(session, cp.issuer, user, deployment, lifetime)
            token = cp.keys.sign(session, claims)
            session.add(
                IssuedUserToken(
                    jti=claims["jti"],
                    user_id=user.id,
                    organization_id=user.organization_id,
                    expires_at=dt.datetime.fromtimestamp(claims["exp"], dt.UTC),
                )
            )
    if error is not None:
        raise error
    return TokenResponse(access_token=token, expires_in=int(lifetime.total_seconds()))


def _base_claims(issuer: str, subject: str, audience: str, lifetime: dt.timedelta) -> dict[str, Any]:
    now = utcnow()
    return {
        "iss": issuer,
        "sub": subject,
        "aud": audience,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
        "jti": uuid.uuid4().hex,
    }


def deployment_roles(session: Session, user: User, deployment: Deployment) -> AstroRoles:
    """Only the grants that matter for this deployment: keeps tokens small and need-to-know."""
    bindings = list(session.scalars(select(RoleBinding).where(RoleBinding.user_id == user.id)))

    def scoped(scope: str, scope_id: str) -> list[str]:
        return [
            b.role for b in bindings if b.scope == scope and b.scope_id == scope_id and not _is_dag_grant(b)
        ]

    dags = [
        DagGrant(role=b.role, dag_id=b.dag_id, prefix=b.dag_prefix, tag=b.dag_tag)
        for b in bindings
        if b.scope == "deployment" and b.scope_id == deployment.id and _is_dag_grant(b)
    ]
    return AstroRoles(
        organization=roles.highest("organization", scoped("organization", deployment.organization_id)),
        workspace=roles.highest("workspace", scoped("workspace", deployment.workspace_id)),
        deployment=roles.highest("deployment", scoped("deployment", deployment.id)),
        dags=dags,
    )


def _is_dag_grant(binding: RoleBinding) -> bool:
    return any(s is not None for s in (binding.dag_id, binding.dag_prefix, binding.dag_tag))


def user_claims(
    session: Session, issuer: str, user: User, deployment: Deployment, lifetime: dt.timedelta
) -> dict[str, Any]:
    return {
        **_base_claims(issuer, user.id, deployment.id, lifetime),
        "name": user.name,
        "email": user.email,
        "astro_kind": TokenKind.USER.value,
        "astro_org": deployment.organization_id,
        "astro_roles": deployment_roles(session, user, deployment).model_dump(
            exclude_none=True, exclude_defaults=True
        ),
    }


def cli_user_claims(session: Session, issuer: str, user: User, lifetime: dt.timedelta) -> dict[str, Any]:
    """The command line's token: organization-wide (`organization:<org>` audience, as wider API tokens),
    carrying only the organization role; workspace and deployment roles are looked up per request."""
    bindings = session.scalars(
        select(RoleBinding.role).where(
            RoleBinding.user_id == user.id,
            RoleBinding.scope == "organization",
            RoleBinding.scope_id == user.organization_id,
        )
    )
    org_role = roles.highest("organization", list(bindings))
    return {
        **_base_claims(issuer, user.id, f"organization:{user.organization_id}", lifetime),
        "name": user.name,
        "email": user.email,
        "astro_kind": TokenKind.USER.value,
        "astro_org": user.organization_id,
        "astro_roles": AstroRoles(organization=org_role).model_dump(exclude_none=True, exclude_defaults=True),
    }


def api_token_audience(scope: str, scope_id: str) -> str:
    """A deployment token's audience is the deployment id; wider tokens name their scope, which a
    deployment accepts when it belongs to it (see the auth manager)."""
    return scope_id if scope == "deployment" else f"{scope}:{scope_id}"


def api_token_claims(issuer: str, token: ApiToken) -> dict[str, Any]:
    claims = _base_claims(issuer, token.id, api_token_audience(token.scope, token.scope_id), dt.timedelta(0))
    claims["exp"] = int(token.expires_at.timestamp())
    roles = AstroRoles(**{token.scope: token.role})
    if token.dag_selectors:
        roles.dags = [DagGrant(role=token.role, **selector) for selector in token.dag_selectors]
        roles.dags_only = True
    return {
        **claims,
        "jti": token.id,
        "name": token.name,
        "astro_kind": TokenKind.API_TOKEN.value,
        "astro_org": token.organization_id,
        "astro_roles": roles.model_dump(exclude_none=True, exclude_defaults=True),
    }
