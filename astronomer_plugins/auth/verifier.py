"""Verification of control-plane tokens: every claim checked, fail closed, never any network or
disk (keys and revocations come from memory, kept fresh by the auth context's background thread)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import jwt

from astronomer_plugins.auth.keys import ALLOWED_ALGORITHMS, JwksCache
from astronomer_plugins.auth.revocations import RevocationList
from astronomer_plugins.auth.user import MalformedRoles, user_from_claims
from astronomer_plugins.errors import TokenRejected

if TYPE_CHECKING:
    from astronomer_plugins.auth.user import AstroUser

MAX_TOKEN_BYTES = 16 * 1024
REQUIRED_CLAIMS = ("iss", "sub", "aud", "exp", "iat", "nbf", "jti", "astro_kind", "astro_org", "astro_roles")
ACCEPTED_KINDS = ("user", "api_token")


@dataclass(frozen=True)
class VerifierSettings:
    issuer: str
    deployment_id: str
    organization_id: str
    workspace_id: str
    leeway: int

    @property
    def audiences(self) -> list[str]:
        """This deployment's id; wider API tokens name their workspace or organization."""
        audiences = [self.deployment_id]
        if self.workspace_id:
            audiences.append(f"workspace:{self.workspace_id}")
        if self.organization_id:
            audiences.append(f"organization:{self.organization_id}")
        return audiences


def _unverified_issuer(token: str) -> str | None:
    try:
        payload = jwt.api_jws.decode_complete(token, options={"verify_signature": False})["payload"]
        issuer = json.loads(payload).get("iss")
    except (jwt.PyJWTError, ValueError, AttributeError):
        return None
    return issuer if isinstance(issuer, str) else None


class ControlPlaneTokenVerifier:
    def __init__(self, settings: VerifierSettings, keys: JwksCache, revocations: RevocationList) -> None:
        self.settings = settings
        self.keys = keys
        self.revocations = revocations

    def claims_to_be_ours(self, token: str) -> bool:
        """Whether a token says it comes from our control plane (then only this verifier may accept it)."""
        return len(token) <= MAX_TOKEN_BYTES and _unverified_issuer(token) == self.settings.issuer

    def verify(self, token: str) -> AstroUser:
        """The token's user (claims checked, `astro_roles` validated into the wire model), or
        TokenRejected naming the reason (never the token)."""
        if len(token) > MAX_TOKEN_BYTES:
            raise TokenRejected(f"the token is larger than {MAX_TOKEN_BYTES} bytes")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenRejected("the token is not a JWT") from None
        if header.get("alg") not in ALLOWED_ALGORITHMS:
            raise TokenRejected(f"algorithm {str(header.get('alg'))[:20]!r} is not allowed")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenRejected("the token has no key id")
        key = self.keys.key(kid)
        settings = self.settings
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=list(ALLOWED_ALGORITHMS),
                audience=settings.audiences,
                issuer=settings.issuer,
                leeway=settings.leeway,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.PyJWTError as exc:
            raise TokenRejected(f"the token is not valid: {type(exc).__name__}: {exc}") from None
        if not isinstance(claims["iat"], int | float) or claims["iat"] > time.time() + settings.leeway:
            raise TokenRejected("the token was issued in the future")
        if claims["astro_kind"] not in ACCEPTED_KINDS:
            raise TokenRejected(f"tokens of kind {str(claims['astro_kind'])[:32]!r} cannot call Airflow")
        if settings.organization_id and claims["astro_org"] != settings.organization_id:
            raise TokenRejected("the token belongs to another organization")
        if claims["astro_kind"] == "user" and claims["aud"] != settings.deployment_id:
            raise TokenRejected("a user token must be issued for this deployment")
        try:
            user = user_from_claims(claims)
        except MalformedRoles as exc:
            raise TokenRejected(str(exc)) from None
        self.check_not_revoked(str(claims["jti"]))
        return user

    def check_not_revoked(self, jti: str) -> None:
        """Refuse a revoked jti, and any jti while the revocation list is stale (fail closed); also
        used for Airflow sessions derived from a control-plane token."""
        self.revocations.check_fresh()
        if self.revocations.is_revoked(jti):
            raise TokenRejected("the token has been revoked")
