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
README_FILE = "README.md"
# Generated too: the folder is rebuilt from scratch, so a hand-kept README would be deleted.
README_TEXT = """\
Generated from `versions.yaml` by `astro-runtime image release-files` (also run by `make lock`); do not
edit. The Dockerfile copies `runtime-feed.json` and `<release>/runtime-release.json` into
`/etc/astronomer/`; `tests/runtime/image/test_release_files.py` fails when they are not current.
"""


def expected_files(catalog: Catalog) -> dict[Path, str]:
    """Every file's path (relative to the release-files folder) and its content."""
    files = {Path(README_FILE): README_TEXT, Path(FEED_FILE): views.feed(catalog).to_json() + "\n"}
    for release in catalog.releases:
        files[Path(release.name) / MANIFEST_FILE] = views.manifest(release).to_json() + "\n"
    return files


def _present(directory: Path) -> dict[Path, str]:
    if not directory.is_dir():
        return {}
    paths = [*directory.rglob("*.json"), *directory.glob(README_FILE)]
    return {path.relative_to(directory): path.read_text() for path in paths}


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
