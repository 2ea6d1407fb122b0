"""Which Runtime release a project runs on: the one its Dockerfile builds FROM.

The Dockerfile is the project's single statement of its release (what `init` writes and what a deploy
builds), so local verbs read it rather than a second setting that could drift. `--runtime-version`
overrides it for one command (e.g. `upgrade-test --to`). The local environment uses this machine's
Python, which the release must support.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from astronomer_runtime.catalog import Catalog, Release
from astronomer_runtime.errors import RuntimeToolError

# `FROM [--platform=...] <registry/path/>runtime:<release>[-python-<X.Y>][-base] [AS name]`
_FROM = re.compile(r"^\s*FROM\s+(?:--\S+\s+)*(?P<image>\S+)", re.IGNORECASE)
_TAG = re.compile(r"(?:^|/)runtime:(?P<release>\d+\.\d+-\d+)(?:-python-(?P<python>\d+\.\d+))?(?:-base)?$")


class ProjectReleaseError(RuntimeToolError):
    """The project's release cannot be worked out or cannot run here; the message says how to fix it."""


@dataclass(frozen=True)
class ProjectRelease:
    """The release and the Python a project's local environment is made for."""

    release: Release
    python: str
    image_python: str | None  # the Python the Dockerfile's tag names, if it names one

    @property
    def python_note(self) -> str | None:
        """Said when the image's Python differs from the local one (the lock is per Python)."""
        if self.image_python and self.image_python != self.python:
            return (
                f"note: the Dockerfile's image runs Python {self.image_python}; this machine's environment "
                f"uses Python {self.python} with the same release's lock for that Python"
            )
        return None


def host_python() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def dockerfile_release(project: Path) -> tuple[str, str | None]:
    """(release name, Python or None) from the first FROM line of the project's Dockerfile."""
    dockerfile = project / "Dockerfile"
    if not dockerfile.is_file():
        raise ProjectReleaseError(
            f"{dockerfile} not found: is {project} an Astro project? (`astro-runtime project init` makes "
            "one; or pass --runtime-version)"
        )
    for number, line in enumerate(dockerfile.read_text(encoding="utf-8").splitlines(), start=1):
        found = _FROM.match(line)
        if not found:
            continue
        tag = _TAG.search(found["image"])
        if not tag:
            raise ProjectReleaseError(
                f"{dockerfile} line {number}: FROM {found['image']} is not a Runtime image; expected e.g. "
                "FROM localhost/astronomer/runtime:3.3-2-python-3.11 (or pass --runtime-version)"
            )
        return tag["release"], tag["python"]
    raise ProjectReleaseError(f"{dockerfile} has no FROM line; add FROM <runtime image> (see `project init`)")


def project_release(catalog: Catalog, project: Path, override: str | None = None) -> ProjectRelease:
    """The release to run the project on (`override`, else its Dockerfile's) with this machine's Python."""
    if override:
        name, image_python = override, None
        where = "--runtime-version"
    else:
        name, image_python = dockerfile_release(project)
        where = str(project / "Dockerfile")
    if name not in catalog.names:
        raise ProjectReleaseError(
            f"{where} names Runtime {name!r}, which the catalog does not know; known releases: "
            f"{', '.join(catalog.names)} (`astro-runtime versions list`)"
        )
    release = catalog.get(name)
    python = host_python()
    if python not in release.python.supported:
        raise ProjectReleaseError(
            f"Runtime {name} supports Python {', '.join(release.python.supported)}, but this machine runs "
            f"{python}: run astro-runtime with one of those, or choose a release that supports {python}"
        )
    if release.yanked:
        raise ProjectReleaseError(
            f"{where} names Runtime {name}, which is yanked; move to {catalog.newest_stable(python).name}"
        )
    return ProjectRelease(release=release, python=python, image_python=image_python)
