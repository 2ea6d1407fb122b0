"""Derived views of the catalog: release diffs, the update feed and one release's manifest."""

from __future__ import annotations

from dataclasses import dataclass, field

from packaging.version import Version

from astronomer_plugins.feed import FeedMetadata, FeedMigrations, FeedRelease, ReleaseManifest, RuntimeFeed
from astronomer_runtime.catalog.catalog import Catalog
from astronomer_runtime.catalog.models import Release


@dataclass(frozen=True)
class VersionChange:
    name: str
    old: str | None
    new: str | None

    @property
    def kind(self) -> str:
        if self.old is None:
            return "added"
        if self.new is None:
            return "removed"
        if Version(self.new) > Version(self.old):
            return "upgraded"
        if Version(self.new) < Version(self.old):
            return "downgraded"
        return "unchanged"


@dataclass(frozen=True)
class ReleaseDiff:
    old: Release
    new: Release
    changes: list[VersionChange] = field(default_factory=list)
    db_migration: bool = False

    def by_kind(self, kind: str) -> list[VersionChange]:
        return [change for change in self.changes if change.kind == kind]


def crossed(catalog: Catalog, old: Release, new: Release) -> list[Release]:
    """The releases a move between `old` and `new` crosses, in either direction: every release after
    the older one, up to and including the newer one, oldest first."""
    low, high = sorted((old, new), key=lambda release: release.sort_key)
    return [release for release in catalog.releases if low.sort_key < release.sort_key <= high.sort_key]


def diff(catalog: Catalog, old: Release, new: Release) -> ReleaseDiff:
    """What moving from `old` to `new` changes; a migration is needed when any release crossed needs one."""
    changes = [VersionChange("apache-airflow", old.airflow, new.airflow)]
    for name in sorted(set(old.providers) | set(new.providers)):
        changes.append(VersionChange(name, old.providers.get(name), new.providers.get(name)))
    migration = any(release.db_migration for release in crossed(catalog, old, new))
    return ReleaseDiff(old, new, changes, migration)


def feed(catalog: Catalog) -> RuntimeFeed:
    """The update feed as Astro-compatible JSON (`runtimeVersionsV3`)."""
    entries = {}
    for release in catalog.releases:
        lifecycle = catalog.lifecycle(release)
        entries[release.name] = FeedRelease(
            metadata=FeedMetadata(
                airflow_version=release.airflow,
                channel=release.channel.value,
                release_date=release.release_date,
                end_of_maintenance=lifecycle.end_of_maintenance,
                end_of_basic_support=lifecycle.end_of_basic_support,
                lts=release.lts,
                yanked=release.yanked,
                python_versions=list(release.python.supported),
                default_python_version=release.python.default,
            ),
            migrations=FeedMigrations(airflow_database=release.db_migration),
        )
    return RuntimeFeed(runtime_versions_v3=entries)


def manifest(release: Release) -> ReleaseManifest:
    """The curated content of one release, shipped next to the feed for the plugin's Runtime page."""
    return ReleaseManifest(
        name=release.name, airflow_version=release.airflow, providers=dict(release.providers)
    )
