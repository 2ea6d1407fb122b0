"""Secrets at rest: only SHA-256 digests of tokens are stored; files holding secrets are 0600."""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def make_private_dir(path: Path) -> None:
    """A directory only its owner can enter: created 0700, or narrowed to 0700 if it exists wider."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)


def make_private_file(path: Path) -> None:
    """A file only its owner can read: created empty with 0600, or narrowed to 0600 if it exists wider."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read, replacing it atomically."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(text)
    os.replace(temporary, path)
