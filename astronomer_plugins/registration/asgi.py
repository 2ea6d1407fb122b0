"""The api-server's registration hooks, run by the lifespan middleware (astronomer_plugins.lifespan,
wired in plugin.py): register once the worker serves, deregister (bounded to 2 s) when it shuts down."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def start() -> None:
    try:
        from astronomer_plugins.registration import lifecycle

        lifecycle.start_for_api_server()
    except Exception:  # noqa: BLE001 - registration must never stop the api-server from serving
        log.exception("Control-plane registration could not start; the api-server runs without it")


def stop() -> None:
    try:
        from astronomer_plugins.registration import identity, lifecycle

        lifecycle.stop(owner=identity.API_SERVER)
    except Exception:  # noqa: BLE001
        log.exception(
            "Control-plane deregistration failed; the control plane marks the api-server gone later"
        )

