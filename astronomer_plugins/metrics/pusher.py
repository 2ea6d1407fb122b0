"""The background thread of long-lived components: statsd flush and the control-plane push.

Started by the listener's on_starting in the scheduler, dag-processor and triggerer (never in a
task runner or the api-server). Every tick it drains the process's aggregator, sends our metrics to
statsd, and every push interval sends one gzip'd batch to `POST /v1/deployments/{id}/metrics`.
A failed push keeps its batch (same batch_id, so a retry counts once) in a bounded buffer; beyond
the bound the oldest points are dropped and counted. Nothing here raises into the component, and
nothing in the component waits on this thread except a bounded join when it stops.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

from astronomer_plugins.metrics.aggregator import Batch, PushBuffer, Sample

if TYPE_CHECKING:
    from astronomer_plugins.control_plane.client import ControlPlaneClient
    from astronomer_plugins.control_plane.models import MetricBatch

log = logging.getLogger(__name__)

DROPPED_POINTS = "astronomer.metrics.dropped_points"
STATSD_TICK_SECONDS = 10.0
STOP_JOIN_SECONDS = 10.0
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
                pipe.incr(sample.name, sample.value if sample.value != int(sample.value) else int(sample.value), tags=tags)


def to_batch(batch: Batch, component: str, instance_id: str) -> MetricBatch:
    """The wire model of a batch; the drop count travels as a field and as a counter point."""
    from astronomer_plugins.control_plane.models import ComponentKind, MetricBatch, MetricPoint

    def stamp(ts: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(ts, dt.timezone.utc)

    points = [
        MetricPoint(name=s.name, type=s.kind, value=s.value, tags=dict(s.tags), timestamp=stamp(s.timestamp))
        for s in batch.samples
    ]
    if batch.dropped:
        points.append(MetricPoint(name=DROPPED_POINTS, type="counter", value=batch.dropped, tags={}, timestamp=stamp(time.time())))
    return MetricBatch(
        batch_id=batch.batch_id, component=ComponentKind(component), instance_id=instance_id, points=points,
        dropped_points=batch.dropped,
    )  # fmt: skip


class MetricsPusher:
    """One daemon thread per long-lived component; `stop()` flushes once more, bounded in time."""

    def __init__(self, component: str, state: Any, *, interval: float, buffer_size: int, push: bool) -> None:
        self.component = component
        self.state = state
        self.interval = interval
        self.push_enabled = push
        # The registered instance id (identity.process_claim), known once the first push needs it.
        self.instance_id: str | None = None
        # Batch ids must differ between two runs of one instance (a restart keeps its instance id
        # and restarts its sequence numbers), so they start with a per-process run id.
        self.buffer = PushBuffer(capacity=buffer_size, instance_id=f"{component}-{os.getpid()}-{uuid.uuid4().hex[:12]}")
        self.pushes = 0
        self.last_push_at: float | None = None  # epoch seconds of the last accepted batch
        self._stopping = threading.Event()
        self._client: ControlPlaneClient | None = None
        self._deployment_id = ""
        self._outage_logged = False
        self._thread = threading.Thread(target=self._run, name=f"astronomer-metrics-{component}", daemon=True)

    @classmethod
    def start(cls, component: str, state: Any) -> MetricsPusher | None:
        """Read the settings and start the thread; None (logged) when they are unusable."""
        from astronomer_plugins import config
        from astronomer_plugins.errors import AstronomerConfigError

        try:
            interval = config.get_float(config.METRICS_PUSH_INTERVAL)
            buffer_size = config.get_int(config.METRICS_BUFFER_SIZE)
            push = config.get_bool(config.METRICS_PUSH_ENABLED) and bool(config.get(config.CONTROL_PLANE_URL))
        except AstronomerConfigError as exc:
            log.error("astronomer metrics are off in this %s: %s", component, exc)
            return None
        pusher = cls(component, state, interval=interval, buffer_size=buffer_size, push=push)
        from astronomer_plugins.control_plane.preload import preload

        # The thread must never import: forked children would inherit a held import lock.
        preload(
            "astronomer_plugins.metrics.statsd_client", "astronomer_plugins.metrics.outcomes",
            "astronomer_plugins.metrics.aggregator",
        )  # fmt: skip
        pusher._thread.start()
        log.info("astronomer metrics: %s pushes every %gs (push %s)", component, interval, "on" if push else "off")
        return pusher

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(STOP_JOIN_SECONDS)

    def _run(self) -> None:
        tick = min(self.interval, STATSD_TICK_SECONDS)
        next_push = time.monotonic() + self.interval
        while True:
            stopping = self._stopping.wait(tick)
            try:
                due = stopping or time.monotonic() >= next_push
                self.flush(push=due)
                if due:
                    next_push = time.monotonic() + self.interval
            except Exception:  # never let the thread die: the next tick tries again
                log.exception("astronomer metrics: flush failed in %s", self.component)
            if stopping:
                return

    def collect(self) -> list[Sample]:
        """Drain what the listener counted (and, in the scheduler, the finished runs' task outcomes)."""
        now = time.time()
        samples = self.state.aggregator.drain(now)
        emit_to_statsd(samples)
        runs = []
        while self.state.finished_runs:
            runs.append(self.state.finished_runs.popleft())
        if runs and self.push_enabled:
            from astronomer_plugins.metrics.outcomes import task_outcomes

            try:
                samples = samples + task_outcomes(runs, now)
            except Exception:
                log.exception("astronomer metrics: cannot read the task outcomes of %d finished run(s)", len(runs))
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
        from astronomer_plugins.errors import AstronomerConfigError, ControlPlaneError, ControlPlaneUnavailable

        batch = self.buffer.next_batch()
        if batch is None:
            return
        try:
            client = self._control_plane()
            assert self.instance_id is not None
            client.push_metrics(self._deployment_id, to_batch(batch, self.component, self.instance_id))
        except AstronomerConfigError as exc:
            log.error("astronomer metrics: push turned off in this %s: %s", self.component, exc)
            self.push_enabled = False
            return
        except ControlPlaneUnavailable as exc:
            if not self._outage_logged:
                log.warning("astronomer metrics: control plane unavailable, keeping %d point(s): %s", len(self.buffer), exc)
                self._outage_logged = True
            return
        except ControlPlaneError as exc:  # refused for good (auth, 4xx): retrying cannot help
            log.error("astronomer metrics: the control plane refused batch %s, dropping it: %s", batch.batch_id, exc)
            self.buffer.abandon(batch)
            return
        self.buffer.acknowledge(batch)
        self.pushes += 1
        self.last_push_at = time.time()
        if self._outage_logged:
            log.info("astronomer metrics: control plane reachable again; %d point(s) still buffered", len(self.buffer))
            self._outage_logged = False

    def _control_plane(self) -> ControlPlaneClient:
        if self._client is None:
            from astronomer_plugins import config
            from astronomer_plugins.control_plane.client import METRICS, client_for
            from astronomer_plugins.registration import identity

            self._deployment_id = config.require(config.DEPLOYMENT_ID).strip()
            # The instance the registration names (or will): the control plane joins batch and component.
            self.instance_id = identity.process_claim(self._deployment_id, self.component).instance_id
            self._client = client_for(METRICS)
        return self._client
