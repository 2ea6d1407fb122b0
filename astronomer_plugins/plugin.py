"""The one AirflowPlugin of Astronomer Runtime; later features attach here.

Airflow imports this in every process, each task runner included: keep it free of heavy imports
and of side effects.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin


class AstronomerPlugin(AirflowPlugin):
    """Astronomer Runtime's plugin."""

    name = "astronomer"
