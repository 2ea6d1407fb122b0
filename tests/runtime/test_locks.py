"""Locks: the offline checks on every committed lock, and the online regeneration check."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from astronomer_runtime import locks
from astronomer_runtime.catalog import load_catalog, parse_catalog
from astronomer_runtime.paths import CATALOG_FILE

CATALOG = load_catalog()


@pytest.mark.parametrize("target", locks.targets(CATALOG), ids=str)
def test_committed_lock_matches_the_catalog(target: locks.LockTarget) -> None:
    assert locks.offline_problems(target) == []
    text = target.path.read_text()
    assert text.startswith("# DO NOT EDIT")
    assert f"Runtime {target.release.name} (Airflow {target.release.airflow}) for Python {target.python}" in text
    assert locks.pins(text)["apache-airflow"] == target.release.airflow
    assert "statsd" in locks.pins(text)  # our package's own dependencies are locked too


def test_index_and_no_stray_locks() -> None:
    assert locks.index_problems(CATALOG) == []
    assert locks.unknown_lock_files(CATALOG) == []


@pytest.fixture
def tampered_locks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy = tmp_path / "locks"
    shutil.copytree(locks.LOCKS_DIR, copy)
    monkeypatch.setattr(locks, "LOCKS_DIR", copy)
    return copy


def test_offline_check_catches_a_hand_edited_pin(tampered_locks: Path) -> None:
    target = locks.targets(CATALOG, ["3.3-2"])[0]
    path = tampered_locks / "3.3-2" / f"python{target.python}.txt"
    path.write_text(path.read_text().replace("apache-airflow-providers-http==6.1.0", "apache-airflow-providers-http==6.0.0"))
    assert locks.offline_problems(target) == [
        f"3.3-2 / Python {target.python}: apache-airflow-providers-http is 6.0.0 in the lock, 6.1.0 in the catalog"
    ]


def test_offline_check_catches_a_missing_hash(tampered_locks: Path) -> None:
    target = locks.targets(CATALOG, ["3.3-2"])[0]
    path = tampered_locks / "3.3-2" / f"python{target.python}.txt"
    text = path.read_text()
    start = text.index("\nstatsd==") + 1
    end = text.index("\n", text.index("# via", start)) + 1
    path.write_text(text[:start] + "statsd==4.0.1\n" + text[end:])
    assert locks.offline_problems(target) == [f"3.3-2 / Python {target.python}: requirements without --hash: statsd==4.0.1"]


def test_offline_check_catches_a_missing_lock(tampered_locks: Path) -> None:
    target = locks.targets(CATALOG, ["3.1-1"])[0]
    (tampered_locks / "3.1-1" / f"python{target.python}.txt").unlink()
    assert locks.offline_problems(target) == [
        f"3.1-1 / Python {target.python}: no lock at runtime/locks/3.1-1/python{target.python}.txt; run `make lock`"
    ]


def test_offline_check_catches_a_catalog_edit() -> None:
    text = CATALOG_FILE.read_text().replace("locked_at: 2026-11-28T00:00:00Z", "locked_at: 2026-11-27T00:00:00Z", 1)
    edited = parse_catalog(text, "versions.yaml")
    target = locks.targets(edited, ["3.1-1"])[0]
    assert locks.offline_problems(target) == [
        f"3.1-1 / Python {target.python}: lock is out of date with versions.yaml or pyproject.toml; run `make lock`"
    ]


def test_the_release_constraints_are_in_the_lock_input() -> None:
    """requirements.in ends with the constraints, so their edit changes the input digest."""
    release = CATALOG.get("3.3-2")
    assert locks.requirements_in(release).splitlines()[-1] == "celery<5.7"
    text = CATALOG_FILE.read_text()
    edited = _replace_last(text, '- requirement: "celery<5.7"', '- requirement: "celery<5.8"')
    unconstrained = parse_catalog(edited, "versions.yaml")
    target = locks.targets(unconstrained, ["3.3-2"])[0]
    assert locks.requirements_in(target.release).splitlines()[-1] == "celery<5.8"
    assert locks.offline_problems(target) == [
        f"3.3-2 / Python {target.python}: lock is out of date with versions.yaml or pyproject.toml; run `make lock`"
    ]


def _replace_last(text: str, old: str, new: str) -> str:
    assert old in text
    head, _, tail = text.rpartition(old)
    return head + new + tail


def test_offline_check_catches_a_locked_version_outside_a_constraint(tampered_locks: Path) -> None:
    target = locks.targets(CATALOG, ["3.3-2"])[0]
    path = tampered_locks / "3.3-2" / f"python{target.python}.txt"
    path.write_text(path.read_text().replace("\ncelery==5.6.3 ", "\ncelery==5.7.0 "))
    (reason,) = [c.reason for c in target.release.constraints if c.name == "celery"]
    assert locks.offline_problems(target) == [
        f"3.3-2 / Python {target.python}: celery is 5.7.0 in the lock, outside the catalog's constraint "
        f"celery<5.7 ({reason})"
    ]


@pytest.mark.parametrize(("python", "violated"), [("3.11", False), ("3.13", True)])
def test_a_constraint_with_a_marker_is_checked_where_it_applies(python: str, violated: bool) -> None:
    marked = "celery<5.6; python_version >= '3.13'"
    text = _replace_last(CATALOG_FILE.read_text(), '"celery<5.7"', f'"{marked}"')
    edited = parse_catalog(text, "versions.yaml")
    (target,) = [t for t in locks.targets(edited, ["3.3-2"]) if t.python == python]
    problems = locks.offline_problems(target)
    assert problems[0].endswith("lock is out of date with versions.yaml or pyproject.toml; run `make lock`")
    outside = f"3.3-2 / Python {python}: celery is 5.6.3 in the lock, outside the catalog's constraint"
    assert any(problem.startswith(outside) for problem in problems) is violated, problems


@pytest.mark.slow
def test_lock_check_regenerates_identical_locks() -> None:
    """Online: every committed lock equals a fresh resolution against its PyPI snapshot."""
    result = subprocess.run(
        [sys.executable, "-m", "astronomer_runtime", "lock", "--check"], capture_output=True, text=True, timeout=1800
    )
    assert result.returncode == 0, result.stderr
    assert "locks are up to date" in result.stdout
