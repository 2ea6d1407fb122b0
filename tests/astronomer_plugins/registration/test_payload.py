"""The heartbeat reports when the agent's metrics job last pushed, handed over by the agent."""

from __future__ import annotations

import types

from astronomer_plugins.registration import payload


def test_heartbeat_reports_the_last_metrics_push_it_is_given() -> None:
    job = types.SimpleNamespace()  # a Job that has not heartbeat yet: no age, healthy
    without = payload.job_status_probe(job, "triggerer", lambda: None)()
    assert without.healthy is True and "metrics_last_push_at" not in without.details
    pushed = payload.job_status_probe(job, "triggerer", lambda: 0.0)()
    assert pushed.details["metrics_last_push_at"] == "1970-01-01T00:00:00+00:00"
