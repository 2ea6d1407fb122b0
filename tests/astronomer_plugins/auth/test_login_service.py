"""Login and the token exchange through a LoginService alone (no manager, no api-server): what they
mint, and how they answer tokens they cannot check or refuse."""

from __future__ import annotations

import time

import jwt
import pytest

from astronomer_plugins.auth import login
from astronomer_plugins.auth.discovery import Endpoints
from astronomer_plugins.auth.user import AstroUser, parse_roles
from astronomer_plugins.errors import TokenRejected, VerificationUnavailable

ENDPOINTS = Endpoints(
    "http://127.0.0.1:1/authorize", "http://127.0.0.1:1/logout", token_path="/oauth/token", jwks_path="/jwks"
)
USER = AstroUser(user_id="u1", name="U", roles=parse_roles({"workspace": "WORKSPACE_MEMBER"}))


def _token(seconds_left: int) -> str:
    return jwt.encode({"exp": int(time.time()) + seconds_left}, "k" * 32, algorithm="HS256")


def _service(verify, minted: list[tuple[AstroUser, int]], reported: list[Exception]) -> login.LoginService:
    def unused(*args: object, **kwargs: object) -> None:
        raise AssertionError("the token exchange needs no login state and no code exchange")

    return login.LoginService(
        deployment_id="dep_svc",
        endpoints=lambda: ENDPOINTS,
        login_timeout=1.0,
        verify=verify,
        exchange_code=unused,
        mint=lambda user, seconds: minted.append((user, seconds)) or "airflow-token",
        sign_state=unused,
        read_state=unused,
        report_unavailable=reported.append,
    )


def test_an_accepted_token_is_exchanged_for_a_session_no_longer_lived(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_EXPIRATION_TIME", "86400")
    minted: list[tuple[AstroUser, int]] = []
    service = _service(lambda token: USER, minted, [])
    assert login.exchange_token(service, _token(300)) == "airflow-token"
    [(user, seconds)] = minted
    assert user is USER and 295 <= seconds <= 300


@pytest.mark.parametrize(
    ("refusal", "status", "reports"),
    [(TokenRejected("the token is not valid"), 401, 0), (VerificationUnavailable("keys are stale"), 503, 1)],
)
def test_refused_and_uncheckable_tokens(refusal: TokenRejected, status: int, reports: int) -> None:
    def verify(token: str) -> AstroUser:
        raise refusal

    minted: list[tuple[AstroUser, int]] = []
    reported: list[Exception] = []
    with pytest.raises(login.LoginError) as error:
        login.exchange_token(_service(verify, minted, reported), _token(300))
    assert error.value.status == status
    assert minted == [] and len(reported) == reports


def test_logout_goes_to_the_control_planes_signed_out_page() -> None:
    service = _service(lambda token: USER, [], [])
    assert login.logout_target(service) == "http://127.0.0.1:1/logout?client_id=dep_svc"


def _login_service(user: AstroUser, exchanged: list[dict[str, str]]) -> login.LoginService:
    async def read_state(cookie: str) -> dict[str, str]:
        assert cookie == "signed-state"
        return {"purpose": login.LOGIN_PURPOSE, "state": "s1", "verifier": "v" * 43, "next": "/dags/etl"}

    def exchange_code(**form: str) -> str:
        exchanged.append(form)
        return _token(300)

    return login.LoginService(
        deployment_id="dep_svc",
        endpoints=lambda: ENDPOINTS,
        login_timeout=5.0,
        verify=lambda token: user,
        exchange_code=exchange_code,
        mint=lambda user, seconds: f"session-{user.user_id}",
        sign_state=lambda claims, seconds: "signed-state",
        read_state=read_state,
        report_unavailable=lambda reason: None,
    )


def test_a_finished_login_opens_a_session_and_lands_on_next(monkeypatch: pytest.MonkeyPatch) -> None:
    import anyio

    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "http://127.0.0.1:8080")
    exchanged: list[dict[str, str]] = []
    service = _login_service(USER, exchanged)
    done = anyio.run(lambda: login.finish_login(service, code="c1", state="s1", login_cookie="signed-state"))
    assert done.url == "/dags/etl"
    assert done.cookies["_token"].value == "session-u1" and done.cookies[login.LOGIN_COOKIE].value == ""
    assert exchanged == [
        {
            "code": "c1",
            "redirect_uri": "http://127.0.0.1:8080/auth/callback",
            "client_id": "dep_svc",
            "code_verifier": "v" * 43,
        }
    ]


def test_a_user_without_a_role_here_gets_no_session() -> None:
    import anyio

    nobody = AstroUser(user_id="u2", name="N", roles=parse_roles({}))
    service = _login_service(nobody, [])
    with pytest.raises(login.LoginError) as refused:
        anyio.run(lambda: login.finish_login(service, code="c1", state="s1", login_cookie="signed-state"))
    assert refused.value.status == 403 and "has no role in this deployment" in str(refused.value)
