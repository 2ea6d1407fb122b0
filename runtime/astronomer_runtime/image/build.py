"""Build a release's image from the one Dockerfile, with docker or buildah.

The build context is staged from the checkout with only what the Dockerfile copies (the release's
lock, our package, the image files, the catalog), so a large working tree (.venv, .local) never
reaches the engine and unrelated edits never invalidate the layer cache. A CA bundle for reaching
PyPI from inside the build is passed as the build secret `ca`: mounted into the RUN steps that
download, never written into a layer.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from astronomer_runtime.catalog import Release
from astronomer_runtime.errors import LockError
from astronomer_runtime.image.engine import BuildRequest, Engine
from astronomer_runtime.image.paths import CONTEXT_ENTRIES, lock_entry
from astronomer_runtime.paths import REPO_ROOT

HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
TARGETS = ("runtime", "base")
# The same as the "Never" block of .dockerignore, so both contexts give the same layers.
_IGNORED = shutil.ignore_patterns(
    "__pycache__",
    "*.py[cod]",
    "*.egg-info",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
    "*.swp",
    ".DS_Store",
)


@dataclass(frozen=True)
class ImageSpec:
    """Which image: a release, one of its Pythons, the base image to build on, the target."""

    release: Release
    python: str
    base_image: str
    target: str = "runtime"
    tag: str | None = None

    @property
    def image_tag(self) -> str:
        return self.tag or default_tag(self.release.name, self.python, self.target)


@dataclass(frozen=True)
class BuildResult:
    tag: str
    seconds: float


def default_tag(release: str, python: str, target: str = "runtime") -> str:
    suffix = "-base" if target == "base" else ""
    return f"localhost/astronomer/runtime:{release}-python-{python}{suffix}"


def default_base_image(python: str) -> str:
    return f"python:{python}-slim-bookworm"


def host_ca_bundle() -> Path | None:
    """The CA bundle this host trusts (SSL_CERT_FILE first), if there is one."""
    configured = os.environ.get("SSL_CERT_FILE")
    for candidate in ([Path(configured)] if configured else []) + [HOST_CA_BUNDLE]:
        if candidate.is_file():
            return candidate
    return None


def _git(*args: str, timeout: float) -> str:
    command = ["git", "-C", str(REPO_ROOT), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=True).stdout.strip()


def vcs_revision() -> str:
    """The checkout's commit (with -dirty when the tree has changes), or unknown outside git."""
    try:
        head = _git("rev-parse", "HEAD", timeout=10)
        dirty = _git("status", "--porcelain", "--untracked-files=no", timeout=30)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}-dirty" if dirty else head


def build_date() -> str:
    """RFC 3339 build time; SOURCE_DATE_EPOCH makes it reproducible."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = dt.datetime.fromtimestamp(int(epoch), dt.UTC) if epoch else dt.datetime.now(dt.UTC)
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def build_args(spec: ImageSpec, *, created: str, revision: str) -> dict[str, str]:
    return {
        "RUNTIME_VERSION": spec.release.name,
        "AIRFLOW_VERSION": spec.release.airflow,
        "PYTHON_VERSION": spec.python,
        "BASE_IMAGE": spec.base_image,
        "BUILD_DATE": created,
        "VCS_REF": revision,
    }


def stage_context(spec: ImageSpec, destination: Path) -> Path:
    """Copy what the Dockerfile needs for this release into `destination` (the build context)."""
    if spec.python not in spec.release.python.supported:
        raise LockError(
            f"Runtime {spec.release.name} does not support Python {spec.python} "
            f"(supported: {', '.join(spec.release.python.supported)})"
        )
    lock = lock_entry(spec.release.name, spec.python)
    if not (REPO_ROOT / lock).is_file():
        raise LockError(f"{lock} is missing; run `make lock` to generate it")
    for entry in (*CONTEXT_ENTRIES, lock):
        source, target = REPO_ROOT / entry, destination / entry
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=_IGNORED, dirs_exist_ok=True)
        else:
            shutil.copy2(source, target)
    return destination


def build_image(
    engine: Engine,
    spec: ImageSpec,
    *,
    workdir: Path,
    ca_bundle: Path | None = None,
    extra_secrets: dict[str, Path] | None = None,
    cache: bool = True,
    output: TextIO | None = None,
) -> BuildResult:
    """Build the image of `spec` and return its tag and how long the build took."""
    workdir.mkdir(parents=True, exist_ok=True)
    secrets = dict(extra_secrets or {})
    if ca_bundle is not None:
        secrets["ca"] = ca_bundle
    with tempfile.TemporaryDirectory(prefix="context-", dir=workdir) as tmp:
        context = stage_context(spec, Path(tmp))
        request = BuildRequest(
            context=context,
            tag=spec.image_tag,
            target=spec.target,
            build_args=build_args(spec, created=build_date(), revision=vcs_revision()),
            secrets=secrets,
            cache=cache,
        )
        started = time.monotonic()
        engine.build(request, output=output)
    return BuildResult(tag=spec.image_tag, seconds=time.monotonic() - started)
