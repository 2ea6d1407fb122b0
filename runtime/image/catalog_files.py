"""Write the image's catalog files: the update feed and the manifest of the image's own release.

Runs in the Dockerfile's builder stage with the Runtime venv's Python (pydantic and PyYAML come with
Airflow, astronomer_plugins is installed) and PYTHONPATH pointing at the copied catalog modules:

    catalog_files.py VERSIONS_YAML RUNTIME_VERSION OUTPUT_DIR

- OUTPUT_DIR/runtime-feed.json     every release (`runtimeVersionsV3`), for upgrade notices offline;
- OUTPUT_DIR/runtime-release.json  what RUNTIME_VERSION curates (Airflow and provider versions), for
  the plugin's Runtime page ([astronomer] offline_feed_file and release_manifest_file read them).
"""

from __future__ import annotations

import sys
from pathlib import Path

from astronomer_runtime.catalog import load_catalog, views
from astronomer_runtime.errors import RuntimeToolError


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: catalog_files.py VERSIONS_YAML RUNTIME_VERSION OUTPUT_DIR", file=sys.stderr)
        return 2
    catalog_file, release_name, output = Path(argv[0]), argv[1], Path(argv[2])
    try:
        catalog = load_catalog(catalog_file)
        release = catalog.get(release_name)
    except RuntimeToolError as exc:
        print(f"catalog_files.py: {catalog_file}: {exc} (build arg RUNTIME_VERSION={release_name})", file=sys.stderr)
        return 1
    output.mkdir(parents=True, exist_ok=True)
    (output / "runtime-feed.json").write_text(views.feed(catalog).to_json() + "\n")
    (output / "runtime-release.json").write_text(views.manifest(release).to_json() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
