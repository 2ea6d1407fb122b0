"""What the update feed means for the running release: support status, upgrades, the banner.

Pure functions of (feed, running release, today) so that every rule is tested with literal tables.
Release names are `<major>.<minor>-<n>` and compare as numbers: 3.10-1 comes after 3.9-4.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum

from astronomer_plugins.feed import RELEASE_NAME, FeedRelease, RuntimeFeed

OFFERABLE_CHANNEL = "stable"  # alpha, beta and deprecated releases are never offered


def release_key(name: str) -> tuple[int, int, int] | None:
    """(major, minor, n) of a release name; None for a name that is not one."""
    match = RELEASE_NAME.match(name)
    return (int(match["major"]), int(match["minor"]), int(match["n"])) if match else None


def line_of(name: str) -> str:
    """The Runtime line of a release: "3.3" for "3.3-2"."""
    return name.rsplit("-", 1)[0]


class Support(str, Enum):
    MAINTAINED = "maintained"
    BASIC_SUPPORT = "basic support"
    END_OF_LIFE = "end of life"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class SupportStatus:
    support: Support
    end_of_maintenance: dt.date | None = None
    end_of_basic_support: dt.date | None = None
    days_to_end_of_maintenance: int | None = None


def support_status(release: FeedRelease | None, today: dt.date) -> SupportStatus:
    """Maintained until end of maintenance (inclusive), then basic support, then end of life."""
    if release is None:
        return SupportStatus(Support.UNKNOWN)
    meta = release.metadata
    if today <= meta.end_of_maintenance:
        support = Support.MAINTAINED
    elif today <= meta.end_of_basic_support:
        support = Support.BASIC_SUPPORT
    else:
        support = Support.END_OF_LIFE
    return SupportStatus(
        support, meta.end_of_maintenance, meta.end_of_basic_support, (meta.end_of_maintenance - today).days
    )


@dataclass(frozen=True)
class Upgrade:
    name: str
    airflow_version: str
    lts: bool
    needs_db_migration: bool


@dataclass(frozen=True)
class UpgradeNotice:
    """Newest offerable release of the running line and of the newest line (None: nothing newer)."""

    same_line: Upgrade | None
    newest_line: Upgrade | None

    @property
    def available(self) -> bool:
        return self.same_line is not None or self.newest_line is not None


def _offerable(release: FeedRelease) -> bool:
    return release.metadata.channel == OFFERABLE_CHANNEL and not release.metadata.yanked


def upgrade_notice(feed: RuntimeFeed, running: str) -> UpgradeNotice:
    """Upgrades from `running`; a migration is needed when any release after `running` up to the
    target needs one (whatever its channel: a migration skipped by a yanked release still runs)."""
    current = release_key(running)
    if current is None:
        return UpgradeNotice(None, None)
    known = {
        key: (name, release)
        for name, release in feed.runtime_versions_v3.items()
        if (key := release_key(name))
    }
    newer = sorted(key for key, (_, release) in known.items() if key > current and _offerable(release))

    def upgrade(target: tuple[int, int, int]) -> Upgrade:
        name, release = known[target]
        crossed = [r for key, (_, r) in known.items() if current < key <= target]
        return Upgrade(
            name,
            release.metadata.airflow_version,
            release.metadata.lts,
            any(r.migrations.airflow_database for r in crossed),
        )

    same_line = [key for key in newer if key[:2] == current[:2]]
    other_lines = [key for key in newer if key[:2] != current[:2]]
    return UpgradeNotice(
        upgrade(same_line[-1]) if same_line else None, upgrade(other_lines[-1]) if other_lines else None
    )


@dataclass(frozen=True)
class Banner:
    level: str  # "warning" before the end of maintenance, "error" after it
    message: str
    end_of_maintenance: dt.date


def end_of_maintenance_banner(running: str, status: SupportStatus, *, warn_days: int) -> Banner | None:
    """A banner when the release is within `warn_days` of its end of maintenance, or past it."""
    days, end = status.days_to_end_of_maintenance, status.end_of_maintenance
    if days is None or end is None or days > warn_days:
        return None
    if days >= 0:
        when = "today" if days == 0 else f"in {days} day{'s' if days != 1 else ''}"
        return Banner(
            "warning",
            f"Astronomer Runtime {running} reaches its end of maintenance {when} ({end.isoformat()}). "
            "Plan an upgrade to a maintained release.",
            end,
        )
    return Banner(
        "error",
        f"Astronomer Runtime {running} is past its end of maintenance ({end.isoformat()}; "
        f"{status.support.value}). Upgrade to a maintained release.",
        end,
    )
