"""The process `project start` leaves running: the local runtime for one project, in the background.

`python -m astronomer_runtime.project.serve ...` runs local/runner.py (control plane, migrate,
airflow_settings.yaml, every component) with the project's environment; its output is the project's
runtime log. `project stop` sends it SIGTERM, and it stops every component as `make dev` does on Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from astronomer_runtime import paths
from astronomer_runtime.catalog import load_catalog, views
from astronomer_runtime.local import runner
from astronomer_runtime.local.control_plane import LocalControlPlane
from astronomer_runtime.local.home import LocalHome, write_release_files
from astronomer_runtime.project.state import airflow_home, control_plane_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="astronomer_runtime.project.serve")
    parser.add_argument("--project", type=Path, required=True)
    parser.add_argument("--release", required=True)
    parser.add_argument("--python", type=Path, required=True, help="the project environment's python")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--control-plane-port", type=int)
    parser.add_argument("--catalog", type=Path, default=paths.CATALOG_FILE)
    parser.add_argument("--deploys", action="store_true", help="DAGs from the control plane's deploys")
    args = parser.parse_args(argv)
    catalog = load_catalog(args.catalog)
    release = catalog.get(args.release)
    project = args.project.resolve()
    home = LocalHome(path=airflow_home(project), project=project, port=args.port, python=args.python)
    write_release_files(home, views.feed(catalog).to_json(), views.manifest(release).to_json())
    control_plane = None
    if args.control_plane_port:
        control_plane = LocalControlPlane(
            data_dir=control_plane_dir(project),
            port=args.control_plane_port,
            catalog_file=args.catalog.resolve(),
            bundle_storage=home.path / "dag-bundles" if args.deploys else None,
        )
    return runner.run(home, runtime_version=release.name, control_plane=control_plane)


if __name__ == "__main__":
    sys.exit(main())
