"""The report of `astro-runtime project parse`: which results fail the run, and their text and JSON forms."""

from __future__ import annotations

import json
from typing import Any

FAILING = ("error", "timeout", "not_parsed")
SLOW_SHARE = 0.5  # a file using more than half of its import timeout is flagged as slow

_RESOLVED = {
    "environment": "from {variable}",
    "default": "its default",
    "placeholder": "NOT SET: a placeholder was used",
}


def annotate(results: list[dict[str, Any]], tolerated: dict[str, str]) -> list[dict[str, Any]]:
    """Add `tolerated` (the declared reason, or None) and `slow` to each result."""
    for result in results:
        result["tolerated"] = tolerated.get(result["file"]) if result["status"] in FAILING else None
        seconds, limit = result.get("seconds"), result.get("timeout_seconds") or 0
        result["slow"] = bool(
            result["status"] == "ok" and seconds is not None and limit > 0 and seconds > limit * SLOW_SHARE
        )
    return results


def failed(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The results that make the run exit 1: failing and not declared as tolerated."""
    return [result for result in results if result["status"] in FAILING and result["tolerated"] is None]


def as_json(project: str, results: list[dict[str, Any]]) -> str:
    document = {
        "project": project,
        "ok": not failed(results),
        "dag_ids": sorted(dag_id for result in results for dag_id in result.get("dag_ids", [])),
        "files": results,
    }
    return json.dumps(document, indent=2)


def as_text(results: list[dict[str, Any]]) -> str:
    width = max([len(result["file"]) for result in results] + [4])
    lines = [f"{'FILE':<{width}}  {'STATUS':<10}  {'TIME':>13}  DAGS"]
    for result in results:
        lines.append(
            f"{result['file']:<{width}}  {_status(result):<10}  {_time(result):>13}  "
            + (", ".join(result.get("dag_ids", [])) or "-")
        )
        lines += ["    " + line for line in _details(result)]
    dags = sum(len(result.get("dag_ids", [])) for result in results)
    failing = [result for result in results if result["status"] in FAILING]
    tolerated = [result for result in failing if result["tolerated"] is not None]
    lines.append(
        f"{len(results)} file(s), {dags} DAG(s), {len(failing)} with errors"
        + (f" ({len(tolerated)} tolerated by .astro-runtime.yaml)" if tolerated else "")
    )
    return "\n".join(lines)


def _status(result: dict[str, Any]) -> str:
    status = str(result["status"]).upper().replace("_", " ")
    if result.get("slow"):
        status += " SLOW"
    return status


def _time(result: dict[str, Any]) -> str:
    seconds, limit = result.get("seconds"), result.get("timeout_seconds")
    if seconds is None or result["status"] == "skipped":
        return ""
    return f"{seconds:.2f}s / {limit:g}s" if limit else f"{seconds:.2f}s"


def _details(result: dict[str, Any]) -> list[str]:
    lines = []
    if result["status"] == "skipped":
        lines.append("no 'airflow' and 'dag' in the file: Airflow does not import it")
    for error in result.get("errors", []):
        where = f"line {error['line']}: " if error.get("line") else ""
        origin = error.get("origin")
        raised = (
            f" (raised at {origin})" if origin and origin != f"{result['file']}:{error.get('line')}" else ""
        )
        message = str(error["message"]).strip().splitlines()[0]  # the JSON report has all of it
        lines.append(f"{where}{message}{raised}")
    if result.get("tolerated"):
        lines.append(f"tolerated: {result['tolerated']}")
    touches = result.get("touches") or {}
    for kind, prefix, label in (
        ("variables", "AIRFLOW_VAR_", "Variable"),
        ("connections", "AIRFLOW_CONN_", "Connection"),
    ):
        for entry in touches.get(kind, []):
            how = _RESOLVED[entry["resolved"]].format(variable=prefix + str(entry["name"]).upper())
            lines.append(f"reads {label} {entry['name']!r}: {how}")
    for variable in touches.get("environment", []):
        lines.append(
            f"reads environment variable {variable['name']}" + ("" if variable["set"] else " (not set)")
        )
    for attempt in touches.get("network", []):
        lines.append(f"network access refused: {attempt['call']} {attempt['target']}")
    return lines
