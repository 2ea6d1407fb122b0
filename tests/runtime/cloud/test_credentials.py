"""Where a login lives: 0700 directory, 0600 file, never readable by others, token never shown."""

from __future__ import annotations

import base64
import datetime as dt
import json
import stat
from pathlib import Path

import pytest

from astronomer_runtime.cloud import credentials
from astronomer_runtime.cloud.errors import CloudError, NotLoggedIn


def fake_jwt(claims: dict[str, object]) -> str:
    """An unsigned JWT-shaped token: the CLI only reads its claims, the control plane verifies."""

    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2lnbmF0dXJl"


def _login(exp: int) -> credentials.Login:
    token = fake_jwt({"sub": "usr_1", "astro_org": "org_1", "name": "Ada", "exp": exp})
    return credentials.login_from_token("http://127.0.0.1:9/", token)


def test_saved_file_is_0600_in_a_0700_directory(config_home: Path) -> None:
    path = credentials.save(_login(4_000_000_000))
    assert path == config_home / "astro-runtime" / "config.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    loaded = credentials.load()
    assert loaded is not None and loaded.organization_id == "org_1" and loaded.url == "http://127.0.0.1:9"


def test_an_existing_open_directory_is_closed_to_0700(config_home: Path) -> None:
    (config_home / "astro-runtime").mkdir(parents=True, mode=0o755)
    credentials.save(_login(4_000_000_000))
    assert stat.S_IMODE((config_home / "astro-runtime").stat().st_mode) == 0o700


def test_a_file_others_can_read_is_refused_with_the_fix(config_home: Path) -> None:
    path = credentials.save(_login(4_000_000_000))
    path.chmod(0o644)
    with pytest.raises(CloudError, match=r"readable by others \(mode 644\); run: chmod 600 .*config\.json"):
        credentials.load()


def test_the_token_is_not_in_repr(config_home: Path) -> None:
    login = _login(4_000_000_000)
    assert login.token is not None and login.token not in repr(login)


def test_no_login_says_how_to_log_in(config_home: Path) -> None:
    with pytest.raises(NotLoggedIn, match=r"^not logged in: run astro-runtime login URL"):
        credentials.current()


def test_an_expired_login_says_when_and_how_to_renew(config_home: Path) -> None:
    credentials.save(_login(1_700_000_000))  # 2023-11-14 22:13 UTC
    with pytest.raises(NotLoggedIn) as caught:
        credentials.current()
    assert str(caught.value) == (
        "the login to http://127.0.0.1:9 expired at 2023-11-14 22:13 UTC: run astro-runtime login http://127.0.0.1:9"
    )


def test_an_environment_token_beats_the_stored_login_and_keeps_its_choices(
    config_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = _login(4_000_000_000)
    stored.workspace_id, stored.deployment_id = "ws_1", "dep_1"
    credentials.save(stored)
    env_token = fake_jwt({"sub": "tok_9", "astro_org": "org_1", "exp": 4_000_000_000})
    monkeypatch.setenv("ASTRO_RUNTIME_API_TOKEN", env_token)
    login = credentials.current()
    assert (login.token, login.subject, login.deployment_id) == (env_token, "tok_9", "dep_1")


def test_an_environment_token_needs_a_url(config_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASTRO_RUNTIME_API_TOKEN", fake_jwt({"sub": "tok_9", "astro_org": "org_1"}))
    with pytest.raises(
        NotLoggedIn, match="ASTRO_RUNTIME_API_TOKEN is set but no control plane: set ASTRO_RUNTIME_URL"
    ):
        credentials.current()


def test_an_environment_value_that_is_no_token_is_named_not_shown(
    config_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASTRO_RUNTIME_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("ASTRO_RUNTIME_API_TOKEN", "s3cr3t-not-a-jwt")
    with pytest.raises(NotLoggedIn) as caught:
        credentials.current()
    assert "ASTRO_RUNTIME_API_TOKEN does not hold a control-plane token" in str(caught.value)
    assert "s3cr3t" not in str(caught.value)


def test_expiry_is_read_from_the_token(config_home: Path) -> None:
    assert _login(1_700_000_000).expires_at == dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.UTC)
