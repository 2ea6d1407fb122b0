"""DAG bundles (tar.gz) built in memory for tests, including the malicious kinds the control plane
must refuse: each member is given exactly (name, type, link target, content)."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from dataclasses import dataclass

DAG_SOURCE = b"""from airflow.sdk import dag, task


@dag(schedule=None)
def hello():
    @task
    def say():
        print("hello from the bundle")

    say()


hello()
"""


@dataclass(frozen=True)
class Member:
    name: str
    data: bytes = b""
    type: bytes = tarfile.REGTYPE
    linkname: str = ""


def file(name: str, data: bytes = b"x = 1\n") -> Member:
    return Member(name, data)


def directory(name: str) -> Member:
    return Member(name, type=tarfile.DIRTYPE)


def symlink(name: str, target: str) -> Member:
    return Member(name, type=tarfile.SYMTYPE, linkname=target)


def hardlink(name: str, target: str) -> Member:
    return Member(name, type=tarfile.LNKTYPE, linkname=target)


def tar_gz(members: list[Member], *, compresslevel: int = 6) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for member in members:
            info = tarfile.TarInfo(member.name)
            info.type = member.type
            info.linkname = member.linkname
            info.mode = 0o755 if member.type == tarfile.DIRTYPE else 0o644
            info.size = len(member.data) if member.type == tarfile.REGTYPE else 0
            archive.addfile(info, io.BytesIO(member.data) if member.type == tarfile.REGTYPE else None)
    return gzip.compress(raw.getvalue(), compresslevel=compresslevel, mtime=0)


def dag_bundle(marker: str = "v1", *, with_include: bool = True) -> bytes:
    """A valid bundle: one DAG, and an include module holding `marker` (tells versions apart)."""
    members = [directory("dags"), file("dags/hello.py", DAG_SOURCE)]
    if with_include:
        members += [directory("include"), file("include/marker.py", f"MARKER = {marker!r}\n".encode())]
    return tar_gz(members)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
