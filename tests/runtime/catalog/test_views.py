"""Release diffs and the update feed."""

from __future__ import annotations

import json

from astronomer_plugins.feed import RuntimeFeed
from astronomer_runtime.catalog import parse_catalog
from astronomer_runtime.catalog.views import diff, feed


def _changes(result, kind: str) -> list[tuple[str, str | None, str | None]]:
    return [(change.name, change.old, change.new) for change in result.by_kind(kind)]


def test_diff_within_a_line(small_catalog_text: str) -> None:
    catalog = parse_catalog(small_catalog_text, "versions.yaml")
    result = diff(catalog, catalog.get("3.3-1"), catalog.get("3.3-2"))
    assert _changes(result, "upgraded") == [
        ("apache-airflow", "3.3.1", "3.3.2"),
        ("apache-airflow-providers-standard", "1.17.0", "1.19.0"),
    ]
    assert _changes(result, "added") == [("apache-airflow-providers-fab", None, "3.9.0")]
    assert _changes(result, "removed") == [("apache-airflow-providers-http", "6.0.5", None)]
    assert result.db_migration is False


def test_diff_across_lines_needs_a_migration_both_ways(small_catalog_text: str) -> None:
    catalog = parse_catalog(small_catalog_text, "versions.yaml")
    forward = diff(catalog, catalog.get("3.2-1"), catalog.get("3.3-2"))
    backward = diff(catalog, catalog.get("3.3-2"), catalog.get("3.2-1"))
    assert forward.db_migration is True and backward.db_migration is True
    assert _changes(backward, "downgraded") == [
        ("apache-airflow", "3.3.2", "3.2.2"),
        ("apache-airflow-providers-standard", "1.19.0", "1.14.0"),
    ]


def test_feed_shape(small_catalog_text: str) -> None:
    catalog = parse_catalog(small_catalog_text, "versions.yaml")
    document = json.loads(feed(catalog).to_json())
    assert list(document) == ["runtimeVersionsV3"]
    assert document["runtimeVersionsV3"]["3.2-1"] == {
        "metadata": {
            "airflowVersion": "3.2.2",
            "channel": "stable",
            "releaseDate": "2026-06-08",
            "endOfMaintenance": "2027-12-31",
            "endOfBasicSupport": "2028-06-30",
            "LTS": True,
            "yanked": False,
            "pythonVersions": ["3.11", "3.12"],
            "defaultPythonVersion": "3.12",
        },
        "migrations": {"airflowDatabase": True},
    }
    assert RuntimeFeed.model_validate(document).runtime_versions_v3["3.3-2"].metadata.airflow_version == "3.3.2"


def test_feed_readers_accept_older_and_newer_feeds() -> None:
    """An image's plugin reads the feed of older and newer control planes alike."""
    metadata = {"airflowVersion": "3.3.2", "channel": "stable", "releaseDate": "2026-11-01",
                "endOfMaintenance": "2027-05-31", "endOfBasicSupport": "2027-11-30", "LTS": False, "yanked": False}
    older = RuntimeFeed.model_validate({"runtimeVersionsV3": {"3.3-2": {"metadata": metadata, "migrations": {"airflowDatabase": False}}}})
    assert older.runtime_versions_v3["3.3-2"].metadata.python_versions == []
    newer = RuntimeFeed.model_validate({"runtimeVersionsV3": {"3.3-2": {
        "metadata": {**metadata, "pythonVersions": ["3.12"], "defaultPythonVersion": "3.12", "someFutureField": 1},
        "migrations": {"airflowDatabase": False, "another": True},
    }}})
    assert newer.runtime_versions_v3["3.3-2"].metadata.default_python_version == "3.12"
