"""The update-feed rules as literal tables: ordering, skipped releases, migrations, support, banner."""

from __future__ import annotations

import datetime as dt

import pytest

from astronomer_plugins.feed import RuntimeFeed
from astronomer_plugins.ui import releases

D = dt.date


def entry(airflow: str, *, channel: str = "stable", yanked: bool = False, migration: bool = False, lts: bool = False,
          eom: str = "2027-06-30", eobs: str = "2027-12-31") -> dict:  # fmt: skip
    return {
        "metadata": {"airflowVersion": airflow, "channel": channel, "releaseDate": "2026-01-01",
                     "endOfMaintenance": eom, "endOfBasicSupport": eobs, "LTS": lts, "yanked": yanked},
        "migrations": {"airflowDatabase": migration},
    }  # fmt: skip



FEED = RuntimeFeed.model_validate({"runtimeVersionsV3": {
    "3.9-3": entry("3.9.3"),
    "3.9-4": entry("3.9.4", migration=True),
    "3.9-5": entry("3.9.5", yanked=True),
    "3.9-6": entry("3.9.6", channel="beta"),
    "3.10-1": entry("3.10.1", lts=True),
    "3.10-2": entry("3.10.2"),
    "3.11-1": entry("3.11.1", channel="alpha", migration=True),
    "3.2-9": entry("3.2.9"),
}})  # fmt: skip


@pytest.mark.parametrize(
    ("name", "key"),
    [("3.10-1", (3, 10, 1)), ("3.9-4", (3, 9, 4)), ("10.0-12", (10, 0, 12)), ("3.3", None), ("3.3-0", None),
     ("v3.3-1", None), ("3.3-1-beta", None), ("", None)],
)  # fmt: skip
def test_release_names_parse_as_numbers(name: str, key: tuple | None) -> None:
    assert releases.release_key(name) == key


def test_3_10_comes_after_3_9_when_sorted() -> None:
    names = ["3.10-1", "3.9-4", "3.2-9", "3.9-10", "3.10-2"]
    assert sorted(names, key=releases.release_key) == ["3.2-9", "3.9-4", "3.9-10", "3.10-1", "3.10-2"]


# running -> (newest of its line, newest line, migration needed for each)
UPGRADES = [
    ("3.9-3", ("3.9-4", True), ("3.10-2", True)),      # 3.9-5 yanked, 3.9-6 beta, 3.11-1 alpha: never offered
    ("3.9-4", None, ("3.10-2", False)),                # migration of 3.9-4 is behind us
    ("3.10-1", ("3.10-2", False), None),
    ("3.10-2", None, None),                            # newest stable: nothing to offer
    ("3.2-9", None, ("3.10-2", True)),                 # crossing 3.9-4's migration
    ("3.9-5", None, ("3.10-2", False)),                # running a yanked release still gets offers
    ("9.9-9", None, None),                             # unknown future release
    ("not-a-release", None, None),
]  # fmt: skip


@pytest.mark.parametrize(("running", "same_line", "newest_line"), UPGRADES)
def test_upgrade_offers(running: str, same_line: tuple | None, newest_line: tuple | None) -> None:
    notice = releases.upgrade_notice(FEED, running)

    def brief(upgrade: releases.Upgrade | None) -> tuple | None:
        return (upgrade.name, upgrade.needs_db_migration) if upgrade else None

    assert (brief(notice.same_line), brief(notice.newest_line)) == (same_line, newest_line)
    assert notice.available == (same_line is not None or newest_line is not None)


def test_upgrade_carries_airflow_version_and_lts() -> None:
    notice = releases.upgrade_notice(FEED, "3.9-4")
    assert notice.newest_line == releases.Upgrade("3.10-2", "3.10.2", False, False)
    lts_feed = RuntimeFeed.model_validate({"runtimeVersionsV3": {"3.1-1": entry("3.1.1"), "3.2-1": entry("3.2.1", lts=True)}})
    assert releases.upgrade_notice(lts_feed, "3.1-1").newest_line == releases.Upgrade("3.2-1", "3.2.1", True, False)


# today -> (support, days to end of maintenance) for a release maintained until 2027-06-30, basic support until 2027-12-31
SUPPORT = [
    (D(2027, 1, 1), "maintained", 180),
    (D(2027, 6, 30), "maintained", 0),
    (D(2027, 7, 1), "basic support", -1),
    (D(2027, 12, 31), "basic support", -184),
    (D(2028, 1, 1), "end of life", -185),
]


@pytest.mark.parametrize(("today", "support", "days"), SUPPORT)
def test_support_status(today: dt.date, support: str, days: int) -> None:
    status = releases.support_status(FEED.runtime_versions_v3["3.9-3"], today)
    assert (status.support.value, status.days_to_end_of_maintenance) == (support, days)
    assert (status.end_of_maintenance, status.end_of_basic_support) == (D(2027, 6, 30), D(2027, 12, 31))


def test_a_release_missing_from_the_feed_has_unknown_support_and_no_banner() -> None:
    status = releases.support_status(None, D(2027, 1, 1))
    assert status.support is releases.Support.UNKNOWN
    assert releases.end_of_maintenance_banner("3.3-9", status, warn_days=30) is None


# today, warn_days -> banner level and words in its message (None: no banner)
BANNERS = [
    (D(2027, 5, 30), 30, None),
    (D(2027, 5, 31), 30, ("warning", "in 30 days (2027-06-30)")),
    (D(2027, 6, 29), 30, ("warning", "in 1 day (2027-06-30)")),
    (D(2027, 6, 30), 30, ("warning", "today (2027-06-30)")),
    (D(2027, 7, 1), 30, ("error", "past its end of maintenance (2027-06-30; basic support)")),
    (D(2028, 3, 1), 30, ("error", "end of life")),
    (D(2027, 6, 1), 7, None),
    (D(2027, 6, 23), 7, ("warning", "in 7 days")),
]  # fmt: skip


@pytest.mark.parametrize(("today", "warn_days", "expected"), BANNERS)
def test_end_of_maintenance_banner(today: dt.date, warn_days: int, expected: tuple | None) -> None:
    status = releases.support_status(FEED.runtime_versions_v3["3.9-3"], today)
    banner = releases.end_of_maintenance_banner("3.9-3", status, warn_days=warn_days)
    if expected is None:
        assert banner is None
    else:
        assert banner is not None and banner.level == expected[0] and expected[1] in banner.message
        assert "3.9-3" in banner.message
