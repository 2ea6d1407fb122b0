"""The attack matrix against a real api-server running our auth manager: every token is refused
with 401, and no token ever reaches the log."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

import hypothesis
import pytest
import requests
from hypothesis import strategies as st

from tests.astronomer_plugins.auth.conftest import Deployment, airflow_log, bearer
from tests.support.control_plane import create_api_token, create_user, user_token

pytestmark = pytest.mark.integration


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict, claims: dict, signature: bytes = b"") -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}.{_b64(signature)}"


def _public_pem(deployment: Deployment) -> bytes:
    from cryptography.hazmat.primitives import serialization

    newest = max((deployment.control_plane.data_dir / "keys").glob("*.pem"), key=lambda p: p.stat().st_mtime)
    key = serialization.load_pem_private_key(newest.read_bytes(), password=None)
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _attack(deployment: Deployment, base_claims, name: str) -> str:
    now = int(time.time())
    sign = deployment.sign
    if name == "expired":
        return sign(base_claims(iat=now - 7200, nbf=now - 7200, exp=now - 3600))
    if name == "not yet valid":
        return sign(base_claims(nbf=now + 3600, iat=now))
    if name == "issued in the future":
        return sign(base_claims(iat=now + 3600, nbf=now))
    if name == "missing exp":
        return sign(base_claims(exp=None))
    if name == "missing jti":
        return sign(base_claims(jti=None))
    if name == "wrong aud":
        return sign(base_claims(aud="dep_another_deployment"))
    if name == "wrong iss":
        return sign(base_claims(iss="http://127.0.0.1:1"))
    if name == "other organization":
        return sign(base_claims(astro_org="org_someone_else"))
    if name == "agent kind":
        return sign(base_claims(astro_kind="deployment_agent"))
    if name == "user token for a workspace audience":
        return sign(base_claims(astro_kind="user", aud=f"workspace:{deployment.tree.workspace_id}"))
    if name == "alg none":
        return _unsigned({"alg": "none", "typ": "JWT"}, base_claims())
    if name == "HS256 with the public key as secret":
        header = {"alg": "HS256", "typ": "JWT", "kid": "any"}
        signing_input = _unsigned(header, base_claims()).rsplit(".", 1)[0]
        signature = hmac.new(_public_pem(deployment), signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(signature)}"
    if name == "unknown kid":
        return sign(base_claims(), kid="kid-that-does-not-exist")
    if name == "tampered payload":
        header, _, signature = sign(base_claims(astro_roles={"workspace": "WORKSPACE_MEMBER"})).split(".")
        forged = _b64(json.dumps(base_claims(astro_roles={"organization": "ORGANIZATION_OWNER"})).encode())
        return f"{header}.{forged}.{signature}"
    if name == "truncated":
        return sign(base_claims())[:-12]
    if name == "garbage":
        return "not.a.token"
    if name == "oversized":
        return sign(base_claims(padding="x" * 17_000))
    if name in MALFORMED_ROLES:  # correctly signed, so only the claim's validation can refuse it
        return sign(base_claims(astro_roles=MALFORMED_ROLES[name]))
    raise AssertionError(name)


# Each kind of malformed astro_roles claim (once a 500 from an AttributeError in the permission check).
MALFORMED_ROLES: dict[str, object] = {
    "roles not an object": ["WORKSPACE_OWNER"],
    "roles a string": "WORKSPACE_OWNER",
    "role not a string": {"workspace": 3},
    "unknown roles field": {"workspace": "WORKSPACE_MEMBER", "superuser": True},
    "dags not a list": {"dags": {"role": "WORKSPACE_OWNER", "prefix": ""}},
    "dag grant not an object": {"dags": ["WORKSPACE_OWNER"]},
    "dag grant without role": {"dags": [{"prefix": "etl_"}]},
    "dag grant role not a string": {"dags": [{"role": ["WORKSPACE_OWNER"], "prefix": "etl_"}]},
    "dag grant without selector": {"dags": [{"role": "WORKSPACE_OWNER"}]},
    "dag grant with two selectors": {"dags": [{"role": "WORKSPACE_OWNER", "prefix": "etl_", "tag": "x"}]},
    "dags_only not a boolean": {"dags_only": "yes", "workspace": "WORKSPACE_MEMBER"},
}


ATTACKS = [
    "expired", "not yet valid", "issued in the future", "missing exp", "missing jti", "wrong aud", "wrong iss",
    "other organization", "agent kind", "user token for a workspace audience", "alg none",
    "HS256 with the public key as secret", "unknown kid", "tampered payload", "truncated", "garbage", "oversized",
    *MALFORMED_ROLES,
]  # fmt: skip


def test_a_well_formed_crafted_token_is_accepted(deployment: Deployment, base_claims, api_url: str) -> None:
    """The control case: the same crafting with nothing wrong works, so each refusal below means something."""
    response = requests.get(f"{api_url}/api/v2/dags", headers=bearer(deployment.sign(base_claims())), timeout=10)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("attack", ATTACKS)
def test_attack_is_refused_with_401_and_not_logged(deployment: Deployment, base_claims, api_url: str, attack: str) -> None:
    token = _attack(deployment, base_claims, attack)
    for url in (f"{api_url}/api/v2/dags", f"{api_url}/protected/hello"):
        response = requests.get(url, headers=bearer(token), timeout=10)
        assert response.status_code == 401, (attack, url, response.status_code, response.text)
    exchange = requests.post(f"{api_url}/auth/token", headers=bearer(token), timeout=10)
    assert exchange.status_code == 401
    assert token not in airflow_log(deployment)
    assert token[-40:] not in airflow_log(deployment)


def test_forged_kids_cause_a_bounded_number_of_refreshes(deployment: Deployment, base_claims, api_url: str) -> None:
    def jwks_fetches() -> int:
        return deployment.control_plane.log_path.read_text().count("GET /.well-known/jwks.json")

    before = jwks_fetches()
    for _ in range(25):
        token = deployment.sign(base_claims(), kid=f"forged-{uuid.uuid4().hex}")
        assert requests.get(f"{api_url}/api/v2/dags", headers=bearer(token), timeout=10).status_code == 401
    assert jwks_fetches() - before <= 1


def _wait_for_status(url: str, token: str, status: int, timeout: float = 20.0) -> int:
    deadline = time.monotonic() + timeout
    while True:
        current = requests.get(url, headers=bearer(token), timeout=10).status_code
        if current == status or time.monotonic() > deadline:
            return current
        time.sleep(0.5)


def test_revoked_api_token_is_refused_after_the_poll_delay(deployment: Deployment, api_url: str) -> None:
    token_id, secret = create_api_token(deployment.control_plane, deployment.tree, "workspace", "WORKSPACE_OPERATOR")
    assert requests.get(f"{api_url}/api/v2/dags", headers=bearer(secret), timeout=10).status_code == 200
    exchanged = requests.post(f"{api_url}/auth/token", headers=bearer(secret), timeout=10).json()["access_token"]
    revoked = deployment.control_plane.admin().delete(
        f"{deployment.control_plane.url}/v1/organizations/{deployment.tree.organization_id}/tokens/{token_id}", timeout=10
    )
    assert revoked.status_code == 200
    assert _wait_for_status(f"{api_url}/api/v2/dags", secret, 401) == 401
    # the Airflow token exchanged from it dies with it
    assert requests.get(f"{api_url}/api/v2/dags", headers=bearer(exchanged), timeout=10).status_code == 401


def test_token_of_a_removed_role_is_refused(deployment: Deployment, api_url: str) -> None:
    cp, tree = deployment.control_plane, deployment.tree
    user_id = create_user(cp, tree, "leaver@example.com", [{"scope": "deployment", "scope_id": tree.deployment_id, "role": "DEPLOYMENT_ADMIN"}])
    token = user_token(cp, tree, user_id)
    assert requests.get(f"{api_url}/api/v2/dags", headers=bearer(token), timeout=10).status_code == 200
    removed = cp.admin().put(f"{cp.url}/v1/organizations/{tree.organization_id}/users/{user_id}/roles", json={"roles": []}, timeout=10)
    assert removed.status_code == 200
    assert _wait_for_status(f"{api_url}/api/v2/dags", token, 401) == 401


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=10,
)


@st.composite
def random_tokens(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["bytes", "jwt-shaped"]))
    if kind == "bytes":
        return _b64(draw(st.binary(min_size=1, max_size=600)))
    header = draw(st.dictionaries(st.sampled_from(["alg", "kid", "typ", "jku"]), JSONISH, max_size=4))
    payload = draw(st.dictionaries(st.sampled_from(["iss", "aud", "exp", "sub", "astro_kind", "astro_roles"]), JSONISH))
    return _unsigned(header, payload, draw(st.binary(max_size=64)))


@hypothesis.given(token=random_tokens())
@hypothesis.settings(max_examples=150, deadline=None, derandomize=True, database=None,
                     suppress_health_check=list(hypothesis.HealthCheck))  # fmt: skip
def test_random_tokens_are_never_accepted_and_never_crash(deployment: Deployment, api_url: str, token: str) -> None:
    response = requests.get(f"{api_url}/api/v2/dags", headers=bearer(token), timeout=10)
    assert response.status_code == 401, (response.status_code, response.text[:200])
