"""Where the image's files are in the checkout, and what goes into a build context."""

from __future__ import annotations

from astronomer_runtime.paths import LOCKS_DIR, REPO_ROOT

DOCKERFILE = REPO_ROOT / "Dockerfile"
IMAGE_DIR = REPO_ROOT / "runtime" / "image"
BASE_CONTAINERFILE = IMAGE_DIR / "debian-base.Containerfile"
DEFAULT_WORKDIR = REPO_ROOT / ".local" / "image"
RELEASE_FILES_DIR = IMAGE_DIR / "release-files"  # generated from versions.yaml (image/release_files.py)

# What the Dockerfile COPYs, relative to the repository root (the lock is added per build).
CONTEXT_ENTRIES = (
    "Dockerfile",
    "pyproject.toml",
    "README.md",
    "astronomer_plugins",
    "dags",
    "runtime/image/build-requirements.txt",
    "runtime/image/constraints.py",
    "runtime/image/release-files",
    "runtime/image/rootfs",
)


def lock_entry(release: str, python: str) -> str:
    """The lock the Dockerfile installs, relative to the repository root."""
    return str((LOCKS_DIR / release / f"python{python}.txt").relative_to(REPO_ROOT))
