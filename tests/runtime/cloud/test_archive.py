"""The DAG bundle: same tree, same bytes; only dags/, include/, plugins/; nothing the control plane
would refuse (each refusal names the file)."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from pathlib import Path

import pytest

from astronomer_runtime.cloud import archive
from astronomer_runtime.cloud.errors import ArchiveRefused


def _project(root: Path) -> Path:
    for relative, text in {
        "dags/hello.py": "from airflow.sdk import dag\n",
        "dags/pkg/__init__.py": "",
        "dags/__pycache__/hello.cpython-311.pyc": "compiled",
        "dags/stale.pyc": "compiled",
        "include/helpers.py": "VALUE = 1\n",
        "plugins/my_plugin.py": "",
        "tests/test_dags.py": "def test(): pass\n",
        "requirements.txt": "",
        ".env": "SECRET=1\n",
    }.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _names(data: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return tar.getnames()


def test_members_are_the_three_roots_without_bytecode(tmp_path: Path) -> None:
    bundle = archive.build(_project(tmp_path / "p"))
    assert _names(bundle.data) == [
        "dags",
        "dags/hello.py",
        "dags/pkg",
        "dags/pkg/__init__.py",
        "include",
        "include/helpers.py",
        "plugins",
        "plugins/my_plugin.py",
    ]
    assert bundle.files == 4
    assert bundle.sha256 == hashlib.sha256(bundle.data).hexdigest()


def test_same_tree_same_bytes_whatever_the_times_and_modes(tmp_path: Path) -> None:
    first = archive.build(_project(tmp_path / "a"))
    second_root = _project(tmp_path / "b")
    os.utime(second_root / "dags" / "hello.py", (1_000_000, 1_000_000))
    (second_root / "include" / "helpers.py").chmod(0o600)
    assert archive.build(second_root).data == first.data


def test_a_changed_file_changes_the_version(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    before = archive.build(root).sha256
    (root / "include" / "helpers.py").write_text("VALUE = 2\n")
    assert archive.build(root).sha256 != before


def test_members_carry_no_owner_or_time(tmp_path: Path) -> None:
    data = archive.build(_project(tmp_path / "p")).data
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            assert (member.mtime, member.uid, member.gid, member.uname, member.gname) == (0, 0, 0, "", "")
            assert member.mode in (0o644, 0o755)


def test_a_symlink_inside_its_root_travels(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    (root / "dags" / "alias.py").symlink_to("hello.py")
    data = archive.build(root).data
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        member = tar.getmember("dags/alias.py")
        assert member.issym() and member.linkname == "hello.py"


@pytest.mark.parametrize("target", ["../../outside.py", "/etc/passwd", "../include/helpers.py"])
def test_a_symlink_out_of_its_root_is_refused_by_name(tmp_path: Path, target: str) -> None:
    root = _project(tmp_path / "p")
    (tmp_path / "outside.py").write_text("")
    (root / "dags" / "link.py").symlink_to(target)
    with pytest.raises(ArchiveRefused, match=r"dags/link\.py: a symlink out of dags/"):
        archive.build(root)


def test_a_fifo_is_refused_by_name(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    os.mkfifo(root / "include" / "pipe")
    with pytest.raises(ArchiveRefused, match=r"include/pipe: not a regular file"):
        archive.build(root)


def test_a_project_without_dags_is_refused(tmp_path: Path) -> None:
    (tmp_path / "p" / "include").mkdir(parents=True)
    with pytest.raises(ArchiveRefused, match=r"p/dags does not exist"):
        archive.build(tmp_path / "p")


def test_what_the_control_plane_would_refuse_is_refused_while_packing(tmp_path: Path) -> None:
    """The command line asks the shared bundle rules per member (a backslash is legal in a Linux
    file name, but no bundle may carry it)."""
    root = _project(tmp_path / "p")
    (root / "dags" / "odd\\name.py").write_text("")
    with pytest.raises(ArchiveRefused) as refused:
        archive.build(root)
    assert str(refused.value) == (
        "dags/odd\\name.py: its path ('dags/odd\\\\name.py') has a NUL byte or a backslash; "
        "separate names with /; the control plane would refuse it"
    )
