"""The per-deployment HTML status page (components, versions, heartbeats, deploys, recent metrics)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from html import escape

from astronomer_plugins.control_plane.models import ComponentStatus, Deploy

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


def _run_summary(
    batches: list[tuple[dt.datetime, dict]],
) -> tuple[Counter[str], list[tuple[str, str, float, str]]]:
    """Task outcomes per outcome (astronomer.task.outcome) and the DAG-run durations, newest first."""
    outcomes: Counter[str] = Counter()
    durations: list[tuple[str, str, float, str]] = []
    for _, batch in batches:
        for point in batch.get("points", []):
            tags = point.get("tags") or {}
            if point.get("name") == "astronomer.task.outcome":
                outcomes[tags.get("outcome", "unknown")] += point.get("value", 0)
            elif point.get("name") == "astronomer.dag_run.duration":
                durations.append(
                    (
                        tags.get("dag_id", "?"),
                        tags.get("outcome", "?"),
                        point.get("value", 0),
                        point.get("timestamp", ""),
                    )
                )
    return outcomes, sorted(durations, key=lambda item: item[3], reverse=True)


def _table(headers: tuple[str, ...], rows: str) -> str:
    """A table with a header row; `rows` is already-escaped <tr> markup."""
    head = "".join(f"<th>{header}</th>" for header in headers)
    return f"<table><tr>{head}</tr>{rows}</table>"


def _runs_html(batches: list[tuple[dt.datetime, dict]]) -> str:
    outcomes, durations = _run_summary(batches)
    tasks = "".join(
        f"<tr><td>{escape(name)}</td><td id='tasks-{escape(name)}'>{outcomes.get(name, 0):g}</td></tr>"
        for name in ("success", "failed", "up_for_retry", "skipped", "upstream_failed")
    )
    runs = "".join(
        f"<tr><td>{escape(dag_id)}</td><td>{escape(outcome)}</td>"
        f"<td>{seconds:.1f}</td><td>{escape(str(at))}</td></tr>"
        for dag_id, outcome, seconds, at in durations[:50]
    )
    pushes = f"(last {len(batches)} pushes)"
    return (
        f"<h2>Task outcomes {pushes}</h2>{_table(('outcome', 'tasks'), tasks)}"
        f"<h2>DAG runs {pushes}</h2>{_table(('DAG', 'outcome', 'duration (s)', 'finished'), runs)}"
    )


def _component_row(c: ComponentStatus) -> str:
    heartbeat = c.last_heartbeat_at.isoformat() if c.last_heartbeat_at else "-"
    return (
        f"<tr><td>{escape(c.component.value)}</td><td>{escape(c.instance_id)}</td>"
        f"<td>{escape(c.hostname)}</td><td>{c.pid}</td><td class='{c.state.value}'>{c.state.value}</td>"
        f"<td>{escape(c.runtime_version)}</td><td>{escape(c.airflow_version)}</td>"
        f"<td>{escape(c.python_version)}</td><td>{heartbeat}</td></tr>"
    )


COMPONENT_HEADERS = (
    "component",
    "instance",
    "host",
    "pid",
    "state",
    "runtime",
    "airflow",
    "python",
    "last heartbeat",
)


DEPLOY_HEADERS = ("deploy", "kind", "version", "author", "when", "description", "rollback of")


def _deploy_row(deploy: Deploy) -> str:
    if deploy.bundle is not None:
        version = f"<code>{escape(deploy.bundle.version[:12])}</code>"
    elif deploy.image is not None:
        version = f"{escape(deploy.image.reference)} (Runtime {escape(deploy.image.runtime_version)})"
    else:
        version = "-"
    return (
        f"<tr><td>{escape(deploy.id)}</td><td>{deploy.kind.value}</td><td>{version}</td>"
        f"<td>{escape(deploy.author)}</td><td>{deploy.created_at.isoformat()}</td>"
        f"<td>{escape(deploy.description)}</td><td>{escape(deploy.rollback_of or '')}</td></tr>"
    )


def _deploys_html(deploys: list[Deploy]) -> str:
    current = next((d for d in deploys if d.bundle is not None), None)
    summary = (
        f"<p id='current-bundle'>Current DAG bundle <code>{escape(current.bundle.version)}</code> "
        f"({escape(current.id)}, by {escape(current.author)})</p>"
        if current is not None and current.bundle is not None
        else "<p id='current-bundle'>No DAG deploy yet.</p>"
    )
    rows = "".join(_deploy_row(d) for d in deploys)
    return f"<h2>Deploys</h2>{summary}{_table(DEPLOY_HEADERS, rows)}"


def render_status_page(
    deployment_id: str,
    name: str,
    runtime_version: str,
    components: list[ComponentStatus],
    batches: list[tuple[dt.datetime, dict]],
    *,
    cluster: str = "",
    deploys: list[Deploy] | None = None,
) -> str:
    rows = "".join(_component_row(c) for c in components)
    last_push = batches[0][0].isoformat() if batches else "never"
    metrics = "".join(
        f"<tr><td>{escape(metric)}</td><td>{value:g}</td></tr>"
        for metric, value in sorted(_metric_summary(batches).items())
    )
    head = f"<head><meta charset='utf-8'><title>{escape(name)}</title><style>{STYLE}</style></head>"
    return (
        f"<!doctype html><html>{head}<body><h1>Deployment {escape(name)}</h1>"
        f"<p>id <code>{escape(deployment_id)}</code>, Runtime {escape(runtime_version)}, "
        f"cluster {escape(cluster)}</p>"
        f"<h2>Components</h2>{_table(COMPONENT_HEADERS, rows)}{_deploys_html(deploys or [])}"
        f"{_runs_html(batches)}<h2>Metrics</h2><p>Last batch: {last_push}</p>"
        f"{_table((f'counter (last {len(batches)} batches)', 'total'), metrics)}</body></html>"
    )
