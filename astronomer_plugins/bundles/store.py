"""The bundle's files on disk, under Airflow's bundle storage (`[dag_processor] dag_bundle_storage_path`):

    <storage>/<bundle name>/versions/<sha256>/     one unpacked version (Airflow's version folder,
                                                   which its stale-bundle cleanup knows)
    <storage>/<bundle name>/current -> versions/<sha256> or empty
                                                   what the dag-processor parses (a stable path)
    <storage>/<bundle name>/current.json           the BundleRef of the deploy `current` serves
    <storage>/<bundle name>/tmp/                   downloads and unpacks in progress

A version appears by a rename of a fully unpacked folder, and `current` changes by renaming a new
link over it: a reader sees the old version or the new one, never a mix. `current` survives a
restart, so a dag-processor that starts while the control plane is down serves its last good version.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from astronomer_plugins.bundles.archive import unpack
from astronomer_plugins.bundles.download import SHA256_HEX
from astronomer_plugins.control_plane.models import BundleRef

CURRENT = "current"
CURRENT_REF = "current.json"
EMPTY = "empty"
TMP = "tmp"


@dataclass(frozen=True)
class BundleStore:
    base_dir: Path
    versions_dir: Path

    @property
    def current(self) -> Path:
        return self.base_dir / CURRENT

    @property
    def tmp(self) -> Path:
        return self.base_dir / TMP

    def version_path(self, version: str) -> Path:
        return self.versions_dir / version

    def has(self, version: str) -> bool:
        return self.version_path(version).is_dir()

    def install(self, version: str, archive: Path, *, max_unpacked_bytes: int, ignore_syntax: str) -> None:
        """Unpack `archive` as `version` (no-op if present). Raises BundleRefused; leaves nothing then."""
        if self.has(version):
            return
        self.tmp.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f"{version[:12]}-", dir=self.tmp))
        unpacked = staging / "bundle"
        try:
            unpack(archive, unpacked, max_unpacked_bytes=max_unpacked_bytes, ignore_syntax=ignore_syntax)
            self.versions_dir.mkdir(parents=True, exist_ok=True)
            try:
                os.rename(unpacked, self.version_path(version))
            except OSError:
                if not self.has(version):  # not "another process installed it first"
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def serve(self, ref: BundleRef | None) -> None:
        """Point `current` at `ref`'s version (installed first), or at an empty folder for None."""
        if ref is None:
            (self.base_dir / EMPTY).mkdir(parents=True, exist_ok=True)
            target = EMPTY
        else:
            target = f"{self.versions_dir.name}/{ref.version}"
            _replace_text(self.base_dir / CURRENT_REF, ref.model_dump_json())
        link = self.base_dir / f".{CURRENT}-{os.getpid()}"
        link.unlink(missing_ok=True)
        os.symlink(target, link)
        os.replace(link, self.current)
        if ref is None:
            (self.base_dir / CURRENT_REF).unlink(missing_ok=True)

    def served(self) -> tuple[str | None, BundleRef | None]:
        """(version `current` points at, its BundleRef when recorded); (None, None) for empty or none."""
        try:
            target = os.readlink(self.current)
        except OSError:
            return None, None
        version = target.rsplit("/", 1)[-1]
        if not SHA256_HEX.fullmatch(version) or not self.has(version):
            return None, None
        try:
            ref = BundleRef.model_validate_json((self.base_dir / CURRENT_REF).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return version, None
        return version, (ref if ref.version == version else None)

    def ensure_current(self) -> None:
        """A `current` link exists (empty at first), so the dag-processor's path always exists."""
        if not os.path.lexists(self.current):
            self.serve(None)


def _replace_text(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}-{os.getpid()}")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
