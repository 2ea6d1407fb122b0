"""The build context and build arguments of a release's image (no engine needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from astronomer_runtime.catalog import load_catalog
from astronomer_runtime.errors import LockError
from astronomer_runtime.image.build import ImageSpec, build_args, default_base_image, default_tag, stage_context
from astronomer_runtime.paths import CATALOG_FILE


@pytest.fixture
def spec() -> ImageSpec:
    return ImageSpec(release=load_catalog(CATALOG_FILE).get("3.3-2"), python="3.12", base_image="python:3.12-slim-bookworm")


def test_default_names() -> None:
    assert default_tag("3.3-2", "3.12") == "localhost/astronomer/runtime:3.3-2-python-3.12"
    assert default_tag("3.3-2", "3.11", "base") == "localhost/astronomer/runtime:3.3-2-python-3.11-base"
    assert default_base_image("3.13") == "python:3.13-slim-bookworm"


def test_build_args(spec: ImageSpec) -> None:
    assert build_args(spec, created="2026-11-28T00:00:00Z", revision="abc") == {
        "RUNTIME_VERSION": "3.3-2",
        "AIRFLOW_VERSION": "3.3.2",
        "PYTHON_VERSION": "3.12",
        "BASE_IMAGE": "python:3.12-slim-bookworm",
        "BUILD_DATE": "2026-11-28T00:00:00Z",
        "VCS_REF": "abc",
    }


def test_context_holds_only_what_the_dockerfile_copies(spec: ImageSpec, tmp_path: Path) -> None:
    context = stage_context(spec, tmp_path)
    top = sorted(path.name for path in context.iterdir())
    assert top == ["Dockerfile", "README.md", "astronomer_plugins", "dags", "pyproject.toml", "runtime"]
    assert sorted(path.name for path in (context / "runtime").iterdir()) == ["image", "locks"]  # no build tooling
    assert sorted(path.name for path in (context / "runtime" / "locks" / "3.3-2").iterdir()) == ["python3.12.txt"]
    assert not list(context.rglob("__pycache__"))
    assert (context / "runtime" / "image" / "rootfs" / "usr" / "local" / "bin" / "astro-entrypoint").is_file()
    assert (context / "runtime" / "image" / "release-files" / "3.3-2" / "runtime-release.json").is_file()
    assert (context / "runtime" / "image" / "release-files" / "runtime-feed.json").is_file()


def test_unsupported_python_is_refused(spec: ImageSpec, tmp_path: Path) -> None:
    unsupported = ImageSpec(release=spec.release, python="3.10", base_image="x")
    with pytest.raises(LockError, match=r"does not support Python 3.10 \(supported: 3.11, 3.12, 3.13\)"):
        stage_context(unsupported, tmp_path)
