"""The project's environment for real: uv builds it from the release's lock, reuses it, re-applies only
the project layer, and refuses requirements the image build refuses, with the same messages."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from astronomer_runtime.catalog import load_catalog
from astronomer_runtime.project import venv
from astronomer_runtime.project.release import ProjectRelease, project_release
from tests.projects import write_project

# Needs pydantic<2 and SQLAlchemy<=1.4.41; the Runtime's constraint pins Airflow's pydantic 2 and SQLAlchemy 2.
OLD_SQLMODEL = "sqlmodel==0.0.8"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_project(tmp_path_factory.mktemp("venv") / "project", requirements="emoji\n")


@pytest.fixture(scope="module")
def release(project: Path) -> ProjectRelease:
    return project_release(load_catalog(), project)


def _installed(environment: venv.ProjectVenv, name: str) -> str | None:
    result = subprocess.run(
        [str(environment.python), "-c", f"import importlib.metadata as m; print(m.version({name!r}))"],
        capture_output=True, text=True,
    )  # fmt: skip
    return result.stdout.strip() if result.returncode == 0 else None


def test_built_then_reused_then_only_the_project_layer(project: Path, release: ProjectRelease) -> None:
    built = venv.ensure(project, release)
    assert built.how == "built"
    assert _installed(built, "apache-airflow") == release.release.airflow
    assert _installed(built, "emoji") is not None
    assert _installed(built, "astronomer-plugins") is not None  # our package, as in the image
    assert "apache-airflow==" in built.constraints.read_text()

    assert venv.ensure(project, release).how == "reused"

    (project / "requirements.txt").write_text("pyjokes\n")
    layered = venv.ensure(project, release)
    assert layered.how == "project layer"
    assert _installed(layered, "emoji") is None  # the earlier requirements.txt's extra is gone
    assert _installed(layered, "pyjokes") is not None
    assert _installed(layered, "apache-airflow") == release.release.airflow


def test_airflow_pin_and_constraint_conflict_are_named_per_line(project: Path, release: ProjectRelease) -> None:
    venv.ensure(project, release)
    (project / "requirements.txt").write_text("humanize\napache-airflow==2.10.5\npendulum<2  # old\n")
    with pytest.raises(venv.ProjectVenvError) as refused:
        venv.ensure(project, release)
    message = str(refused.value)
    assert f"{project / 'requirements.txt'} line 2: 'apache-airflow==2.10.5' pins apache-airflow" in message
    assert f"{project / 'requirements.txt'} line 3: 'pendulum<2' conflicts with Runtime {release.release.name}" in message
    assert "Nothing was installed" in message
    # The environment in use is unchanged: the next start with a fixed file works from it.
    (project / "requirements.txt").write_text("humanize\n")
    assert venv.ensure(project, release).how in {"reused", "project layer"}


def test_transitive_conflict_names_the_line_and_keeps_no_half_layer(
    project: Path, release: ProjectRelease
) -> None:
    (project / "requirements.txt").write_text(f"humanize\n{OLD_SQLMODEL}\n")
    with pytest.raises(venv.ProjectVenvError) as refused:
        venv.ensure(project, release)
    message = str(refused.value)
    assert f"cannot be installed on Runtime {release.release.name}" in message
    assert f"  requirements.txt line 2: '{OLD_SQLMODEL}'" in message  # the line, then uv's explanation
    assert "pydantic" in message or "sqlalchemy" in message.lower()
    # Not marked complete: the next call applies the project layer again instead of reusing it.
    (project / "requirements.txt").write_text("humanize\n")
    assert venv.ensure(project, release).how == "project layer"


def test_missing_requirements_file_is_named(tmp_path: Path, release: ProjectRelease) -> None:
    project = write_project(tmp_path / "bare")
    (project / "requirements.txt").unlink()
    with pytest.raises(venv.ProjectVenvError, match="requirements.txt not found: the project needs"):
        venv.ensure(project, release)
