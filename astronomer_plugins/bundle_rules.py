"""The member rules of a DAG bundle (tar.gz): one set, asked by every side that handles a bundle.

The control plane asks them on upload (astronomer_control_plane.archive), the Runtime again before it
unpacks a download (astronomer_plugins.bundles.archive: never trust whoever served it), and the
command line while it packs a project (astronomer_runtime.cloud.archive: refuse locally what the
server would refuse). Keeping them here means the three cannot drift apart.

A bundle holds `dags/` (required, a directory) and optionally `include/` and `plugins/`, nothing
else. Each member's name is relative, without `..`, NUL or backslash, and does not lie under a
symlink; a symlink's target is relative, climbs only with leading `..` (a `..` after a name could
climb out through another link), stays inside the bundle and lands under one of the roots; a
hardlink names a file earlier in the bundle; only files, directories and links are allowed (no
device, fifo or other special file); no path appears twice; the member count and the unpacked size
are bounded, checked on each header before its data is read (a gzip bomb stops early). Read the
decompressed tar through `CountedStream` as well: tar's own headers (a pax header can hold any
amount of data) are bounded there, so a bomb hidden in headers stays small too.

This module is imported by the control plane: it imports nothing heavy (no Airflow).
"""

from __future__ import annotations

import tarfile
from dataclasses import dataclass, field
from typing import Protocol

from astronomer_plugins.errors import BundleRefused

ROOTS = ("dags", "include", "plugins")
REQUIRED_ROOT = "dags"
MAX_MEMBERS = 100_000
# Tar's own bytes on top of the files' contents: a 512-byte header (plus padding) per member.
TAR_OVERHEAD_PER_MEMBER = 3 * 512
_ALLOWED = ", ".join(f"{root}/" for root in ROOTS)
_HOW_TO_PACK = "pack the folders by name, e.g. `tar -czf bundle.tar.gz dags include plugins`"


class MemberRefused(BundleRefused):
    """A member breaks a rule; the message names the member and the reason."""

    def __init__(self, member: str, reason: str) -> None:
        super().__init__(f"member {member!r}: {reason}")
        self.member = member
        self.reason = reason


class UnpackedTooLarge(MemberRefused):
    """The unpacked size passed its limit at this member (the control plane answers 413)."""


class MissingRequiredRoot(BundleRefused):
    """The bundle has no `dags/` directory."""


class StreamTooLarge(BundleRefused):
    """The decompressed tar stream (headers included) passed its bound (the control plane answers 413)."""


def _too_large(limit: int, setting: str) -> str:
    shown = f", {setting}" if setting else ""
    return f"the bundle unpacks to more than the limit of {limit} bytes ({limit / 2**20:g} MiB{shown})"


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class CountedStream:
    """The decompressed tar stream for `tarfile.open(fileobj=..., mode="r|")`, refused (StreamTooLarge)
    once it passes the files' limit plus tar's overhead for the most members a bundle may have."""

    def __init__(self, raw: _Readable, *, max_unpacked_bytes: int, limit_setting: str = "") -> None:
        self.raw = raw
        self.max_unpacked_bytes = max_unpacked_bytes
        self.limit_setting = limit_setting
        self.limit = max_unpacked_bytes + MAX_MEMBERS * TAR_OVERHEAD_PER_MEMBER
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.count += len(data)
        if self.count > self.limit:
            raise StreamTooLarge(_too_large(self.max_unpacked_bytes, self.limit_setting))
        return data


def _parts(name: str, *, member: str, what: str = "its path") -> list[str]:
    """The path's components, refusing malformed and absolute paths and any `..`."""
    if "\x00" in name or "\\" in name:
        raise MemberRefused(member, f"{what} ({name!r}) has a NUL byte or a backslash; separate names with /")
    if name.startswith("/"):
        raise MemberRefused(
            member, f"{what} is absolute ({name!r}); paths must be relative, e.g. dags/my_dag.py"
        )
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise MemberRefused(member, f"{what} contains '..' ({name!r}); it could point out of the bundle")
    return parts


def _check_symlink(member: str, target: str, parts: list[str]) -> None:
    """A relative target that climbs with leading `..` only, stays in the tree and lands under a root."""
    if not target:
        raise MemberRefused(member, "it is a symlink with an empty target")
    if "\x00" in target or "\\" in target:
        raise MemberRefused(member, f"its symlink target ({target!r}) has a NUL byte or a backslash")
    if target.startswith("/"):
        raise MemberRefused(member, f"it is a symlink to the absolute path {target!r} (outside the bundle)")
    components = [part for part in target.split("/") if part not in ("", ".")]
    ups = 0
    while ups < len(components) and components[ups] == "..":
        ups += 1
    if ".." in components[ups:]:
        raise MemberRefused(member, f"its symlink target {target!r} has '..' after a directory name")
    directory = parts[:-1]
    if ups > len(directory):
        raise MemberRefused(member, f"it is a symlink pointing out of the bundle ({target!r})")
    resolved = directory[: len(directory) - ups] + components[ups:]
    if not resolved or resolved[0] not in ROOTS:
        shown = "/".join(resolved) or "the bundle's root"
        raise MemberRefused(
            member, f"it is a symlink to {target!r}, which resolves to {shown}, outside {_ALLOWED}"
        )


@dataclass
class BundleRules:
    """One bundle's rules, asked member by member in archive order: some look back (a hardlink names
    an earlier file, nothing lies under an earlier symlink, no path comes twice), so use one instance
    per archive. `max_unpacked_bytes` None leaves the size unbounded (the command line packing);
    `limit_setting` names the setting that raises the limit, for the message."""

    max_unpacked_bytes: int | None = None
    limit_setting: str = ""
    members: int = 0
    unpacked_bytes: int = 0
    _seen: set[str] = field(default_factory=set)
    _files: set[str] = field(default_factory=set)
    _symlinks: set[str] = field(default_factory=set)
    _roots: set[str] = field(default_factory=set)

    def check(self, member: tarfile.TarInfo) -> list[str]:
        """Refuse `member` (MemberRefused, UnpackedTooLarge, BundleRefused) or return its path parts."""
        name = member.name
        self.members += 1
        if self.members > MAX_MEMBERS:
            raise BundleRefused(f"the bundle has more than {MAX_MEMBERS} members (at member {name!r})")
        parts = _parts(name, member=name)
        if not parts:
            raise MemberRefused(name, f"it names the bundle's root itself; {_HOW_TO_PACK}")
        path = "/".join(parts)
        if parts[0] not in ROOTS:
            raise MemberRefused(
                name, f"a bundle holds only {_ALLOWED} (move it under include/ if it is code)"
            )
        if len(parts) == 1 and not member.isdir():
            raise MemberRefused(name, f"{parts[0]} must be a directory")
        for depth in range(1, len(parts)):
            if "/".join(parts[:depth]) in self._symlinks:
                raise MemberRefused(name, f"it lies under the symlink {'/'.join(parts[:depth])!r}")
        if path in self._seen:
            raise MemberRefused(name, f"{path!r} appears twice in the bundle; a path may come only once")
        self._check_kind(member, parts, path)
        self._seen.add(path)
        self._roots.add(parts[0])
        self._count(member)
        return parts

    def _check_kind(self, member: tarfile.TarInfo, parts: list[str], path: str) -> None:
        name = member.name
        if member.ischr() or member.isblk():
            raise MemberRefused(name, "it is a device file")
        if member.isfifo():
            raise MemberRefused(name, "it is a fifo")
        if member.issym():
            _check_symlink(name, member.linkname, parts)
            self._symlinks.add(path)
        elif member.islnk():
            target = "/".join(_parts(member.linkname, member=name, what="its hardlink target"))
            if target not in self._files:
                raise MemberRefused(
                    name, f"it is a hardlink to {member.linkname!r}, not a file earlier in the bundle"
                )
            self._files.add(path)
        elif member.isreg():
            self._files.add(path)
        elif not member.isdir():
            raise MemberRefused(name, f"its type {member.type!r} is not a file, directory or link")

    def _count(self, member: tarfile.TarInfo) -> None:
        self.unpacked_bytes += max(member.size, 0)
        limit = self.max_unpacked_bytes
        if limit is not None and self.unpacked_bytes > limit:
            raise UnpackedTooLarge(member.name, _too_large(limit, self.limit_setting))

    def finish(self) -> None:
        """After the last member: refuse a bundle without `dags/`."""
        if REQUIRED_ROOT not in self._roots:
            raise MissingRequiredRoot(
                f"the bundle has no {REQUIRED_ROOT}/ directory: a bundle holds {REQUIRED_ROOT}/ (required), "
                f"include/ and plugins/; {_HOW_TO_PACK}"
            )
