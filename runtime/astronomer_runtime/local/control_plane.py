"""The reference control plane as the local runtime's first component, seeded for the local Airflow."""

from __future__ import annotations

import json
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from astronomer_runtime.local.supervisor import Component

HEALTH_DEADLINE_SECONDS = 60.0
AUTH_MANAGER = "astronomer_plugins.auth.manager.AstronomerAuthManager"
DEPLOY_REFRESH_SECONDS = 5
DEPLOYS_HELP = "DAGs from the control plane's deploys (as deployed), not the project's dags/"


@dataclass(frozen=True)
class LocalControlPlane:
    data_dir: Path
    port: int = 8800
    host: str = "127.0.0.1"
    catalog_file: Path | None = None  # serves this catalog's update feed (default: versions.yaml)
    # With deploys: Airflow's DAGs come from the deployment's DAG deploys (the image's control-plane
    # bundle, versions kept in this folder) instead of the project's dags/.
    bundle_storage: Path | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _command(self, *args: str) -> list[str]:
        catalog = ["--catalog", str(self.catalog_file)] if self.catalog_file else []
        where = ["--data-dir", str(self.data_dir), "--host", self.host, "--port", str(self.port)]
        return [sys.executable, "-m", "astronomer_runtime", *catalog, "control-plane", *where, *args]

    def serve(self) -> Component:
        return Component("control-plane", self._command("serve"), stop_last=True)

    def seed(self, airflow_base_url: str, runtime_version: str) -> Component:
        return Component(
            "seed",
            self._command("seed", "--base-url", airflow_base_url, "--runtime-version", runtime_version),
        )

    def wait_until_healthy(self, stopping: threading.Event, alive: Callable[[], bool]) -> bool:
        """Poll /health with a deadline; False when stopping, the process died, or time ran out."""
        deadline = time.monotonic() + HEALTH_DEADLINE_SECONDS
        while time.monotonic() < deadline and not stopping.is_set() and alive():
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2):
                    return True
            except (urllib.error.URLError, OSError):
                stopping.wait(0.2)
        return False

    def airflow_settings(self) -> dict[str, str]:
        """[astronomer] settings for the local Airflow, from what `seed` wrote; people log in
        through the control plane (our auth manager replaces SimpleAuthManager)."""
        from astronomer_plugins import config

        seeded = json.loads((self.data_dir / "deployment.json").read_text())
        seeded_options = (
            config.CONTROL_PLANE_URL,
            config.ORGANIZATION_ID,
            config.WORKSPACE_ID,
            config.DEPLOYMENT_ID,
            config.AGENT_TOKEN_FILE,
        )
        settings = {
            "AIRFLOW__CORE__AUTH_MANAGER": AUTH_MANAGER,
            **{option.env_var: seeded[option.key] for option in seeded_options},
        }
        if self.bundle_storage:
            settings.update(deploy_bundle_settings(self.bundle_storage))
        return settings

    def status_page(self) -> str:
        deployment_id = json.loads((self.data_dir / "deployment.json").read_text())["deployment_id"]
        return f"{self.url}/deployments/{deployment_id}/status"


def deploy_bundle_settings(storage: Path, refresh_interval: int = DEPLOY_REFRESH_SECONDS) -> dict[str, str]:
    """The image's one DAG bundle, `control-plane`, refreshed often (a developer waits on deploys),
    with its versions kept across restarts; Airflow writes a changed DAG at once, not every 30 s."""
    from astronomer_plugins.bundles import BUNDLE_NAME, ControlPlaneDagBundle

    classpath = f"{ControlPlaneDagBundle.__module__.rsplit('.', 1)[0]}.{ControlPlaneDagBundle.__name__}"
    bundle = {"name": BUNDLE_NAME, "classpath": classpath, "kwargs": {"refresh_interval": refresh_interval}}
    return {
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps([bundle]),
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH": str(storage),
        "AIRFLOW__CORE__MIN_SERIALIZED_DAG_UPDATE_INTERVAL": "0",
    }
