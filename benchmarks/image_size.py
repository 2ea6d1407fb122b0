"""Image size against its content, build time from a warm cache, and customer installs uv vs pip.

Uses the image tests' buildah storage (.local/image-tests) and the debootstrap base, so run the image
tests once first (or let this script build everything, cold). Prints, in one run:
- the image's size and the size of what it has to hold (base image + venv + uv + our files); the
  overhead target is <= 5 %; each layer's size with the step that made it (what to look at when the
  ratio grows: a chown/chmod -R after a COPY duplicates the files, apt caches left behind...);
- the build time of the `base` target from a warm layer cache;
- a 10-package customer requirements file installed with uv (our ONBUILD) vs plain pip, same image.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from astronomer_runtime.catalog import load_catalog
from astronomer_runtime.image import base, build
from astronomer_runtime.image.engine import Buildah
from astronomer_runtime.paths import CATALOG_FILE, REPO_ROOT

STORAGE = REPO_ROOT / ".local" / "image-tests"
PYTHON = "3.11"
# 10 pure-Python packages that Airflow does not already bring.
REQUIREMENTS = [
    "humanize==4.12.3",
    "toolz==1.0.0",
    "xmltodict==0.14.2",
    "boltons==25.0.0",
    "cachelib==0.13.0",
    "schedule==1.2.2",
    "inflection==0.5.1",
    "pycountry==24.6.1",
    "tomlkit==0.13.3",
    "sortedcontainers==2.4.0",
]
# What the image has to hold besides the base image: the venv, uv and our files.
CONTENT_PATHS = (
    "/usr/local/astronomer/venv /usr/local/bin/uv /etc/astronomer /usr/local/bin/astro-* "
    "/usr/local/bin/install-*"
)
CA_MOUNT = "/run/secrets/ca.pem"


def image_bytes(engine: Buildah, image: str, scratch: Path) -> int:
    """Uncompressed size: the sum of the image's exported layers (what a registry would store)."""
    return sum(layer_bytes(engine, image, scratch))


def layer_bytes(engine: Buildah, image: str, scratch: Path) -> list[int]:
    """Uncompressed size of each exported layer, bottom first."""
    target = scratch / image.replace("/", "_").replace(":", "_")
    push = ["push", "--quiet", "--disable-compression", image, f"oci:{target}"]
    subprocess.run(engine.base_command() + push, capture_output=True, text=True, check=True)
    blobs = target / "blobs" / "sha256"
    index = json.loads((target / "index.json").read_text())
    manifest = json.loads((blobs / _hex(index["manifests"][0]["digest"])).read_text())
    return [_uncompressed(blobs / _hex(layer["digest"])) for layer in manifest["layers"]]


def _hex(digest: str) -> str:
    """The hex part of a `sha256:...` digest: the blob's file name."""
    return digest.split(":")[1]


def layer_steps(engine: Buildah, image: str) -> list[str]:
    """The Dockerfile step behind each layer (history entries that made one), bottom first."""
    history = engine.inspect(image)["Docker"]["history"]
    made_layers = [step for step in history if not step.get("empty_layer")]
    return [" ".join(step.get("created_by", "").split())[:90] for step in made_layers]


def _uncompressed(blob: Path) -> int:
    """Bytes of a layer tar, decompressing when the engine kept it gzipped."""
    with blob.open("rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
    total = 0
    source = gzip.open(blob, "rb") if gzipped else blob.open("rb")
    with source as stream:
        while chunk := stream.read(1 << 20):
            total += len(chunk)
    return total


def run(engine: Buildah, container: str, script: str, *, ca: Path | None = None) -> tuple[float, str]:
    command = engine.base_command() + ["run", "--isolation", "chroot"]
    if ca:
        command += ["--volume", f"{ca}:{CA_MOUNT}:ro"]
        command += ["--env", f"SSL_CERT_FILE={CA_MOUNT}", "--env", f"PIP_CERT={CA_MOUNT}"]
    started = time.monotonic()
    result = subprocess.run(command + [container, "--", "bash", "-c", script], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"image_size: `{script}` failed in {container}:\n{result.stderr[-2000:]}")
    return time.monotonic() - started, result.stdout


def fresh(engine: Buildah, image: str) -> str:
    command = engine.base_command() + ["from", "--pull-never", image]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


def main() -> int:
    engine = Buildah.under(STORAGE)
    workdir = STORAGE / "work"
    base_tag = base.make_base(engine, workdir=workdir)
    release = load_catalog(CATALOG_FILE).newest_stable(PYTHON)
    spec = build.ImageSpec(release=release, python=PYTHON, base_image=base_tag, target="base")
    ca = build.host_ca_bundle()
    build.build_image(engine, spec, workdir=workdir, ca_bundle=ca)  # warm the cache
    warm = build.build_image(engine, spec, workdir=workdir, ca_bundle=ca)

    container = fresh(engine, warm.tag)
    containers = [container]
    try:
        _, content = run(engine, container, f"du -sb --apparent-size {CONTENT_PATHS} | cut -f1")
        with tempfile.TemporaryDirectory(dir=workdir) as scratch:
            base_bytes = image_bytes(engine, base_tag, Path(scratch))
            content_bytes = base_bytes + sum(int(value) for value in content.split())
            layers = layer_bytes(engine, warm.tag, Path(scratch))
            total = sum(layers)
        requirements = " ".join(REQUIREMENTS)
        uv_seconds, _ = run(engine, container, f"uv pip install --no-cache --quiet {requirements}", ca=ca)
        pip_container = fresh(engine, warm.tag)
        containers.append(pip_container)
        pip_install = f"pip install --no-cache-dir --quiet {requirements}"
        pip_seconds, _ = run(engine, pip_container, pip_install, ca=ca)
    finally:
        for name in containers:
            subprocess.run(engine.base_command() + ["rm", name], capture_output=True)

    where = f"Python {PYTHON} on the debootstrap base ({engine.storage_driver})"
    print(f"image_size: Runtime {release.name} / {where}")
    print(
        f"  image {total / 1e6:.0f} MB, content (base + venv + uv + our files) {content_bytes / 1e6:.0f} MB, "
        f"overhead ratio {total / content_bytes:.3f} (target <= 1.05)"
    )
    steps = layer_steps(engine, warm.tag)
    if len(steps) != len(layers):
        steps = ["?"] * len(layers)
    print("  layers (uncompressed), to find what duplicates data:")
    for size, step in zip(layers, steps, strict=True):
        print(f"    {size / 1e6:9.1f} MB  {step}")
    print(f"  build of the base target from a warm cache: {warm.seconds:.1f} s")
    ratio = uv_seconds / pip_seconds
    print(
        f"  10-package requirements: uv {uv_seconds:.1f} s, pip {pip_seconds:.1f} s, ratio uv/pip {ratio:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
