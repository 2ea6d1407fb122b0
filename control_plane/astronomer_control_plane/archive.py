"""The checks a DAG bundle (tar.gz) passes before it is stored.

It is read once as a stream, never extracted here. The member rules (roots, paths, links, file
types, member count, unpacked size from the headers) are the shared ones in
astronomer_plugins.bundle_rules, which the Runtime asks again before it unpacks; this module adds
the stream's own bound: the decompressed bytes are counted, so a gzip bomb (or a flood of headers)
stays small. Each refusal names the member and the reason. Runs in a worker thread (it reads a file).
"""

from __future__ import annotations

import gzip
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from astronomer_control_plane.errors import InvalidArchive, PayloadTooLarge
from astronomer_plugins.bundle_rules import MAX_MEMBERS, BundleRules, UnpackedTooLarge
from astronomer_plugins.errors import BundleRefused

# Tar's own bytes on top of the files' contents: a 512-byte header (plus padding) per member.
TAR_OVERHEAD_PER_MEMBER = 3 * 512
LIMIT_SETTING = "the control plane's --max-bundle-unpacked-mib"


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


def check_bundle(path: Path, *, max_unpacked_bytes: int) -> BundleSummary:
    """Read the tar.gz at `path` once; raise InvalidArchive (400) or PayloadTooLarge (413)."""
    rules = BundleRules(max_unpacked_bytes=max_unpacked_bytes, limit_setting=LIMIT_SETTING)
    stream_limit = max_unpacked_bytes + MAX_MEMBERS * TAR_OVERHEAD_PER_MEMBER
    try:
        with gzip.open(path, "rb") as raw:
            counted = _CountingReader(raw, stream_limit)
            with tarfile.open(fileobj=counted, mode="r|") as archive:  # type: ignore[call-overload]
                for member in archive:
                    rules.check(member)
        rules.finish()
    except UnpackedTooLarge as exc:
        raise PayloadTooLarge(str(exc), field="body") from None
    except BundleRefused as exc:
        raise InvalidArchive(str(exc), field="body") from None
    except _TooLarge:
        raise PayloadTooLarge(
            f"the bundle unpacks to more than the limit of {max_unpacked_bytes} bytes "
            f"({max_unpacked_bytes / 2**20:g} MiB, {LIMIT_SETTING})",
            field="body",
        ) from None
    except (tarfile.TarError, gzip.BadGzipFile, zlib.error, EOFError, OSError) as exc:
        raise InvalidArchive(
            f"the bundle is not a valid tar.gz ({type(exc).__name__}: {exc}); create it with "
            f"`tar -czf bundle.tar.gz dags include plugins`",
            field="body",
        ) from None
    return BundleSummary(members=rules.members, unpacked_bytes=rules.unpacked_bytes)
