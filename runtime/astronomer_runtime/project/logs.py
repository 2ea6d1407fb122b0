"""`astro-runtime project logs [COMPONENT] [-f]`: the running (or last) start's output.

The log is what serve.py printed: each component's lines prefixed with its name, as `make dev` shows
them. A component name keeps only its lines; `-f` follows until the start stops or Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from astronomer_runtime.catalog import Catalog
from astronomer_runtime.errors import RuntimeToolError
from astronomer_runtime.project.cli import project_argument
from astronomer_runtime.project.state import RunRecord, log_file

COMPONENTS = (
    "control-plane",
    "seed",
    "db-migrate",
    "settings",
    "api-server",
    "scheduler",
    "dag-processor",
    "triggerer",
)


def matches(line: str, component: str | None) -> bool:
    """Whether a log line belongs to `component` (supervisor.py right-aligns names in 14 columns)."""
    return component is None or line.startswith(f"{component:>14} | ")


def _follow(stream: TextIO, project: Path) -> Iterator[str]:
    while True:
        line = stream.readline()
        if line:
            yield line
        elif RunRecord.read(project) is None:
            return
        else:
            time.sleep(0.3)


def run(catalog: Catalog, args: argparse.Namespace) -> int:
    project: Path = args.project.resolve()
    path = log_file(project)
    if not path.exists():
        raise RuntimeToolError(f"{path} does not exist: the project has not been started (`project start`)")
    with path.open(errors="replace") as stream:
        lines: Iterator[str] = iter(stream.readlines()[-args.lines :] if args.lines else stream.readlines())
        for line in lines:
            if matches(line, args.component):
                sys.stdout.write(line)
        if args.follow:
            try:
                for line in _follow(stream, project):
                    if matches(line, args.component):
                        sys.stdout.write(line)
                        sys.stdout.flush()
            except KeyboardInterrupt:
                pass
    return 0


def add_command(verbs: Any) -> None:
    parser = verbs.add_parser("logs", help="show the local runtime's logs (all components or one)")
    project_argument(parser)
    parser.add_argument("component", nargs="?", choices=COMPONENTS, help="only this component's lines")
    parser.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    parser.add_argument("-n", "--lines", type=int, default=0, help="only the last N lines (default all)")
    parser.set_defaults(handler=run)
