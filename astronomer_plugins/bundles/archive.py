"""Unpacking a DAG bundle (tar.gz) without trusting whoever made it, or whoever served it.

The rules are the control plane's upload rules, checked again here: a member lies under `dags/`,
`include/` or `plugins/` (and `dags/` is there), its name is relative without `..`, a link points
inside the tree, there are no device, fifo or other special files, and the unpacked total stays under
a limit, checked on each header before its data is read (a gzip bomb stops early). Python's own
`data` extraction filter runs on top, as a second net (absolute or escaping names, links out, special
files, setuid bits). Files get the unpack time as their mtime, so the dag-processor, which re-parses
files changed since their last parse, sees a new deploy at once.
"""

from __future__ import annotations

import gzip
import os
import posixpath
import tarfile
import time
import zlib
from pathlib import Path

from astronomer_plugins.errors import BundleRefused

TOP_LEVEL = ("dags", "include", "plugins")
REQUIRED = "dags"
IGNORE_FILE = ".airflowignore"
# The bundle root is the DAG discovery root and a sys.path root (so `from include.x` resolves to the
# bundle's copy): only dags/ holds DAG files, so include/ and plugins/ are never parsed as DAG files.
# One set of rules per `[core] dag_ignore_file_syntax`.
ROOT_IGNORE = {"glob": "/include/\n/plugins/\n", "regexp": "^include(/|$)\n^plugins(/|$)\n"}


def member_problem(member: tarfile.TarInfo) -> str | None:
    """Why `member` may not be unpacked, or None. Mirrors the control plane's upload checks."""
    name = member.name
    if not name or name.startswith("/") or "\\" in name or "\x00" in name:
        return "an absolute or malformed path"
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if not parts:
        return "an empty path"
    if ".." in parts:
        return "a path with '..'"
    if parts[0] not in TOP_LEVEL:
        return f"outside {', '.join(name + '/' for name in TOP_LEVEL)}"
    if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
        return "a device, fifo or other special file"
    if member.issym() or member.islnk():
        target = member.linkname
        if not target or target.startswith("/"):
            return f"a link to an absolute path ({target!r})"
        base = posixpath.dirname(posixpath.normpath(name)) if member.issym() else ""
        resolved = posixpath.normpath(posixpath.join(base, target))
        if resolved == ".." or resolved.startswith("../") or resolved.split("/")[0] not in TOP_LEVEL:
            return f"a link pointing out of the bundle ({target!r})"
    return None


def unpack(archive: Path, destination: Path, *, max_unpacked_bytes: int, ignore_syntax: str = "glob") -> int:
    """Unpack `archive` into the new directory `destination` (which must not exist; the caller renames
    it into place, so a refused archive never shows up half unpacked). Returns the unpacked size.
    Raises BundleRefused naming the member and the rule; the caller removes `destination`."""
    destination.mkdir(parents=True)
    total = 0
    seen_required = False
    now = time.time()

    def stamp(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo | None:
        checked = tarfile.data_filter(member, path)
        return checked.replace(mtime=now, deep=False) if checked is not None else None

    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            for member in tar:
                problem = member_problem(member)
                if problem:
                    raise BundleRefused(f"member {member.name!r}: {problem}")
                total += max(member.size, 0)
                if total > max_unpacked_bytes:
                    raise BundleRefused(
                        f"member {member.name!r}: unpacked size exceeds {max_unpacked_bytes} bytes "
                        "([astronomer] bundle_max_unpacked_bytes)"
                    )
                seen_required = seen_required or member.name.lstrip("./").split("/")[0] == REQUIRED
                try:
                    tar.extract(member, destination, filter=stamp)
                except tarfile.FilterError as exc:
                    raise BundleRefused(f"member {member.name!r}: {exc}") from None
    except (tarfile.TarError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise BundleRefused(f"not a readable tar.gz: {exc}") from None
    if not seen_required:
        raise BundleRefused(f"no {REQUIRED}/ folder in the bundle")
    rules = ROOT_IGNORE.get(ignore_syntax, ROOT_IGNORE["glob"])
    (destination / IGNORE_FILE).write_text(rules, encoding="utf-8")
    os.utime(destination, (now, now))
    return total
