"""Astronomer Runtime's Airflow plugin: ties a running Airflow to its control plane.

This module is imported by every Airflow process, task runners included, so it imports nothing
heavy: each feature loads its own dependencies when it is first used.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
