"""`python -m astronomer_plugins.project_settings check|apply FILE`: exit 0 with a summary, or 1 with
the one-line error (file, entry, field; never a secret)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from astronomer_plugins.errors import ProjectSettingsError
from astronomer_plugins.project_settings.apply import apply_settings
from astronomer_plugins.project_settings.models import load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m astronomer_plugins.project_settings",
        description="Validate (check) or apply an Astro-format airflow_settings.yaml to Airflow's database.",
    )
    parser.add_argument("command", choices=["check", "apply"])
    parser.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        settings = load_settings(args.file)
        if args.command == "check":
            print(f"{args.file}: valid")
            return 0
        applied = apply_settings(settings, source=str(args.file))
    except ProjectSettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{args.file} applied in {time.monotonic() - started:.2f}s: {applied.summary()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
