"""The component kinds, spelled once: the wire enum of the contract.

Its own module, free of pydantic, so the hooks that run in every Airflow process (task runners
included) can name a kind without loading the wire models.
"""

from __future__ import annotations

from enum import Enum


class ComponentKind(str, Enum):
    SCHEDULER = "scheduler"
    DAG_PROCESSOR = "dag-processor"
    TRIGGERER = "triggerer"
    API_SERVER = "api-server"
    WORKER = "worker"
