"""DAG bundles on disk, content-addressed: `<data dir>/bundles/<sha256>.tar.gz`.

An upload streams into a private temporary file under `bundles/.incoming/` while its sha256 and
size are computed; it is checked (archive.check_bundle) and only then renamed to its address. A
refused or interrupted upload is deleted: nothing refused is ever kept. Every disk operation runs in
a worker thread; the event loop only moves the body's chunks.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
from starlette.concurrency import run_in_threadpool

from astronomer_control_plane.archive import check_bundle
from astronomer_control_plane.errors import InvalidArchive, PayloadTooLarge, UnsupportedMedia
from astronomer_control_plane.limits import MIB
from astronomer_control_plane.secrets_store import make_private_dir

if TYPE_CHECKING:
    from starlette.requests import Request

    from astronomer_control_plane.settings import Settings

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
BUNDLE_MEDIA_TYPES = ("application/gzip", "application/x-gzip")
WRITE_BATCH_BYTES = 1 * MIB  # chunks gathered before one write in a worker thread


@dataclass(frozen=True)
class StoredBundle:
    sha256: str
    size_bytes: int
    unpacked_bytes: int


def bundle_path(settings: Settings, sha256: str) -> Path:
    if not SHA256_HEX.match(sha256):
        raise ValueError(f"not a sha256 hex digest: {sha256!r}")
    return settings.bundles_dir / f"{sha256}.tar.gz"


def incoming_dir(settings: Settings) -> Path:
    return settings.bundles_dir / ".incoming"


def prepare(settings: Settings) -> None:
    """At start: private directories, and no upload left half-written by a killed server."""
    make_private_dir(settings.bundles_dir)
    make_private_dir(incoming_dir(settings))
    for leftover in incoming_dir(settings).iterdir():
        leftover.unlink(missing_ok=True)


class _Upload:
    """The temporary file an upload streams into, with its running sha256 (used from worker threads)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.digest = hashlib.sha256()
        self.size = 0
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)

    def write(self, data: bytes) -> None:
        self.digest.update(data)
        self.size += len(data)
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view) :]

    def finish(self) -> None:
        os.fsync(self.fd)
        self.close()

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def discard(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)


def _check_media_type(request: Request) -> None:
    media_type = request.headers.get("Content-Type", "").partition(";")[0].strip().lower()
    if media_type not in BUNDLE_MEDIA_TYPES:
        raise UnsupportedMedia(
            f"send the bundle as the raw tar.gz body, Content-Type: application/gzip (got {media_type!r})",
            field="Content-Type",
        )
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding not in ("", "identity"):
        raise UnsupportedMedia(
            f"Content-Encoding {encoding!r} is not taken: the tar.gz is sent as it is",
            field="Content-Encoding",
        )


def _install(upload: _Upload, target: Path) -> None:
    """Give the checked file its address. The same content already stored: keep that one."""
    if target.exists():
        upload.discard()
    else:
        os.replace(upload.path, target)


async def receive(request: Request, settings: Settings, *, declared_sha256: str | None) -> StoredBundle:
    """Stream the body into storage: refused (and deleted) when over the size limits, when its
    sha256 is not the declared one, or when the archive fails its checks."""
    _check_media_type(request)
    if declared_sha256 is not None and not SHA256_HEX.match(declared_sha256):
        raise InvalidArchive(
            "X-Bundle-SHA256 must be the bundle's sha256 as 64 lowercase hex digits", field="X-Bundle-SHA256"
        )
    path = incoming_dir(settings) / f"{secrets.token_hex(16)}.tar.gz"
    upload = await run_in_threadpool(_Upload, path)
    try:
        pending = bytearray()
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > settings.max_bundle_bytes:
                limit = settings.max_bundle_bytes
                raise PayloadTooLarge(
                    f"the bundle is larger than the limit of {limit} bytes ({limit / MIB:g} MiB)",
                    field="body",
                )
            pending += chunk
            if len(pending) >= WRITE_BATCH_BYTES:
                await run_in_threadpool(upload.write, bytes(pending))
                pending.clear()
        await run_in_threadpool(upload.write, bytes(pending))
        await run_in_threadpool(upload.finish)
        if upload.size == 0:
            raise InvalidArchive("the body is empty: send the bundle's tar.gz", field="body")
        sha256 = upload.digest.hexdigest()
        if declared_sha256 is not None and declared_sha256 != sha256:
            raise InvalidArchive(
                f"the body's sha256 is {sha256}, not the X-Bundle-SHA256 sent ({declared_sha256}): "
                "the upload was changed or cut on the way; send it again",
                field="X-Bundle-SHA256",
            )
        summary = await run_in_threadpool(
            check_bundle, path, max_unpacked_bytes=settings.max_bundle_unpacked_bytes
        )
        await run_in_threadpool(_install, upload, bundle_path(settings, sha256))
        return StoredBundle(sha256=sha256, size_bytes=upload.size, unpacked_bytes=summary.unpacked_bytes)
    finally:
        # Also when the client went away (cancelled): the partial file must not stay.
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(upload.discard)
