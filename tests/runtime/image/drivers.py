"""How image tests reach a container: one test body, two drivers.

ImageDriver          what a test may do with a running image: run a command, copy a file in, read
 │                   its config (Labels, User, Entrypoint, Env, WorkingDir, OnBuild)
 ├─ BuildahDriver    a buildah working container driven with `buildah run` (no daemon; used here
 │                   and in CI)
 └─ DockerDriver     a container of a `docker build` image, kept alive under tini and driven with
                     `exec` through the docker Python SDK (used where a Docker engine answers)

Both keep one container per session, so files written by one command are there for the next.
"""

from __future__ import annotations

import functools
import io
import os
import subprocess
import tarfile
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from astronomer_runtime.image.engine import Buildah

if TYPE_CHECKING:
    import docker.models.containers

# tini is not PID 1 under `buildah run` or `docker exec`; as a subreaper it still reaps and stays quiet.
_EXEC_ENV = {"TINI_SUBREAPER": "1"}


class ImageDriver(ABC):
    """A running container of the image under test."""

    name: str
    config: dict[str, Any]

    @abstractmethod
    def run(
        self,
        argv: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        user: str | None = None,
        entrypoint: bool = False,
        timeout: float = 300,
    ) -> subprocess.CompletedProcess[str]:
        """Run a command; `entrypoint=True` goes through the image's ENTRYPOINT. A command still
        running after `timeout` seconds raises subprocess.TimeoutExpired."""

    @abstractmethod
    def copy_in(self, source: Path, directory: str, *, owner: str = "50000:0") -> None:
        """Copy a host file into a directory of the container, owned by `owner` (uid:gid)."""

    @abstractmethod
    def close(self) -> None:
        """Remove the container."""

    def entrypoint_prefix(self, entrypoint: bool) -> list[str]:
        return list(self.config.get("Entrypoint") or []) if entrypoint else []


@dataclass
class BuildahDriver(ImageDriver):
    engine: Buildah
    container: str
    config: dict[str, Any]
    name: str = "buildah"

    def run(
        self,
        argv: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        user: str | None = None,
        entrypoint: bool = False,
        timeout: float = 300,
    ) -> subprocess.CompletedProcess[str]:
        command = self.engine.base_command() + ["run", "--isolation", "chroot"]
        for key, value in {**_EXEC_ENV, **(env or {})}.items():
            command += ["--env", f"{key}={value}"]
        if user:
            command += ["--user", user]
        command += [self.container, "--", *self.entrypoint_prefix(entrypoint), *argv]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout)

    def copy_in(self, source: Path, directory: str, *, owner: str = "50000:0") -> None:
        command = self.engine.base_command() + ["copy", "--chown", owner, self.container, str(source), directory.rstrip("/") + "/"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise AssertionError(f"buildah copy {source} -> {directory} failed: {result.stderr}")

    def close(self) -> None:
        subprocess.run(self.engine.base_command() + ["rm", self.container], capture_output=True, text=True)


@dataclass
class DockerDriver(ImageDriver):
    container: docker.models.containers.Container
    config: dict[str, Any]
    name: str = "docker"

    @classmethod
    def start(cls, client: Any, image: str) -> DockerDriver:
        """Keep a container of `image` alive under its init, so every test execs into the same one."""
        config = client.images.get(image).attrs["Config"]
        container = client.containers.run(
            image, ["sleep", "infinity"], entrypoint=["/usr/bin/tini", "--"], detach=True, auto_remove=False
        )
        return cls(container=container, config=config)

    def run(
        self,
        argv: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        user: str | None = None,
        entrypoint: bool = False,
        timeout: float = 300,
    ) -> subprocess.CompletedProcess[str]:
        command = [*self.entrypoint_prefix(entrypoint), *argv]
        outcome: dict[str, Any] = {}

        def execute() -> None:
            kwargs = {"environment": {**_EXEC_ENV, **(env or {})}, "demux": True, "workdir": self.config.get("WorkingDir") or None}
            outcome["result"] = self.container.exec_run(command, user=user or "", **kwargs)

        worker = threading.Thread(target=execute, daemon=True)
        worker.start()
        worker.join(timeout)
        if worker.is_alive():
            raise subprocess.TimeoutExpired(command, timeout)
        exit_code, (stdout, stderr) = outcome["result"]
        return subprocess.CompletedProcess(command, exit_code, (stdout or b"").decode(), (stderr or b"").decode())

    def copy_in(self, source: Path, directory: str, *, owner: str = "50000:0") -> None:
        uid, gid = (int(part) for part in owner.split(":"))
        self.container.exec_run(["mkdir", "-p", directory], user="0")
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            info = archive.gettarinfo(str(source), arcname=source.name)
            info.uid, info.gid, info.uname, info.gname = uid, gid, "", ""
            with source.open("rb") as stream:
                archive.addfile(info, stream)
        if not self.container.put_archive(directory, buffer.getvalue()):
            raise AssertionError(f"docker put_archive {source} -> {directory} failed")

    def close(self) -> None:
        self.container.remove(force=True)


@functools.cache
def docker_client(timeout: float = 10.0) -> tuple[Any | None, str]:
    """A docker SDK client whose engine answers, or None and why not (the docker tests' skip
    reason). Asked once per session: a DOCKER_HOST that times out costs one timeout, not one per test."""
    where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        import docker
    except ImportError:
        return None, "no Docker engine: the docker Python package is not installed (runtime/requirements-dev.txt)"
    import requests

    try:
        client = docker.from_env(timeout=int(timeout))
        client.ping()
    except (docker.errors.DockerException, requests.RequestException, OSError) as exc:
        return None, f"no Docker engine ({where} does not answer: {type(exc).__name__})"
    return client, ""
