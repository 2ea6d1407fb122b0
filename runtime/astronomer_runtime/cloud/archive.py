"""The DAG bundle a deploy uploads: a deterministic tar.gz of dags/ (required), include/ and plugins/.

Same tree, same bytes, same version (the control plane addresses bundles by sha256): members sorted,
mtime 0, owner 0/0 without names, modes 0644/0755, gzip without name or time. Never shipped:
__pycache__/, *.pyc. Anything the control plane would refuse is refused here first, naming the file:
each member is asked the shared bundle rules (astronomer_plugins.bundle_rules, which the control
plane and the Runtime ask too), and a symlink must stay inside its own root (stricter than the
rules). Airflow applies .airflowignore when it parses the bundle, so ignored files travel but are not
imported.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import stat
import tarfile
from dataclasses import dataclass
from pathlib import Path

from astronomer_plugins.bundle_rules import ROOTS, BundleRules, MemberRefused
from astronomer_plugins.errors import BundleRefused
from astronomer_runtime.cloud.errors import ArchiveRefused

SKIPPED_DIRS = frozenset({"__pycache__"})
SKIPPED_SUFFIXES = (".pyc", ".pyo")


@dataclass(frozen=True)
class Bundle:
    data: bytes
    sha256: str
    files: int

    @property
    def size(self) -> int:
        return len(self.data)


def members(project: Path) -> list[Path]:
    """Project-relative paths to pack, sorted, directories included."""
    if not (project / "dags").is_dir():
        raise ArchiveRefused(f"{project / 'dags'} does not exist: a deploy needs the project's dags/ folder")
    found: list[Path] = []
    for root in ROOTS:
        top = project / root
        if not top.is_dir():
            continue
        found.append(Path(root))
        for directory, dirnames, filenames in os.walk(top):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
            base = Path(directory).relative_to(project)
            for name in dirnames:
                found.append(base / name)
            for name in filenames:
                if not name.endswith(SKIPPED_SUFFIXES):
                    found.append(base / name)
    return sorted(found, key=lambda p: p.as_posix())


def _info(project: Path, relative: Path) -> tarfile.TarInfo:
    path = project / relative
    mode = path.lstat().st_mode
    info = tarfile.TarInfo(relative.as_posix())
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if stat.S_ISLNK(mode):
        target = os.readlink(path)
        resolved = (path.parent / target).resolve()
        if os.path.isabs(target) or not resolved.is_relative_to(project.resolve() / relative.parts[0]):
            raise ArchiveRefused(
                f"{relative}: a symlink out of {relative.parts[0]}/ ({target}); copy the file in instead"
            )
        info.type, info.linkname, info.mode = tarfile.SYMTYPE, target, 0o777
    elif stat.S_ISDIR(mode):
        info.type, info.mode = tarfile.DIRTYPE, 0o755
    elif stat.S_ISREG(mode):
        info.size = path.lstat().st_size
        info.mode = 0o755 if mode & stat.S_IXUSR else 0o644
    else:
        raise ArchiveRefused(
            f"{relative}: not a regular file, directory or symlink (device, fifo or socket); remove it"
        )
    return info


def build(project: Path) -> Bundle:
    """The bundle's bytes and sha256 (the version the control plane will report)."""
    project = project.resolve()
    paths = members(project)
    rules = BundleRules()  # no size limit here: the control plane applies its own
    raw = io.BytesIO()
    with (
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as zipped,
        tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for relative in paths:
            info = _info(project, relative)
            try:
                rules.check(info)
            except BundleRefused as exc:
                reason = exc.reason if isinstance(exc, MemberRefused) else str(exc)
                raise ArchiveRefused(f"{relative}: {reason}; the control plane would refuse it") from None
            if info.isreg():
                with (project / relative).open("rb") as handle:
                    tar.addfile(info, handle)
            else:
                tar.addfile(info)
    data = raw.getvalue()
    files = sum(1 for p in paths if (project / p).is_file() and not (project / p).is_symlink())
    return Bundle(data=data, sha256=hashlib.sha256(data).hexdigest(), files=files)
