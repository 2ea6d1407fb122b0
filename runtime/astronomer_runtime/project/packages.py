"""packages.txt locally: the image installs these with apt; a venv cannot, so say what the host lacks.

The image's ONBUILD step installs every listed Debian package (install-system-packages). Locally the
project runs on this machine's libraries: `start` names the listed packages that are not installed
here, with the command that would install them, and points at the parity check (`project run --image`
is not offered: see the README, "The customer's project").
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

PACKAGES_FILE = "packages.txt"


def listed_packages(project: Path) -> list[str]:
    """Package names of packages.txt (one or more per line, `#` comments), as install-system-packages
    reads them."""
    path = project / PACKAGES_FILE
    if not path.is_file():
        return []
    names: list[str] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        names += raw.split("#", 1)[0].split()
    return names


def missing_on_host(names: list[str]) -> list[str] | None:
    """The names dpkg does not list as installed; None when this host has no dpkg to ask."""
    if not names:
        return []
    if shutil.which("dpkg-query") is None:
        return None
    query = ["dpkg-query", "-W", "-f=${Package} ${db:Status-Status}\n", *names]
    result = subprocess.run(query, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    installed = {
        line.split()[0].split(":")[0] for line in result.stdout.splitlines() if line.endswith(" installed")
    }
    return [name for name in names if name.split(":")[0] not in installed]


def host_note(project: Path) -> str | None:
    """What `start` says about packages.txt, or None when every listed package is here."""
    names = listed_packages(project)
    missing = missing_on_host(names)
    if missing is None:
        return (
            f"note: {project / PACKAGES_FILE} lists {', '.join(names)}; this host has no dpkg to check them. "
            "The image installs them with apt at build time; the local environment uses this machine's."
        )
    if not missing:
        return None
    return (
        f"note: {project / PACKAGES_FILE} lists {', '.join(missing)}, which this host lacks. The image "
        "installs them with apt at build time (install-system-packages); locally, code that needs them "
        f"fails until you run: apt-get install {' '.join(missing)}"
    )
