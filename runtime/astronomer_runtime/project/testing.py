"""Placeholder: `astro-runtime project testing` (being written)."""

from __future__ import annotations

from typing import Any


def add_command(verbs: Any) -> None:
    """Not wired yet."""
