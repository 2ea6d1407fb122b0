"""Control-plane authentication: an Airflow 3 auth manager (`[core] auth_manager =
astronomer_plugins.auth.manager.AstronomerAuthManager`). Loaded by the api-server only.

This module is stdlib only: plugin.py may name `stop` as a lifespan shutdown hook in every
api-server, whichever auth manager it runs."""

from __future__ import annotations

import logging
import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from astronomer_plugins.auth.context import AuthContext

log = logging.getLogger(__name__)

# The auth contexts whose sync thread started in this process (added by AuthContext when it starts one).
running: weakref.WeakSet[AuthContext] = weakref.WeakSet()


def stop() -> None:
    """Lifespan shutdown of an api-server worker: end this process's auth sync thread, if one runs
    (none does unless the configured auth manager is ours)."""
    for context in list(running):
        try:
            if not context.stop():
                log.warning("The auth sync thread did not end within its stop wait; it ends with the process")
        except Exception:  # noqa: BLE001 - a shutdown hook must not raise (see lifespan.py)
            log.exception("Stopping the auth sync thread failed")
