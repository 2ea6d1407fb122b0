"""What a project environment has installed, read with that environment's own Python.

`upgrade-test` compares two environments with it and `parity` compares one with an image's SBOM.
The listing runs `importlib.metadata` in the environment's interpreter (the same reading as the
image's SBOM collector, image/sbom.py), so names and versions are what that Python sees, not what
an installer's record says.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from astronomer_runtime.errors import RuntimeToolError

# Runs in the environment: one JSON list on stdout. Standard library only.
_LISTER = r"""
import importlib.metadata as metadata, json
found = {}
for dist in metadata.distributions():
    name = dist.metadata["Name"]
    if name and name not in found:
        found[name] = {"name": name, "version": dist.version, "requires": dist.requires or []}
print(json.dumps(sorted(found.values(), key=lambda d: d["name"].lower())))
"""


class DistributionsError(RuntimeToolError):
    """The environment's distributions could not be listed; the message carries the interpreter's error."""


@dataclass(frozen=True)
class Distribution:
    name: str  # as the distribution spells it
    version: str
    requires: tuple[str, ...]  # its Requires-Dist lines


def installed(python: Path) -> dict[str, Distribution]:
    """Every distribution `python` can import, by canonical name."""
    result = subprocess.run(
        [str(python), "-I", "-c", _LISTER], capture_output=True, text=True, stdin=subprocess.DEVNULL
    )
    if result.returncode != 0:
        raise DistributionsError(f"listing the distributions of {python} failed:\n{result.stderr.strip()}")
    return {
        canonicalize_name(entry["name"]): Distribution(
            entry["name"], entry["version"], tuple(entry["requires"])
        )
        for entry in json.loads(result.stdout)
    }


def requirement_names(text: str) -> set[str]:
    """The canonical names a requirements file asks for (options, comments and bad lines left out: the
    environment build has already refused bad lines with their numbers)."""
    names: set[str] = set()
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        try:
            names.add(canonicalize_name(Requirement(line).name))
        except InvalidRequirement:
            continue
    return names


def closure(roots: Iterable[str], distributions: dict[str, Distribution]) -> set[str]:
    """`roots` and everything they need in this environment (markers evaluated for this interpreter,
    which is the one every project environment is made with; extras are not followed)."""
    seen: set[str] = set()
    pending = [canonicalize_name(root) for root in roots]
    while pending:
        name = pending.pop()
        if name in seen or name not in distributions:
            continue
        seen.add(name)
        for line in distributions[name].requires:
            try:
                requirement = Requirement(line)
            except InvalidRequirement:
                continue
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(canonicalize_name(requirement.name))
    return seen
