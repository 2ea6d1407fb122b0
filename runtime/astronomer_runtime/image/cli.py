"""`astro-runtime image ...`: make the debootstrap base and build a release's image.

Wired into the main parser by `add_commands(subparsers)`; handlers take (catalog, args) like the
other `astro-runtime` commands and return the exit status.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from astronomer_runtime.image import base, build, sbom
from astronomer_runtime.image.engine import Buildah, Engine, detect_engine
from astronomer_runtime.image.paths import DEFAULT_WORKDIR

if TYPE_CHECKING:
    from astronomer_runtime.catalog import Catalog


def _engine(args: argparse.Namespace) -> Engine:
    return detect_engine(args.engine, buildah_storage=args.storage_root)


def cmd_base(catalog: Catalog, args: argparse.Namespace) -> int:
    spec = base.BaseSpec(suite=args.suite, mirror=args.mirror or base.host_mirror())
    tag = base.make_base(_engine(args), spec, workdir=args.workdir, force=args.force)
    print(tag)
    return 0


def cmd_build(catalog: Catalog, args: argparse.Namespace) -> int:
    release = catalog.get(args.release) if args.release else catalog.newest_stable(args.python)
    python = args.python or release.python.default
    spec = build.ImageSpec(
        release=release,
        python=python,
        base_image=args.base_image or build.default_base_image(python),
        target=args.target,
        tag=args.tag,
    )
    ca_bundle = None if args.no_ca else (args.ca_bundle or build.host_ca_bundle())
    engine = _engine(args)
    print(f"Building {spec.image_tag} ({engine.name}, FROM {spec.base_image})", file=sys.stderr)
    result = build.build_image(
        engine, spec, workdir=args.workdir, ca_bundle=ca_bundle, cache=not args.no_cache, output=sys.stderr
    )
    print(f"Built {result.tag} in {result.seconds:.0f} s", file=sys.stderr)
    if not args.no_sbom:
        source = result.tag
        if spec.target != "base" and isinstance(engine, Buildah):
            # `buildah from` runs the default target's ONBUILD triggers; the base target has the same
            # layers without them (and builds from the layer cache in seconds).
            source = build.build_image(
                engine,
                replace(spec, target="base", tag=None),
                workdir=args.workdir,
                ca_bundle=ca_bundle,
                output=sys.stderr,
            ).tag
        path = args.sbom or sbom.default_path(args.workdir, result.tag)
        subject = sbom.ImageSubject(tag=result.tag, release=release.name, python=python)
        sbom.write_sbom(engine, subject, path, tool_version=tool_version(), source_image=source)
        print(f"SBOM (CycloneDX JSON): {path}", file=sys.stderr)
    print(result.tag)
    return 0


def cmd_release_files(catalog: Catalog, args: argparse.Namespace) -> int:
    from astronomer_runtime.image import release_files
    from astronomer_runtime.image.paths import RELEASE_FILES_DIR

    stale = release_files.stale_files(catalog)
    if args.check:
        if stale:
            print(
                f"{RELEASE_FILES_DIR}: not current for versions.yaml: {', '.join(stale)}; "
                "run `astro-runtime image release-files`",
                file=sys.stderr,
            )
            return 1
        return 0
    release_files.write_files(catalog)
    print(f"wrote {RELEASE_FILES_DIR} ({len(stale)} changed)")
    return 0


def tool_version() -> str:
    try:
        return importlib.metadata.version("astronomer-runtime-tools")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--engine", choices=("docker", "buildah"), help="default: docker if its engine answers, else buildah"
    )
    parser.add_argument(
        "--storage-root",
        type=Path,
        help="buildah storage under this folder, overlay if possible else vfs (default: buildah's own)",
    )
    parser.add_argument(
        "--workdir", type=Path, default=DEFAULT_WORKDIR, help="scratch space (default .local/image)"
    )


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add `image base`, `image build` and `image release-files` to the `astro-runtime` parser."""
    image = subparsers.add_parser(
        "image", help="build the Runtime image (docker or buildah) and its Debian base"
    )
    commands = image.add_subparsers(dest="image_command", required=True)

    make = commands.add_parser("base", help="make the Debian bookworm base image with debootstrap")
    make.add_argument("--suite", default=base.DEFAULT_SUITE)
    make.add_argument("--mirror", help="Debian mirror (default: the host's apt mirror)")
    make.add_argument("--force", action="store_true", help="rebuild even if the image exists")
    _common(make)
    make.set_defaults(handler=cmd_base)

    image_build = commands.add_parser("build", help="build a release's image from the Dockerfile")
    image_build.add_argument("--release", help="release name (default: newest stable for --python)")
    image_build.add_argument("--python", help="Python version (default: the release's default)")
    image_build.add_argument(
        "--base-image", help="default python:<python>-slim-bookworm; or the tag from `image base`"
    )
    image_build.add_argument(
        "--target",
        choices=build.TARGETS,
        default="runtime",
        help="runtime (default, with ONBUILD hooks) or base (without)",
    )
    image_build.add_argument(
        "--tag", help="default localhost/astronomer/runtime:<release>-python-<python>[-base]"
    )
    image_build.add_argument(
        "--ca-bundle", type=Path, help="CA bundle passed as build secret `ca` (default: the host's)"
    )
    image_build.add_argument("--no-ca", action="store_true", help="pass no CA bundle")
    image_build.add_argument("--no-cache", action="store_true", help="do not reuse cached layers")
    image_build.add_argument(
        "--sbom",
        type=Path,
        help="where to write the image's CycloneDX JSON SBOM (default <workdir>/sbom/<image tag>.cdx.json)",
    )
    image_build.add_argument("--no-sbom", action="store_true", help="write no SBOM")
    _common(image_build)
    image_build.set_defaults(handler=cmd_build)

    files = commands.add_parser(
        "release-files", help="regenerate runtime/image/release-files from versions.yaml"
    )
    files.add_argument("--check", action="store_true", help="exit 1 if the committed files are not current")
    files.set_defaults(handler=cmd_release_files)
