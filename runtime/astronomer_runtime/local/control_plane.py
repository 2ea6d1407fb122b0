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


@dataclass(frozen=True)
class LocalControlPlane:
    data_dir: Path
    port: int = 8800
    host: str = "127.0.0.1"
    catalog_file: Path | None = None  # serves this catalog's update feed (default: versions.yaml)

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
        return {
            "AIRFLOW__CORE__AUTH_MANAGER": AUTH_MANAGER,
            **{option.env_var: seeded[option.key] for option in seeded_options},
        }

    def status_page(self) -> str:
        deployment_id = json.loads((self.data_dir / "deployment.json").read_text())["deployment_id"]
        return f"{self.url}/deployments/{deployment_id}/status"
