"""Fetching one bundle version from the control plane into a verified local file.

The body is streamed to a temporary file next to its destination (never held in memory), counted
against the size limit as it arrives, and hashed on the way: the file is only handed on when its
sha256 is the version asked for, the server's X-Bundle-SHA256 header agrees and, when the BundleRef
gave one, the size matches. Anything else is refused and the file removed.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import requests

from astronomer_plugins.errors import BundleRefused, ControlPlaneUnavailable

if TYPE_CHECKING:
    from astronomer_plugins.control_plane.client import ControlPlaneClient

CHUNK_BYTES = 1024 * 1024
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
DIGEST_HEADER = "X-Bundle-SHA256"


def check_version(version: str) -> str:
    """`version` if it is a sha256 hex digest (it names a folder: never a path of its own)."""
    if not SHA256_HEX.fullmatch(version):
        raise BundleRefused(f"bundle version {version[:80]!r} is not a sha256 hex digest")
    return version


def fetch(
    client: ControlPlaneClient,
    deployment_id: str,
    version: str,
    *,
    directory: Path,
    max_bytes: int,
    expected_size: int | None = None,
) -> Path:
    """Download `version` into a new file in `directory`; its path once verified. The caller removes
    it after use. Raises BundleRefused (bad answer) or a ControlPlaneError (no answer)."""
    check_version(version)
    if expected_size is not None and expected_size > max_bytes:
        raise BundleRefused(
            f"bundle {version[:12]}: {expected_size} bytes exceeds {max_bytes} "
            "([astronomer] bundle_max_bytes)"
        )
    response = client.open_bundle(deployment_id, version)
    try:
        announced = response.headers.get(DIGEST_HEADER, "").strip().lower()
        if announced != version:
            raise BundleRefused(f"bundle {version[:12]}: the server announced sha256 {announced[:64]!r}")
        length = response.headers.get("Content-Length")
        if length is not None and length.isdigit() and int(length) > max_bytes:
            raise BundleRefused(
                f"bundle {version[:12]}: Content-Length {length} exceeds {max_bytes} "
                "([astronomer] bundle_max_bytes)"
            )
        directory.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=f"{version[:12]}-", suffix=".tar.gz", dir=directory)
        path = Path(name)
        try:
            digest, size = _copy(response, handle, version, max_bytes)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
    finally:
        response.close()
    problem = None
    if digest != version:
        problem = f"its sha256 is {digest}"
    elif expected_size is not None and size != expected_size:
        problem = f"{size} bytes arrived, the deploy has {expected_size}"
    if problem:
        path.unlink(missing_ok=True)
        raise BundleRefused(f"bundle {version[:12]}: corrupt download, {problem}")
    return path


def _copy(response: requests.Response, handle: int, version: str, max_bytes: int) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with os.fdopen(handle, "wb") as file:
        try:
            for chunk in response.iter_content(CHUNK_BYTES):
                size += len(chunk)
                if size > max_bytes:
                    raise BundleRefused(
                        f"bundle {version[:12]}: more than {max_bytes} bytes ([astronomer] bundle_max_bytes)"
                    )
                digest.update(chunk)
                file.write(chunk)
        except requests.RequestException as exc:
            raise ControlPlaneUnavailable(
                f"bundle {version[:12]}: download interrupted after {size} bytes: {type(exc).__name__}"
            ) from None
    return digest.hexdigest(), size
