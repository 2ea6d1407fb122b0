"""The local runtime checks the project's airflow_settings.yaml before it starts anything: a bad
file stops the start with the file, entry and field named; no file, nothing to apply."""

from __future__ import annotations

import io
from pathlib import Path

from astronomer_runtime.local.home import LocalHome
from astronomer_runtime.local.runner import project_settings, run


def _home(tmp_path: Path, settings: str | None) -> LocalHome:
    project = tmp_path / "project"
    project.mkdir()
    if settings is not None:
        (project / "airflow_settings.yaml").write_text(settings)
    return LocalHome(path=tmp_path / "airflow", project=project)


def test_an_invalid_settings_file_stops_the_start_before_anything_runs(tmp_path: Path) -> None:
    home = _home(tmp_path, "airflow:\n  pools:\n    - {pool_name: p, pool_slot: 1}\n    - {pool_name: q}\n")
    output = io.StringIO()
    assert run(home, runtime_version="3.3-2", control_plane=None, output=output) == 1
    settings = home.project / "airflow_settings.yaml"
    assert output.getvalue() == (
        f"error: {settings}: pools[1] (pool_name=q): pool_slot: missing; add `pool_slot:` to the entry\n"
        f"Nothing was started; fix {settings} and start again.\n"
    )
    assert not home.path.exists()  # not even AIRFLOW_HOME was prepared


def test_a_project_without_settings_has_nothing_to_apply(tmp_path: Path) -> None:
    assert project_settings(_home(tmp_path, None), io.StringIO()) == (None, True)


def test_a_valid_settings_file_is_found(tmp_path: Path) -> None:
    home = _home(tmp_path, "airflow:\n  variables:\n    - {variable_name: v, variable_value: x}\n")
    assert project_settings(home, io.StringIO()) == (home.project / "airflow_settings.yaml", True)
