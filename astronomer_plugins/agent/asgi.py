"""The api-server's agent hooks, run by the lifespan middleware (astronomer_plugins.lifespan, wired in
plugin.py): start the agent once the worker serves, stop it (bounded to 2 s) when it shuts down."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def start() -> None:
    try:
        from astronomer_plugins.agent import lifecycle

        lifecycle.start_for_api_server()
    except Exception:  # noqa: BLE001 - the agent must never stop the api-server from serving
        log.exception("The Astronomer agent could not start; the api-server runs without it")


def stop() -> None:
    try:
        from astronomer_plugins.agent import identity, lifecycle

        lifecycle.stop(owner=identity.API_SERVER)
    except Exception:  # noqa: BLE001
        log.exception(
            "The Astronomer agent did not stop cleanly; the control plane marks the api-server gone later"
        )
