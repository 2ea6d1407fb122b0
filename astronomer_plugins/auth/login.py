"""Browser login through the control plane (authorization code + PKCE S256 + state), logout, and
the exchange of a control-plane token for an Airflow token."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN
from airflow.configuration import conf

from astronomer_plugins.errors import ControlPlaneError, TokenRejected

if TYPE_CHECKING:
    from astronomer_plugins.auth.manager import AstronomerAuthManager
    from astronomer_plugins.auth.user import AstroUser

LOGIN_COOKIE = "_astro_login"
LOGIN_STATE_SECONDS = 600
LOGIN_PURPOSE = "astronomer-login-state"


class LoginError(Exception):
    """A login step failed; `status` is the HTTP answer and the message is safe to show."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Redirect:
    url: str
    set_cookies: dict[str, tuple[str, int | None]]  # name -> (value, max_age); "" value deletes
    path: str


def base_url() -> str:
    return conf.get("api", "base_url", fallback="http://localhost:8080").rstrip("/")


def cookie_secure() -> bool:
    return base_url().startswith("https://")


def safe_next(target: str | None) -> str:
    """Only same-origin paths: `/dags/x` yes; `//evil`, `https://evil`, `/\\evil`, `javascript:` no."""
    prefix = urlsplit(base_url()).path.rstrip("/")
    fallback = prefix + "/"
    if not target:
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return fallback
    return target if target.startswith(prefix + "/") or not prefix else fallback


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def redirect_uri() -> str:
    return f"{base_url()}/auth/callback"


def start_login(manager: AstronomerAuthManager, next_url: str | None) -> Redirect:
    """Redirect to the control plane's /authorize; state and verifier ride in a signed cookie."""
    context = manager.context
    state, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(48)
    signed = manager._get_token_signer(expiration_time_in_seconds=LOGIN_STATE_SECONDS).generate(
        {"purpose": LOGIN_PURPOSE, "state": state, "verifier": verifier, "next": safe_next(next_url)}
    )
    query = urlencode({
        "response_type": "code", "client_id": context.verifier.settings.deployment_id,
        "redirect_uri": redirect_uri(), "state": state, "code_challenge": _s256(verifier),
        "code_challenge_method": "S256",
    })  # fmt: skip
    return Redirect(f"{context.client.base_url}/authorize?{query}", {LOGIN_COOKIE: (signed, LOGIN_STATE_SECONDS)}, "/auth")


async def finish_login(manager: AstronomerAuthManager, *, code: str, state: str, login_cookie: str | None) -> Redirect:
    """Check state, exchange the code, verify the token, and open an Airflow session."""
    if not login_cookie:
        raise LoginError("the login has expired or was started elsewhere; start again", 400)
    try:
        pending = await manager._get_token_validator().avalidated_claims(login_cookie)
    except Exception:  # noqa: BLE001 - any failure to validate means: not our cookie
        raise LoginError("the login has expired or was tampered with; start again", 400) from None
    if pending.get("purpose") != LOGIN_PURPOSE or not hmac.compare_digest(str(pending.get("state", "")), state):
        raise LoginError("the login state does not match; start again", 400)
    context = manager.context
    try:
        token = context.client.exchange_code(
            code=code, redirect_uri=redirect_uri(), client_id=context.verifier.settings.deployment_id,
            code_verifier=str(pending["verifier"]),
        )  # fmt: skip
        user = manager.user_from_control_plane_token(token)
    except (ControlPlaneError, TokenRejected) as exc:
        manager.log.warning("Login through the control plane failed: %s", exc)
        raise LoginError("the control plane did not confirm the login; start again", 401) from None
    if not can_use_deployment(user):
        raise LoginError(f"{user.get_name()} has no role in this deployment; ask a workspace owner for one", 403)
    session = manager.generate_jwt(user, expiration_time_in_seconds=session_seconds(token_expiry(token)))
    return Redirect(
        safe_next(str(pending.get("next"))),
        {COOKIE_NAME_JWT_TOKEN: (session, None), LOGIN_COOKIE: ("", 0)},
        "/",
    )


def can_use_deployment(user: AstroUser) -> bool:
    from astronomer_plugins.auth.permissions import Level

    return user.level > Level.NONE or any(rule.level > Level.NONE for rule in user.dag_grants)


def token_expiry(token: str) -> int:
    import jwt

    return int(jwt.decode(token, options={"verify_signature": False}).get("exp", 0))


def session_seconds(control_plane_exp: int) -> int:
    """An Airflow session never outlives the control-plane token it came from."""
    configured = conf.getint("api_auth", "jwt_expiration_time")
    return max(1, min(configured, control_plane_exp - int(time.time())))


def exchange_token(manager: AstronomerAuthManager, control_plane_token: str) -> str:
    """POST /auth/token: a control-plane token in, an Airflow token out (same identity, no longer-lived)."""
    try:
        user = manager.user_from_control_plane_token(control_plane_token)
    except TokenRejected as exc:
        manager.log.info("Refused a token exchange: %s", exc)
        raise LoginError("invalid or expired control-plane token", 401) from None
    return manager.generate_jwt(user, expiration_time_in_seconds=session_seconds(token_expiry(control_plane_token)))


def logout_target(manager: AstronomerAuthManager) -> str:
    return manager.context.client.base_url + "/"
