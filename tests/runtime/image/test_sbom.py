"""The image's CycloneDX SBOM: the document (checked against the official 1.5 JSON schema, which
ships with cyclonedx-python-lib) and, for real, the SBOM of the built image."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from astronomer_runtime.catalog import Release
from astronomer_runtime.image import sbom
from astronomer_runtime.image.engine import Buildah
from tests.runtime.image.conftest import PYTHON

INVENTORY = {
    "python": [
        {"name": "apache-airflow", "version": "3.3.2", "license": "Apache-2.0"},
        {"name": "Flask_AppBuilder", "version": "5.0.1", "license": ""},
        {"name": "zope.interface", "version": "8.0", "license": ""},
    ],
    "python_version": "3.11.2",
    "debian": [
        {"Package": "bash", "Version": "5.2.15-2+b7", "Architecture": "amd64", "Source": "bash (5.2.15-2)"},
        {"Package": "libc6", "Version": "2.36-9+deb12u10", "Architecture": "amd64", "Source": "glibc"},
        {"Package": "passwd", "Version": "1:4.13+dfsg1-1+b1", "Architecture": "amd64", "Source": "shadow"},
    ],
    "os": {"ID": "debian", "VERSION_ID": "12", "VERSION_CODENAME": "bookworm"},
}
SUBJECT = sbom.ImageSubject(tag="localhost/astronomer/runtime:3.3-2-python-3.11", release="3.3-2", python="3.11")


def schema_errors(document: dict) -> str | None:
    error = JsonStrictValidator(SchemaVersion.V1_5).validate_str(json.dumps(document))
    return None if error is None else str(error.data.message)


def test_document_is_valid_cyclonedx_1_5() -> None:
    document = sbom.cyclonedx(INVENTORY, SUBJECT, tool_version="0.1.0", now=dt.datetime(2026, 11, 28, tzinfo=dt.UTC))
    assert schema_errors(document) is None
    assert (document["bomFormat"], document["specVersion"], document["version"]) == ("CycloneDX", "1.5", 1)
    assert document["metadata"]["timestamp"] == "2026-11-28T00:00:00Z"
    assert document["metadata"]["component"]["name"] == "localhost/astronomer/runtime"
    assert document["metadata"]["component"]["version"] == "3.3-2-python-3.11"
    assert [c["purl"] for c in document["components"]] == [
        "pkg:pypi/apache-airflow@3.3.2",
        "pkg:pypi/flask-appbuilder@5.0.1",
        "pkg:pypi/zope-interface@8.0",
        "pkg:deb/debian/bash@5.2.15-2%2Bb7?arch=amd64&distro=debian-12",
        "pkg:deb/debian/libc6@2.36-9%2Bdeb12u10?arch=amd64&distro=debian-12",
        "pkg:deb/debian/passwd@1%3A4.13%2Bdfsg1-1%2Bb1?arch=amd64&distro=debian-12",
    ]
    assert document["components"][0]["licenses"] == [{"expression": "Apache-2.0"}]
    assert document["components"][4]["properties"] == [{"name": "debian:source", "value": "glibc"}]
    assert "properties" not in document["components"][3]  # bash's source package is bash
    assert len(document["dependencies"][0]["dependsOn"]) == 6


def test_a_broken_document_fails_the_schema() -> None:
    """The schema check itself can fail (so the test above means something)."""
    document = sbom.cyclonedx(INVENTORY, SUBJECT, tool_version="0.1.0")
    document["components"][0]["type"] = "wheel"
    assert "'wheel' is not one of" in (schema_errors(document) or "")


def test_duplicate_packages_are_refused() -> None:
    doubled = {**INVENTORY, "python": INVENTORY["python"] + [{"name": "apache_airflow", "version": "3.3.2", "license": ""}]}
    with pytest.raises(sbom.SbomError, match=r"duplicate packages in localhost/astronomer/runtime:3.3-2-python-3.11: pkg:pypi/apache-airflow@3.3.2"):
        sbom.cyclonedx(doubled, SUBJECT, tool_version="0.1.0")


def test_default_path() -> None:
    assert sbom.default_path(Path("/w"), SUBJECT.tag) == Path("/w/sbom/localhost_astronomer_runtime_3.3-2-python-3.11.cdx.json")


@pytest.fixture(scope="session")
def image_sbom(engine: Buildah, runtime_image: str, base_target_image: str, release: Release,
               tmp_path_factory: pytest.TempPathFactory) -> dict:  # fmt: skip
    """What `astro-runtime image build` writes for the default target (read from the base target:
    same layers, and `buildah from` would run the default target's ONBUILD triggers)."""
    subject = sbom.ImageSubject(tag=runtime_image, release=release.name, python=PYTHON)
    path = tmp_path_factory.mktemp("sbom") / "runtime.cdx.json"
    sbom.write_sbom(engine, subject, path, tool_version="test", source_image=base_target_image)
    return json.loads(path.read_text())


@pytest.mark.image
def test_image_sbom_is_valid(image_sbom: dict) -> None:
    assert schema_errors(image_sbom) is None
    assert image_sbom["metadata"]["component"]["properties"][0] == {"name": "io.astronomer.runtime.version", "value": "3.3-2"}


@pytest.mark.image
def test_image_sbom_lists_airflow_our_package_and_debian_packages(image_sbom: dict, release: Release) -> None:
    purls = {component["purl"].split("?")[0] for component in image_sbom["components"]}
    assert f"pkg:pypi/apache-airflow@{release.airflow}" in purls and release.airflow == "3.3.2"
    assert "pkg:pypi/apache-airflow-core@3.3.2" in purls
    assert "pkg:pypi/astronomer-plugins@0.1.0" in purls
    for provider, version in release.providers.items():
        assert f"pkg:pypi/{provider}@{version}" in purls
    debian = {c["name"]: c["purl"] for c in image_sbom["components"] if c["purl"].startswith("pkg:deb/debian/")}
    assert {"tini", "bash", "python3.11", "libc6", "ca-certificates"} <= set(debian)
    assert debian["tini"].endswith("distro=debian-12") and "?arch=" in debian["tini"]
    python = [c for c in image_sbom["components"] if c["purl"].startswith("pkg:pypi/")]
    assert len(python) > 150  # the whole lock, not a sample
