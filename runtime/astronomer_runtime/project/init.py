"""`astro-runtime project init`: create an Astro-layout project whose Dockerfile names a Runtime release.

Rule for the target folder: a new or empty folder is fine, and so is a folder with other files (a git
checkout with a README) as long as none of the paths init writes exists there. A folder holding any
project marker (Dockerfile, dags/, requirements.txt, packages.txt, airflow_settings.yaml) is refused as
"already a project"; any other existing path init would write is refused by name. Nothing is ever
overwritten, and nothing is left behind on error: the files are written in a staging folder (inside
the target, or next to a new one) and moved into place only when all of them are written.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
from pathlib import Path
from typing import Any

from astronomer_runtime.catalog import Catalog, Release
from astronomer_runtime.errors import RuntimeToolError
from astronomer_runtime.project import templates
from astronomer_runtime.project.cli import project_argument


class ProjectExistsError(RuntimeToolError, FileExistsError):
    """The target folder already holds (part of) a project; nothing was written."""


class ProjectInitError(RuntimeToolError, OSError):
    """The project could not be written (a file where a folder should be, no permission)."""


def add_command(verbs: Any) -> None:
    parser = verbs.add_parser("init", help="create an Astro-layout project in an empty or new folder")
    project_argument(parser)
    parser.add_argument(
        "--runtime-version",
        metavar="RELEASE",
        help="the Runtime release in the Dockerfile's FROM (default: the newest stable release)",
    )
    parser.set_defaults(handler=run)


def _python() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def choose_release(catalog: Catalog, name: str | None) -> tuple[Release, str]:
    """The release and Python of the image: the interpreter's Python (the one local runs use) when
    the release supports it, else the release's default."""
    python = _python()
    release = catalog.get(name) if name else catalog.newest_stable(python)
    if python not in release.python.supported:
        python = release.python.default
    return release, python


def _existing(project: Path, files: dict[str, str]) -> list[str]:
    """The paths init would write that already exist (folders as `name/`), project markers first."""
    nearest = next(path for path in (project, *project.parents) if os.path.lexists(path))
    if not nearest.is_dir():
        raise ProjectExistsError(f"{nearest} is a file, not a folder: nothing was written")
    if nearest != project:
        return []
    found = []
    for name in templates.PROJECT_MARKERS + tuple(files) + templates.PROJECT_FOLDERS:
        path = project / name
        if os.path.lexists(path):
            found.append(f"{name}/" if path.is_dir() else name)
    return list(dict.fromkeys(found))


def _refuse_existing(project: Path, files: dict[str, str]) -> None:
    found = _existing(project, files)
    markers = [name for name in found if name.rstrip("/") in templates.PROJECT_MARKERS]
    if markers:
        raise ProjectExistsError(
            f"{project} already holds an Astro project ({', '.join(markers)}): nothing was written"
        )
    if found:
        raise ProjectExistsError(
            f"{project} already has {', '.join(found)}, which init would write: nothing was written; "
            "move them away or choose an empty folder"
        )


def _stage(staging: Path, files: dict[str, str]) -> None:
    for folder in templates.PROJECT_FOLDERS:
        (staging / folder).mkdir()
    for name, text in files.items():
        path = staging / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _move_into(staging: Path, project: Path) -> None:
    """Move the staged entries into an existing folder; undo the moves if one fails."""
    moved: list[Path] = []
    try:
        for entry in sorted(staging.iterdir()):
            target = project / entry.name
            if os.path.lexists(target):  # appeared since the check: never overwrite
                raise ProjectExistsError(f"{target} appeared while init ran: nothing was written")
            entry.rename(target)
            moved.append(target)
    except BaseException:
        for target in moved:
            if target.is_dir():
                shutil.rmtree(target)
            else:
                target.unlink()
        raise


def create(project: Path, image: str) -> list[str]:
    """Write a new project at `project` (created if missing); returns the paths written, sorted."""
    files = templates.project_files(image)
    _refuse_existing(project, files)
    anchor = project if project.is_dir() else project.parent
    # Created with the umask's mode (unlike mkdtemp's 0700): a new project is this very folder.
    staging = anchor / f".astro-runtime-init-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        anchor.mkdir(parents=True, exist_ok=True)
        staging.mkdir()
        _stage(staging, files)
        if project.is_dir():
            _move_into(staging, project)
        else:
            staging.rename(project)  # atomic: the new folder appears complete
    except ProjectExistsError:
        raise
    except OSError as exc:
        raise ProjectInitError(
            f"{project}: cannot write the project ({exc.strerror or exc}): nothing was written"
        ) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return sorted([*files, *(f"{folder}/" for folder in templates.PROJECT_FOLDERS)])


def run(catalog: Catalog, args: argparse.Namespace) -> int:
    from astronomer_runtime.image.build import default_tag

    release, python = choose_release(catalog, args.runtime_version)
    project: Path = args.project.absolute()
    image = default_tag(release.name, python)
    written = create(project, image)
    print(f"Created an Astro project in {project} for Runtime {release.name} (Airflow {release.airflow}):")
    print("\n".join(f"  {name}" for name in written))
    print(f"The Dockerfile builds FROM {image}.")
    print("Next steps:")
    print(f"  astro-runtime dev --project {project}             # run it locally")
    print(f"  astro-runtime project parse --project {project}   # check that every DAG imports")
    print(f"  astro-runtime project pytest --project {project}  # run its tests/")
    return 0
