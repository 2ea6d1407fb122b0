"""Airflow UI extensions: the Runtime page, its JSON endpoints and the end-of-maintenance banner.

This module is imported by plugin.py in every Airflow process (task runners included), so it holds
only the plugin's declarations and stdlib imports; FastAPI, Jinja and the page code load on the
first request an api-server receives.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

URL_PREFIX = "/astronomer"


class LazyApp:
    """An ASGI app that builds the FastAPI app on its first request (mounted at URL_PREFIX)."""

    def __init__(self) -> None:
        self._app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self._app is None:
            from astronomer_plugins.ui.app import create_app

            self._app = create_app()
        await self._app(scope, receive, send)


def start() -> None:
    """Lifespan startup of an api-server worker: the page's background refresh."""
    try:
        from astronomer_plugins.ui import sync

        sync.start()
    except Exception:  # noqa: BLE001 - the Runtime page must never stop the api-server from serving
        log.exception(
            "The Runtime page's background refresh could not start; the page shows local facts only"
        )


def stop() -> None:
    try:
        from astronomer_plugins.ui import sync

        sync.stop()
    except Exception:  # noqa: BLE001
        log.exception("Stopping the Runtime page's background refresh failed")


FASTAPI_APP = {"app": LazyApp(), "url_prefix": URL_PREFIX, "name": "Astronomer Runtime"}
# Relative hrefs: Airflow resolves them against its base URL (works behind a path prefix too).
RUNTIME_VIEW = {
    "name": "Runtime",
    "href": "astronomer/runtime",
    "url_route": "astronomer-runtime",
    "destination": "nav",
    "nav_top_level": True,
    "icon": "astronomer/static/runtime-icon.svg",
    "icon_dark_mode": "astronomer/static/runtime-icon-dark.svg",
}
EOM_BANNER = {
    "name": "Astronomer Runtime notice",
    "bundle_url": "astronomer/static/banner.js",
    "destination": "dashboard",
}
