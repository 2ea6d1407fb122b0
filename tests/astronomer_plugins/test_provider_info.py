"""Provider and plugin registration, seen through Airflow's own commands and schema."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import jsonschema

from astronomer_plugins.provider_info import get_provider_info

AIRFLOW = str(Path(sys.executable).with_name("airflow"))


def _airflow(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin", "AIRFLOW_HOME": str(tmp_path)}
    return subprocess.run([AIRFLOW, *args], capture_output=True, text=True, timeout=120, env=env)


def test_provider_info_matches_airflows_schema() -> None:
    schema = json.loads(files("airflow").joinpath("provider_info.schema.json").read_text())
    jsonschema.validate(get_provider_info(), schema)


def test_config_list_documents_the_astronomer_section(tmp_path: Path) -> None:
    result = _airflow("config", "list", "--section", "astronomer", "--include-descriptions", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "[astronomer]" in result.stdout
    for key in ("control_plane_url", "organization_id", "workspace_id", "deployment_id", "agent_token", "runtime_version"):
        assert f"{key} =" in result.stdout
    assert "# The deployment's agent token" in result.stdout


def test_airflow_lists_us_as_provider_and_plugin(tmp_path: Path) -> None:
    providers = _airflow("providers", "list", "--output", "json", tmp_path=tmp_path)
    assert providers.returncode == 0, providers.stderr
    assert "astronomer-plugins" in [provider["package_name"] for provider in json.loads(providers.stdout)]
    plugins = _airflow("plugins", "--output", "json", tmp_path=tmp_path)
    assert plugins.returncode == 0, plugins.stderr
    assert "astronomer" in [plugin["name"] for plugin in json.loads(plugins.stdout)]
