"""No CA bundle, token or other build secret in any exported layer (searched byte by byte)."""

from __future__ import annotations

import gzip
import subprocess
from pathlib import Path

import pytest

from astronomer_runtime.image.engine import Buildah
from tests.runtime.image.conftest import CA_CANARY, TOKEN_CANARY

pytestmark = pytest.mark.image

_CHUNK = 1 << 20


def blob_contains(path: Path, needles: list[bytes]) -> set[bytes]:
    """Which needles occur in a blob (gzip layers are decompressed; chunks overlap so none is missed)."""
    with path.open("rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
    found: set[bytes] = set()
    overlap = max(len(needle) for needle in needles)
    with (gzip.open(path, "rb") if gzipped else path.open("rb")) as stream:
        tail = b""
        while chunk := stream.read(_CHUNK):
            window = tail + chunk
            found |= {needle for needle in needles if needle in window}
            tail = window[-overlap:]
    return found


def exported_blobs(engine: Buildah, image: str, destination: Path) -> list[Path]:
    result = subprocess.run(engine.base_command() + ["push", "--quiet", "--disable-compression", image, f"oci:{destination}"],
                            capture_output=True, text=True, timeout=900)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return sorted((destination / "blobs" / "sha256").iterdir())


def test_search_finds_a_planted_canary(tmp_path: Path) -> None:
    planted = tmp_path / "layer"
    with gzip.open(planted, "wb") as stream:
        stream.write(b"x" * (_CHUNK - 5) + CA_CANARY.encode() + b"y" * 10)
    assert blob_contains(planted, [CA_CANARY.encode(), TOKEN_CANARY.encode()]) == {CA_CANARY.encode()}


def test_no_secret_in_any_layer(engine: Buildah, customer_image: str, tmp_path: Path) -> None:
    """The customer image holds every layer of the Runtime image plus the ONBUILD ones, and both
    builds had the CA bundle (and the customer build a netrc token) as build secrets."""
    blobs = exported_blobs(engine, customer_image, tmp_path / "oci")
    assert len(blobs) > 5
    leaks = {blob.name: found for blob in blobs if (found := blob_contains(blob, [CA_CANARY.encode(), TOKEN_CANARY.encode()]))}
    assert leaks == {}
