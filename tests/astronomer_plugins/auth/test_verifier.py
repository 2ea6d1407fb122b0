"""Token verification in process, with a key made here (no control plane, no api-server): one claim
changed at a time, each refusal named; the api-server's attack matrix is test_attacks.py."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from astronomer_plugins.auth.keys import JwksCache
from astronomer_plugins.auth.permissions import Level
from astronomer_plugins.auth.revocations import RevocationList
from astronomer_plugins.auth.verifier import ControlPlaneTokenVerifier, VerifierSettings
from astronomer_plugins.control_plane.models import RevokedToken, RevokedTokenPage
from astronomer_plugins.errors import TokenRejected, VerificationUnavailable

ISSUER = "https://cp.example.com"
SETTINGS = VerifierSettings(
    issuer=ISSUER, deployment_id="dep_1", organization_id="org_1", workspace_id="ws_1", leeway=5
)
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KID = "kid-1"
REVOKED = "jti-revoked"


class Revocations:
    """The revocation endpoint as RevocationList.poll calls it."""

    def __init__(self, *jtis: str) -> None:
        self.jtis = jtis

    def revoked_tokens(self, deployment_id: str, since: str = "") -> RevokedTokenPage:
        now = dt.datetime.now(dt.UTC)
        entries = (
            [RevokedToken(jti=jti, revoked_at=now, expires_at=None) for jti in self.jtis] if not since else []
        )
        return RevokedTokenPage(revoked=entries, cursor="1")


def _jwks() -> dict[str, Any]:
    public = jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key(), as_dict=True)
    return {"keys": [{**public, "kid": KID, "alg": "RS256", "use": "sig"}]}


@pytest.fixture
def verifier() -> ControlPlaneTokenVerifier:
    keys = JwksCache(_jwks, ttl=600, grace=600, min_refresh_interval=30)
    keys.refresh()
    revocations = RevocationList(max_staleness=60)
    revocations.poll(Revocations(REVOKED), SETTINGS.deployment_id)  # type: ignore[arg-type]
    return ControlPlaneTokenVerifier(SETTINGS, keys, revocations)


def _token(*, kid: str = KID, algorithm: str = "RS256", key: Any = KEY, **changes: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": "tok_1",
        "aud": "dep_1",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
        "name": "Robot",
        "astro_kind": "api_token",
        "astro_org": "org_1",
        "astro_roles": {"workspace": "WORKSPACE_OPERATOR"},
    }
    claims.update(changes)
    return jwt.encode(
        {k: v for k, v in claims.items() if v is not None}, key, algorithm=algorithm, headers={"kid": kid}
    )


def test_a_valid_token_is_its_user(verifier: ControlPlaneTokenVerifier) -> None:
    user = verifier.verify(_token(sub="tok_7", name="Robot 7"))
    assert (user.user_id, user.name, user.kind, user.organization_id) == (
        "tok_7",
        "Robot 7",
        "api_token",
        "org_1",
    )
    assert user.level == Level.OPERATOR


def test_a_workspace_token_may_name_the_workspace_as_audience(verifier: ControlPlaneTokenVerifier) -> None:
    assert verifier.verify(_token(aud="workspace:ws_1")).user_id == "tok_1"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"iss": "https://evil.example.com"}, "InvalidIssuerError"),
        ({"aud": "dep_other"}, "InvalidAudienceError"),
        ({"exp": int(time.time()) - 3600}, "ExpiredSignatureError"),
        ({"nbf": int(time.time()) + 3600}, "ImmatureSignatureError"),
        ({"jti": None}, "MissingRequiredClaimError"),
        ({"astro_roles": None}, "MissingRequiredClaimError"),
        ({"iat": int(time.time()) + 3600}, "not yet valid (iat)"),
        ({"astro_kind": "deployment_agent"}, "kind 'deployment_agent' cannot call Airflow"),
        ({"astro_org": "org_other"}, "another organization"),
        ({"astro_kind": "user", "aud": "workspace:ws_1"}, "a user token must be issued for this deployment"),
        (
            {"astro_roles": {"workspace": {"role": "x"}}},
            "astro_roles",
        ),  # malformed grant: a refusal, not a 500
        ({"astro_roles": {"dags": "etl_*"}}, "astro_roles"),
        ({"jti": REVOKED}, "revoked"),
        ({"kid": "kid-unknown"}, "key id is not among"),
        ({"kid": ""}, "no key id"),
        ({"algorithm": "HS256", "key": "k" * 32}, "algorithm 'HS256' is not allowed"),
        ({"key": rsa.generate_private_key(public_exponent=65537, key_size=2048)}, "InvalidSignatureError"),
    ],
)
def test_a_token_wrong_in_one_way_is_refused_with_the_reason(
    verifier: ControlPlaneTokenVerifier, changes: dict[str, Any], reason: str
) -> None:
    with pytest.raises(TokenRejected) as refused:
        verifier.verify(_token(**changes))
    assert not isinstance(refused.value, VerificationUnavailable)
    assert reason in str(refused.value)


def test_garbage_and_oversized_tokens_are_refused(verifier: ControlPlaneTokenVerifier) -> None:
    with pytest.raises(TokenRejected, match="not a JWT"):
        verifier.verify("not-a-token")
    with pytest.raises(TokenRejected, match="larger than"):
        verifier.verify(_token(name="x" * 20_000))


def test_a_stale_revocation_list_refuses_every_token_as_unavailable(
    verifier: ControlPlaneTokenVerifier,
) -> None:
    """Fail closed: a list older than max_staleness cannot prove a token is not revoked (503, not 401)."""
    verifier.revocations._synced_monotonic = time.monotonic() - 61
    with pytest.raises(VerificationUnavailable, match="more than 60s"):
        verifier.verify(_token())


def test_only_tokens_naming_our_issuer_are_claimed(verifier: ControlPlaneTokenVerifier) -> None:
    assert verifier.claims_to_be_ours(_token())
    assert not verifier.claims_to_be_ours(_token(iss="https://other.example.com"))
    assert not verifier.claims_to_be_ours("garbage")
