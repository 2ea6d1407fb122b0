"""The data directory and the SQLite database are private on every start (0700 / 0600), also when
they already exist with wider modes (they are narrowed, not refused)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.servers import ControlPlaneServer

pytestmark = pytest.mark.integration


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_a_running_control_plane_keeps_its_files_private(server: ControlPlaneServer) -> None:
    database = server.data_dir / "control-plane.db"
    assert (mode(server.data_dir), mode(server.data_dir / "keys"), mode(database)) == (0o700, 0o700, 0o600)
    wal_files = [database.with_name("control-plane.db-wal"), database.with_name("control-plane.db-shm")]
    assert all(path.exists() for path in wal_files)  # WAL mode, open while the server runs
    assert [mode(path) for path in wal_files] == [0o600, 0o600]


def test_first_start_is_private_whatever_the_umask(tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = subprocess.run(ControlPlaneServer(data).command("rotate-keys"), capture_output=True, text=True, timeout=120, umask=0)
    assert result.returncode == 0, result.stderr
    assert (mode(data), mode(data / "keys"), mode(data / "control-plane.db")) == (0o700, 0o700, 0o600)


def test_wider_modes_are_narrowed_on_start(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "keys").mkdir(parents=True)
    database = data / "control-plane.db"
    database.touch()  # an empty file is an empty SQLite database
    for path, wide in ((data, 0o755), (data / "keys", 0o755), (database, 0o644)):
        path.chmod(wide)
    result = ControlPlaneServer(data).run("rotate-keys")
    assert result.returncode == 0, result.stderr
    assert (mode(data), mode(data / "keys"), mode(database)) == (0o700, 0o700, 0o600)
