"""Browser login through the control plane (authorization code + PKCE S256 + state), logout, and
the exchange of a control-plane token for an Airflow token.

Every path and cookie follows Airflow's own prefix (`[api] base_url`, e.g. https://host/some/prefix):
the login cookie is scoped to `<prefix>/auth`, the session cookie to Airflow's `get_cookie_path()`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlencode, urlsplit

from airflow.api_fastapi.app import AUTH_MANAGER_FASTAPI_APP_PREFIX, get_cookie_path
from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN
from airflow.configuration import conf

from astronomer_plugins.auth.permissions import Level
from astronomer_plugins.errors import (
    ControlPlaneError,
    ControlPlaneUnavailable,
    TokenRejected,
    VerificationUnavailable,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from urllib.parse import SplitResult

    from anyio import CapacityLimiter

    from astronomer_plugins.auth.discovery import Endpoints
    from astronomer_plugins.auth.user import AstroUser

log = logging.getLogger(__name__)

LOGIN_COOKIE = "_astro_login"
LOGIN_STATE_SECONDS = 600
LOGIN_PURPOSE = "astronomer-login-state"
# Percent-encoded '.', '/' and '\': a browser resolves them into dot segments or separators that leave
# the deployment's prefix (e.g. /prefix/%2e%2e/other), while a plain path check sees one harmless segment.
ENCODED_SEPARATORS = ("%2e", "%2f", "%5c")
# Code exchanges in flight at once, per api-server worker. Their own thread limiter keeps logins
# against a silent control plane (anyone can start one) from taking the thread pool that Airflow's
# synchronous endpoints share; a login waiting for a slot still ends at its deadline.
EXCHANGE_THREADS = 8
# Logins of this worker between admission and their answer (at most EXCHANGE_THREADS).
_exchanges_in_flight = 0


@dataclass(frozen=True)
class LoginService:
    """Exactly what login needs from the auth manager (which builds it): no manager, no context."""

    deployment_id: str  # also the OAuth client id
    endpoints: Callable[[], Endpoints]  # the discovered ones, or ControlPlaneUnavailable before discovery
    login_timeout: float  # seconds for one code exchange and its token check
    verify: Callable[[str], AstroUser]  # a control-plane token's user, or TokenRejected
    exchange_code: Callable[..., str]  # at the discovered token endpoint (ControlPlaneError)
    mint: Callable[[AstroUser, int], str]  # an Airflow session token lasting that many seconds
    sign_state: Callable[[dict[str, Any], int], str]  # the signed login cookie, valid that many seconds
    read_state: Callable[[str], Awaitable[dict[str, Any]]]  # its claims, or any exception
    report_unavailable: Callable[[VerificationUnavailable], None]


class LoginError(Exception):
    """A login step failed; `status` is the HTTP answer and the message is safe to show."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Cookie:
    value: str  # "" deletes the cookie
    max_age: int | None
    path: str


@dataclass(frozen=True)
class Redirect:
    url: str
    cookies: dict[str, Cookie]


def base_url() -> str:
    return conf.get("api", "base_url", fallback="http://localhost:8080").rstrip("/")


def cookie_secure() -> bool:
    return base_url().startswith("https://")


def login_cookie_path() -> str:
    """Where Airflow mounts our routes (`<prefix>/auth`): the browser sends the login cookie only there."""
    return AUTH_MANAGER_FASTAPI_APP_PREFIX


def login_url() -> str:
    return f"{AUTH_MANAGER_FASTAPI_APP_PREFIX}/login"


def safe_next(target: str | None) -> str:
    """Where a login may land: a page of this deployment (a path under Airflow's prefix, or an absolute
    URL on its origin), else its home page. Airflow's own `is_safe_url` must agree, and on top of it
    encoded dots, slashes and backslashes, dot segments and control characters are refused outright."""
    from airflow.api_fastapi.core_api.security import is_safe_url

    base = urlsplit(base_url())
    prefix = base.path.rstrip("/")
    home = prefix + "/"
    if not target or not _plain_target(target, base) or not is_safe_url(target):
        return home
    path = urlsplit(target).path
    return target if not prefix or path == prefix or path.startswith(prefix + "/") else home


def _plain_target(target: str, base: SplitResult) -> bool:
    decoded = unquote(target)
    texts = (target.lower(), decoded.lower())
    if "\\" in decoded or any(code in text for text in texts for code in ENCODED_SEPARATORS):
        return False
    # Browsers drop tabs and newlines: /\t/evil would lead elsewhere.
    if any(char.isspace() or not char.isprintable() for char in decoded):
        return False
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        if (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
            return False
    elif not target.startswith("/"):
        return False
    if not parts.path.startswith("/") or parts.path.startswith("//"):
        return False
    return not {".", ".."} & set(parts.path.split("/"))


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def redirect_uri() -> str:
    """`<base_url>/auth/callback`, the exact URL the control plane allows for this deployment."""
    return f"{base_url()}/auth/callback"


def start_login(service: LoginService, next_url: str | None) -> Redirect:
    """Redirect to the control plane's authorization endpoint; state and verifier ride in a signed
    cookie. 503 while the control plane's discovery document has not been read (fail closed)."""
    try:
        authorization_url = service.endpoints().authorization_url
    except ControlPlaneError as exc:
        log.warning("Login through the control plane refused: %s", exc)
        raise LoginError("the control plane has not been reached yet; try again in a moment", 503) from None
    state, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(48)
    signed = service.sign_state(
        {"purpose": LOGIN_PURPOSE, "state": state, "verifier": verifier, "next": safe_next(next_url)},
        LOGIN_STATE_SECONDS,
    )
    query = urlencode(
        {
            "response_type": "code",
            "client_id": service.deployment_id,
            "redirect_uri": redirect_uri(),
            "state": state,
            "code_challenge": _s256(verifier),
            "code_challenge_method": "S256",
        }
    )
    return Redirect(
        f"{authorization_url}?{query}",
        {LOGIN_COOKIE: Cookie(signed, LOGIN_STATE_SECONDS, login_cookie_path())},
    )


async def finish_login(service: LoginService, *, code: str, state: str, login_cookie: str | None) -> Redirect:
    """Check state, exchange the code, verify the token, and open an Airflow session."""
    if not login_cookie:
        raise LoginError("the login has expired or was started elsewhere; start again", 400)
    try:
        pending = await service.read_state(login_cookie)
    except Exception:  # noqa: BLE001 - any failure to validate means: not our cookie
        raise LoginError("the login has expired or was tampered with; start again", 400) from None
    expected_state = str(pending.get("state", ""))
    if pending.get("purpose") != LOGIN_PURPOSE or not hmac.compare_digest(expected_state, state):
        raise LoginError("the login state does not match; start again", 400)
    token, user = await _redeem(service, code=code, verifier=str(pending["verifier"]))
    if not user.reaches_some_dag(Level.MEMBER):
        raise LoginError(
            f"{user.get_name()} has no role in this deployment; ask a workspace owner for one", 403
        )
    session = service.mint(user, session_seconds(token_expiry(token)))
    return Redirect(
        safe_next(str(pending.get("next"))),
        {
            COOKIE_NAME_JWT_TOKEN: Cookie(session, None, get_cookie_path()),
            LOGIN_COOKIE: Cookie("", 0, login_cookie_path()),
        },
    )


async def _redeem(service: LoginService, *, code: str, verifier: str) -> tuple[str, AstroUser]:
    """The code exchange and the token check, in a worker thread with a deadline: a control plane that
    accepts the connection and never answers costs this one login `auth_login_timeout_seconds`, and
    the api-server's event loop (every other request) nothing."""
    from anyio import fail_after, to_thread

    def exchange() -> tuple[str, AstroUser]:
        token = service.exchange_code(
            code=code, redirect_uri=redirect_uri(), client_id=service.deployment_id, code_verifier=verifier
        )
        return token, service.verify(token)

    timeout = service.login_timeout
    global _exchanges_in_flight
    if _exchanges_in_flight >= EXCHANGE_THREADS:  # every slot waits for the control plane: queue no more
        log.warning(
            "Login through the control plane refused: %d code exchanges already wait for it", EXCHANGE_THREADS
        )
        raise LoginError("too many logins wait for the control plane right now; try again in a moment", 503)
    _exchanges_in_flight += 1  # checked and counted with no await in between: exact on the event loop
    try:
        with fail_after(timeout):
            return await to_thread.run_sync(exchange, abandon_on_cancel=True, limiter=_exchange_limiter())
    except TimeoutError:
        log.warning(
            "Login through the control plane failed: no answer to the code exchange within %ss", timeout
        )
        raise LoginError("the control plane did not answer in time; try again in a moment", 504) from None
    except (ControlPlaneUnavailable, VerificationUnavailable) as exc:
        log.warning("Login through the control plane failed: %s", exc)
        raise LoginError(
            "the control plane cannot be reached right now; try again in a moment", 502
        ) from None
    except (ControlPlaneError, TokenRejected) as exc:
        log.warning("Login through the control plane failed: %s", exc)
        raise LoginError("the control plane did not confirm the login; start again", 401) from None
    finally:
        _exchanges_in_flight -= 1


@cache
def _exchange_limiter() -> CapacityLimiter:
    """One per worker process, made on first use (on its event loop)."""
    from anyio import CapacityLimiter

    return CapacityLimiter(EXCHANGE_THREADS)


def token_expiry(token: str) -> int:
    import jwt

    return int(jwt.decode(token, options={"verify_signature": False}).get("exp", 0))


def session_seconds(control_plane_exp: int, now: float | None = None) -> int:
    """An Airflow session never outlives the control-plane token it came from: none is made from a
    token already past its `exp` (accepted only within the leeway), whose revocation entry would be
    dropped before the session ends (see revocations.revocation_leeway)."""
    configured = conf.getint("api_auth", "jwt_expiration_time")
    left = control_plane_exp - int(time.time() if now is None else now)
    if left <= 0:
        raise LoginError("the control-plane token has expired; get a new one", 401)
    return min(configured, left)


def exchange_token(service: LoginService, control_plane_token: str) -> str:
    """POST /auth/token: a control-plane token in, an Airflow token out (same identity, no longer-lived)."""
    try:
        user = service.verify(control_plane_token)
    except VerificationUnavailable as exc:  # our side cannot check it now: 503 with the reason, not 401
        service.report_unavailable(exc)
        raise LoginError(
            f"control-plane tokens cannot be checked right now: {exc}; try again later", 503
        ) from None
    except TokenRejected as exc:
        log.info("Refused a token exchange: %s", exc)
        raise LoginError("invalid or expired control-plane token", 401) from None
    return service.mint(user, session_seconds(token_expiry(control_plane_token)))


def logout_target(service: LoginService) -> str:
    """The control plane's signed-out page (its discovered end-session endpoint), which links back to
    this deployment; without one (not discovered, or none published) the deployment's home page."""
    try:
        end_session = service.endpoints().end_session_url
    except ControlPlaneError:
        end_session = None
    if end_session is None:
        return safe_next(None)
    return f"{end_session}?{urlencode({'client_id': service.deployment_id})}"
