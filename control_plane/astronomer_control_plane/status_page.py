"""The per-deployment HTML status page (components, versions, heartbeats, recent metrics)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from html import escape

from astronomer_plugins.control_plane.models import ComponentStatus

STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}.healthy{color:#176e2c}"
    ".unhealthy{color:#a35b00}.gone{color:#888}"
)


def _metric_summary(batches: list[tuple[dt.datetime, dict]]) -> Counter[str]:
    totals: Counter[str] = Counter()
    for _, batch in batches:
        for point in batch.get("points", []):
            if point.get("type") == "counter":
                totals[point["name"]] += point.get("value", 0)
    return totals


def render_status_page(
    deployment_id: str, name: str, runtime_version: str, components: list[ComponentStatus],
    batches: list[tuple[dt.datetime, dict]],
) -> str:  # fmt: skip
    rows = "".join(
        f"<tr><td>{escape(c.component.value)}</td><td>{escape(c.instance_id)}</td><td>{escape(c.hostname)}</td>"
        f"<td>{c.pid}</td><td class='{c.state.value}'>{c.state.value}</td><td>{escape(c.runtime_version)}</td>"
        f"<td>{escape(c.airflow_version)}</td><td>{escape(c.python_version)}</td>"
        f"<td>{c.last_heartbeat_at.isoformat() if c.last_heartbeat_at else '-'}</td></tr>"
        for c in components
    )
    last_push = batches[0][0].isoformat() if batches else "never"
    metrics = "".join(
        f"<tr><td>{escape(metric)}</td><td>{value:g}</td></tr>" for metric, value in sorted(_metric_summary(batches).items())
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(name)}</title><style>{STYLE}</style></head>"
        f"<body><h1>Deployment {escape(name)}</h1><p>id <code>{escape(deployment_id)}</code>, "
        f"Runtime {escape(runtime_version)}</p><h2>Components</h2><table><tr><th>component</th><th>instance</th>"
        f"<th>host</th><th>pid</th><th>state</th><th>runtime</th><th>airflow</th><th>python</th>"
        f"<th>last heartbeat</th></tr>{rows}</table><h2>Metrics</h2><p>Last batch: {last_push}</p>"
        f"<table><tr><th>counter (last {len(batches)} batches)</th><th>total</th></tr>{metrics}</table></body></html>"
    )
