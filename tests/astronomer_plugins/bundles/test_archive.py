"""Unpacking never trusts the archive: each unsafe member is refused with its name and the rule."""

from __future__ import annotations

import io
import os
import tarfile
import time
from pathlib import Path

import pytest

from astronomer_plugins.bundles.archive import unpack
from astronomer_plugins.errors import BundleRefused
from tests.astronomer_plugins.bundles.deploys import make_bundle

LIMIT = 10 * 1024 * 1024
DAG = "from airflow.sdk import dag\n"


def link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


def special(name: str, kind: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    return info


def write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "bundle.tar.gz"
    path.write_bytes(data)
    return path


def test_a_bundle_unpacks_with_fresh_mtimes_and_an_ignore_file_for_non_dag_folders(tmp_path: Path) -> None:
    files = {"dags/a.py": DAG, "include/helpers.py": "X = 1\n", "plugins/p.py": "P = 1\n"}
    archive = write(tmp_path, make_bundle(files, extra=[link("dags/helpers.py", "../include/helpers.py")]))
    before = time.time() - 1
    size = unpack(archive, tmp_path / "out", max_unpacked_bytes=LIMIT)
    out = tmp_path / "out"
    assert size == len(DAG) + 6 + 6
    assert (out / "dags/a.py").read_text() == DAG
    assert (out / "dags/helpers.py").read_text() == "X = 1\n"  # a link inside the tree is kept
    assert os.path.getmtime(out / "dags/a.py") >= before  # archive says a day ago
    assert (out / ".airflowignore").read_text() == "/include/\n/plugins/\n"


def test_the_ignore_file_follows_regexp_syntax(tmp_path: Path) -> None:
    archive = write(tmp_path, make_bundle({"dags/a.py": DAG}))
    unpack(archive, tmp_path / "out", max_unpacked_bytes=LIMIT, ignore_syntax="regexp")
    assert (tmp_path / "out/.airflowignore").read_text() == "^include(/|$)\n^plugins(/|$)\n"


@pytest.mark.parametrize(
    ("files", "extra", "reason"),
    [
        (
            {"dags/../../etc/x.py": DAG},
            [],
            "member 'dags/../../etc/x.py': its path contains '..' ('dags/../../etc/x.py'); "
            "it could point out of the bundle",
        ),
        (
            {"/etc/cron.d/x": DAG},
            [],
            "member '/etc/cron.d/x': its path is absolute ('/etc/cron.d/x'); paths must be relative, "
            "e.g. dags/my_dag.py",
        ),
        (
            {"dags/a.py": DAG, "setup.py": DAG},
            [],
            "member 'setup.py': a bundle holds only dags/, include/, plugins/ "
            "(move it under include/ if it is code)",
        ),
        (
            {"dags/a.py": DAG},
            [link("dags/passwd", "/etc/passwd")],
            "member 'dags/passwd': it is a symlink to the absolute path '/etc/passwd' (outside the bundle)",
        ),
        (
            {"dags/a.py": DAG},
            [link("dags/up", "../../outside")],
            "member 'dags/up': it is a symlink pointing out of the bundle ('../../outside')",
        ),
        (
            {"dags/a.py": DAG},
            [link("dags/hard", "../secret", tarfile.LNKTYPE)],
            "member 'dags/hard': its hardlink target contains '..' ('../secret'); "
            "it could point out of the bundle",
        ),
        (
            {"dags/a.py": DAG},
            [special("dags/null", tarfile.CHRTYPE)],
            "member 'dags/null': it is a device file",
        ),
        (
            {"dags/a.py": DAG},
            [special("dags/pipe", tarfile.FIFOTYPE)],
            "member 'dags/pipe': it is a fifo",
        ),
        (
            {"include/x.py": "X = 1\n"},
            [],
            "the bundle has no dags/ directory: a bundle holds dags/ (required), include/ and plugins/; "
            "pack the folders by name, e.g. `tar -czf bundle.tar.gz dags include plugins`",
        ),
    ],
    ids=[
        "dotdot",
        "absolute",
        "top-level",
        "symlink-absolute",
        "symlink-out",
        "hardlink-out",
        "device",
        "fifo",
        "no-dags",
    ],
)
def test_unsafe_bundles_are_refused_naming_the_member(
    tmp_path: Path, files: dict[str, str], extra: list[tarfile.TarInfo], reason: str
) -> None:
    archive = write(tmp_path, make_bundle(files, extra=extra))
    with pytest.raises(BundleRefused) as refused:
        unpack(archive, tmp_path / "out", max_unpacked_bytes=LIMIT)
    assert str(refused.value) == reason
    assert not (tmp_path / "etc").exists()


def test_a_gzip_bomb_is_refused_from_its_header_before_its_data_is_read(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("dags/zeros.py")
        info.size = 64 * 1024 * 1024
        tar.addfile(info, io.BytesIO(bytes(info.size)))
    assert len(buffer.getvalue()) < 200 * 1024
    started = time.monotonic()
    with pytest.raises(BundleRefused) as refused:
        unpack(write(tmp_path, buffer.getvalue()), tmp_path / "out", max_unpacked_bytes=LIMIT)
    assert str(refused.value) == (
        "member 'dags/zeros.py': the bundle unpacks to more than the limit of 10485760 bytes "
        "(10 MiB, [astronomer] bundle_max_unpacked_bytes)"
    )
    assert not any((tmp_path / "out").rglob("*.py"))
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"not a gzip at all", "not a readable tar.gz"),
        (make_bundle({"dags/a.py": DAG})[:-30], "not a readable tar.gz"),
    ],
    ids=["garbage", "truncated"],
)
def test_unreadable_archives_are_refused(tmp_path: Path, data: bytes, reason: str) -> None:
    with pytest.raises(BundleRefused, match=reason):
        unpack(write(tmp_path, data), tmp_path / "out", max_unpacked_bytes=LIMIT)


def test_a_hardlink_to_an_earlier_file_unpacks_from_the_stream(tmp_path: Path) -> None:
    archive = write(
        tmp_path, make_bundle({"dags/a.py": DAG}, extra=[link("dags/b.py", "dags/a.py", tarfile.LNKTYPE)])
    )
    unpack(archive, tmp_path / "out", max_unpacked_bytes=LIMIT)
    assert (tmp_path / "out/dags/b.py").read_text() == DAG
    assert os.path.samefile(tmp_path / "out/dags/a.py", tmp_path / "out/dags/b.py")
