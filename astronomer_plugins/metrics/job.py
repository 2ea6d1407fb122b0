"""The metrics job of the component agent: statsd flush and the control-plane push.

Run by the agent of the scheduler, dag-processor and triggerer (never in a task runner or the
api-server). Every tick it drains what the listener counted, sends our metrics to statsd, and every
push interval sends one gzip'd batch to `POST /v1/deployments/{id}/metrics`, naming the instance the
registration enrolled. A failed push keeps its batch (same batch_id, so a retry counts once) in a
bounded buffer; beyond the bound the oldest points are dropped and counted. Nothing here raises into
the component; a clean stop flushes once more before the agent's deadline.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
import uuid
from typing import TYPE_CHECKING

from astronomer_plugins.metrics import listener as counting
from astronomer_plugins.metrics.aggregator import Batch, PushBuffer, Sample
from astronomer_plugins.metrics.emit import emit_to_statsd

if TYPE_CHECKING:
    from astronomer_plugins.agent.identity import ComponentIdentity
    from astronomer_plugins.control_plane.client import ControlPlaneClient
    from astronomer_plugins.control_plane.models import MetricBatch

log = logging.getLogger(__name__)

DROPPED_POINTS = "astronomer.metrics.dropped_points"
STATSD_TICK_SECONDS = 10.0


def to_batch(batch: Batch, component: str, instance_id: str) -> MetricBatch:
    """The wire model of a batch; the drop count travels as a field and as a counter point."""
    from astronomer_plugins.control_plane.models import ComponentKind, MetricBatch, MetricPoint

    def stamp(ts: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(ts, dt.UTC)

    points = [
        MetricPoint(name=s.name, type=s.kind, value=s.value, tags=dict(s.tags), timestamp=stamp(s.timestamp))
        for s in batch.samples
    ]
    if batch.dropped:
        dropped = MetricPoint(
            name=DROPPED_POINTS, type="counter", value=batch.dropped, tags={}, timestamp=stamp(time.time())
        )
        points.append(dropped)
    return MetricBatch(
        batch_id=batch.batch_id,
        component=ComponentKind(component),
        instance_id=instance_id,
        points=points,
        dropped_points=batch.dropped,
    )


class MetricsJob:
    """Our metrics of one long-lived component: statsd every tick, the control plane every interval."""

    name = "metrics"

    def __init__(self, *, interval: float, buffer_size: int, push: bool) -> None:
        self.interval = interval
        self.push_enabled = push
        self.pushes = 0
        self.last_push_at: float | None = None  # epoch seconds of the last accepted batch
        self.component: ComponentIdentity | None = None
        # Batch ids must differ between two runs of one instance (a restart keeps its instance id
        # and restarts its sequence numbers), so they start with a per-process run id.
        self.buffer = PushBuffer(capacity=buffer_size, instance_id=f"{os.getpid()}-{uuid.uuid4().hex[:12]}")
        self._lock = threading.Lock()  # the agent's thread and a stop() never flush at once
        self._client: ControlPlaneClient | None = None
        self._deployment_id = ""
        self._next_push = 0.0
        self._outage_logged = False

    @classmethod
    def from_config(cls) -> MetricsJob | None:
        """The job as [astronomer] configures it; None (logged) when the settings are unusable."""
        from astronomer_plugins import config
        from astronomer_plugins.control_plane.preload import preload
        from astronomer_plugins.errors import AstronomerConfigError

        try:
            if not config.get_bool(config.METRICS_LISTENER_ENABLED):
                return None
            interval = config.get_float(config.METRICS_PUSH_INTERVAL)
            buffer_size = config.get_int(config.METRICS_BUFFER_SIZE)
            push = config.get_bool(config.METRICS_PUSH_ENABLED) and bool(config.get(config.CONTROL_PLANE_URL))
        except AstronomerConfigError as exc:
            log.error("astronomer metrics are off in this component: %s", exc)
            return None
        # The agent's thread must never import: forked children would inherit a held import lock.
        preload(
            "astronomer_plugins.metrics.statsd_client",
            "astronomer_plugins.metrics.outcomes",
            "astronomer_plugins.metrics.aggregator",
        )
        return cls(interval=interval, buffer_size=buffer_size, push=push)

    def begin(self, component: ComponentIdentity) -> None:
        from astronomer_plugins import config
        from astronomer_plugins.errors import AstronomerConfigError

        self.component = component
        self._next_push = time.monotonic() + self.interval
        if self.push_enabled:
            try:
                self._deployment_id = config.require(config.DEPLOYMENT_ID).strip()
            except AstronomerConfigError as exc:
                log.error("astronomer metrics: push turned off in this %s: %s", component.kind, exc)
                self.push_enabled = False
        push = "on" if self.push_enabled else "off"
        log.info("astronomer metrics: %s pushes every %gs (push %s)", component.kind, self.interval, push)

    def run(self) -> float:
        due = time.monotonic() >= self._next_push
        with self._lock:
            self.flush(push=due)
        if due:
            self._next_push = time.monotonic() + self.interval
        return min(self.interval, STATSD_TICK_SECONDS, max(0.0, self._next_push - time.monotonic()))

    def stop(self, deadline: float) -> bool:
        """Flush once more and push what is buffered, before `deadline`; True when nothing is left."""
        if not self._lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
            log.warning("astronomer metrics: the last flush did not get its turn before the stop deadline")
            return False
        try:
            self.flush(push=False)
        finally:
            self._lock.release()
        if not self.push_enabled or self.buffer.next_batch() is None:
            return True
        # The push runs in a helper thread: the deadline holds even where socket timeouts do not.
        helper = threading.Thread(target=self._push_locked, name="astronomer-metrics-final", daemon=True)
        helper.start()
        helper.join(timeout=max(0.0, deadline - time.monotonic()))
        return not helper.is_alive() and self.buffer.next_batch() is None

    def _push_locked(self) -> None:
        with self._lock:
            self._push()

    def collect(self) -> list[Sample]:
        """Drain what the listener counted (and, in the scheduler, the finished runs' task outcomes)."""
        state = counting.state
        now = time.time()
        samples = state.aggregator.drain(now)
        emit_to_statsd(samples)
        runs = []
        while state.finished_runs:
            runs.append(state.finished_runs.popleft())
        if runs and self.push_enabled:
            from astronomer_plugins.metrics.outcomes import task_outcomes

            try:
                samples = samples + task_outcomes(runs, now)
            except Exception:
                log.exception(
                    "astronomer metrics: cannot read the task outcomes of %d finished run(s)", len(runs)
                )
        return samples

    def flush(self, *, push: bool) -> None:
        samples = self.collect()
        if not self.push_enabled:
            return
        dropped = self.buffer.add(samples)
        if dropped:
            emit_to_statsd([Sample(DROPPED_POINTS, "counter", float(dropped), (), time.time())])
        if push:
            self._push()

    def _push(self) -> None:
        from astronomer_plugins.errors import (
            AstronomerConfigError,
            ControlPlaneError,
            ControlPlaneUnavailable,
        )

        batch = self.buffer.next_batch()
        if batch is None:
            return
        try:
            assert self.component is not None
            wire = to_batch(batch, self.component.kind, self.component.instance_id)
            self._control_plane().push_metrics(self._deployment_id, wire)
        except AstronomerConfigError as exc:
            log.error("astronomer metrics: push turned off in this component: %s", exc)
            self.push_enabled = False
            return
        except ControlPlaneUnavailable as exc:
            if not self._outage_logged:
                kept = len(self.buffer)
                log.warning(
                    "astronomer metrics: control plane unavailable, keeping %d point(s): %s", kept, exc
                )
                self._outage_logged = True
            return
        except ControlPlaneError as exc:  # refused for good (auth, 4xx): retrying cannot help
            refused = batch.batch_id
            log.error("astronomer metrics: the control plane refused batch %s, dropping it: %s", refused, exc)
            self.buffer.abandon(batch)
            return
        self.buffer.acknowledge(batch)
        self.pushes += 1
        self.last_push_at = time.time()
        if self._outage_logged:
            kept = len(self.buffer)
            log.info("astronomer metrics: control plane reachable again; %d point(s) still buffered", kept)
            self._outage_logged = False

    def _control_plane(self) -> ControlPlaneClient:
        if self._client is None:
            from astronomer_plugins.control_plane.client import METRICS, client_for

            self._client = client_for(METRICS)
        return self._client
