"""A session made from a control-plane token never outlives that token's revocation entry."""

from __future__ import annotations

import datetime as dt
import types

import pytest

from astronomer_plugins.auth import login
from astronomer_plugins.auth.revocations import RevocationList, revocation_leeway

NOW = 1_800_000_000
CONFIGURED = 3600  # [api_auth] jwt_expiration_time


@pytest.mark.parametrize(
    ("exp", "seconds"),
    [
        (NOW + 10 * CONFIGURED, CONFIGURED),  # the configured length when the token lives longer
        (NOW + 600, 600),
        (NOW + 1, 1),
        (NOW, None),  # expired (only the verification leeway still accepts it): no session
        (NOW - 29, None),
    ],
)
def test_session_length(exp: int, seconds: int | None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_EXPIRATION_TIME", str(CONFIGURED))
    if seconds is None:
        with pytest.raises(login.LoginError, match="expired") as refused:
            login.session_seconds(exp, now=NOW + 0.9)
        assert refused.value.status == 401
    else:
        assert login.session_seconds(exp, now=NOW + 0.9) == seconds


@pytest.mark.parametrize(
    ("auth_leeway", "jwt_leeway", "kept_for"),
    [(30, 10, 31), (0, 10, 11), (5, 5, 6), (0, 0, 1)],
)
def test_revoked_entries_outlive_every_session_made_from_the_token(auth_leeway: int, jwt_leeway: int, kept_for: int) -> None:
    assert revocation_leeway(auth_leeway, jwt_leeway) == kept_for
    exp = dt.datetime.fromtimestamp(NOW, dt.UTC)
    # the longest-lived session: minted at exp - 1 + 0.99 for 1 second -> Airflow exp <= exp + 1,
    # accepted until exp + 1 + jwt_leeway; the token itself until exp + auth_leeway
    last_accepted = exp + dt.timedelta(seconds=max(auth_leeway, 1 + jwt_leeway))
    now = [exp]
    revocations = RevocationList(leeway=revocation_leeway(auth_leeway, jwt_leeway), wall_clock=lambda: now[0])
    def revoked_tokens(deployment: str, since: str) -> types.SimpleNamespace:  # the control plane's pages
        revoked = [] if since else [types.SimpleNamespace(jti="j1", expires_at=exp)]
        return types.SimpleNamespace(revoked=revoked, cursor="1")

    client = types.SimpleNamespace(revoked_tokens=revoked_tokens)
    revocations.poll(client, "dep")
    now[0] = last_accepted - dt.timedelta(milliseconds=1)
    revocations.poll(client, "dep")
    assert revocations.is_revoked("j1")
    now[0] = exp + dt.timedelta(seconds=kept_for, milliseconds=1)
    revocations.poll(client, "dep")
    assert not revocations.is_revoked("j1")
