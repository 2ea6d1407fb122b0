"""The one set of DAG-bundle member rules (asked by the control plane, the Runtime and the command
line): each refusal names the member and the reason; what the rules accept is what a project packs."""

from __future__ import annotations

import subprocess
import sys
import tarfile

import pytest

from astronomer_plugins.bundle_rules import (
    MAX_MEMBERS,
    BundleRules,
    CountedStream,
    MemberRefused,
    MissingRequiredRoot,
    StreamTooLarge,
    UnpackedTooLarge,
)
from astronomer_plugins.errors import BundleRefused


def member(name: str, kind: bytes = tarfile.REGTYPE, target: str = "", size: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, target, size
    return info


def directory(name: str) -> tarfile.TarInfo:
    return member(name, tarfile.DIRTYPE)


def symlink(name: str, target: str) -> tarfile.TarInfo:
    return member(name, tarfile.SYMTYPE, target)


def hardlink(name: str, target: str) -> tarfile.TarInfo:
    return member(name, tarfile.LNKTYPE, target)


def check_all(members: list[tarfile.TarInfo], rules: BundleRules | None = None) -> BundleRules:
    rules = rules or BundleRules()
    for info in members:
        rules.check(info)
    rules.finish()
    return rules


def test_a_project_shaped_bundle_passes_and_is_counted() -> None:
    rules = check_all(
        [
            directory("dags"),
            member("dags/a.py", size=10),
            member("./dags/b.py", size=5),  # `tar -C project ./dags` names
            directory("include"),
            member("include/helpers.py", size=7),
            symlink("dags/helpers.py", "../include/helpers.py"),
            symlink("include/dags", "../dags"),
            symlink("dags/alias.py", "a.py"),
            hardlink("dags/copy.py", "dags/a.py"),
            directory("plugins"),
        ]
    )
    assert (rules.members, rules.unpacked_bytes) == (10, 22)


REFUSED = [
    (
        "absolute",
        [member("/etc/passwd")],
        "member '/etc/passwd': its path is absolute ('/etc/passwd'); "
        "paths must be relative, e.g. dags/my_dag.py",
    ),
    (
        "dotdot",
        [member("dags/../../x")],
        "member 'dags/../../x': its path contains '..' ('dags/../../x'); it could point out of the bundle",
    ),
    (
        "backslash",
        [member("dags\\..\\x.py")],
        "member 'dags\\\\..\\\\x.py': its path ('dags\\\\..\\\\x.py') "
        "has a NUL byte or a backslash; separate names with /",
    ),
    (
        "root entry",
        [directory("./")],
        "member './': it names the bundle's root itself; pack the folders "
        "by name, e.g. `tar -czf bundle.tar.gz dags include plugins`",
    ),
    (
        "outside the roots",
        [member("setup.py")],
        "member 'setup.py': a bundle holds only dags/, include/, "
        "plugins/ (move it under include/ if it is code)",
    ),
    ("root is a file", [member("dags")], "member 'dags': dags must be a directory"),
    ("root is a symlink", [symlink("include", "dags")], "member 'include': include must be a directory"),
    ("device", [member("dags/null", tarfile.CHRTYPE)], "member 'dags/null': it is a device file"),
    ("block device", [member("dags/sda", tarfile.BLKTYPE)], "member 'dags/sda': it is a device file"),
    ("fifo", [member("dags/pipe", tarfile.FIFOTYPE)], "member 'dags/pipe': it is a fifo"),
    (
        "other type",
        [member("dags/x", b"Z")],
        "member 'dags/x': its type b'Z' is not a file, directory or link",
    ),
    (
        "symlink absolute",
        [symlink("dags/p", "/etc/passwd")],
        "member 'dags/p': it is a symlink to the absolute path '/etc/passwd' (outside the bundle)",
    ),
    ("symlink empty", [symlink("dags/p", "")], "member 'dags/p': it is a symlink with an empty target"),
    (
        "symlink out",
        [symlink("dags/p", "../../x")],
        "member 'dags/p': it is a symlink pointing out of the bundle ('../../x')",
    ),
    (
        "symlink to the root",
        [symlink("dags/up", "..")],
        "member 'dags/up': it is a symlink to '..', which resolves to the bundle's root, "
        "outside dags/, include/, plugins/",
    ),
    (
        "symlink to another top level",
        [symlink("dags/s", "../setup.py")],
        "member 'dags/s': it is a symlink to '../setup.py', which resolves to setup.py, "
        "outside dags/, include/, plugins/",
    ),
    (
        "symlink climbing through a link",
        [symlink("dags/up", "../include"), symlink("dags/x", "up/../..")],
        "member 'dags/x': its symlink target 'up/../..' has '..' after a directory name",
    ),
    (
        "under a symlink",
        [symlink("dags/up", "../include"), member("dags/up/x.py")],
        "member 'dags/up/x.py': it lies under the symlink 'dags/up'",
    ),
    (
        "hardlink out",
        [hardlink("dags/h", "../etc/shadow")],
        "member 'dags/h': its hardlink target contains '..' ('../etc/shadow'); "
        "it could point out of the bundle",
    ),
    (
        "hardlink absolute",
        [hardlink("dags/h", "/etc/shadow")],
        "member 'dags/h': its hardlink target is absolute ('/etc/shadow'); paths must be relative, "
        "e.g. dags/my_dag.py",
    ),
    (
        "hardlink to a later file",
        [hardlink("dags/h", "dags/late.py"), member("dags/late.py")],
        "member 'dags/h': it is a hardlink to 'dags/late.py', not a file earlier in the bundle",
    ),
    (
        "hardlink to a symlink",
        [symlink("dags/s", "a.py"), hardlink("dags/h", "dags/s")],
        "member 'dags/h': it is a hardlink to 'dags/s', not a file earlier in the bundle",
    ),
    (
        "twice",
        [member("dags/a.py"), symlink("dags/a.py", "../include/x.py")],
        "member 'dags/a.py': 'dags/a.py' appears twice in the bundle; a path may come only once",
    ),
]


@pytest.mark.parametrize(("members", "message"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_each_refusal_names_the_member_and_the_reason(members: list[tarfile.TarInfo], message: str) -> None:
    with pytest.raises(MemberRefused) as refused:
        check_all([directory("dags"), *members])
    assert str(refused.value) == message


def test_no_dags_is_refused_once_all_members_are_read() -> None:
    with pytest.raises(MissingRequiredRoot) as refused:
        check_all([directory("include"), member("include/x.py")])
    assert str(refused.value) == (
        "the bundle has no dags/ directory: a bundle holds dags/ (required), include/ and plugins/; "
        "pack the folders by name, e.g. `tar -czf bundle.tar.gz dags include plugins`"
    )


def test_the_unpacked_size_is_bounded_at_the_member_that_passes_it() -> None:
    rules = BundleRules(max_unpacked_bytes=3 * 2**20, limit_setting="the setting X")
    rules.check(member("dags/a.bin", size=2 * 2**20))
    with pytest.raises(UnpackedTooLarge) as refused:
        rules.check(member("dags/b.bin", size=2 * 2**20))
    assert str(refused.value) == (
        "member 'dags/b.bin': the bundle unpacks to more than the limit of 3145728 bytes "
        "(3 MiB, the setting X)"
    )


def test_the_member_count_is_bounded() -> None:
    rules = BundleRules()
    rules.check(directory("dags"))
    for index in range(MAX_MEMBERS - 1):
        rules.check(member(f"dags/{index}.py"))
    with pytest.raises(BundleRefused) as refused:
        rules.check(member("dags/one-too-many.py"))
    assert str(refused.value) == "the bundle has more than 100000 members (at member 'dags/one-too-many.py')"


def test_the_rules_import_nothing_heavy() -> None:
    """The control plane imports them: no Airflow, no pydantic models, nothing of the bundle class."""
    code = (
        "import sys, astronomer_plugins.bundle_rules; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('airflow', 'astronomer_plugins')))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == str(
        ["astronomer_plugins", "astronomer_plugins.bundle_rules", "astronomer_plugins.errors"]
    )


class Zeros:
    """An endless decompressed stream, made as it is read (a bomb in tar headers looks like this)."""

    def read(self, size: int = -1) -> bytes:
        return bytes(min(size if size > 0 else 2**20, 2**20))


def test_the_decompressed_stream_is_bounded_headers_included() -> None:
    stream = CountedStream(Zeros(), max_unpacked_bytes=2**20, limit_setting="the setting X")
    with pytest.raises(StreamTooLarge) as refused:
        while True:
            stream.read(2**20)
    assert str(refused.value) == (
        "the bundle unpacks to more than the limit of 1048576 bytes (1 MiB, the setting X)"
    )
    # 1 MiB of files plus 100000 members' tar overhead (154648576 bytes): stopped at the 148th MiB read
    assert stream.count == 148 * 2**20
