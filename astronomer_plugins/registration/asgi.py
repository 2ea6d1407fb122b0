"""The api-server's registration hook: a pure ASGI middleware that watches the lifespan protocol.

Why this hook (Airflow 3.3.2): the api-server runs no Job, so lifecycle listeners never fire in it.
The candidates were
- the auth manager's `init()`: runs once per app, but belongs to whichever auth manager is
  configured (SimpleAuthManager locally), not to this plugin;
- a plugin `fastapi_apps` sub-app's lifespan: Airflow's own lifespan enters the lifespans of mounted
  FastAPI apps, but that is an implementation detail of airflow.api_fastapi.app, and it needs an
  app mounted on a URL of its own (plugin apps answer without authentication);
- a plugin `fastapi_root_middlewares` entry (chosen): `init_plugins()` adds it to the root app of
  every api-server that serves the core API, and Starlette passes the ASGI `lifespan` scope through
  the whole middleware stack. uvicorn (and gunicorn's uvicorn workers) run that lifespan once per
  worker process: `lifespan.startup.complete` means the worker serves requests (register), the
  `lifespan.shutdown` event comes after SIGTERM's graceful drain (deregister, bounded to 2 s).
HTTP and websocket requests pass straight through: one comparison per request, no other work.
Not covered: an api-server started with `--apps execution` only (no plugins are mounted there).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, MutableMapping

    Scope = MutableMapping[str, Any]
    Message = MutableMapping[str, Any]
    Receive = Callable[[], Awaitable[Message]]
    Send = Callable[[Message], Awaitable[None]]
    ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger(__name__)


class RegistrationLifespanMiddleware:
    """Registers the api-server worker once it serves, deregisters it when it shuts down."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def send_and_watch(message: Message) -> None:
            await send(message)
            if message.get("type") == "lifespan.startup.complete":
                _start()

        async def receive_and_watch() -> Message:
            message = await receive()
            if message.get("type") == "lifespan.shutdown":
                import asyncio

                await asyncio.to_thread(_stop)  # bounded to 2 s; keeps the event loop free meanwhile
            return message

        await self.app(scope, receive_and_watch, send_and_watch)


def _start() -> None:
    try:
        from astronomer_plugins.registration import lifecycle

        lifecycle.start_for_api_server()
    except Exception:  # noqa: BLE001 - registration must never stop the api-server from serving
        log.exception("Control-plane registration could not start; the api-server runs without it")


def _stop() -> None:
    try:
        from astronomer_plugins.registration import identity, lifecycle

        lifecycle.stop(owner=identity.API_SERVER)
    except Exception:  # noqa: BLE001
        log.exception(
            "Control-plane deregistration failed; the control plane marks the api-server gone later"
        )


MIDDLEWARE_ENTRY = {
    "middleware": RegistrationLifespanMiddleware,
    "args": [],
    "kwargs": {},
    "name": "astronomer-registration",
}
