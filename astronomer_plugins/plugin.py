"""The one AirflowPlugin of Astronomer Runtime; later features attach here.

Airflow imports this in every process, each task runner included: keep it free of heavy imports
and of side effects.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

# The api-server's background work (the agent, the UI's refresh, the auth manager's sync thread)
# starts and ends under one lifespan middleware. UI: the Runtime page (a lazily built FastAPI app shown
# through an external view), the dashboard banner (a react_apps module) and the page's background
# refresh; see astronomer_plugins/ui/. `auth` is stdlib only: its `stop` ends the sync thread of our
# auth manager, if that is the configured one.
from astronomer_plugins import auth, lifespan, ui

# The component agent: its lifecycle listener (on_starting/before_stopping of the scheduler,
# dag-processor, triggerer and task runners) and the api-server's lifespan hooks. One background
# thread per long-lived component runs registration, heartbeats and the metrics push; both hooks
# import only stdlib and pluggy. See astronomer_plugins/agent/.
from astronomer_plugins.agent import asgi as agent_asgi
from astronomer_plugins.agent import listener as agent_listener

# Metrics: the outcome listener counts task and DAG-run outcomes in memory only (stdlib + pluggy
# imports). See astronomer_plugins/metrics/.
from astronomer_plugins.metrics import listener as metrics_listener


class AstronomerPlugin(AirflowPlugin):
    """Astronomer Runtime's plugin."""

    name = "astronomer"
    listeners = [agent_listener, metrics_listener]
    fastapi_apps = [ui.FASTAPI_APP]
    fastapi_root_middlewares = [
        lifespan.middleware_entry(
            "astronomer-lifespan",
            startup=[agent_asgi.start, ui.start],
            shutdown=[agent_asgi.stop, ui.stop, auth.stop],
        )
    ]
    external_views = [ui.RUNTIME_VIEW]
    react_apps = [ui.EOM_BANNER]
