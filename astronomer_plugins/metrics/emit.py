"""Our own metrics to statsd: tagged lines over UDP, fire-and-forget, one client per process.

Used by the metrics job of long-lived components and by task runners when they stop.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from astronomer_plugins.metrics.aggregator import Sample

log = logging.getLogger(__name__)

_statsd_client: Any = None
_statsd_lock = threading.Lock()


def _statsd() -> Any:
    """Our own metrics' statsd client (Airflow's [metrics] settings), created once per process."""
    global _statsd_client
    with _statsd_lock:
        if _statsd_client is None:
            from astronomer_plugins.metrics.statsd_client import client_from_airflow_config

            try:
                _statsd_client = client_from_airflow_config() or False
            except Exception:
                log.exception("astronomer metrics: cannot create the statsd client; statsd output is off")
                _statsd_client = False
        return _statsd_client


def _reset_after_fork() -> None:
    global _statsd_client, _statsd_lock
    _statsd_client, _statsd_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_reset_after_fork)


def emit_to_statsd(samples: list[Sample]) -> None:
    """Send samples as tagged statsd lines (UDP, fire-and-forget); nothing when statsd is off."""
    if not samples:
        return
    client = _statsd()
    if not client:
        return
    with client.pipeline() as pipe:
        for sample in samples:
            tags = dict(sample.tags)
            if sample.kind == "timer":
                pipe.timing(sample.name, sample.value * 1000.0, tags=tags)
            elif sample.kind == "gauge":
                pipe.gauge(sample.name, sample.value, tags=tags)
            else:
                count = int(sample.value) if sample.value == int(sample.value) else sample.value
                pipe.incr(sample.name, count, tags=tags)
