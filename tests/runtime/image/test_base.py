"""The debootstrap base: mirror discovery, apt sources, the debootstrap command, and the image."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from astronomer_runtime.image.base import BaseSpec, debootstrap_command, host_mirror, mounts_under, sources_list
from astronomer_runtime.image.engine import Buildah


def test_mirror_from_deb822_sources(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\n\n"
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n"
    )
    assert host_mirror(tmp_path) == "http://mirror.example/debian"


def test_mirror_from_one_line_sources(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list").write_text("deb [arch=amd64] http://ftp.example/debian/ bookworm main\n")
    assert host_mirror(tmp_path) == "http://ftp.example/debian"


def test_mirror_default(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    assert host_mirror(tmp_path) == "http://deb.debian.org/debian"


def test_mounts_left_in_the_target_are_found_deepest_first() -> None:
    mountinfo = (
        "22 1 253:1 / / rw,relatime - ext4 /dev/vda rw\n"
        "98 22 0:5 / /work/t/rootfs/proc rw,relatime - proc proc rw\n"
        "99 98 0:6 / /work/t/rootfs/proc/sys/fs/binfmt_misc rw - binfmt_misc binfmt_misc rw\n"
        "100 22 0:7 / /work/t/rootfs-other/proc rw - proc proc rw\n"
        "101 22 0:8 / /work/t/rootfs/dev/pts rw - devpts devpts rw\n"
    )
    assert mounts_under(Path("/work/t/rootfs"), mountinfo) == [
        Path("/work/t/rootfs/proc/sys/fs/binfmt_misc"), Path("/work/t/rootfs/dev/pts"), Path("/work/t/rootfs/proc"),
    ]


def test_sources_list() -> None:
    assert sources_list(BaseSpec(mirror="http://m/debian")) == (
        "deb http://m/debian bookworm main\n"
        "deb http://m/debian bookworm-updates main\n"
        "deb http://m/debian-security bookworm-security main\n"
    )


def test_debootstrap_command() -> None:
    assert debootstrap_command(BaseSpec(mirror="http://m/debian"), Path("/r")) == [
        "debootstrap", "--variant=minbase", "--include=python3,python3-venv,ca-certificates,netbase,tzdata",
        "bookworm", "/r", "http://m/debian",
    ]  # fmt: skip


@pytest.mark.image
def test_base_has_debian_python_with_venv(engine: Buildah, debian_base: str, tmp_path: Path) -> None:
    created = subprocess.run(engine.base_command() + ["from", "--pull-never", debian_base], capture_output=True, text=True)
    assert created.returncode == 0, created.stderr
    name = created.stdout.strip()
    try:
        result = subprocess.run(
            engine.base_command() + ["run", "--isolation", "chroot", name, "--",
                                     "python3.11", "-c", "import ensurepip, ssl, venv; print('ok')"],
            capture_output=True, text=True,
        )  # fmt: skip
        assert result.stdout.strip() == "ok", result.stderr
    finally:
        subprocess.run(engine.base_command() + ["rm", name], capture_output=True)
