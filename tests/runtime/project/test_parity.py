"""`astro-runtime project parity`: a project's real environment against an SBOM made the way the image
build makes its own.

The SBOM's environment is built with the Dockerfile's steps (`python -m venv`, the release's lock
hash-checked, our plugin without dependencies), then image/sbom.py's collector runs in it and
`sbom.cyclonedx` writes the document: what `image build --sbom` does inside a built image, without
building one. Drift is then made by editing that document.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from astronomer_runtime import paths
from astronomer_runtime.cli import main
from astronomer_runtime.image import sbom
from tests.projects import write_project

RELEASE = "3.3-2"
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
IMAGE = f"localhost/astronomer/runtime:{RELEASE}-python-{PYTHON}"


def _uv() -> str:
    beside = Path(sys.executable).with_name("uv")
    found = str(beside) if beside.exists() else shutil.which("uv")
    assert found, "uv is not installed: `make venv` installs it (runtime/requirements-dev.txt)"
    return found


@pytest.fixture(scope="module")
def image_sbom(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The CycloneDX document of an environment made as the Dockerfile makes the image's venv."""
    venv = tmp_path_factory.mktemp("image") / "venv"
    python = venv / "bin" / "python"
    uv = _uv()
    lock = paths.LOCKS_DIR / RELEASE / f"python{PYTHON}.txt"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    install = [uv, "pip", "install", "--quiet", "--python", str(python)]
    subprocess.run([*install, "--require-hashes", "-r", str(lock)], check=True)
    subprocess.run([*install, "--no-deps", str(paths.REPO_ROOT)], check=True)  # the Dockerfile's plugin step
    inventory = json.loads(
        subprocess.run([str(python), "-c", sbom.COLLECTOR], capture_output=True, text=True, check=True).stdout
    )
    subject = sbom.ImageSubject(tag=IMAGE, release=RELEASE, python=PYTHON)
    return sbom.cyclonedx(inventory, subject, tool_version="test")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_project(
        tmp_path_factory.mktemp("parity") / "customer", base_image=IMAGE, requirements="emoji>=2\n"
    )


def _parity(project: Path, document: dict[str, Any], folder: Path, *extra: str) -> tuple[int, str, str]:
    path = folder / "sbom.cdx.json"
    path.write_text(json.dumps(document))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["project", "parity", "--project", str(project), "--image-sbom", str(path), *extra])
    return status, out.getvalue(), err.getvalue()


def _component(document: dict[str, Any], name: str) -> dict[str, Any]:
    return next(
        c for c in document["components"] if c["name"].lower() == name and c["purl"].startswith("pkg:pypi/")
    )


def test_environment_matches_the_image(project: Path, image_sbom: dict[str, Any], tmp_path: Path) -> None:
    status, out, _ = _parity(project, image_sbom, tmp_path, "--json")
    report = json.loads(out)
    assert (status, report["drift"]) == (0, False), out
    assert (report["different"], report["missing"], report["extra"]) == ([], [], [])
    assert report["release"] == {"image": RELEASE, "environment": RELEASE}
    assert report["python"] == {"image": PYTHON, "environment": PYTHON}
    assert [entry["name"] for entry in report["local_tools"]] == ["iniconfig", "pytest"]
    assert [entry["name"] for entry in report["project_layer"]] == ["emoji"]
    assert [entry["name"] for entry in report["installer_seed"]] == ["pip", "setuptools"]
    assert report["subject"] == IMAGE


def test_drift_is_named(project: Path, image_sbom: dict[str, Any], tmp_path: Path) -> None:
    document = json.loads(json.dumps(image_sbom))
    _component(document, "rich")["version"] = "1.0.0"
    document["components"].remove(_component(document, "httpx"))
    ghost = sbom.pypi_purl("ghost-package", "0.1")
    document["components"].append(
        {"type": "library", "bom-ref": ghost, "name": "ghost-package", "version": "0.1", "purl": ghost}
    )
    status, out, _ = _parity(project, document, tmp_path)
    assert status == 1
    lines = out.splitlines()
    rich = _component(image_sbom, "rich")["version"]
    httpx = _component(image_sbom, "httpx")["version"]
    for line in (
        "Different versions (drift): 1",
        f"  rich: image 1.0.0, environment {rich}",
        "Missing from the environment (drift): 1",
        "  ghost-package: 0.1",
        "Extra in the environment (drift): 1",
        f"  httpx: {httpx}",
        "Local tools, not in the image (not drift): 2",
        "DRIFT: the environment differs from the image",
    ):
        assert line in lines, line


def test_sbom_of_another_release_is_drift(project: Path, image_sbom: dict[str, Any], tmp_path: Path) -> None:
    document = json.loads(json.dumps(image_sbom))
    for entry in document["metadata"]["component"]["properties"]:
        if entry["name"] == "io.astronomer.runtime.version":
            entry["value"] = "3.3-1"
    status, out, _ = _parity(project, document, tmp_path)
    assert status == 1
    assert f"Runtime: image 3.3-1, environment {RELEASE} (DIFFERENT)" in out.splitlines()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not JSON"),
        ('{"bomFormat": "SPDX"}', "bomFormat is not 'CycloneDX'; pass the SBOM `image build --sbom` wrote"),
        ('{"bomFormat": "CycloneDX", "components": {}}', "components is missing or not a list"),
        (
            '{"bomFormat": "CycloneDX", "components": []}',
            "no Python packages (components with a pkg:pypi purl)",
        ),
    ],
)
def test_bad_sbom_is_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    """Read before anything is built: no environment is needed to refuse a bad file."""
    path = tmp_path / "bad.json"
    path.write_text(text)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["project", "parity", "--project", str(tmp_path), "--image-sbom", str(path)])
    assert (status, out.getvalue()) == (1, "")
    assert err.getvalue().startswith(f"{path}: {message}")
