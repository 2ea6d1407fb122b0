"""The token exchange through a LoginService alone (no manager, no api-server): what it mints, and
how it answers tokens it cannot check or refuses."""

from __future__ import annotations

import time

import jwt
import pytest

from astronomer_plugins.auth import login
from astronomer_plugins.auth.user import AstroUser, parse_roles
from astronomer_plugins.errors import TokenRejected, VerificationUnavailable

USER = AstroUser(user_id="u1", name="U", roles=parse_roles({"workspace": "WORKSPACE_MEMBER"}))


def _token(seconds_left: int) -> str:
    return jwt.encode({"exp": int(time.time()) + seconds_left}, "k" * 32, algorithm="HS256")


def _service(verify, minted: list[tuple[AstroUser, int]], reported: list[Exception]) -> login.LoginService:
    def unused(*args: object, **kwargs: object) -> None:
        raise AssertionError("the token exchange needs no login state and no code exchange")

    return login.LoginService(
        deployment_id="dep_svc", control_plane_url="http://127.0.0.1:1", login_timeout=1.0, verify=verify,
        exchange_code=unused, mint=lambda user, seconds: minted.append((user, seconds)) or "airflow-token",
        sign_state=unused, read_state=unused, report_unavailable=reported.append,
    )  # fmt: skip


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
