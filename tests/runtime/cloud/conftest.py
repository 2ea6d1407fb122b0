"""The command line against the real control plane: one server per module, a clean config dir
and no ambient ASTRO_RUNTIME_* variables per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import ControlPlaneServer


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "xdg-config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    monkeypatch.delenv("ASTRO_RUNTIME_API_TOKEN", raising=False)
    monkeypatch.delenv("ASTRO_RUNTIME_URL", raising=False)
    return home


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlaneServer]:
    instance = ControlPlaneServer(tmp_path_factory.mktemp("cp") / "data")
    instance.start()
    try:
        yield instance
    finally:
        instance.stop()
