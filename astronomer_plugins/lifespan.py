"""Run our api-server background work for exactly as long as an api-server worker serves.

Why this hook (Airflow 3.3.2): the api-server runs no Job, so lifecycle listeners never fire in it.
The candidates were
- the auth manager's `init()`: runs once per app, but belongs to whichever auth manager is
  configured (SimpleAuthManager locally), not to this plugin;
- a plugin `fastapi_apps` sub-app's lifespan: Airflow's own lifespan enters the lifespans of mounted
  FastAPI apps, but that is an implementation detail of airflow.api_fastapi.app;
- a plugin `fastapi_root_middlewares` entry (chosen): `init_plugins()` adds it to the root app of
  every api-server that serves the core API, and Starlette passes the ASGI `lifespan` scope through
  the whole middleware stack. uvicorn (and gunicorn's uvicorn workers) run that lifespan once per
  worker process: `lifespan.startup.complete` means the worker serves requests (start), the
  `lifespan.shutdown` event comes after SIGTERM's graceful drain (stop, bounded by the hook).
HTTP and websocket requests pass straight through: one comparison per request, no other work.
Not covered: an api-server started with `--apps execution` only (no plugins are mounted there).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Awaitable, MutableMapping

    Scope = MutableMapping[str, Any]
    Message = MutableMapping[str, Any]
    Receive = Callable[[], Awaitable[Message]]
    Send = Callable[[Message], Awaitable[None]]
    ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger(__name__)


class LifespanHooksMiddleware:
    """Calls the `startup` hooks once the worker serves and the `shutdown` hooks (in a thread) when
    it stops, in order. One middleware for all our hooks: one extra layer per request, not one each.

    Hooks must not raise: each logs its own failures, since background work never stops an
    api-server from serving."""

    def __init__(
        self, app: ASGIApp, *, startup: Sequence[Callable[[], None]], shutdown: Sequence[Callable[[], None]]
    ) -> None:
        self.app = app
        self.startup = tuple(startup)
        self.shutdown = tuple(shutdown)

    def _run_startup(self) -> None:
        for hook in self.startup:
            hook()

    def _run_shutdown(self) -> None:
        for hook in self.shutdown:
            hook()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def send_and_watch(message: Message) -> None:
            await send(message)
            if message.get("type") == "lifespan.startup.complete":
                self._run_startup()

        async def receive_and_watch() -> Message:
            message = await receive()
            if message.get("type") == "lifespan.shutdown":
                import asyncio

                await asyncio.to_thread(self._run_shutdown)  # keeps the event loop free meanwhile
            return message

        await self.app(scope, receive_and_watch, send_and_watch)


def middleware_entry(
    name: str, *, startup: Sequence[Callable[[], None]], shutdown: Sequence[Callable[[], None]]
) -> dict[str, Any]:
    """A `fastapi_root_middlewares` entry running these hooks."""
    return {
        "middleware": LifespanHooksMiddleware,
        "args": [],
        "kwargs": {"startup": startup, "shutdown": shutdown},
        "name": name,
    }
