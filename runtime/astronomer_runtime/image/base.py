"""The debootstrap base: Debian bookworm with Debian's Python 3.11, made from a Debian mirror.

Docker Hub is not always reachable (it is not in CI), but a Debian mirror is; debootstrap turns
the mirror into a root filesystem that stands in for python:3.11-slim-bookworm. The result is an
image in the engine's storage; an existing tag is reused unless `force` is set.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from astronomer_runtime.image.engine import BuildRequest, Engine, run_checked
from astronomer_runtime.image.errors import BaseImageError
from astronomer_runtime.image.paths import BASE_CONTAINERFILE

DEFAULT_SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
# What python:3.11-slim-bookworm has beyond minbase: Python with venv/ensurepip, CAs, netbase, tzdata.
PACKAGES = ("python3", "python3-venv", "ca-certificates", "netbase", "tzdata")
DEBOOTSTRAP_TIMEOUT = 1200


@dataclass(frozen=True)
class BaseSpec:
    suite: str = DEFAULT_SUITE
    mirror: str = DEFAULT_MIRROR

    @property
    def tag(self) -> str:
        return default_tag(self.suite)


def default_tag(suite: str = DEFAULT_SUITE) -> str:
    return f"localhost/astronomer/debian-python:{suite}"


def host_mirror(apt_dir: Path = Path("/etc/apt")) -> str:
    """The host's Debian mirror (deb822 or one-line sources), so debootstrap uses what works here."""
    candidates: list[str] = []
    for path in sorted((apt_dir / "sources.list.d").glob("*.sources")):
        candidates += re.findall(r"^URIs:\s*(\S+)", path.read_text(), flags=re.MULTILINE)
    for path in [apt_dir / "sources.list", *sorted((apt_dir / "sources.list.d").glob("*.list"))]:
        if path.is_file():
            candidates += re.findall(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)", path.read_text(), flags=re.MULTILINE)
    for uri in candidates:
        if uri.rstrip("/").endswith("/debian"):
            return uri.rstrip("/")
    return DEFAULT_MIRROR


def sources_list(spec: BaseSpec) -> str:
    """apt sources of the image: the release, its updates and its security fixes."""
    security = spec.mirror.rstrip("/") + "-security"
    return (
        f"deb {spec.mirror} {spec.suite} main\n"
        f"deb {spec.mirror} {spec.suite}-updates main\n"
        f"deb {security} {spec.suite}-security main\n"
    )


def debootstrap_command(spec: BaseSpec, rootfs: Path) -> list[str]:
    include = f"--include={','.join(PACKAGES)}"
    return ["debootstrap", "--variant=minbase", include, spec.suite, str(rootfs), spec.mirror]


def make_rootfs(spec: BaseSpec, rootfs: Path) -> None:
    """debootstrap into `rootfs`, then leave only what an image needs (no apt lists, no .debs)."""
    if shutil.which("debootstrap") is None:
        raise BaseImageError("debootstrap is not installed: apt-get install -y debootstrap (see .ci/run)")
    if os.geteuid() != 0:
        raise BaseImageError("debootstrap needs root: run `astro-runtime image base` as root")
    try:
        run_checked(debootstrap_command(spec, rootfs), what="debootstrap", timeout=DEBOOTSTRAP_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        raise BaseImageError(
            f"debootstrap did not finish within {DEBOOTSTRAP_TIMEOUT} s ({spec.mirror})"
        ) from exc
    finally:
        release_mounts(rootfs)
    (rootfs / "etc/apt/sources.list").write_text(sources_list(spec))
    for pattern in (
        "var/lib/apt/lists/*",
        "var/cache/apt/archives/*.deb",
        "var/cache/apt/*.bin",
        "var/log/*.log",
    ):
        for path in rootfs.glob(pattern):
            if path.is_file():
                path.unlink()


def mounts_under(rootfs: Path, mountinfo: str) -> list[Path]:
    """Mount points inside `rootfs`, deepest first (fields of /proc/self/mountinfo, octal escapes kept
    as the kernel writes them: a path with a space would not match, and debootstrap's never has one)."""
    root = str(rootfs.resolve())
    points = [line.split()[4] for line in mountinfo.splitlines() if len(line.split()) > 4]
    inside = [Path(point) for point in points if point == root or point.startswith(root + "/")]
    return sorted(set(inside), key=lambda path: len(path.parts), reverse=True)


def release_mounts(rootfs: Path) -> None:
    """Unmount what debootstrap left mounted in the target. Its exit handler's `umount` of /proc fails
    while a process it started inside is still exiting, and then tar would archive the host's /proc
    (seen here: "tar: ./proc/72/environ: Cannot open")."""
    for point in mounts_under(rootfs, Path("/proc/self/mountinfo").read_text()):
        run_checked(["umount", "--lazy", str(point)], what=f"umount of {point}")


def make_base(engine: Engine, spec: BaseSpec | None = None, *, workdir: Path, force: bool = False) -> str:
    """The base image's tag, building it first unless it exists (or `force`)."""
    spec = spec or BaseSpec(mirror=host_mirror())
    if not force and engine.exists(spec.tag):
        return spec.tag
    workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="debian-base-", dir=workdir) as tmp:
        context = Path(tmp)
        rootfs = context / "rootfs"
        make_rootfs(spec, rootfs)
        run_checked(
            ["tar", "-C", str(rootfs), "--numeric-owner", "-cf", str(context / "rootfs.tar"), "."],
            what="tar of the debootstrap root filesystem",
        )
        shutil.rmtree(rootfs)
        shutil.copy2(BASE_CONTAINERFILE, context / "Containerfile")
        engine.build(
            BuildRequest(context=context, tag=spec.tag, dockerfile=context / "Containerfile", cache=False)
        )
    return spec.tag
