"""A real deployment for the Runtime page: the reference control plane serving a test catalog in
which the running release (3.3-1) is 10 days from its end of maintenance, and an Airflow api-server
with our auth manager and plugin (the UI under test)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from astronomer_runtime import paths
from astronomer_runtime.catalog import load_catalog, views
from tests.control_plane.conftest import Tree, make_tree
from tests.control_plane.flows import deployment_settings
from tests.servers import AirflowApiServer, ControlPlaneServer

RUNNING = "3.3-1"
DAYS_TO_END_OF_MAINTENANCE = 10
CONNECTION_PASSWORD = "s3cr3t-connection-password"


def near_end_of_maintenance_catalog(path: Path, release: str, days: int) -> Path:
    """versions.yaml with `release` reaching its end of maintenance `days` from today (written dates win)."""
    data = yaml.safe_load(paths.CATALOG_FILE.read_text())
    end = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=days)
    for entry in data["releases"]:
        if entry["name"] == release:
            entry["end_of_maintenance"] = end.isoformat()
            entry["end_of_basic_support"] = (end + dt.timedelta(days=180)).isoformat()
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def write_release_files(directory: Path, catalog_file: Path, release: str) -> tuple[Path, Path]:
    """The offline feed and release manifest an image ships, made from `catalog_file`."""
    catalog = load_catalog(catalog_file)
    feed_file, manifest_file = directory / "runtime-feed.json", directory / "runtime-release.json"
    feed_file.write_text(views.feed(catalog).to_json())
    manifest_file.write_text(views.manifest(catalog.get(release)).to_json())
    return feed_file, manifest_file


@dataclass
class UiDeployment:
    control_plane: ControlPlaneServer
    airflow: AirflowApiServer
    tree: Tree


@pytest.fixture(scope="module")
def ui_deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiDeployment]:
    base = tmp_path_factory.mktemp("ui")
    catalog_file = near_end_of_maintenance_catalog(base / "versions.yaml", RUNNING, DAYS_TO_END_OF_MAINTENANCE)
    feed_file, manifest_file = write_release_files(base, catalog_file, RUNNING)
    control_plane = ControlPlaneServer(base / "cp", catalog_file=catalog_file).start()
    airflow = AirflowApiServer(home=base / "airflow", environment={})
    try:
        tree = make_tree(control_plane, "ui-tests", base_url=airflow.url)
        (base / "dags").mkdir()
        airflow.environment = {
            "AIRFLOW__CORE__AUTH_MANAGER": "astronomer_plugins.auth.manager.AstronomerAuthManager",
            "AIRFLOW__CORE__DAGS_FOLDER": str(base / "dags"),
            **deployment_settings(control_plane, tree),
            "AIRFLOW__ASTRONOMER__RUNTIME_VERSION": RUNNING,
            "AIRFLOW__ASTRONOMER__OFFLINE_FEED_FILE": str(feed_file),
            "AIRFLOW__ASTRONOMER__RELEASE_MANIFEST_FILE": str(manifest_file),
            "AIRFLOW__ASTRONOMER__HEARTBEAT_INTERVAL": "2",
            "AIRFLOW_CONN_WAREHOUSE": f"postgresql://loader:{CONNECTION_PASSWORD}@db.example.com:5432/warehouse",
        }
        airflow.start()
        yield UiDeployment(control_plane, airflow, tree)
    finally:
        airflow.stop()
        control_plane.stop()
