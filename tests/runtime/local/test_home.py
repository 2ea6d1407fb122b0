"""The local runtime's environment: the project root is the first import root, as in the image."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from astronomer_runtime.local.home import LocalHome, environment, import_path


@pytest.mark.parametrize(
    ("inherited", "expected"),
    [
        ("", "/p"),
        ("/opt/extra", "/p:/opt/extra"),
        ("/opt/a:/opt/b", "/p:/opt/a:/opt/b"),
        ("/opt/a:/p", "/p:/opt/a"),
        (":/opt/a:", "/p:/opt/a"),
    ],
)
def test_import_path_puts_the_project_first(inherited: str, expected: str) -> None:
    assert import_path(Path("/p"), inherited) == expected


def test_project_folders_are_airflows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", "/opt/extra")
    env = environment(LocalHome(path=tmp_path / "home", project=tmp_path / "project"), runtime_version="3.3-2")
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(tmp_path / "project" / "dags")
    assert env["AIRFLOW__CORE__PLUGINS_FOLDER"] == str(tmp_path / "project" / "plugins")
    assert env["PYTHONPATH"] == f"{tmp_path / 'project'}:/opt/extra"


def test_astronomer_settings_are_named_by_their_declarations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from astronomer_plugins import config

    for name in [name for name in os.environ if name.startswith("AIRFLOW__ASTRONOMER__")]:
        monkeypatch.delenv(name)
    env = environment(LocalHome(path=tmp_path / "home", project=tmp_path / "project"), runtime_version="3.3-2")
    ours = {name for name in env if name.startswith("AIRFLOW__ASTRONOMER__")}
    assert ours >= {config.RUNTIME_VERSION.env_var, config.OFFLINE_FEED_FILE.env_var}
    assert ours <= {option.env_var for option in config.OPTIONS}
    assert env[config.RUNTIME_VERSION.env_var] == "3.3-2"


def test_deploy_mode_hands_airflow_the_control_plane_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--deploys`: the settings the local control plane adds are ones Airflow's own bundle manager
    turns into the image's control-plane bundle (refreshed every 5 s, versions under AIRFLOW_HOME)."""
    import json

    from airflow.dag_processing.bundles.manager import DagBundlesManager

    from astronomer_plugins.bundles import BUNDLE_NAME, ControlPlaneDagBundle
    from astronomer_runtime.local.control_plane import LocalControlPlane

    data = tmp_path / "control-plane"
    data.mkdir()
    seeded = {"control_plane_url": "http://127.0.0.1:9", "organization_id": "org", "workspace_id": "ws",
              "deployment_id": "dep", "agent_token_file": str(tmp_path / "token")}  # fmt: skip
    (data / "deployment.json").write_text(json.dumps(seeded))
    storage = tmp_path / "airflow" / "dag-bundles"
    settings = LocalControlPlane(data_dir=data, bundle_storage=storage).airflow_settings()
    assert "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST" not in LocalControlPlane(data_dir=data).airflow_settings()
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    bundle = DagBundlesManager().get_bundle(BUNDLE_NAME)
    assert isinstance(bundle, ControlPlaneDagBundle)
    assert (bundle.refresh_interval, bundle.path) == (5, storage / BUNDLE_NAME / "current")
