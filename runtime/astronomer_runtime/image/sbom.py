"""The image's SBOM: CycloneDX 1.5 JSON of its Python packages (the Runtime venv) and Debian packages.

A collector script runs inside the built image with the venv's Python (standard library only): it
reads the venv's distributions through importlib.metadata and Debian's package database
(/var/lib/dpkg/status) directly, so it needs neither pip nor dpkg-query. The host turns that into
the CycloneDX document (hand-written: the structure is small and stable, and this keeps the build
tooling free of extra dependencies).

The SBOM is written next to the build output (`astro-runtime image build --sbom PATH`), not into a
layer: a file inside the image would need its own last layer, change with every rebuild, and still
describe the image only up to the moment it was written; registries attach SBOMs to the image
digest instead (e.g. `cosign attach sbom` / OCI referrers).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from astronomer_runtime.image.engine import Engine
from astronomer_runtime.image.errors import ImageError

SPEC_VERSION = "1.5"
VENV_PYTHON = "/usr/local/astronomer/venv/bin/python"

# Runs in the image: one JSON document on stdout. Standard library only.
COLLECTOR = r"""
import importlib.metadata as metadata, json, platform, re
python = {}
for dist in metadata.distributions():
    name = dist.metadata["Name"]
    if name:
        key = re.sub(r"[-_.]+", "-", name).lower()
        python[key] = {"name": name, "version": dist.version,
                       "license": (dist.metadata.get("License-Expression") or "").strip()}
debian, record = [], {}
with open("/var/lib/dpkg/status", encoding="utf-8") as status:
    for line in [*status.read().splitlines(), ""]:
        if not line.strip():
            if record.get("Status", "").endswith(" installed"):
                fields = ("Package", "Version", "Architecture", "Source")
                debian.append({k: record.get(k, "") for k in fields})
            record = {}
        elif not line[0].isspace() and ":" in line:
            key, _, value = line.partition(":")
            record[key] = value.strip()
os_release = dict(l.split("=", 1) for l in open("/etc/os-release").read().splitlines() if "=" in l)
os_keys = ("ID", "VERSION_ID", "VERSION_CODENAME")
print(json.dumps({"python": sorted(python.values(), key=lambda p: p["name"].lower()),
                  "python_version": platform.python_version(),
                  "debian": sorted(debian, key=lambda d: d["Package"]),
                  "os": {k: os_release.get(k, "").strip('"') for k in os_keys}}))
"""


class SbomError(ImageError):
    """The image's packages could not be read, or the SBOM could not be written."""


@dataclass(frozen=True)
class ImageSubject:
    """What the SBOM describes: the image tag and the release it carries."""

    tag: str
    release: str
    python: str


def _purl_part(value: str) -> str:
    return quote(value, safe=".-_~")


def pypi_purl(name: str, version: str) -> str:
    """pkg:pypi/<normalised name>@<version> (purl spec: lower case, '_' and '.' become '-')."""
    normalised = name.lower().replace("_", "-").replace(".", "-")
    return f"pkg:pypi/{_purl_part(normalised)}@{_purl_part(version)}"


def deb_purl(name: str, version: str, arch: str, distro: str) -> str:
    """pkg:deb/debian/<name>@<version>?arch=..&distro=.. (an epoch's ':' is percent-encoded)."""
    qualifiers = "&".join(
        f"{key}={_purl_part(value)}" for key, value in (("arch", arch), ("distro", distro)) if value
    )
    return f"pkg:deb/debian/{_purl_part(name)}@{_purl_part(version)}" + (
        f"?{qualifiers}" if qualifiers else ""
    )


def _components(inventory: dict) -> Iterable[dict]:
    for package in inventory["python"]:
        purl = pypi_purl(package["name"], package["version"])
        component = {
            "type": "library",
            "bom-ref": purl,
            "name": package["name"],
            "version": package["version"],
            "purl": purl,
        }
        if package.get("license"):
            component["licenses"] = [{"expression": package["license"]}]
        yield component
    os_info = inventory.get("os", {})
    distro = f"debian-{os_info['VERSION_ID']}" if os_info.get("VERSION_ID") else ""
    for package in inventory["debian"]:
        purl = deb_purl(package["Package"], package["Version"], package["Architecture"], distro)
        component = {
            "type": "library",
            "bom-ref": purl,
            "name": package["Package"],
            "version": package["Version"],
            "purl": purl,
        }
        source = package.get("Source", "").split(" ")[0]
        if source and source != package["Package"]:
            component["properties"] = [{"name": "debian:source", "value": source}]
        yield component


def cyclonedx(
    inventory: dict, subject: ImageSubject, *, tool_version: str, now: dt.datetime | None = None
) -> dict:
    """The CycloneDX 1.5 document of an inventory collected by COLLECTOR."""
    moment = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    components = list(_components(inventory))
    refs = [component["bom-ref"] for component in components]
    if len(refs) != len(set(refs)):
        duplicates = sorted({ref for ref in refs if refs.count(ref) > 1})
        raise SbomError(f"duplicate packages in {subject.tag}: {', '.join(duplicates)}")
    image_ref = f"image:{subject.tag}"
    return {
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": f"urn:uuid:{uuid.uuid4()}",
        "version": 1,
        "metadata": {
            "timestamp": moment.isoformat().replace("+00:00", "Z"),
            "tools": {
                "components": [{"type": "application", "name": "astro-runtime", "version": tool_version}]
            },
            "component": {
                "type": "container",
                "bom-ref": image_ref,
                "name": subject.tag.rsplit(":", 1)[0],
                "version": subject.tag.rsplit(":", 1)[-1],
                "properties": [
                    {"name": "io.astronomer.runtime.version", "value": subject.release},
                    {"name": "io.astronomer.python.version", "value": subject.python},
                ],
            },
        },
        "components": components,
        "dependencies": [{"ref": image_ref, "dependsOn": refs}],
    }


def collect(engine: Engine, image: str) -> dict:
    """Run the collector inside `image` and return its inventory."""
    output = engine.run_in_image(image, [VENV_PYTHON, "-c", COLLECTOR])
    try:
        inventory = json.loads(output)
    except json.JSONDecodeError as exc:
        raise SbomError(f"the SBOM collector printed no JSON in {image}: {output[-500:]!r}") from exc
    if not inventory.get("python") or not inventory.get("debian"):
        raise SbomError(f"no packages found in {image} (venv {VENV_PYTHON}, /var/lib/dpkg/status)")
    return inventory


def default_path(workdir: Path, tag: str) -> Path:
    """<workdir>/sbom/<tag with / and : made file-safe>.cdx.json"""
    return workdir / "sbom" / (tag.replace("/", "_").replace(":", "_") + ".cdx.json")


def write_sbom(
    engine: Engine, subject: ImageSubject, path: Path, *, tool_version: str, source_image: str | None = None
) -> Path:
    """Collect the image's packages and write its CycloneDX JSON to `path`. `source_image` is the
    image to read them from when it is not the subject itself (an image with the same layers)."""
    document = cyclonedx(collect(engine, source_image or subject.tag), subject, tool_version=tool_version)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path
