"""`astro-runtime project upgrade-test --to RELEASE`: what moving the project to another release changes.

Both environments are made as `start` makes them (venv.py: the current one for the Dockerfile's
release, the target one beside it, each kept for reuse), then one report:
- packages: every distribution that changes between the two environments (importlib.metadata in
  each), the project's own requirements.txt names first, then the transitive set;
- the target environment failing to build (an Airflow pin, a requirement the target's constraint
  contradicts) is the report's finding, with the per-line message of the build;
- DAG files that do not import on the target (parse.py's import, in the target's environment);
- the parsed DAGs of both releases compared: DAGs added or gone, task ids, upstream task ids,
  operator classes and schedules (as Airflow serializes them, which is the same on every line);
- whether `airflow db migrate` is needed (catalog `db_migration` of the releases crossed) and the
  changelog's fixes and security entries of those releases.
The upgrade is clean (exit 0) when the target builds, every DAG file imports on it (or is tolerated
in `.astro-runtime.yaml`) and the parsed DAGs are the same; a needed migration is reported, not a
failure. Text on stdout; `--json FILE` writes the JSON document too (`--json -`: JSON on stdout
instead of the text).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from astronomer_runtime.project.cli import project_argument

if TYPE_CHECKING:
    from astronomer_runtime.catalog import Catalog, Release
    from astronomer_runtime.project.distributions import Distribution


def add_command(verbs: Any) -> None:
    """`upgrade-test --to RELEASE [--project DIR] [--json FILE]`."""
    parser = verbs.add_parser(
        "upgrade-test",
        help="build the project on another release and report packages, DAG imports and DAG changes",
        description="Exit 0 only when the upgrade is clean: the target environment builds, every DAG file "
        "imports on it and the parsed DAGs are unchanged.",
    )
    project_argument(parser)
    parser.add_argument("--to", required=True, metavar="RELEASE", help="the release to test, e.g. 3.3-2")
    parser.add_argument(
        "--json", metavar="FILE", help="also write the report as JSON to FILE ('-': JSON on stdout, no text)"
    )
    parser.set_defaults(handler=cmd_upgrade_test)


def cmd_upgrade_test(catalog: Catalog, args: argparse.Namespace) -> int:
    import json

    from astronomer_runtime.project import upgrade_report

    document = upgrade_test(catalog, args.project.resolve(), args.to)
    text = json.dumps(document, indent=2) + "\n"
    if args.json == "-":
        sys.stdout.write(text)
    else:
        print(upgrade_report.as_text(document))
        if args.json:
            Path(args.json).write_text(text)
    return 0 if document["clean"] else 1


def upgrade_test(catalog: Catalog, project: Path, target_name: str) -> dict[str, Any]:
    """The report document (module docstring); raises only when the current release's environment or
    either release cannot be worked out, since there is then nothing to compare against."""
    from astronomer_runtime.catalog import views
    from astronomer_runtime.project import distributions, venv
    from astronomer_runtime.project.parse_exceptions import tolerated_files
    from astronomer_runtime.project.parse_run import require_dags
    from astronomer_runtime.project.release import project_release

    require_dags(project)
    tolerated = tolerated_files(project)  # an invalid file stops here, before any build
    current = project_release(catalog, project)
    target = project_release(catalog, project, target_name)
    crossed = views.crossed(catalog, current.release, target.release)
    document: dict[str, Any] = {
        "project": str(project),
        "from": _side(current.release, current.python),
        "to": _side(target.release, target.python),
        "direction": _direction(current.release, target.release),
        # built: the target's environment; how: "built", "project layer" or "reused" per side (venv.py)
        "environment": {"built": False, "error": None, "how": {"from": None, "to": None}},
        "packages": None,
        "dags": None,
        "db_migration": views.diff(catalog, current.release, target.release).db_migration,
        "changelog": [_changelog(release) for release in crossed],
    }
    before = venv.ensure(project, current)
    document["environment"]["how"]["from"] = before.how
    try:
        after = venv.ensure(project, target)
    except venv.ProjectVenvError as exc:
        document["environment"]["error"] = str(exc)
        return _finish(document)
    document["environment"].update(built=True)
    document["environment"]["how"]["to"] = after.how
    direct = distributions.requirement_names(venv.normalized_requirements(project))
    document["packages"] = package_changes(
        distributions.installed(before.python), distributions.installed(after.python), direct
    )
    old = _parse(project, str(before.python), current.release.name, tolerated)
    new = _parse(project, str(after.python), target.release.name, tolerated)
    document["dags"] = {"failing": failing_on_target(old, new), "changes": dag_changes(old, new)}
    return _finish(document)


def _side(release: Release, python: str) -> dict[str, str]:
    return {"release": release.name, "airflow": release.airflow, "python": python}


def _direction(current: Release, target: Release) -> str:
    if target.sort_key == current.sort_key:
        return "same"
    return "upgrade" if target.sort_key > current.sort_key else "downgrade"


def _changelog(release: Release) -> dict[str, Any]:
    return {
        "release": release.name,
        "fixes": list(release.changelog.fixes),
        "security": [entry.model_dump(mode="json") for entry in release.changelog.security],
    }


def _parse(project: Path, python: str, release: str, tolerated: dict[str, str]) -> list[dict[str, Any]]:
    from astronomer_runtime.project import parse_report
    from astronomer_runtime.project.parse_run import run_probe

    results = run_probe(project, python=python, runtime_version=release, structure=True)
    return parse_report.annotate(results, tolerated)


def package_changes(
    before: dict[str, Distribution], after: dict[str, Distribution], direct: set[str]
) -> dict[str, list[dict[str, Any]]]:
    """Distributions that differ, split into the project's own requirements and the transitive rest."""
    from astronomer_runtime.catalog.views import VersionChange

    split: dict[str, list[dict[str, Any]]] = {"requirements": [], "transitive": []}
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        spelled = new.name if new else old.name if old else name
        change = VersionChange(spelled, old.version if old else None, new.version if new else None)
        if change.kind == "unchanged":
            continue
        entry = {"name": change.name, "from": change.old, "to": change.new, "change": change.kind}
        split["requirements" if name in direct else "transitive"].append(entry)
    return split


def failing_on_target(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """DAG files that do not import on the target, with how the same file did on the current release."""
    from astronomer_runtime.project.parse_report import FAILING

    before = {result["file"]: result for result in old}
    failing = []
    for result in new:
        if result["status"] not in FAILING:
            continue
        previous = before.get(result["file"])
        failing.append(
            {
                "file": result["file"],
                "status": result["status"],
                "errors": [_error_line(error) for error in result.get("errors", [])],
                "on_current": previous["status"] if previous else "absent",
                "tolerated": result.get("tolerated"),
            }
        )
    return failing


def _error_line(error: dict[str, Any]) -> str:
    where = f"line {error['line']}: " if error.get("line") else ""
    return where + str(error["message"]).strip().splitlines()[0]


def _shapes(results: list[dict[str, Any]]) -> dict[str, tuple[str, dict[str, Any]]]:
    return {
        dag_id: (result["file"], shape)
        for result in results
        for dag_id, shape in result.get("dags", {}).items()
    }


def dag_changes(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per DAG id whose parsed shape differs: added, gone (its file's status on the target says why)
    or changed, with one line per difference."""
    before, after = _shapes(old), _shapes(new)
    status = {result["file"]: result["status"] for result in new}
    changes = []
    for dag_id in sorted(set(before) | set(after)):
        if dag_id not in after:
            file = before[dag_id][0]
            why = f"{file} is {status.get(file, 'absent').upper()} on the target"
            changes.append({"dag_id": dag_id, "change": "gone", "file": file, "details": [why]})
        elif dag_id not in before:
            file = after[dag_id][0]
            changes.append(
                {"dag_id": dag_id, "change": "added", "file": file, "details": ["only on the target"]}
            )
        else:
            details = shape_differences(before[dag_id][1], after[dag_id][1])
            if details:
                changes.append(
                    {"dag_id": dag_id, "change": "changed", "file": after[dag_id][0], "details": details}
                )
    return changes


def shape_differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """One line per difference between two parsed DAG shapes (parse_probe.py's `_structure`)."""
    lines = []
    if old.get("schedule") != new.get("schedule"):
        lines.append(
            f"schedule: {schedule_text(old.get('schedule'))} -> {schedule_text(new.get('schedule'))}"
        )
    tasks_old, tasks_new = old.get("tasks", {}), new.get("tasks", {})
    for task_id in sorted(set(tasks_old) - set(tasks_new)):
        lines.append(f"task {task_id!r} removed")
    for task_id in sorted(set(tasks_new) - set(tasks_old)):
        lines.append(f"task {task_id!r} added ({tasks_new[task_id]['operator']})")
    for task_id in sorted(set(tasks_old) & set(tasks_new)):
        was, now = tasks_old[task_id], tasks_new[task_id]
        if was["operator"] != now["operator"]:
            lines.append(f"task {task_id!r} operator: {was['operator']} -> {now['operator']}")
        if was["upstream"] != now["upstream"]:
            lines.append(f"task {task_id!r} upstream: {was['upstream']} -> {now['upstream']}")
    return lines


def schedule_text(timetable: Any) -> str:
    """A serialized timetable as one short phrase: its class and its arguments."""
    import json

    if not isinstance(timetable, dict):
        return str(timetable)
    kind = str(timetable.get("__type", "?")).rsplit(".", 1)[-1]
    arguments = timetable.get("__var") or {}
    return f"{kind}({json.dumps(arguments, sort_keys=True)})" if arguments else kind


def _finish(document: dict[str, Any]) -> dict[str, Any]:
    """`problems`: one line per reason the upgrade is not clean; `clean` when there is none."""
    problems = []
    environment = document["environment"]
    if not environment["built"]:
        problems.append(f"the project's environment does not build on Runtime {document['to']['release']}")
    dags = document["dags"] or {}
    for failing in dags.get("failing", []):
        if failing["tolerated"] is None:
            problems.append(f"{failing['file']} does not import on Runtime {document['to']['release']}")
    for change in dags.get("changes", []):
        problems.append(f"DAG {change['dag_id']!r} {change['change']}: {'; '.join(change['details'])}")
    document["problems"] = problems
    document["clean"] = not problems
    return document
