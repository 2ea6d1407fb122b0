"""Write the image's permanent pip/uv constraint: Airflow and its core dependencies, pinned.

Runs in the Dockerfile's builder stage with the Runtime venv's Python (stdlib + `packaging`, which
Airflow requires). The pins are what the release's lock installed, so a customer's requirement can
add packages and upgrade providers or unrelated libraries, but cannot move Airflow, its task SDK or
anything they need at runtime (the transitive closure of their requirements, providers excluded).
Output on stdout, one `name==version` per line, sorted, so identical venvs give identical files.
"""

from __future__ import annotations

import importlib.metadata as metadata
import sys

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOTS = ("apache-airflow", "apache-airflow-core", "apache-airflow-task-sdk")
PROVIDER_PREFIX = "apache-airflow-providers-"


def _requirements(name: str, extras: frozenset[str]) -> list[Requirement]:
    """The requirements of an installed distribution that apply here, with the requested extras."""
    found = []
    for line in metadata.distribution(name).requires or []:
        requirement = Requirement(line)
        marker = requirement.marker
        if marker is None or any(marker.evaluate({"extra": extra}) for extra in ("", *sorted(extras))):
            found.append(requirement)
    return found


def closure(roots: tuple[str, ...] = ROOTS) -> dict[str, str]:
    """Installed name -> version for the roots and everything they need, providers excluded."""
    pinned: dict[str, str] = {}
    seen: set[tuple[str, frozenset[str]]] = set()
    stack = [(canonicalize_name(root), frozenset[str]()) for root in roots]
    while stack:
        name, extras = stack.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        try:
            pinned[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue  # a requirement for another platform or Python: nothing installed to pin
        for requirement in _requirements(name, extras):
            child = canonicalize_name(requirement.name)
            if not child.startswith(PROVIDER_PREFIX):
                stack.append((child, frozenset(requirement.extras)))
    return pinned


def main() -> int:
    pins = closure()
    if "apache-airflow" not in pins:
        print(
            "constraints.py: apache-airflow is not installed in this Python; run it with the Runtime venv",
            file=sys.stderr,
        )
        return 1
    print("# Astronomer Runtime: Airflow and its core dependencies, pinned (generated at build time).")
    print("# Applied to every pip and uv install through pip.conf, PIP_CONSTRAINT and UV_CONSTRAINT.")
    for name, version in sorted(pins.items()):
        print(f"{name}=={version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
