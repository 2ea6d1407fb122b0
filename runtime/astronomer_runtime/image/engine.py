"""Container engines: `docker build` when a Docker engine answers, buildah otherwise.

Buildah needs no daemon, which is why tests and CI use it (`--storage-driver vfs --isolation
chroot` works without privileges beyond root and without fuse). Both engines get the same build
request, so the Dockerfile is exercised the same way; secrets are passed as files by id and are
mounted only into the RUN steps that ask for them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from astronomer_runtime.image.errors import EngineNotFoundError, ImageBuildError

INSTALL_HINT = (
    "apt-get install -y --no-install-recommends buildah debootstrap skopeo umoci crun fuse-overlayfs tini "
    "(see .ci/run), or start a Docker engine"
)
_OUTPUT_TAIL = 60


@dataclass(frozen=True)
class BuildRequest:
    """One `build`: the context, what to tag, and what to pass in."""

    context: Path
    tag: str
    dockerfile: Path | None = None
    target: str | None = None
    build_args: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, Path] = field(default_factory=dict)
    cache: bool = True


class Engine(ABC):
    """What the tooling needs from an engine: build, and know whether an image exists."""

    name: str

    @abstractmethod
    def build_command(self, request: BuildRequest) -> list[str]:
        """The exact command line for a build (tests check it without running it)."""

    @abstractmethod
    def exists(self, image: str) -> bool:
        """Whether the engine's storage holds this image."""

    @abstractmethod
    def run_in_image(self, image: str, argv: Sequence[str], *, timeout: float = 300) -> str:
        """Run a command in a throwaway container of `image` (no entrypoint) and return its stdout."""

    def environment(self) -> dict[str, str]:
        return dict(os.environ)

    def build(self, request: BuildRequest, *, output: TextIO | None = None) -> None:
        """Run the build, streaming its output; on failure raise with the end of that output."""
        command = self.build_command(request)
        tail: list[str] = []
        with subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=self.environment()
        ) as process:
            assert process.stdout is not None
            for line in process.stdout:
                tail = (tail + [line])[-_OUTPUT_TAIL:]
                if output is not None:
                    output.write(line)
        if process.returncode != 0:
            raise ImageBuildError(
                f"{self.name} build of {request.tag} failed (exit {process.returncode})", "".join(tail)
            )


@dataclass
class Buildah(Engine):
    """buildah with its own storage (vfs): no daemon, no overlay mounts, works in CI containers."""

    root: Path | None = None
    runroot: Path | None = None
    storage_driver: str = "vfs"
    isolation: str = "chroot"
    name: str = "buildah"

    def base_command(self) -> list[str]:
        command = ["buildah", "--storage-driver", self.storage_driver]
        if self.root is not None:
            command += ["--root", str(self.root)]
        if self.runroot is not None:
            command += ["--runroot", str(self.runroot)]
        return command

    def build_command(self, request: BuildRequest) -> list[str]:
        # --format docker: OCI image configs have no ONBUILD field, so buildah would drop the hooks.
        # --force-rm: a failed build (e.g. a refused ONBUILD step) leaves no working container behind.
        options = ["--isolation", self.isolation, "--format", "docker", "--force-rm"]
        command = [*self.base_command(), "bud", *options]
        command += ["--layers"] if request.cache else ["--no-cache"]
        return command + _common_build_arguments(request)

    def exists(self, image: str) -> bool:
        result = subprocess.run(
            self.base_command() + ["inspect", "--type", "image", image], capture_output=True, text=True
        )
        return result.returncode == 0

    def run_in_image(self, image: str, argv: Sequence[str], *, timeout: float = 300) -> str:
        # From an empty folder: nothing of the caller's working directory reaches the container.
        with tempfile.TemporaryDirectory(prefix="buildah-from-") as empty:
            name = run_checked(
                self.base_command() + ["from", "--pull-never", image], what=f"buildah from {image}", cwd=empty
            ).strip()
        try:
            return run_checked(
                self.base_command() + ["run", "--isolation", self.isolation, name, "--", *argv],
                what=f"buildah run in {image}",
                timeout=timeout,
            )
        finally:
            subprocess.run(self.base_command() + ["rm", name], capture_output=True, text=True)

    @classmethod
    def under(cls, folder: Path) -> Buildah:
        """buildah with storage under `folder`: overlay when the kernel allows it here, else vfs.

        vfs copies the whole root filesystem for every build step (minutes and gigabytes for
        this image); overlay does not, but needs mount rights that some CI containers lack.
        """
        folder = folder.resolve()  # commands may run from another working directory (run_in_image)
        driver = "overlay" if overlay_works(folder / "overlay", folder / "run-overlay") else "vfs"
        return cls(root=folder / driver, runroot=folder / f"run-{driver}", storage_driver=driver)

    def inspect(self, image: str) -> dict:
        """The image's buildah inspect document (config, labels, history)."""
        result = subprocess.run(
            self.base_command() + ["inspect", "--type", "image", image], capture_output=True, text=True
        )
        if result.returncode != 0:
            raise ImageBuildError(f"buildah inspect {image} failed", result.stderr)
        return json.loads(result.stdout)


@dataclass
class Docker(Engine):
    """`docker build` with BuildKit (needed for RUN --mount secrets and caches)."""

    name: str = "docker"

    def environment(self) -> dict[str, str]:
        return {**os.environ, "DOCKER_BUILDKIT": "1"}

    def build_command(self, request: BuildRequest) -> list[str]:
        command = ["docker", "build", "--progress", "plain"]
        if not request.cache:
            command.append("--no-cache")
        return command + _common_build_arguments(request)

    def exists(self, image: str) -> bool:
        result = subprocess.run(["docker", "image", "inspect", image], capture_output=True, text=True)
        return result.returncode == 0

    def run_in_image(self, image: str, argv: Sequence[str], *, timeout: float = 300) -> str:
        command = ["docker", "run", "--rm", "--entrypoint", argv[0], image, *argv[1:]]
        return run_checked(command, what=f"docker run in {image}", timeout=timeout)


def overlay_works(root: Path, runroot: Path) -> bool:
    """Whether buildah can mount an overlay container with this storage (a scratch probe)."""
    command = ["buildah", "--storage-driver", "overlay", "--root", str(root), "--runroot", str(runroot)]
    name = f"overlay-probe-{os.getpid()}"
    created = subprocess.run(command + ["from", "--name", name, "scratch"], capture_output=True, text=True)
    if created.returncode != 0:
        return False
    try:
        return subprocess.run(command + ["mount", name], capture_output=True, text=True).returncode == 0
    finally:
        subprocess.run(command + ["rm", name], capture_output=True, text=True)


def docker_engine_answers(timeout: float = 10.0) -> bool:
    """True when a docker CLI is installed and its daemon answers (a bare CLI is not enough)."""
    if shutil.which("docker") is None:
        return False
    try:
        result = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0 and bool(result.stdout.strip())


def detect_engine(prefer: str | None = None, *, buildah_storage: Path | None = None) -> Engine:
    """docker when its engine answers, else buildah; `prefer` forces one and fails clearly if absent."""
    if prefer not in (None, "docker", "buildah"):
        raise EngineNotFoundError(f"unknown engine {prefer!r}; choose docker or buildah")
    if prefer in (None, "docker") and docker_engine_answers():
        return Docker()
    if prefer == "docker":
        raise EngineNotFoundError(
            "no Docker engine answers `docker info`; start one, or use --engine buildah"
        )
    if shutil.which("buildah") is None:
        raise EngineNotFoundError(f"buildah is not installed and no Docker engine answers: {INSTALL_HINT}")
    return Buildah.under(buildah_storage) if buildah_storage else Buildah()


def run_checked(
    command: Sequence[str], *, what: str, timeout: float | None = None, cwd: str | Path | None = None
) -> str:
    """Run a helper command; on failure raise with its output, naming what was attempted."""
    result = subprocess.run(list(command), capture_output=True, text=True, timeout=timeout, cwd=cwd)
    if result.returncode != 0:
        raise ImageBuildError(
            f"{what} failed (exit {result.returncode}): {' '.join(command)}",
            (result.stdout + result.stderr)[-4000:],
        )
    return result.stdout


def _common_build_arguments(request: BuildRequest) -> list[str]:
    """What docker build and buildah bud spell the same way: file, tag, target, args, secrets, context."""
    arguments = ["--file", str(request.dockerfile or request.context / "Dockerfile"), "--tag", request.tag]
    if request.target:
        arguments += ["--target", request.target]
    for key, value in sorted(request.build_args.items()):
        arguments += ["--build-arg", f"{key}={value}"]
    for secret_id, path in sorted(request.secrets.items()):
        arguments += ["--secret", f"id={secret_id},src={path}"]
    return arguments + [str(request.context)]
