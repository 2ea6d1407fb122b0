"""The one AirflowPlugin of Astronomer Runtime; later features attach here.

Airflow imports this in every process, each task runner included: keep it free of heavy imports
and of side effects.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

# The api-server's background work (registration, the UI's refresh) runs under one lifespan middleware.
from astronomer_plugins import lifespan

# Metrics: the outcome listener counts in memory only (stdlib + pluggy imports); its on_starting
# starts the pusher thread in long-lived components. See astronomer_plugins/metrics/.
from astronomer_plugins.metrics import listener as metrics_listener

# Registration: the lifecycle listener (scheduler, dag-processor, triggerer; task runners return at
# once) and the api-server's lifespan hooks. Both import only stdlib and pluggy; the agent loads in
# components that register. See astronomer_plugins/registration/.
from astronomer_plugins.registration import asgi as registration_asgi
from astronomer_plugins.registration import listener as registration_listener

# UI: the Runtime page (a lazily built FastAPI app shown through an external view), the dashboard
# banner (a react_apps module) and the page's background refresh. See astronomer_plugins/ui/.
from astronomer_plugins import ui


class AstronomerPlugin(AirflowPlugin):
    """Astronomer Runtime's plugin."""

    name = "astronomer"
    listeners = [metrics_listener, registration_listener]
    fastapi_apps = [ui.FASTAPI_APP]
    fastapi_root_middlewares = [
        lifespan.middleware_entry(
            "astronomer-lifespan", startup=[registration_asgi.start, ui.start], shutdown=[registration_asgi.stop, ui.stop]
        )
    ]
    external_views = [ui.RUNTIME_VIEW]
    react_apps = [ui.EOM_BANNER]
