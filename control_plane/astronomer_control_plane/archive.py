"""The checks a DAG bundle (tar.gz) passes before it is stored.

A bundle holds `dags/` (required) and optionally `include/` and `plugins/`, nothing else. It is read
once as a stream, never extracted here: every member's name must stay inside the tree (no absolute
path, no `..`, nothing under a symlink), links must point inside the tree, only files, directories
and links are allowed (no device or fifo), and the unpacked size is bounded from the headers before
any data is decompressed (and the decompressed stream itself is counted, so a gzip bomb stays small).
Each refusal names the member and the reason. Runs in a worker thread (it reads a file).
"""

from __future__ import annotations

import gzip
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from astronomer_control_plane.errors import InvalidArchive, PayloadTooLarge

ROOTS = ("dags", "include", "plugins")
REQUIRED_ROOT = "dags"
MAX_MEMBERS = 100_000
# Tar's own bytes on top of the files' contents: a 512-byte header (plus padding) per member.
TAR_OVERHEAD_PER_MEMBER = 3 * 512


@dataclass(frozen=True)
class BundleSummary:
    members: int
    unpacked_bytes: int


class _CountingReader:
    """The decompressed tar stream, refused once it passes `limit` bytes."""

    def __init__(self, raw: gzip.GzipFile, limit: int) -> None:
        self.raw = raw
        self.limit = limit
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.count += len(data)
        if self.count > self.limit:
            raise _TooLarge
        return data


class _TooLarge(Exception):
    """The decompressed stream passed its limit (turned into a 413 naming the limit)."""


def _refuse(member: str, reason: str) -> InvalidArchive:
    return InvalidArchive(f"the bundle's member {member!r} is refused: {reason}", field="body")


def _parts(name: str, *, member: str, what: str = "its path") -> list[str]:
    """The path's components, refusing absolute paths and any `..`."""
    if name.startswith("/"):
        raise _refuse(member, f"{what} is absolute ({name!r}); paths must be relative, e.g. dags/my_dag.py")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise _refuse(member, f"{what} contains '..' ({name!r}); it could point out of the bundle")
    return parts


def _check_symlink(member: tarfile.TarInfo, parts: list[str]) -> None:
    """A relative target that stays inside the tree: leading `..` only (a `..` after a component
    could climb out through another symlink), never above the bundle's root."""
    target = member.linkname
    if target.startswith("/"):
        raise _refuse(member.name, f"it is a symlink to the absolute path {target!r} (outside the bundle)")
    components = [part for part in target.split("/") if part not in ("", ".")]
    ups = 0
    while ups < len(components) and components[ups] == "..":
        ups += 1
    if ".." in components[ups:]:
        raise _refuse(member.name, f"its symlink target {target!r} has '..' after a directory name")
    if ups > len(parts) - 1:
        raise _refuse(member.name, f"it is a symlink pointing out of the bundle ({target!r})")


def _check_member(member: tarfile.TarInfo, files: set[str], symlinks: set[str], roots: set[str]) -> list[str]:
    parts = _parts(member.name, member=member.name)
    if not parts:
        if not member.isdir():
            raise _refuse(member.name, "it has no name")
        return parts
    path = "/".join(parts)
    if parts[0] not in ROOTS:
        allowed = ", ".join(f"{root}/" for root in ROOTS)
        raise _refuse(member.name, f"a bundle holds only {allowed} (move it under include/ if it is code)")
    if len(parts) == 1 and not member.isdir():
        raise _refuse(member.name, f"{parts[0]} must be a directory")
    for depth in range(1, len(parts)):
        if "/".join(parts[:depth]) in symlinks:
            raise _refuse(member.name, f"it lies under the symlink {'/'.join(parts[:depth])!r}")
    if member.ischr() or member.isblk():
        raise _refuse(member.name, "it is a device file")
    if member.isfifo():
        raise _refuse(member.name, "it is a fifo")
    if member.issym():
        _check_symlink(member, parts)
        symlinks.add(path)
    elif member.islnk():
        target = "/".join(_parts(member.linkname, member=member.name, what="its hardlink target"))
        if target not in files:
            raise _refuse(
                member.name, f"it is a hardlink to {member.linkname!r}, not a file earlier in the bundle"
            )
        files.add(path)
    elif member.isreg():
        files.add(path)
    elif not member.isdir():
        raise _refuse(member.name, f"its type {member.type!r} is not a file, directory or link")
    roots.add(parts[0])
    return parts


def check_bundle(path: Path, *, max_unpacked_bytes: int) -> BundleSummary:
    """Read the tar.gz at `path` once; raise InvalidArchive (400) or PayloadTooLarge (413)."""
    files: set[str] = set()
    symlinks: set[str] = set()
    roots: set[str] = set()
    unpacked = members = 0
    stream_limit = max_unpacked_bytes + MAX_MEMBERS * TAR_OVERHEAD_PER_MEMBER
    try:
        with gzip.open(path, "rb") as raw:
            counted = _CountingReader(raw, stream_limit)
            with tarfile.open(fileobj=counted, mode="r|") as archive:  # type: ignore[call-overload]
                for member in archive:
                    members += 1
                    if members > MAX_MEMBERS:
                        raise InvalidArchive(f"the bundle has more than {MAX_MEMBERS} members", field="body")
                    _check_member(member, files, symlinks, roots)
                    if member.isreg():
                        unpacked += member.size
                    if unpacked > max_unpacked_bytes:
                        raise PayloadTooLarge(
                            f"the bundle unpacks to more than the limit of {max_unpacked_bytes} bytes "
                            f"({max_unpacked_bytes / 2**20:g} MiB), passed at member {member.name!r}",
                            field="body",
                        )
    except _TooLarge:
        raise PayloadTooLarge(
            f"the bundle unpacks to more than the limit of {max_unpacked_bytes} bytes "
            f"({max_unpacked_bytes / 2**20:g} MiB)",
            field="body",
        ) from None
    except (tarfile.TarError, gzip.BadGzipFile, zlib.error, EOFError, OSError) as exc:
        raise InvalidArchive(
            f"the bundle is not a valid tar.gz ({type(exc).__name__}: {exc}); create it with "
            f"`tar -czf bundle.tar.gz dags include plugins`",
            field="body",
        ) from None
    if REQUIRED_ROOT not in roots:
        raise InvalidArchive(
            "the bundle has no dags/ directory: a bundle holds dags/ (required)", field="body"
        )
    return BundleSummary(members=members, unpacked_bytes=unpacked)
