"""Engine command lines (checked without running them) and engine detection."""

from __future__ import annotations

from pathlib import Path

import pytest

from astronomer_runtime.image import engine as engine_module
from astronomer_runtime.image.engine import Buildah, BuildRequest, Docker, detect_engine
from astronomer_runtime.image.errors import EngineNotFoundError

REQUEST = BuildRequest(
    context=Path("/ctx"),
    tag="localhost/x:1",
    target="base",
    build_args={"RUNTIME_VERSION": "3.3-2", "AIRFLOW_VERSION": "3.3.2"},
    secrets={"ca": Path("/etc/ssl/ca.pem")},
)


def test_buildah_command() -> None:
    command = Buildah(root=Path("/s/overlay"), runroot=Path("/s/run"), storage_driver="overlay").build_command(REQUEST)
    assert command == [
        "buildah", "--storage-driver", "overlay", "--root", "/s/overlay", "--runroot", "/s/run",
        "bud", "--isolation", "chroot", "--format", "docker", "--force-rm", "--layers",
        "--file", "/ctx/Dockerfile", "--tag", "localhost/x:1", "--target", "base",
        "--build-arg", "AIRFLOW_VERSION=3.3.2", "--build-arg", "RUNTIME_VERSION=3.3-2",
        "--secret", "id=ca,src=/etc/ssl/ca.pem", "/ctx",
    ]  # fmt: skip


def test_docker_command() -> None:
    assert Docker().build_command(BuildRequest(context=Path("/ctx"), tag="t", cache=False)) == [
        "docker", "build", "--progress", "plain", "--no-cache", "--file", "/ctx/Dockerfile", "--tag", "t", "/ctx",
    ]  # fmt: skip


def test_docker_gets_buildkit() -> None:
    assert Docker().environment()["DOCKER_BUILDKIT"] == "1"


def test_no_engine_names_the_install_step(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_module.shutil, "which", lambda name: None)
    with pytest.raises(EngineNotFoundError, match="apt-get install -y --no-install-recommends buildah"):
        detect_engine()


def test_docker_requested_without_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_module, "docker_engine_answers", lambda: False)
    with pytest.raises(EngineNotFoundError, match="no Docker engine answers"):
        detect_engine("docker")


def test_unknown_engine() -> None:
    with pytest.raises(EngineNotFoundError, match="choose docker or buildah"):
        detect_engine("podman")
