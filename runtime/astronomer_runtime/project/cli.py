"""Wires `astro-runtime project <verb>`: each verb module adds its own sub-command.

A verb module has `add_command(verbs)`: it adds one parser to `verbs` and sets its `handler`, which
takes (catalog, args) like every `astro-runtime` command and returns the exit status.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def project_argument(parser: argparse.ArgumentParser) -> None:
    """`--project DIR`, the same on every verb."""
    parser.add_argument(
        "--project",
        type=Path,
        default=Path.cwd(),
        help="the Astro-layout project (default: the current directory)",
    )


def add_commands(commands: Any) -> argparse.ArgumentParser:
    """Add `project` and its verbs to the main parser's sub-commands."""
    from astronomer_runtime.project import command, init, lifecycle, logs, parity, parse, testing, upgrade

    project = commands.add_parser(
        "project", help="a customer's Astro project: init, start/stop/restart, logs, run, parse, pytest"
    )
    verbs = project.add_subparsers(dest="verb", required=True, metavar="VERB")
    for module in (init, lifecycle, logs, command, parse, testing, upgrade, parity):
        module.add_command(verbs)
    return project
