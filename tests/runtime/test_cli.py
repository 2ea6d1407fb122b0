"""The `astro-runtime` command, run as a real process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from astronomer_plugins.feed import RuntimeFeed
from astronomer_runtime.paths import CATALOG_FILE, LOCKS_DIR


def astro_runtime(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "astronomer_runtime", *args], capture_output=True, text=True, timeout=60
    )


def test_console_script_is_installed() -> None:
    executable = shutil.which("astro-runtime", path=str(Path(sys.executable).parent))
    assert executable is not None
    result = subprocess.run([executable, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "versions" in result.stdout


def test_versions_list() -> None:
    result = astro_runtime("versions", "list", "--on", "2026-11-28")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["RELEASE", "AIRFLOW", "PYTHON", "CHANNEL", "LTS", "STATUS", "END", "OF", "MAINTENANCE", "DAYS", "LEFT"]
    rows = {line.split()[0]: line for line in lines[1:] if line[:1].isdigit()}
    assert set(rows) == {"3.1-1", "3.2-1", "3.3-1", "3.3-2"}
    assert "maintenance ended  2026-09-30" in rows["3.1-1"]
    assert rows["3.3-2"].split()[-3:] == ["supported", "2027-02-28", "92"]


def test_versions_show() -> None:
    result = astro_runtime("versions", "show", "3.3-2", "--on", "2026-11-28")
    assert result.returncode == 0, result.stderr
    assert "  Airflow:              3.3.2" in result.stdout
    assert "  End of maintenance:   2027-02-28" in result.stdout
    assert "    apache-airflow-providers-cncf-kubernetes==10.22.0" in result.stdout


def test_versions_diff() -> None:
    result = astro_runtime("versions", "diff", "3.3-1", "3.3-2")
    assert result.returncode == 0, result.stderr
    assert "    apache-airflow: 3.3.1 -> 3.3.2" in result.stdout
    assert "  Database migration: not needed" in result.stdout
    across = astro_runtime("versions", "diff", "3.1-1", "3.3-2")
    assert "  Database migration: needed (airflow db migrate)" in across.stdout


@pytest.mark.parametrize("args", [("versions", "show", "9.9-9"), ("versions", "diff", "3.3-1", "9.9-9")])
def test_unknown_release_lists_known_ones(args: tuple[str, ...]) -> None:
    result = astro_runtime(*args)
    assert result.returncode == 1
    assert result.stderr.strip() == "unknown release '9.9-9'; known releases: 3.1-1, 3.2-1, 3.3-1, 3.3-2"


def test_feed_validates_against_the_wire_model() -> None:
    result = astro_runtime("feed")
    assert result.returncode == 0, result.stderr
    feed = RuntimeFeed.model_validate(json.loads(result.stdout))
    assert feed.runtime_versions_v3["3.3-2"].metadata.airflow_version == "3.3.2"
    assert feed.runtime_versions_v3["3.3-2"].migrations.airflow_database is False


def test_lock_offline_passes() -> None:
    result = astro_runtime("lock", "--offline")
    assert result.returncode == 0, result.stderr


def test_broken_catalog_prints_every_problem_and_writes_nothing(tmp_path: Path) -> None:
    broken = tmp_path / "versions.yaml"
    text = CATALOG_FILE.read_text()
    first, rest = text.split('  - name: "3.2-1"')
    broken.write_text(first.replace('default: "3.12"', 'default: "3.9"') + '  - name: "3.2-1"' + rest.replace("channel: stable", "channel: gamma", 1))
    before = {path: path.stat().st_mtime_ns for path in LOCKS_DIR.rglob("*")}
    result = astro_runtime("--catalog", str(broken), "lock")
    assert result.returncode == 1
    problems = result.stderr.strip().splitlines()
    source = os.path.relpath(broken)
    assert problems == [
        f"{source}: releases[3.1-1].python.default: 3.9 is not in supported [3.11, 3.12, 3.13]",
        f"{source}: releases[3.2-1].channel: 'gamma': Input should be 'stable', 'alpha', 'beta' or 'deprecated'",
    ]
    assert {path: path.stat().st_mtime_ns for path in LOCKS_DIR.rglob("*")} == before
