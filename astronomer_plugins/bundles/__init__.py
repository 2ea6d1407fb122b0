"""DAG deploys as an Airflow 3 versioned DAG bundle, fed by the control plane.

Configured as `[dag_processor] dag_bundle_config_list` entry `control-plane` with classpath
`astronomer_plugins.bundles.ControlPlaneDagBundle` (the image's airflow.cfg does it). Modules:
`bundle` (the BaseDagBundle subclass), `store` (version folders and the `current` link), `download`
(streamed, size-limited, sha256-verified fetch), `archive` (unpacking, asking the member rules that the
control plane and the command line share: astronomer_plugins/bundle_rules.py).
"""

from __future__ import annotations

from astronomer_plugins.bundles.bundle import ControlPlaneDagBundle

BUNDLE_NAME = "control-plane"

__all__ = ["BUNDLE_NAME", "ControlPlaneDagBundle"]
