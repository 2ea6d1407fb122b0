"""The text form of `astro-runtime project upgrade-test`'s report (upgrade.py builds the document)."""

from __future__ import annotations

from typing import Any


def as_text(document: dict[str, Any]) -> str:
    current, target = document["from"], document["to"]
    lines = [
        f"Runtime {current['release']} (Airflow {current['airflow']}) -> Runtime {target['release']} "
        f"(Airflow {target['airflow']}), Python {target['python']}: {document['direction']}",
        "",
    ]
    lines += _environment(document)
    lines += _packages(document.get("packages"))
    lines += _dags(document.get("dags"), target["release"])
    lines.append(
        "Database: "
        + (
            "`airflow db migrate` is needed (a release crossed changes the schema)"
            if document["db_migration"]
            else "no migration needed"
        )
    )
    lines += _changelog(document["changelog"], document["direction"])
    lines.append("")
    if document["clean"]:
        lines.append("CLEAN: the upgrade changes no DAG and every DAG file imports on the target")
    else:
        lines.append(f"NOT CLEAN ({len(document['problems'])}):")
        lines += [f"  - {problem}" for problem in document["problems"]]
    return "\n".join(lines)


def _environment(document: dict[str, Any]) -> list[str]:
    how, error = document["environment"]["how"], document["environment"]["error"]
    lines = [
        f"Environments: Runtime {document['from']['release']} {how['from']}"
        + (f", Runtime {document['to']['release']} {how['to']}" if how["to"] else "")
    ]
    if error is None:
        return lines + [""]
    lines.append(f"Environment: the project does not build on Runtime {document['to']['release']}:")
    lines += ["  " + line for line in str(error).splitlines()]
    return lines + [""]


def _packages(packages: dict[str, list[dict[str, Any]]] | None) -> list[str]:
    if packages is None:
        return []
    lines = []
    for key, title in (("requirements", "Project requirements"), ("transitive", "Other packages")):
        changes = packages[key]
        counts = ", ".join(
            f"{sum(1 for change in changes if change['change'] == kind)} {kind}"
            for kind in ("upgraded", "downgraded", "added", "removed")
        )
        lines.append(f"{title}: {len(changes)} change(s) ({counts})")
        width = max([len(change["name"]) for change in changes] + [0])
        for change in changes:
            lines.append(
                f"  {change['name']:<{width}}  {change['from'] or '-':>12} -> {change['to'] or '-':<12} "
                f"{change['change']}"
            )
    return lines + [""]


def _dags(dags: dict[str, Any] | None, release: str) -> list[str]:
    if dags is None:
        return []
    lines = [f"DAG files failing on Runtime {release}: {len(dags['failing']) or 'none'}"]
    for failing in dags["failing"]:
        tolerated = f", tolerated: {failing['tolerated']}" if failing["tolerated"] else ""
        lines.append(f"  {failing['file']}: {failing['status'].upper()} (on the current release: "
                     f"{failing['on_current'].upper()}{tolerated})")  # fmt: skip
        lines += [f"    {error}" for error in failing["errors"]]
    lines.append(f"DAG changes: {len(dags['changes']) or 'none'}")
    for change in dags["changes"]:
        lines.append(f"  {change['dag_id']} ({change['file']}): {change['change']}")
        lines += [f"    {detail}" for detail in change["details"]]
    return lines + [""]


def _changelog(entries: list[dict[str, Any]], direction: str) -> list[str]:
    if not entries:
        return []
    verb = "given up by going back" if direction == "downgrade" else "gained"
    lines = [f"Changelog of the releases crossed ({verb}):"]
    for entry in entries:
        lines.append(f"  {entry['release']}:")
        lines += [f"    fix: {fix}" for fix in entry["fixes"]]
        for item in entry["security"]:
            package = f" [{item['package']}]" if item.get("package") else ""
            lines.append(f"    security: {item['cve']}{package} {item['status']}: {item['summary']}")
    return lines
