"""A project's airflow_settings.yaml (Astro's format): connections, variables and pools, validated
and applied to Airflow's metadata database in one transaction, idempotently.

    models     the file's format, validated; one-line errors naming file, entry and field
    apply      create or update the rows, all or nothing
    __main__   `python -m astronomer_plugins.project_settings check|apply FILE` (the local runtime
               runs it on every start; in an image a customer can run it by hand)
"""

from __future__ import annotations

from astronomer_plugins.project_settings.apply import AppliedSettings, apply_settings
from astronomer_plugins.project_settings.models import (
    ConnectionEntry,
    PoolEntry,
    ProjectSettings,
    VariableEntry,
    load_settings,
    parse_settings,
)

__all__ = [
    "AppliedSettings",
    "ConnectionEntry",
    "PoolEntry",
    "ProjectSettings",
    "VariableEntry",
    "apply_settings",
    "load_settings",
    "parse_settings",
]
