"""`astro-runtime project parse`: import every DAG file as the dag-processor does and report per file.

Each file's import error (with the line in the DAG file), its parse time against `[core]
dagbag_import_timeout`, its DAG ids, and what it touches at import time: Variables, Connections,
environment variables and network connections (refused). The import runs in a child process with the
project's environment (parse_run.py, parse_probe.py). Exit 1 on any error or timeout that the project
does not declare as tolerated in `.astro-runtime.yaml` (parse_exceptions.py).
"""

from __future__ import annotations

import argparse
from typing import Any

from astronomer_runtime.project.cli import project_argument


def cmd_parse(catalog: Any, args: argparse.Namespace) -> int:
    from astronomer_runtime.project import parse_report, venv
    from astronomer_runtime.project.parse_exceptions import tolerated_files
    from astronomer_runtime.project.parse_run import require_dags, run_probe
    from astronomer_runtime.project.release import project_release

    project = args.project.resolve()
    require_dags(project)
    tolerated = tolerated_files(project)  # an invalid file stops here, before any import
    release = project_release(catalog, project, args.runtime_version)
    environment = venv.ensure(project, release)
    results = run_probe(project, python=str(environment.python), runtime_version=release.release.name)
    results = parse_report.annotate(results, tolerated)
    print(parse_report.as_json(str(project), results) if args.json else parse_report.as_text(results))
    return 1 if parse_report.failed(results) else 0


def add_command(verbs: Any) -> None:
    """`parse [--project DIR] [--json]`."""
    parser = verbs.add_parser(
        "parse",
        help="import every DAG file as the dag-processor does and report errors, times and side effects",
    )
    project_argument(parser)
    parser.add_argument("--json", action="store_true", help="a machine-readable report on stdout")
    parser.add_argument("--runtime-version", metavar="RELEASE", help="instead of the Dockerfile's release")
    parser.set_defaults(handler=cmd_parse)
