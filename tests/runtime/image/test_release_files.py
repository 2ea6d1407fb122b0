"""The generated catalog files the image ships: current with versions.yaml, rebuilt from scratch."""

from __future__ import annotations

import json
from pathlib import Path

from astronomer_runtime.catalog import load_catalog, parse_catalog
from astronomer_runtime.image.release_files import stale_files, write_files


def test_the_committed_files_are_current() -> None:
    assert stale_files(load_catalog()) == [], "run `astro-runtime image release-files` (or `make lock`)"


def test_stale_missing_and_orphaned_files_are_named_and_rewritten(tmp_path: Path, small_catalog_text: str) -> None:
    catalog = parse_catalog(small_catalog_text, "versions.yaml")
    write_files(catalog, tmp_path)
    assert stale_files(catalog, tmp_path) == []
    manifest = tmp_path / "3.3-2" / "runtime-release.json"
    assert json.loads(manifest.read_text())["airflowVersion"] == "3.3.2"
    manifest.write_text(manifest.read_text().replace("3.3.2", "3.3.9"))
    (tmp_path / "3.2-1" / "runtime-release.json").unlink()
    (tmp_path / "9.9-9").mkdir()
    (tmp_path / "9.9-9" / "runtime-release.json").write_text("{}")
    assert stale_files(catalog, tmp_path) == ["3.2-1/runtime-release.json", "3.3-2/runtime-release.json", "9.9-9/runtime-release.json"]
    write_files(catalog, tmp_path)
    assert stale_files(catalog, tmp_path) == [] and not (tmp_path / "9.9-9").exists()
