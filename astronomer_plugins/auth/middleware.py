"""Keep browser sessions through a control-plane outage.

Airflow's JWTRefreshMiddleware answers any HTTPException from resolving the session cookie by
deleting the cookie (`Set-Cookie: _token=""; Max-Age=0`). Our 503 (the revocation list or the keys
cannot be trusted right now) is not the session's fault: deleting the cookie would log every browser
user out for an outage of the control plane. This middleware sits outside Airflow's (auth-manager
middlewares are added after it) and, for a request during which we refused with 503, drops that
deletion from the response, so the same cookie works again once the control plane answers.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING

from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Per request: a list that get_user_from_token appends to when it answers 503 (a mutable holder, so
# the mark made in a child task or worker thread is seen here).
_unavailable: ContextVar[list[bool] | None] = ContextVar("astronomer_auth_unavailable", default=None)
_DELETION_PREFIX = f"{COOKIE_NAME_JWT_TOKEN}=".encode()


def mark_unavailable() -> None:
    """Called when a token is refused because it cannot be checked now (our 503)."""
    holder = _unavailable.get()
    if holder is not None:
        holder.append(True)


def _deletes_session(name: bytes, value: bytes) -> bool:
    if name.lower() != b"set-cookie" or not value.startswith(_DELETION_PREFIX):
        return False
    return b"max-age=0" in value.lower()


class KeepSessionWhileUnavailable:
    """Pure ASGI (no body buffering): only the response's start message is looked at."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        holder: list[bool] = []
        token = _unavailable.set(holder)

        async def send_kept(message: Message) -> None:
            if message["type"] == "http.response.start" and holder:
                message = {
                    **message,
                    "headers": [(n, v) for n, v in message.get("headers", []) if not _deletes_session(n, v)],
                }
            await send(message)

        try:
            await self.app(scope, receive, send_kept)
        finally:
            _unavailable.reset(token)
