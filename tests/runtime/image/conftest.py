"""Image tests: the debootstrap base and the Runtime image are built once per session, for real.

Storage lives in .local/image-tests (git-ignored, overlay when the kernel allows it, else vfs), so
a second session on the same machine reuses cached layers; CI starts from nothing. The CA bundle
given to builds is the host's plus a canary line, and a netrc secret carries a canary token: the
layer-export test searches every layer for both.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from astronomer_runtime.catalog import Release, load_catalog
from astronomer_runtime.image import base, build
from astronomer_runtime.image.engine import INSTALL_HINT, Buildah, BuildRequest, Docker
from astronomer_runtime.paths import CATALOG_FILE, REPO_ROOT
from tests.projects import write_project
from tests.runtime.image.drivers import BuildahDriver, DockerDriver, ImageDriver, docker_client

STORAGE = Path(os.environ.get("ASTRO_RUNTIME_IMAGE_TEST_STORAGE", REPO_ROOT / ".local" / "image-tests"))
PYTHON = "3.11"  # Debian bookworm's Python: the debootstrap base has no other
CA_CANARY = "ASTRO-RUNTIME-TEST-CA-CANARY-5b0e2c"
TOKEN_CANARY = "ASTRO-RUNTIME-TEST-TOKEN-CANARY-91d4a7"
REQUIRED_TOOLS = ("buildah", "debootstrap")


@dataclass
class Timings:
    """Build durations of this session, printed at its end (the numbers behind the report)."""

    seconds: dict[str, float] = field(default_factory=dict)


def _require_tools() -> None:
    missing = [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"image tests need {', '.join(missing)}: {INSTALL_HINT}", pytrace=False)
    if os.geteuid() != 0:
        pytest.fail("image tests need root (buildah --isolation chroot and debootstrap)", pytrace=False)


def image_config(engine: Buildah, image: str) -> dict:
    """The Docker-format config of an image (Labels, User, Entrypoint, OnBuild, Env...)."""
    return engine.inspect(image)["Docker"]["config"]


@pytest.fixture(scope="session")
def timings() -> Iterator[Timings]:
    recorded = Timings()
    yield recorded
    if recorded.seconds:
        print("\nimage build timings: " + ", ".join(f"{k} {v:.0f} s" for k, v in recorded.seconds.items()))


@pytest.fixture(scope="session")
def engine() -> Buildah:
    _require_tools()
    STORAGE.mkdir(parents=True, exist_ok=True)
    return Buildah.under(STORAGE)


@pytest.fixture(scope="session")
def workdir() -> Path:
    path = STORAGE / "work"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def secrets_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("secrets")


@pytest.fixture(scope="session")
def ca_bundle(secrets_dir: Path) -> Path:
    """The host's CA bundle (needed to reach PyPI here) plus a canary line outside any PEM block."""
    host = build.host_ca_bundle()
    path = secrets_dir / "ca.pem"
    path.write_text((host.read_text() if host else "") + f"\n# {CA_CANARY}\n")
    return path


@pytest.fixture(scope="session")
def netrc_secret(secrets_dir: Path) -> Path:
    path = secrets_dir / "netrc"
    path.write_text(f"machine index.invalid login customer password {TOKEN_CANARY}\n")
    return path


@pytest.fixture(scope="session")
def release() -> Release:
    return load_catalog(CATALOG_FILE).newest_stable(PYTHON)


@pytest.fixture(scope="session")
def debian_base(engine: Buildah, workdir: Path, timings: Timings) -> str:
    started = time.monotonic()
    tag = base.make_base(engine, base.BaseSpec(mirror=base.host_mirror()), workdir=workdir)
    timings.seconds["debootstrap base"] = time.monotonic() - started
    return tag


def _build(engine: Buildah, release: Release, debian_base: str, target: str, *, workdir: Path, ca: Path) -> str:
    spec = build.ImageSpec(release=release, python=PYTHON, base_image=debian_base, target=target)
    with tempfile.TemporaryFile("w+") as log:
        try:
            return build.build_image(engine, spec, workdir=workdir, ca_bundle=ca, output=log).tag
        except Exception:
            log.seek(0)
            print(log.read()[-20000:])
            raise


@pytest.fixture(scope="session")
def base_target_image(engine: Buildah, release: Release, debian_base: str, workdir: Path, ca_bundle: Path,
                      timings: Timings) -> str:  # fmt: skip
    """The `base` target (no ONBUILD), on the debootstrap base: the one full build of the session."""
    started = time.monotonic()
    tag = _build(engine, release, debian_base, "base", workdir=workdir, ca=ca_bundle)
    timings.seconds["base target"] = time.monotonic() - started
    return tag


@pytest.fixture(scope="session")
def runtime_image(engine: Buildah, release: Release, debian_base: str, workdir: Path, ca_bundle: Path,
                  base_target_image: str, timings: Timings) -> str:  # fmt: skip
    """The default target (ONBUILD hooks). Built after `base`, it takes every layer from the cache
    (buildah 1.28 reuses a final stage's layers for an intermediate stage, not the other way)."""
    started = time.monotonic()
    tag = _build(engine, release, debian_base, "runtime", workdir=workdir, ca=ca_bundle)
    timings.seconds["runtime target (cached layers)"] = time.monotonic() - started
    return tag


def start_buildah_container(engine: Buildah, image: str, cwd: Path) -> BuildahDriver:
    """A working container of `image` (run from an empty folder: nothing of the checkout leaks in)."""
    result = subprocess.run(engine.base_command() + ["from", "--pull-never", image], capture_output=True, text=True, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return BuildahDriver(engine, result.stdout.strip(), image_config(engine, image))


@pytest.fixture(scope="session")
def docker_image(release: Release, ca_bundle: Path, tmp_path_factory: pytest.TempPathFactory, timings: Timings) -> str:
    """The `base` target built by `docker build` on the official python slim image (Docker Hub is
    reachable wherever a Docker engine is)."""
    spec = build.ImageSpec(release=release, python=PYTHON, base_image=build.default_base_image(PYTHON), target="base")
    started = time.monotonic()
    tag = build.build_image(Docker(), spec, workdir=tmp_path_factory.mktemp("docker"), ca_bundle=ca_bundle).tag
    timings.seconds["docker build (base target)"] = time.monotonic() - started
    return tag


@pytest.fixture(scope="session", params=["buildah", "docker"])
def container(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ImageDriver]:
    """One container of the `base` target (same layers as the default target, without its ONBUILD
    triggers), driven by buildah here and by the docker SDK where a Docker engine answers."""
    if request.param == "docker":
        client, reason = docker_client()
        if client is None:
            pytest.skip(reason)
        driver: ImageDriver = DockerDriver.start(client, request.getfixturevalue("docker_image"))
    else:
        engine = request.getfixturevalue("engine")
        driver = start_buildah_container(engine, request.getfixturevalue("base_target_image"), tmp_path_factory.mktemp("from"))
    yield driver
    driver.close()


# The customer project (tests/projects.py) of the ONBUILD tests (and of the layer search).
PROVIDER = "apache-airflow-providers-sqlite"
PROVIDER_VERSION = "4.3.4"
DEBIAN_PACKAGE = "jq"


@pytest.fixture(scope="session")
def customer_image(engine: Buildah, runtime_image: str, ca_bundle: Path, netrc_secret: Path,
                   tmp_path_factory: pytest.TempPathFactory, timings: Timings) -> str:  # fmt: skip
    """A project with a provider in requirements.txt and a Debian package in packages.txt, both
    written with Windows line endings and comments; private-index secrets passed as build secrets."""
    project = write_project(
        tmp_path_factory.mktemp("customer") / "project",
        base_image=runtime_image,
        requirements=f"# our providers\r\n{PROVIDER}=={PROVIDER_VERSION}  # sqlite hooks\r\n\r\n",
        packages=f"# OS tools\r\n{DEBIAN_PACKAGE}\r\n",
    )
    tag = "localhost/customer/project:test"
    started = time.monotonic()
    engine.build(BuildRequest(context=project, tag=tag, secrets={"ca": ca_bundle, "netrc": netrc_secret}, cache=False))
    timings.seconds["customer project (ONBUILD)"] = time.monotonic() - started
    return tag


@pytest.fixture(scope="session")
def customer_container(engine: Buildah, customer_image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuildahDriver]:
    """One container of the customer project's image, shared by the tests that only read it."""
    driver = start_buildah_container(engine, customer_image, tmp_path_factory.mktemp("from"))
    yield driver
    driver.close()
