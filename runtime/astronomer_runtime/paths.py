"""Where the repository's files are; the tooling always runs from a checkout (editable install)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(os.environ.get("ASTRO_RUNTIME_REPO", Path(__file__).resolve().parents[2]))
CATALOG_FILE = REPO_ROOT / "versions.yaml"
LOCKS_DIR = REPO_ROOT / "runtime" / "locks"
PLUGIN_PYPROJECT = REPO_ROOT / "pyproject.toml"
DAGS_DIR = REPO_ROOT / "dags"
LOCAL_DIR = REPO_ROOT / ".local"
