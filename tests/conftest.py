"""Shared fixtures: ambient Astronomer settings never leak into a test."""

from __future__ import annotations

import os

import pytest



@pytest.fixture(autouse=True)
def _no_ambient_astronomer_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("AIRFLOW__ASTRONOMER__"):
            monkeypatch.delenv(name)
