"""Provider metadata for the `apache_airflow_provider` entry point.

Registering as a provider makes Airflow document our [astronomer] section
(`airflow config list --section astronomer`) and list us in `airflow providers list`.
"""

from __future__ import annotations

from typing import Any

from astronomer_plugins import __version__, config
from astronomer_plugins.agent import celery_worker

DISTRIBUTION_NAME = "astronomer-plugins"
INTEGRATION = "Astronomer"


def _option_info(option: config.Option) -> dict[str, Any]:
    info: dict[str, Any] = {
        "description": option.description,
        "version_added": "0.1.0",
        "type": option.type,
        "example": option.example,
        "default": option.default,
    }
    if option.sensitive:
        info["sensitive"] = True
    return info


def get_provider_info() -> dict[str, Any]:
    """Return the provider info dict in the shape of Airflow's provider_info.schema.json.

    Also the one hook of ours that `airflow celery worker` loads (no Job, plugins load lazily): in
    that process only, it connects the component agent to Celery's worker signals."""
    celery_worker.install()
    return {
        "package-name": DISTRIBUTION_NAME,
        "name": "Astronomer Runtime",
        "description": "Connects an Astronomer Runtime Airflow to its control plane.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": INTEGRATION,
                "external-doc-url": "https://www.astronomer.io/docs/",
                "tags": ["service"],
            }
        ],
        "connection-types": [
            {
                "connection-type": "astro_deployment",
                "hook-name": "Astronomer Deployment",
                "hook-class-name": "astronomer_plugins.hooks.deployment.AstroDeploymentHook",
            }
        ],
        "hooks": [
            {"integration-name": INTEGRATION, "python-modules": ["astronomer_plugins.hooks.deployment"]}
        ],
        "operators": [
            {
                "integration-name": INTEGRATION,
                "python-modules": [
                    "astronomer_plugins.operators.deployment_dag_run",
                    "astronomer_plugins.operators.kubernetes_pod",
                ],
            }
        ],
        "sensors": [
            {
                "integration-name": INTEGRATION,
                "python-modules": ["astronomer_plugins.sensors.deployment_dag_run"],
            }
        ],
        "triggers": [
            {
                "integration-name": INTEGRATION,
                "python-modules": ["astronomer_plugins.triggers.deployment_dag_run"],
            }
        ],
        "config": {
            config.SECTION: {
                "description": "Settings of Astronomer Runtime's control-plane integration.",
                "options": {option.key: _option_info(option) for option in config.OPTIONS},
            }
        },
    }
