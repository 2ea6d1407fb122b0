"""Check a project's requirements.txt against the Runtime before anything is installed.

One check for both places a project's requirements are installed: the image's ONBUILD step
(install-python-dependencies) and the local project environment (`astro-runtime project start`), so
a customer gets the same message from either. Runs with the Runtime venv's Python (stdlib and
`packaging`, which Airflow requires).

Refused, with the file, the line and the fix:
- a line that pins Airflow itself (the Runtime release decides Airflow's version);
- a line whose version specifier excludes the version the Runtime's constraint pins (Airflow and its
  core dependencies, runtime/image/constraints.py), which no installer could satisfy.
Usage: python requirements_check.py REQUIREMENTS SHOWN_NAME CONSTRAINTS RUNTIME_VERSION
"""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

AIRFLOW = {"apache-airflow", "apache-airflow-core", "apache-airflow-task-sdk"}


def read_pins(path: Path) -> dict[str, str]:
    """name -> version of a constraints file's `name==version` lines."""
    pins: dict[str, str] = {}
    if not path.is_file():
        return pins
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[canonicalize_name(name)] = version.strip()
    return pins


def requirement_lines(path: Path) -> list[tuple[int, str, Requirement]]:
    """(line number, text, requirement) of each requirement line; options, comments, URLs and paths
    are left to the installer, which reports them itself."""
    found = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        try:
            found.append((number, line, Requirement(line)))
        except InvalidRequirement:
            continue
    return found


def problems(path: Path, shown: str, pins: dict[str, str], runtime_version: str) -> list[str]:
    """One message per refused line, in file order."""
    airflow = pins.get("apache-airflow") or _installed_airflow()
    found = []
    for number, line, requirement in requirement_lines(path):
        name = canonicalize_name(requirement.name)
        if name in AIRFLOW and (requirement.specifier or requirement.url):
            found.append(
                f"{shown} line {number}: '{line}' pins {requirement.name}, but the Runtime release decides "
                f"Airflow's version (Runtime {runtime_version} ships Airflow {airflow}): remove the line "
                "and change the Runtime release in your FROM line instead"
            )
        elif name in pins and requirement.specifier and not requirement.specifier.contains(pins[name], True):
            found.append(
                f"{shown} line {number}: '{line}' conflicts with Runtime {runtime_version}, which pins "
                f"{name}=={pins[name]} (Airflow {airflow} needs that version): loosen the line so that it "
                f"allows {pins[name]}, or remove it"
            )
    return found


def _installed_airflow() -> str:
    try:
        return importlib.metadata.version("apache-airflow")
    except importlib.metadata.PackageNotFoundError:
        return "?"


def main(argv: list[str]) -> int:
    if len(argv) != 5:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    path, shown, constraints, runtime_version = Path(argv[1]), argv[2], Path(argv[3]), argv[4]
    found = problems(path, shown, read_pins(constraints), runtime_version)
    for message in found:
        print(message, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
