"""Where a project's local state lives, and the record of a running `project start`.

Nothing is written into the project itself (its folder is the image's build context and a git
checkout): the local verbs keep their state per project under `$ASTRO_RUNTIME_STATE_DIR`, default
`$XDG_STATE_HOME/astro-runtime` (`~/.local/state/astro-runtime`), in `projects/<name>-<hash of its
path>/`: the environments per release (venv.py), AIRFLOW_HOME with its SQLite database and secrets,
the control plane's data, the logs, and `run.json` while a start runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

STATE_ROOT_VARIABLE = "ASTRO_RUNTIME_STATE_DIR"
RUN_FILE = "run.json"
LOG_FILE = "runtime.log"


def state_root() -> Path:
    configured = os.environ.get(STATE_ROOT_VARIABLE)
    if configured:
        return Path(configured)
    xdg = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(xdg) / "astro-runtime"


def state_dir(project: Path) -> Path:
    """The project's own folder of state: its name (readable) and a hash of its absolute path (unique)."""
    resolved = project.resolve()
    name = re.sub(r"[^A-Za-z0-9._-]", "-", resolved.name)[:40] or "project"
    digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:12]
    return state_root() / "projects" / f"{name}-{digest}"


def airflow_home(project: Path) -> Path:
    return state_dir(project) / "airflow"


def control_plane_dir(project: Path) -> Path:
    return state_dir(project) / "control-plane"


def log_file(project: Path) -> Path:
    return state_dir(project) / "logs" / LOG_FILE


def process_alive(pid: int) -> bool:
    """Whether `pid` still runs: an exited process that nobody has reaped yet (a zombie, as a start's
    process becomes once the command that started it is gone) counts as stopped."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


@dataclass(frozen=True)
class RunRecord:
    """A running start: the supervising process (its process group holds every component)."""

    pid: int
    url: str
    release: str
    python: str
    control_plane_url: str | None

    def alive(self) -> bool:
        return process_alive(self.pid)

    def write(self, project: Path) -> None:
        path = state_dir(project) / RUN_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".tmp")
        partial.write_text(json.dumps(asdict(self), indent=2))
        partial.replace(path)

    @staticmethod
    def read(project: Path) -> RunRecord | None:
        """The record if a start is running; a stale record (its process gone) is removed."""
        path = state_dir(project) / RUN_FILE
        try:
            record = RunRecord(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            return None
        if record.alive():
            return record
        path.unlink(missing_ok=True)
        return None

    @staticmethod
    def clear(project: Path) -> None:
        (state_dir(project) / RUN_FILE).unlink(missing_ok=True)
