"""`astro-runtime project parity --image-sbom FILE`: does the project's local environment hold what the
image holds?

The image's Python packages come from its SBOM (the CycloneDX JSON that `astro-runtime image build`
writes next to the build output, image/sbom.py); the environment's from importlib.metadata in the
project's environment for the same release (venv.py), the same reading the SBOM's collector does.
Every distribution is put in one group:
- drift: in the image at another version (`different`), in the image only (`missing`), or in the
  environment only and not explained below (`extra`);
- local tools: pytest and what only it needs (venv.py's TOOLS, for `project pytest`): the image does not
  ship them, so they are listed apart, not as drift;
- project layer: what requirements.txt adds and the SBOM lacks. The Runtime image's SBOM cannot hold
  it (customers' requirements are installed by their own image build, ONBUILD); an SBOM of the
  project's built image does, and there any version difference is drift like any other;
- installer seed: pip and setuptools that `python -m venv` puts into the image's venv and `uv venv`
  does not put into the local one.
A different release or Python in the SBOM than the environment's is drift too. Exit 0 without drift.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name

from astronomer_runtime.errors import RuntimeToolError
from astronomer_runtime.project.cli import project_argument

if TYPE_CHECKING:
    from astronomer_runtime.catalog import Catalog
    from astronomer_runtime.project.distributions import Distribution

SEED = ("pip", "setuptools")  # `python -m venv` installs them into the image's venv; `uv venv` does not
RELEASE_PROPERTY = "io.astronomer.runtime.version"
PYTHON_PROPERTY = "io.astronomer.python.version"


class SbomReadError(RuntimeToolError, ValueError):
    """The SBOM file is not a CycloneDX JSON document of an image; the message names the file and field."""


@dataclass(frozen=True)
class ImageSbom:
    """What parity needs from an SBOM: its subject and its Python packages by canonical name."""

    path: str
    subject: str
    release: str | None
    python: str | None
    packages: dict[str, tuple[str, str]]  # canonical name -> (name, version)


@dataclass
class ParityReport:
    sbom: str
    subject: str
    release: dict[str, str | None]  # {"image": ..., "environment": ...}
    python: dict[str, str | None]
    different: list[dict[str, str]] = field(default_factory=list)
    missing: list[dict[str, str]] = field(default_factory=list)
    extra: list[dict[str, str]] = field(default_factory=list)
    local_tools: list[dict[str, str]] = field(default_factory=list)
    project_layer: list[dict[str, str]] = field(default_factory=list)
    installer_seed: list[dict[str, str]] = field(default_factory=list)

    @property
    def drift(self) -> bool:
        return bool(
            self.different
            or self.missing
            or self.extra
            or self.release["image"] != self.release["environment"]
            or (self.python["image"] is not None and self.python["image"] != self.python["environment"])
        )

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "drift": self.drift}


def add_command(verbs: Any) -> None:
    """`parity --image-sbom FILE [--project DIR] [--runtime-version RELEASE] [--json]`."""
    parser = verbs.add_parser(
        "parity",
        help="compare the project's local environment with the built image's SBOM and report drift",
    )
    project_argument(parser)
    parser.add_argument(
        "--image-sbom",
        type=Path,
        required=True,
        metavar="FILE",
        help="the image's CycloneDX JSON (what `astro-runtime image build --sbom FILE` writes)",
    )
    parser.add_argument("--runtime-version", metavar="RELEASE", help="instead of the Dockerfile's release")
    parser.add_argument("--json", action="store_true", help="a machine-readable report on stdout")
    parser.set_defaults(handler=cmd_parity)


def cmd_parity(catalog: Catalog, args: argparse.Namespace) -> int:
    from astronomer_runtime.project import distributions, venv
    from astronomer_runtime.project.release import project_release

    project = args.project.resolve()
    sbom = read_sbom(args.image_sbom)  # a bad file stops here, before any build
    release = project_release(catalog, project, args.runtime_version)
    environment = venv.ensure(project, release)
    requirements = distributions.requirement_names(venv.normalized_requirements(project))
    report = compare(
        sbom,
        distributions.installed(environment.python),
        requirements=requirements,
        release=release.release.name,
        python=release.python,
    )
    sys.stdout.write(json.dumps(report.as_dict(), indent=2) + "\n" if args.json else as_text(report) + "\n")
    return 1 if report.drift else 0


def read_sbom(path: Path) -> ImageSbom:
    """The image's subject and Python packages (purl type pypi) from a CycloneDX JSON file."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SbomReadError(
            f"{path}: cannot be read: {exc.strerror}; pass the file `image build --sbom` wrote"
        ) from exc
    except ValueError as exc:
        raise SbomReadError(
            f"{path}: not JSON ({exc}); pass the CycloneDX JSON `image build --sbom` wrote"
        ) from exc
    if not isinstance(document, dict) or document.get("bomFormat") != "CycloneDX":
        raise SbomReadError(f"{path}: bomFormat is not 'CycloneDX'; pass the SBOM `image build --sbom` wrote")
    components = document.get("components")
    if not isinstance(components, list):
        raise SbomReadError(f"{path}: components is missing or not a list")
    packages: dict[str, tuple[str, str]] = {}
    for index, component in enumerate(components):
        purl = component.get("purl", "") if isinstance(component, dict) else ""
        if not purl.startswith("pkg:pypi/"):
            continue
        name, version = component.get("name"), component.get("version")
        if not name or not version:
            raise SbomReadError(f"{path}: components[{index}] ({purl}) has no name or version")
        packages[canonicalize_name(name)] = (name, version)
    if not packages:
        raise SbomReadError(f"{path}: no Python packages (components with a pkg:pypi purl) in this SBOM")
    subject = (document.get("metadata") or {}).get("component") or {}
    properties = {entry.get("name"): entry.get("value") for entry in subject.get("properties", [])}
    return ImageSbom(
        path=str(path),
        subject=":".join(part for part in (subject.get("name"), subject.get("version")) if part),
        release=properties.get(RELEASE_PROPERTY),
        python=properties.get(PYTHON_PROPERTY),
        packages=packages,
    )


def compare(
    sbom: ImageSbom,
    installed: dict[str, Distribution],
    *,
    requirements: set[str],
    release: str,
    python: str,
) -> ParityReport:
    """Sort every distribution of either side into the report's groups (module docstring)."""
    from astronomer_runtime.project.distributions import closure
    from astronomer_runtime.project.venv import TOOLS

    tools = closure(TOOLS, installed)
    project_layer = closure(requirements, installed)
    report = ParityReport(
        sbom=sbom.path,
        subject=sbom.subject,
        release={"image": sbom.release, "environment": release},
        python={"image": sbom.python, "environment": python},
    )
    for name in sorted(set(installed) | set(sbom.packages)):
        local, image = installed.get(name), sbom.packages.get(name)
        if local and image:
            if local.version != image[1]:
                report.different.append({"name": image[0], "image": image[1], "environment": local.version})
        elif image:
            group = report.installer_seed if name in SEED else report.missing
            group.append({"name": image[0], "image": image[1]})
        elif local:
            entry = {"name": local.name, "environment": local.version}
            if name in tools:
                report.local_tools.append(entry)
            elif name in project_layer:
                report.project_layer.append(entry)
            else:
                report.extra.append(entry)
    return report


def as_text(report: ParityReport) -> str:
    lines = [f"Image SBOM: {report.sbom} ({report.subject or 'no subject'})"]
    for key, label in (("release", "Runtime"), ("python", "Python")):
        pair = getattr(report, key)
        same = "same" if pair["image"] == pair["environment"] else "DIFFERENT"
        lines.append(
            f"{label}: image {pair['image'] or 'not stated'}, environment {pair['environment']} ({same})"
        )
    for title, entries in (
        ("Different versions (drift)", report.different),
        ("Missing from the environment (drift)", report.missing),
        ("Extra in the environment (drift)", report.extra),
        ("Local tools, not in the image (not drift)", report.local_tools),
        ("Project layer, not in this SBOM (requirements.txt; the project's own image build installs it)",
         report.project_layer),
        ("Installer seed of the image's venv (python -m venv; not drift)", report.installer_seed),
    ):  # fmt: skip
        if not entries:
            continue
        lines.append(f"{title}: {len(entries)}")
        for entry in entries:
            image, local = entry.get("image"), entry.get("environment")
            versions = f"image {image}, environment {local}" if image and local else f"{image or local}"
            lines.append(f"  {entry['name']}: {versions}")
    lines.append("DRIFT: the environment differs from the image" if report.drift else "No drift")
    return "\n".join(lines)
