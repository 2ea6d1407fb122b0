"""The heartbeat reports the metrics push of the same process, read without sys.modules lookups."""

from __future__ import annotations

import types

import pytest

from astronomer_plugins.metrics import listener as metrics_listener
from astronomer_plugins.registration import payload


def test_heartbeat_reports_this_process_last_metrics_push(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics_listener.state, "pusher", None)
    assert payload._metrics_last_push_at() is None  # no pusher in this process: no field
    monkeypatch.setattr(metrics_listener.state, "pusher", types.SimpleNamespace(last_push_at=0.0))
    assert payload._metrics_last_push_at() == "1970-01-01T00:00:00+00:00"
