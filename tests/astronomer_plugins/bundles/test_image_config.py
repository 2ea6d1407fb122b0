"""The image's airflow.cfg configures the control-plane bundle, and Airflow's bundle manager builds it
from that entry: the deployment's deploys when connected, the image's dags folder on its own."""

from __future__ import annotations

import configparser
import json
from pathlib import Path

import pytest

from astronomer_plugins.bundles import BUNDLE_NAME, ControlPlaneDagBundle

IMAGE_CFG = Path(__file__).parents[3] / "runtime/image/rootfs/etc/astronomer/airflow.cfg"


def image_bundle_config() -> str:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(IMAGE_CFG)
    return parser.get("dag_processor", "dag_bundle_config_list")


def test_the_image_configures_only_the_control_plane_bundle() -> None:
    assert json.loads(image_bundle_config()) == [
        {
            "name": "control-plane",
            "classpath": "astronomer_plugins.bundles.ControlPlaneDagBundle",
            "kwargs": {"refresh_interval": 30},
        }
    ]


@pytest.mark.parametrize("connected", [True, False], ids=["connected", "on-its-own"])
def test_airflow_builds_the_bundle_from_the_image_entry(
    connected: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow import settings
    from airflow.dag_processing.bundles.manager import DagBundlesManager

    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", image_bundle_config())
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH", str(tmp_path))
    if connected:
        monkeypatch.setenv("AIRFLOW__ASTRONOMER__CONTROL_PLANE_URL", "http://127.0.0.1:9")
    bundle = DagBundlesManager().get_bundle(BUNDLE_NAME)
    assert isinstance(bundle, ControlPlaneDagBundle)
    assert (bundle.supports_versioning, bundle.refresh_interval) == (True, 30)
    expected = tmp_path / BUNDLE_NAME / "current" if connected else Path(settings.DAGS_FOLDER)
    assert bundle.path == expected
