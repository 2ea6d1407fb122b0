"""The page model from literal inputs: provider comparison, the banner switch, no network."""

from __future__ import annotations

import datetime as dt

import pytest

from astronomer_plugins.feed import ReleaseManifest, RuntimeFeed
from astronomer_plugins.ui.overview import build_overview, provider_rows
from astronomer_plugins.ui.sync import Snapshot

MANIFEST = ReleaseManifest(name="3.9-3", airflow_version="3.9.3", providers={
    "apache-airflow-providers-http": "5.0.0", "apache-airflow-providers-ssh": "4.1.0", "apache-airflow-providers-ftp": "3.0.0",
})  # fmt: skip
FEED = RuntimeFeed.model_validate({"runtimeVersionsV3": {"3.9-3": {
    "metadata": {"airflowVersion": "3.9.3", "channel": "stable", "releaseDate": "2026-01-01", "endOfMaintenance": "2026-12-10",
                 "endOfBasicSupport": "2027-06-30", "LTS": True, "yanked": False},
    "migrations": {"airflowDatabase": False}}}})  # fmt: skip
NOW = dt.datetime(2026, 11, 28, 12, tzinfo=dt.UTC)


def test_providers_are_flagged_when_added_changed_or_missing() -> None:
    installed = {"apache-airflow-providers-http": "5.0.0", "apache-airflow-providers-ssh": "4.2.0",
                 "apache-airflow-providers-snowflake": "6.0.0"}  # fmt: skip
    rows = [(r.name.removeprefix("apache-airflow-providers-"), r.installed, r.curated, r.status) for r in provider_rows(installed, MANIFEST)]
    assert rows == [
        ("ftp", None, "3.0.0", "missing"),
        ("http", "5.0.0", "5.0.0", "curated"),
        ("snowflake", "6.0.0", None, "added"),
        ("ssh", "4.2.0", "4.1.0", "changed"),
    ]


def test_without_a_manifest_every_installed_provider_is_listed() -> None:
    assert [r.status for r in provider_rows({"apache-airflow-providers-http": "5.0.0"}, None)] == ["added"]


@pytest.mark.parametrize(("enabled", "days", "banner"), [("True", "30", True), ("False", "30", False), ("True", "7", False)])
def test_the_banner_follows_its_settings(monkeypatch: pytest.MonkeyPatch, enabled: str, days: str, banner: bool) -> None:
    monkeypatch.setenv("AIRFLOW__ASTRONOMER__EOM_NOTICE_ENABLED", enabled)
    monkeypatch.setenv("AIRFLOW__ASTRONOMER__EOM_NOTICE_DAYS", days)
    overview = build_overview(Snapshot(feed=FEED, feed_source="offline catalog"), {}, MANIFEST, None, running="3.9-3", now=NOW)
    assert (overview.banner is not None) == banner
    assert overview.release.days_to_end_of_maintenance == 12 and overview.release.lts is True


def test_an_unknown_release_has_unknown_support_and_no_offers() -> None:
    overview = build_overview(Snapshot(), {}, None, "no manifest", running="", now=NOW)
    assert (overview.release.runtime_version, overview.release.support) == ("unknown", "unknown")
    assert overview.upgrades.same_line is None and overview.upgrades.source == "none" and overview.banner is None
