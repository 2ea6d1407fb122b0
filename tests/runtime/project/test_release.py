"""Which release a project runs on: its Dockerfile's FROM, or --runtime-version."""

from __future__ import annotations

from pathlib import Path

import pytest

from astronomer_runtime.catalog import load_catalog
from astronomer_runtime.project.release import ProjectReleaseError, host_python, project_release


def _project(tmp_path: Path, dockerfile: str | None) -> Path:
    if dockerfile is not None:
        (tmp_path / "Dockerfile").write_text(dockerfile)
    return tmp_path


@pytest.mark.parametrize(
    ("dockerfile", "release", "image_python"),
    [
        ("FROM localhost/astronomer/runtime:3.2-1-python-3.12\n", "3.2-1", "3.12"),
        ("# comment\nFROM --platform=linux/amd64 registry.example.com/astronomer/runtime:3.3-2 AS app\n", "3.3-2", None),
        ("from runtime:3.1-1-python-3.11-base\n", "3.1-1", "3.11"),
    ],
)
def test_release_from_the_dockerfile(tmp_path: Path, dockerfile: str, release: str, image_python: str | None) -> None:
    found = project_release(load_catalog(), _project(tmp_path, dockerfile))
    assert (found.release.name, found.python, found.image_python) == (release, host_python(), image_python)
    assert (found.python_note is None) == (image_python in (None, host_python()))


def test_override_wins(tmp_path: Path) -> None:
    found = project_release(load_catalog(), _project(tmp_path, "FROM runtime:3.3-2\n"), "3.2-1")
    assert found.release.name == "3.2-1"


@pytest.mark.parametrize(
    ("dockerfile", "message"),
    [
        (None, "Dockerfile not found"),
        ("FROM quay.io/astronomer/astro-runtime:12.0.0\n", "line 1: FROM quay.io/astronomer/astro-runtime:12.0.0 is not a Runtime image"),
        ("RUN true\n", "has no FROM line"),
        ("FROM runtime:9.9-1\n", "names Runtime '9.9-1', which the catalog does not know; known releases: 3.1-1"),
    ],
)
def test_bad_dockerfiles_are_named(tmp_path: Path, dockerfile: str | None, message: str) -> None:
    with pytest.raises(ProjectReleaseError, match=None) as refused:
        project_release(load_catalog(), _project(tmp_path, dockerfile))
    assert message in str(refused.value)
