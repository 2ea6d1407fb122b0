"""`astro-runtime image ...` arguments, through add_commands on a bare parser."""

from __future__ import annotations

import argparse
from pathlib import Path

from astronomer_runtime.image.cli import add_commands, cmd_base, cmd_build


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(list(argv))


def test_build_defaults() -> None:
    args = parse("image", "build")
    assert args.handler is cmd_build
    assert (args.release, args.python, args.base_image, args.target, args.engine) == (None, None, None, "runtime", None)
    assert args.workdir.parts[-2:] == (".local", "image")


def test_build_options() -> None:
    args = parse("image", "build", "--release", "3.3-2", "--python", "3.11", "--target", "base",
                 "--base-image", "localhost/astronomer/debian-python:bookworm", "--engine", "buildah",
                 "--storage-root", "/s", "--no-ca")  # fmt: skip
    assert (args.release, args.python, args.target, args.engine, args.storage_root, args.no_ca) == (
        "3.3-2", "3.11", "base", "buildah", Path("/s"), True)  # fmt: skip


def test_base_command() -> None:
    args = parse("image", "base", "--mirror", "http://m/debian", "--force")
    assert (args.handler, args.suite, args.mirror, args.force) == (cmd_base, "bookworm", "http://m/debian", True)


def test_build_sbom_options() -> None:
    assert (parse("image", "build").sbom, parse("image", "build").no_sbom) == (None, False)
    args = parse("image", "build", "--sbom", "/out/runtime.cdx.json")
    assert args.sbom == Path("/out/runtime.cdx.json")
    assert parse("image", "build", "--no-sbom").no_sbom is True
