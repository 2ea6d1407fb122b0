"""`TaggedStatsClient`: Airflow's statsd metrics with the deployment's tags, in DogStatsD form.

Plugged in with `[metrics] statsd_custom_client_path`. Airflow's SafeStatsdLogger calls the client
without tags; with `[metrics] statsd_influxdb_enabled = True` it appends them to the name as
`name,key=value,...` instead, which this client parses back into tags. Every line ends with
`|#<constant tags>,<metric tags>`, each value sanitised (see `tags`). Sending stays what the statsd
package does: one UDP datagram, never waiting, errors swallowed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from statsd import StatsClient
from statsd.client.udp import Pipeline

from astronomer_plugins.metrics import tags as tagging

Tags = dict[str, object]


class _TaggedMethods:
    """The statsd package's methods, plus keyword-only `tags` for our own metrics."""

    _send_stat: Any
    pipeline: Any

    def incr(self, stat: str, count: float = 1, rate: float = 1, *, tags: Tags | None = None) -> None:
        self._send_stat(stat, f"{count}|c", rate, tags)

    def decr(self, stat: str, count: float = 1, rate: float = 1, *, tags: Tags | None = None) -> None:
        self.incr(stat, -count, rate, tags=tags)

    def timing(
        self, stat: str, delta: float | dt.timedelta, rate: float = 1, *, tags: Tags | None = None
    ) -> None:
        """`delta` in milliseconds or a timedelta, like the statsd package."""
        milliseconds = delta.total_seconds() * 1000.0 if isinstance(delta, dt.timedelta) else delta
        self._send_stat(stat, f"{milliseconds:0.6f}|ms", rate, tags)

    def gauge(
        self, stat: str, value: float, rate: float = 1, delta: bool = False, *, tags: Tags | None = None
    ) -> None:
        if value < 0 and not delta:  # statsd reads "-5|g" as a decrement: reset to 0 first
            with self.pipeline() as pipe:
                pipe._send_stat(stat, "0|g", 1, tags)
                pipe._send_stat(stat, f"{value}|g", 1, tags)
            return
        sign = "+" if delta and value >= 0 else ""
        self._send_stat(stat, f"{sign}{value}|g", rate, tags)


class TaggedStatsClient(_TaggedMethods, StatsClient):
    """A `statsd.StatsClient` whose lines carry DogStatsD tags (constant and per metric)."""

    def __init__(
        self,
        host: str = "localhost",
        port: int = 8125,
        prefix: str | None = None,
        maxudpsize: int = 512,
        ipv6: bool = False,
        *,
        constant_tags: Tags | None = None,
    ) -> None:
        super().__init__(host, port, prefix, maxudpsize, ipv6)
        self._explicit_constant = constant_tags
        self._constant_for: str | None = None
        self._constant_suffix = ""

    def _constant(self) -> str:
        """The formatted constant tags, rebuilt only when this process learns its component."""
        component = tagging.current_component()
        if component != self._constant_for:
            constant: Tags = (
                self._explicit_constant
                if self._explicit_constant is not None
                else dict(tagging.constant_tags(component))
            )
            self._constant_suffix = tagging.format_tags(constant)
            self._constant_for = component
        return self._constant_suffix

    def format_line(self, stat: str, value: str, rate: float = 1, tags: Tags | None = None) -> str:
        """One statsd line: `[prefix.]name:value[|@rate]|#tags`."""
        name, _, influx = stat.partition(",")
        metric_tags: Tags = {}
        if influx:  # Airflow's `name,key=value,...` form (statsd_influxdb_enabled)
            for pair in influx.split(","):
                key, _, tag_value = pair.partition("=")
                metric_tags[key] = tag_value
        if tags:
            metric_tags.update(tags)
        if rate < 1:
            value = f"{value}|@{rate}"
        if self._prefix:
            name = f"{self._prefix}.{name}"
        suffix = self._constant()
        if metric_tags:
            extra = tagging.format_tags(metric_tags)
            suffix = f"{suffix},{extra}" if suffix and extra else suffix or extra
        return f"{name}:{value}|#{suffix}" if suffix else f"{name}:{value}"

    def _prepare(self, stat: str, value: str, rate: float, tags: Tags | None = None) -> str | None:
        if rate < 1:
            import random

            if random.random() > rate:
                return None
        return self.format_line(stat, value, rate, tags)

    def _send_stat(self, stat: str, value: str, rate: float, tags: Tags | None = None) -> None:
        self._after(self._prepare(stat, value, rate, tags))

    def pipeline(self) -> TaggedPipeline:
        return TaggedPipeline(self)


class TaggedPipeline(_TaggedMethods, Pipeline):
    """The statsd package's pipeline, formatting through the client so lines keep their tags."""

    def _prepare(self, stat: str, value: str, rate: float, tags: Tags | None = None) -> str | None:
        return self._client._prepare(stat, value, rate, tags)

    def _send_stat(self, stat: str, value: str, rate: float, tags: Tags | None = None) -> None:
        self._after(self._prepare(stat, value, rate, tags))


def client_from_airflow_config() -> TaggedStatsClient | None:
    """Our own metrics' client from Airflow's [metrics] settings; None when statsd is off."""
    from airflow.configuration import conf

    if not conf.getboolean("metrics", "statsd_on", fallback=False):
        return None
    return TaggedStatsClient(
        conf.get("metrics", "statsd_host", fallback="localhost"),
        conf.getint("metrics", "statsd_port", fallback=8125),
        conf.get("metrics", "statsd_prefix", fallback="airflow") or None,
        ipv6=conf.getboolean("metrics", "statsd_ipv6", fallback=False),
    )
