"""`astro-runtime project init`, run as a real process against a small literal catalog."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from astronomer_runtime.local.project_env import read_dotenv

PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
FILES = {
    ".dockerignore",
    ".env",
    ".gitignore",
    "Dockerfile",
    "airflow_settings.yaml",
    "dags/example_dag.py",
    "include/greetings.py",
    "packages.txt",
    "requirements.txt",
    "tests/dags/test_dag_example.py",
}


def astro_runtime(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "astronomer_runtime", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


@pytest.fixture
def catalog(tmp_path: Path, small_catalog_text: str) -> Path:
    path = tmp_path / "versions.yaml"
    path.write_text(small_catalog_text)
    return path


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every path under `folder` with its size and mtime: what a refused init must leave unchanged."""
    return {
        str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in [folder, *folder.rglob("*")]
    }


def files_of(project: Path) -> set[str]:
    return {str(path.relative_to(project)) for path in project.rglob("*") if path.is_file()}


def test_init_creates_every_file_in_a_new_folder(tmp_path: Path, catalog: Path) -> None:
    project = tmp_path / "new" / "project"
    result = astro_runtime("--catalog", str(catalog), "project", "init", "--project", str(project))
    assert result.returncode == 0, result.stderr
    assert files_of(project) == FILES
    assert sorted(path.name for path in project.iterdir() if path.is_dir()) == [
        "dags",
        "include",
        "plugins",
        "tests",
    ]
    assert list((project / "plugins").iterdir()) == []
    assert (project / "requirements.txt").read_text() == "" and (project / "packages.txt").read_text() == ""
    # The newest stable release of the catalog (3.3-2), on the Python that runs the local tools.
    from_lines = [
        line for line in (project / "Dockerfile").read_text().splitlines() if line.startswith("FROM")
    ]
    assert from_lines == [f"FROM localhost/astronomer/runtime:3.3-2-python-{PYTHON}"]
    assert read_dotenv(project / ".env") == {}
    assert ".env" in (project / ".dockerignore").read_text().splitlines()
    assert ".env" in (project / ".gitignore").read_text().splitlines()
    assert "from include.greetings import greeting" in (project / "dags/example_dag.py").read_text()
    settings = project / "airflow_settings.yaml"
    check_settings = [sys.executable, "-m", "astronomer_plugins.project_settings", "check", str(settings)]
    check = subprocess.run(check_settings, capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "astro-runtime project pytest --project" in result.stdout and "Dockerfile" in result.stdout
    assert [path.name for path in (tmp_path / "new").iterdir()] == ["project"]  # no staging folder left


def test_runtime_version_names_another_release(tmp_path: Path, catalog: Path) -> None:
    project = tmp_path / "p"
    result = astro_runtime(
        "--catalog", str(catalog), "project", "init", "--project", str(project), "--runtime-version", "3.2-1"
    )
    assert result.returncode == 0, result.stderr
    assert (
        f"FROM localhost/astronomer/runtime:3.2-1-python-{PYTHON}\n" in (project / "Dockerfile").read_text()
    )


def test_unknown_release_is_the_catalogs_error_and_writes_nothing(tmp_path: Path, catalog: Path) -> None:
    before = snapshot(tmp_path)
    project = str(tmp_path / "p")
    result = astro_runtime(
        "--catalog", str(catalog), "project", "init", "--project", project, "--runtime-version", "3.9-1"
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "unknown release '3.9-1'; known releases: 3.1-1, 3.2-1, 3.3-1, 3.3-2"
    assert snapshot(tmp_path) == before


def test_a_folder_that_is_a_project_is_refused_and_left_unchanged(tmp_path: Path, catalog: Path) -> None:
    project = tmp_path / "existing"
    (project / "dags").mkdir(parents=True)
    (project / "dags" / "mine.py").write_text("# my DAG\n")
    (project / "Dockerfile").write_text("FROM somewhere-else\n")
    (project / ".env").write_text("MINE=1\n")
    before = snapshot(tmp_path)
    result = astro_runtime("--catalog", str(catalog), "project", "init", "--project", str(project))
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"{project} already holds an Astro project (Dockerfile, dags/): nothing was written"
    )
    assert snapshot(tmp_path) == before


def test_other_files_stay_and_a_path_init_would_write_is_refused(tmp_path: Path, catalog: Path) -> None:
    # A fresh git checkout with a README: init adds the project next to them.
    checkout = tmp_path / "checkout"
    (checkout / ".git").mkdir(parents=True)
    (checkout / "README.md").write_text("# mine\n")
    result = astro_runtime("--catalog", str(catalog), "project", "init", "--project", str(checkout))
    assert result.returncode == 0, result.stderr
    assert files_of(checkout) == FILES | {"README.md"}
    assert (checkout / "README.md").read_text() == "# mine\n"
    assert not [name for name in os.listdir(checkout) if name.startswith(".astro-runtime-init")]
    # One that already has a .gitignore: refused by name, never overwritten.
    other = tmp_path / "other"
    other.mkdir()
    (other / ".gitignore").write_text("*.log\n")
    before = snapshot(tmp_path)
    result = astro_runtime("--catalog", str(catalog), "project", "init", "--project", str(other))
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"{other} already has .gitignore, which init would write: nothing was written; "
        "move them away or choose an empty folder"
    )
    assert snapshot(tmp_path) == before


def test_init_in_the_current_empty_folder(tmp_path: Path, catalog: Path) -> None:
    result = astro_runtime("--catalog", str(catalog), "project", "init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert files_of(tmp_path) == FILES | {"versions.yaml"}


def test_a_project_that_cannot_be_written_is_one_message_and_leaves_nothing(
    tmp_path: Path, catalog: Path
) -> None:
    (tmp_path / "a-file").write_text("not a folder\n")
    before = snapshot(tmp_path)
    project = tmp_path / "a-file" / "project"
    result = astro_runtime("--catalog", str(catalog), "project", "init", "--project", str(project))
    assert result.returncode == 1
    assert result.stderr.strip() == f"{tmp_path / 'a-file'} is a file, not a folder: nothing was written"
    assert snapshot(tmp_path) == before
