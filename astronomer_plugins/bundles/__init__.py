"""DAG deploys as an Airflow 3 versioned DAG bundle, fed by the control plane.

Configured as `[dag_processor] dag_bundle_config_list` entry `control-plane` with classpath
`astronomer_plugins.bundles.ControlPlaneDagBundle` (the image's airflow.cfg does it). Modules:
`bundle` (the BaseDagBundle subclass), `store` (version folders and the `current` link), `download`
(streamed, size-limited, sha256-verified fetch), `archive` (member checks and unpacking).
"""

from __future__ import annotations

from astronomer_plugins.bundles.bundle import ControlPlaneDagBundle

BUNDLE_NAME = "control-plane"

__all__ = ["BUNDLE_NAME", "ControlPlaneDagBundle"]
