"""A project's own Python environment per Runtime release, made as the image makes its venv.

Layers, in the image's order (Dockerfile, install-python-dependencies):
1. base: the release's lock for this Python, hash-checked (`--require-hashes`), then our plugin
   package without dependencies, then pytest for `project pytest` (the one tool the image lacks),
   then the image's constraint written by the same generator (runtime/image/constraints.py);
2. project: `requirements.txt` under that constraint, after the same line checks as the image build
   (requirements_check.py: Airflow pins and lines contradicting the constraint are refused), then
   `uv pip check`.
The folder is `venvs/<release>-python<X.Y>` in the project's state folder (state.py). A marker
written after each layer records what it was made from: a start with unchanged inputs reuses it, a changed
`requirements.txt` re-applies only the project layer on top of the recorded base (uv reuses its cache,
nothing is re-downloaded), and anything else rebuilds from scratch. Nothing is used unless its marker
says it is complete, so a failed build never leaves a half-made environment in use.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name

from astronomer_runtime import paths
from astronomer_runtime.errors import RuntimeToolError
from astronomer_runtime.project.release import ProjectRelease
from astronomer_runtime.project.state import state_dir

MARKER = "astro-runtime-env.json"
REQUIREMENTS = "requirements.txt"
IMAGE_ROOTFS = paths.REPO_ROOT / "runtime" / "image" / "rootfs"
REQUIREMENTS_CHECK = IMAGE_ROOTFS / "usr" / "local" / "lib" / "astronomer" / "requirements_check.py"
CONSTRAINTS_SCRIPT = paths.REPO_ROOT / "runtime" / "image" / "constraints.py"
DEV_REQUIREMENTS = paths.REPO_ROOT / "runtime" / "requirements-dev.txt"
TOOLS = ("pytest",)  # from requirements-dev.txt, at the version the repository's tests use


class ProjectVenvError(RuntimeToolError):
    """The project's environment could not be made; the message names the file, line and fix."""


@dataclass(frozen=True)
class ProjectVenv:
    """A ready environment: its folder and how this call got it."""

    path: Path
    how: str  # "reused", "project layer" or "built"
    seconds: float

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    @property
    def bin(self) -> Path:
        return self.path / "bin"

    @property
    def constraints(self) -> Path:
        return self.path / "constraints.txt"


def venv_path(project: Path, release: ProjectRelease) -> Path:
    return state_dir(project) / "venvs" / f"{release.release.name}-python{release.python}"


def _uv() -> str:
    beside = Path(sys.executable).with_name("uv")
    found = str(beside) if beside.exists() else shutil.which("uv")
    if not found:
        raise ProjectVenvError("uv is not installed: `make venv` installs it (runtime/requirements-dev.txt)")
    return found


def _lock(release: ProjectRelease) -> Path:
    lock = paths.LOCKS_DIR / release.release.name / f"python{release.python}.txt"
    if not lock.is_file():
        raise ProjectVenvError(f"{lock} is missing: regenerate the locks with `make lock`")
    return lock


def _tool_pins() -> list[str]:
    pins = []
    for line in DEV_REQUIREMENTS.read_text().splitlines():
        requirement = line.split("#", 1)[0].strip()
        if "==" in requirement and canonicalize_name(requirement.split("==", 1)[0]) in TOOLS:
            pins.append(requirement)
    return pins


def base_digest(release: ProjectRelease) -> str:
    """What the base layer is made of: the lock, our package's metadata, the tools and the Python."""
    digest = hashlib.sha256()
    for part in (
        _lock(release).read_bytes(),
        (paths.REPO_ROOT / "pyproject.toml").read_bytes(),
        CONSTRAINTS_SCRIPT.read_bytes(),
        "\n".join(_tool_pins()).encode(),
        str(Path(sys.base_prefix).resolve()).encode(),
        release.python.encode(),
    ):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


def normalized_requirements(project: Path) -> str:
    """requirements.txt with Windows line ends removed, as the image build reads it."""
    path = project / REQUIREMENTS
    if not path.is_file():
        raise ProjectVenvError(
            f"{path} not found: the project needs a requirements.txt (it may be empty), as the image does"
        )
    return path.read_text(encoding="utf-8").replace("\r\n", "\n")


def _read_marker(path: Path) -> dict[str, object]:
    try:
        return dict(json.loads((path / MARKER).read_text()))
    except (OSError, ValueError):
        return {}


def _write_marker(path: Path, marker: dict[str, object]) -> None:
    partial = path / f"{MARKER}.tmp"
    partial.write_text(json.dumps(marker, indent=2, sort_keys=True))
    partial.replace(path / MARKER)


def _run(command: list[str], what: str) -> str:
    result = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise ProjectVenvError(f"{what} failed:\n{(result.stderr or result.stdout).strip()}")
    return result.stdout


@contextmanager
def _exclusive(folder: Path) -> Iterator[None]:
    """One builder per project at a time (two starts in one project wait for each other)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _build_base(path: Path, release: ProjectRelease, uv: str) -> list[str]:
    """A new venv with the base layer; returns its `uv pip freeze` (the state the project layer
    starts from)."""
    if path.exists():
        shutil.rmtree(path)
    python = ["--python", str(path / "bin" / "python")]
    _run([uv, "venv", "--quiet", "--python", sys.executable, str(path)], "creating the venv")
    _run(
        [uv, "pip", "install", "--quiet", *python, "--require-hashes", "-r", str(_lock(release))],
        f"installing Runtime {release.release.name}'s lock",
    )
    _run([uv, "pip", "install", "--quiet", *python, "--no-deps", "-e", str(paths.REPO_ROOT)], "our plugin")
    _run([uv, "pip", "install", "--quiet", *python, *_tool_pins()], "pytest")
    constraints = _run([str(path / "bin" / "python"), str(CONSTRAINTS_SCRIPT)], "writing the constraint")
    (path / "constraints.txt").write_text(constraints)
    return _run([uv, "pip", "freeze", *python], "listing the base").splitlines()


def _conflict_lines(requirements: str, output: str) -> list[str]:
    """The requirement lines naming a package that the installer's error mentions."""
    from packaging.requirements import InvalidRequirement, Requirement

    mentioned = {canonicalize_name(word) for word in output.replace("==", " ").replace(",", " ").split()}
    named = []
    for number, raw in enumerate(requirements.splitlines(), start=1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        try:
            name = canonicalize_name(Requirement(line).name)
        except InvalidRequirement:
            continue
        if name in mentioned:
            named.append(f"{REQUIREMENTS} line {number}: '{line}'")
    return named


def _check_lines(path: Path, project: Path, release: ProjectRelease, requirements: str) -> None:
    """The image build's line checks (requirements_check.py), run with the environment's Python on a
    copy of the file with Windows line ends removed, as the image reads it."""
    with tempfile.TemporaryDirectory(prefix="astro-runtime-req-") as scratch:
        normalized = Path(scratch) / REQUIREMENTS
        normalized.write_text(requirements)
        arguments = [
            str(normalized),
            str(project / REQUIREMENTS),
            str(path / "constraints.txt"),
            release.release.name,
        ]
        check = subprocess.run(
            [str(path / "bin" / "python"), str(REQUIREMENTS_CHECK), *arguments],
            capture_output=True,
            text=True,
        )
    if check.returncode != 0:
        raise ProjectVenvError(
            f"{check.stderr.strip()}\nNothing was installed; fix the lines and start again."
        )


def _apply_project_layer(
    path: Path, project: Path, release: ProjectRelease, base: list[str], uv: str
) -> None:
    """requirements.txt on top of the recorded base: checked, the base restored (extras of an earlier
    requirements.txt removed), then installed under the constraint, from the project's folder so that
    relative paths in the file resolve as in the image."""
    python = ["--python", str(path / "bin" / "python")]
    requirements = normalized_requirements(project)
    _check_lines(path, project, release, requirements)
    with tempfile.NamedTemporaryFile("w", prefix="astro-runtime-base-", suffix=".txt") as frozen:
        frozen.write("\n".join(base) + "\n")
        frozen.flush()
        _run([uv, "pip", "sync", "--quiet", *python, frozen.name], "restoring the base")
    if not any(line.strip() and not line.lstrip().startswith("#") for line in requirements.splitlines()):
        return
    constraint = ["--constraint", str(path / "constraints.txt")]
    install = [uv, "pip", "install", "--quiet", *python, "-r", str(project / REQUIREMENTS), *constraint]
    result = subprocess.run(install, capture_output=True, text=True, cwd=project, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        lines = _conflict_lines(requirements, result.stderr)
        where = ("\n" + "\n".join(f"  {line}" for line in lines)) if lines else ""
        raise ProjectVenvError(
            f"{project / REQUIREMENTS} cannot be installed on Runtime {release.release.name} "
            f"(Airflow {release.release.airflow}, under the image's constraint):{where}\n"
            f"{result.stderr.strip()}\nFix or loosen the lines named; the project layer is not used."
        )
    _run([uv, "pip", "check", *python], "checking the environment (uv pip check)")


def ensure(project: Path, release: ProjectRelease) -> ProjectVenv:
    """The project's environment for `release`, reused, updated or built (module docstring)."""
    started = time.monotonic()
    path = venv_path(project, release)
    uv = _uv()
    wanted_base = base_digest(release)
    wanted_requirements = hashlib.sha256(normalized_requirements(project).encode()).hexdigest()
    with _exclusive(path.parent):
        marker = _read_marker(path)
        if marker.get("base") == wanted_base and marker.get("requirements") == wanted_requirements:
            return ProjectVenv(path, "reused", time.monotonic() - started)
        recorded = marker.get("base_freeze")
        if marker.get("base") == wanted_base and isinstance(recorded, list):
            how, base = "project layer", [str(line) for line in recorded]
        else:
            how, base = "built", _build_base(path, release, uv)
        # The base alone is complete; the project layer is marked only once it is installed.
        _write_marker(path, {"base": wanted_base, "base_freeze": base, "requirements": None})
        _apply_project_layer(path, project, release, base, uv)
        _write_marker(path, {"base": wanted_base, "base_freeze": base, "requirements": wanted_requirements})
    return ProjectVenv(path, how, time.monotonic() - started)
