"""Metrics export: deployment-tagged statsd and the metrics push to the control plane.

Airflow imports our plugin in every process, task runners included, so nothing here does work at
import time and each module imports only what its own job needs:

- `tags`: DogStatsD tag sanitising and the constant tags (organization, workspace, deployment, ...).
- `statsd_client`: `TaggedStatsClient`, for `[metrics] statsd_custom_client_path`.
- `aggregator`: in-memory counters (the listener's hot path) and the bounded push buffer.
- `listener`: task and DAG-run outcomes, counted in memory; never any I/O in a hook.
- `emit`: our samples to statsd (UDP), one client per process.
- `job`: the component agent's metrics job in long-lived components (statsd flush + control-plane push).
- `settings`: the Airflow [metrics] settings that turn tagged statsd on.
"""

from __future__ import annotations

TAGGED_CLIENT_PATH = "astronomer_plugins.metrics.statsd_client.TaggedStatsClient"
