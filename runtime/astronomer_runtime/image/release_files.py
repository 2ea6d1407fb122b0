"""The catalog's files an image ships, generated into runtime/image/release-files/ (never edited by
hand): the update feed of every release (`runtime-feed.json`) and each release's manifest
(`<release>/runtime-release.json`). They are committed so that `docker build .` from the checkout has
them and the Dockerfile copies two files instead of the catalog tooling;
`astro-runtime image release-files` rebuilds them from versions.yaml (`make lock` does it too), and a
test fails when they are not current."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from astronomer_runtime.catalog import views
from astronomer_runtime.image.paths import RELEASE_FILES_DIR

if TYPE_CHECKING:
    from astronomer_runtime.catalog import Catalog

FEED_FILE = "runtime-feed.json"
MANIFEST_FILE = "runtime-release.json"


def expected_files(catalog: Catalog) -> dict[Path, str]:
    """Every file's path (relative to the release-files folder) and its content."""
    files = {Path(FEED_FILE): views.feed(catalog).to_json() + "\n"}
    for release in catalog.releases:
        files[Path(release.name) / MANIFEST_FILE] = views.manifest(release).to_json() + "\n"
    return files


def _present(directory: Path) -> dict[Path, str]:
    if not directory.is_dir():
        return {}
    return {path.relative_to(directory): path.read_text() for path in directory.rglob("*.json")}


def stale_files(catalog: Catalog, directory: Path = RELEASE_FILES_DIR) -> list[str]:
    """Files that differ from the catalog, are missing, or belong to no release (sorted, relative)."""
    expected, present = expected_files(catalog), _present(directory)
    names = {path for path in expected.keys() | present.keys() if expected.get(path) != present.get(path)}
    return sorted(str(path) for path in names)


def write_files(catalog: Catalog, directory: Path = RELEASE_FILES_DIR) -> None:
    """Rebuild the folder from scratch, so a release removed from the catalog leaves nothing behind."""
    if directory.exists():
        shutil.rmtree(directory)
    for relative, content in expected_files(catalog).items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
