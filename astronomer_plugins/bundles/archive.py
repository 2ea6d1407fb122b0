"""Unpacking a DAG bundle (tar.gz) without trusting whoever made it, or whoever served it.

Each member is checked against the bundle rules the control plane applied on upload
(astronomer_plugins.bundle_rules, one set for both sides) before its data is read: roots, paths,
links, file types, member count and the unpacked total; the decompressed stream is read once and
counted (a gzip bomb, in data or in headers, stops early). Python's own `data`
extraction filter runs on top, as a second net (absolute or escaping names, links out, special
files, setuid bits). Files get the unpack time as their mtime, so the dag-processor, which re-parses
files changed since their last parse, sees a new deploy at once.
"""

from __future__ import annotations

import gzip
import os
import tarfile
import time
import zlib
from pathlib import Path

from astronomer_plugins.bundle_rules import BundleRules, CountedStream
from astronomer_plugins.errors import BundleRefused

IGNORE_FILE = ".airflowignore"
LIMIT_SETTING = "[astronomer] bundle_max_unpacked_bytes"
# The bundle root is the DAG discovery root and a sys.path root (so `from include.x` resolves to the
# bundle's copy): only dags/ holds DAG files, so include/ and plugins/ are never parsed as DAG files.
# One set of rules per `[core] dag_ignore_file_syntax`.
ROOT_IGNORE = {"glob": "/include/\n/plugins/\n", "regexp": "^include(/|$)\n^plugins(/|$)\n"}


def unpack(archive: Path, destination: Path, *, max_unpacked_bytes: int, ignore_syntax: str = "glob") -> int:
    """Unpack `archive` into the new directory `destination` (which must not exist; the caller renames
    it into place, so a refused archive never shows up half unpacked). Returns the unpacked size.
    Raises BundleRefused naming the member and the rule; the caller removes `destination`."""
    destination.mkdir(parents=True)
    rules = BundleRules(max_unpacked_bytes=max_unpacked_bytes, limit_setting=LIMIT_SETTING)
    now = time.time()

    def stamp(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo | None:
        checked = tarfile.data_filter(member, path)
        return checked.replace(mtime=now, deep=False) if checked is not None else None

    try:
        with (
            gzip.open(archive, "rb") as raw,
            tarfile.open(  # type: ignore[call-overload]
                fileobj=CountedStream(
                    raw, max_unpacked_bytes=max_unpacked_bytes, limit_setting=LIMIT_SETTING
                ),
                mode="r|",
            ) as tar,
        ):
            for member in tar:
                rules.check(member)
                try:
                    tar.extract(member, destination, filter=stamp)
                except tarfile.FilterError as exc:
                    raise BundleRefused(f"member {member.name!r}: {exc}") from None
    except (tarfile.TarError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise BundleRefused(f"not a readable tar.gz: {exc}") from None
    rules.finish()
    ignored = ROOT_IGNORE.get(ignore_syntax, ROOT_IGNORE["glob"])
    (destination / IGNORE_FILE).write_text(ignored, encoding="utf-8")
    os.utime(destination, (now, now))
    return rules.unpacked_bytes
