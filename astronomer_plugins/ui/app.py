"""The Runtime page and its JSON endpoints: a FastAPI app the plugin mounts at /astronomer.

Why an `external_views` entry pointing at server-rendered HTML rather than a `react_apps` bundle:
the page is read-only text and tables, so it needs no build toolchain and no second copy of React;
Airflow shows it in its own frame (same origin, so the session cookie authenticates it). The
dashboard banner is the one place that must sit inside Airflow's own page: that is the small
`react_apps` module in static/banner.js.

Airflow does not authenticate plugin apps: every route declares its permission through
`requires_permission` (401 without a valid token, 403 without the permission).
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from airflow.api_fastapi.auth.managers.base_auth_manager import BaseUser
from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from astronomer_plugins import config
from astronomer_plugins.auth.dependencies import requires_permission
from astronomer_plugins.registration.payload import PROVIDER_PREFIX, provider_versions, runtime_version
from astronomer_plugins.ui import releases, sync
from astronomer_plugins.ui.overview import BannerInfo, RuntimeOverview, banner_for, build_overview

RESOURCE = "Runtime"
DISMISS_COOKIE = "astro_eom_dismissed"
HERE = Path(__file__).parent
Viewer = Annotated[BaseUser, Depends(requires_permission("GET", RESOURCE))]


@functools.cache
def installed_providers() -> dict[str, str]:
    """Read once per process: packages are installed when the image is built, not while Airflow runs."""
    return {
        name: version for name, version in provider_versions().items() if name.startswith(PROVIDER_PREFIX)
    }


def current_overview() -> RuntimeOverview:
    manifest, problem = sync.load_manifest()
    return build_overview(
        sync.current().snapshot,
        installed_providers(),
        manifest,
        problem,
        running=runtime_version(),
        now=dt.datetime.now(dt.UTC),
    )


def current_banner() -> BannerInfo | None:
    """The banner alone (asked on every dashboard view): no package or manifest reading."""
    snapshot, running = sync.current().snapshot, runtime_version()
    entry = snapshot.feed.runtime_versions_v3.get(running) if snapshot.feed else None
    return banner_for(running, releases.support_status(entry, dt.datetime.now(dt.UTC).date()))


def _dismissed_by(request: Request, user: BaseUser) -> bool:
    return request.cookies.get(DISMISS_COOKIE) == quote(user.get_id(), safe="")


def create_app() -> FastAPI:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    templates = Environment(
        loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"])
    )
    app = FastAPI(
        title="Astronomer Runtime",
        description="The Runtime page, its data and the end-of-maintenance notice.",
        version="1",
    )

    @app.get("/runtime", response_class=HTMLResponse, summary="The Runtime page (HTML)")
    def runtime_page(user: Viewer) -> HTMLResponse:
        overview = current_overview()
        html = templates.get_template("runtime.html").render(o=overview, user=user.get_name())
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    @app.get("/api/runtime", summary="What the Runtime page shows, as JSON")
    def runtime_json(user: Viewer) -> RuntimeOverview:
        return current_overview()

    @app.get("/api/notice", summary="The end-of-maintenance banner for this user, if any")
    def notice(request: Request, user: Viewer) -> BannerInfo | None:
        if _dismissed_by(request, user):
            return None
        return current_banner()

    @app.post(
        "/api/notice/dismiss", status_code=204, summary="Hide the banner for this user for eom_dismiss_days"
    )
    def dismiss(user: Viewer) -> Response:
        days = config.get_int(config.EOM_DISMISS_DAYS)
        response = Response(status_code=204)
        response.set_cookie(
            DISMISS_COOKIE,
            quote(user.get_id(), safe=""),
            max_age=days * 86400,
            path="/",
            httponly=True,
            samesite="lax",
        )
        return response

    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    return app
