"""The validated catalog: releases in version order, their lines and their lifecycle dates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from astronomer_runtime.catalog.lifecycle import (
    Lifecycle,
    SupportStatus,
    end_of_basic_support,
    end_of_maintenance,
    support_status,
)
from astronomer_runtime.catalog.models import Channel, Release
from astronomer_runtime.errors import UnknownReleaseError


class Catalog:
    """Every Runtime release; built by `loader.load_catalog`, which validates first."""

    def __init__(self, releases: Iterable[Release]) -> None:
        self.releases: list[Release] = sorted(releases, key=lambda release: release.sort_key)

    @property
    def names(self) -> list[str]:
        return [release.name for release in self.releases]

    def get(self, name: str) -> Release:
        for release in self.releases:
            if release.name == name:
                return release
        raise UnknownReleaseError(name, self.names)

    def line_of(self, release: Release) -> list[Release]:
        return [other for other in self.releases if other.line == release.line]

    def previous(self, release: Release) -> Release | None:
        """The release just before this one in version order (the one an upgrade comes from)."""
        index = self.releases.index(release)
        return self.releases[index - 1] if index else None

    def newest_stable(self, python: str | None = None) -> Release:
        """The newest stable, non-yanked release (supporting `python` when given)."""
        candidates = [
            release
            for release in self.releases
            if release.channel is Channel.STABLE
            and not release.yanked
            and (python is None or python in release.python.supported)
        ]
        if not candidates:
            wanted = f" for Python {python}" if python else ""
            raise UnknownReleaseError(f"<newest stable{wanted}>", self.names)
        return candidates[-1]

    def lifecycle(self, release: Release) -> Lifecycle:
        """Catalog dates where written, else the policy's (see lifecycle.py)."""
        maintenance_end = release.end_of_maintenance or self._computed_end_of_maintenance(release)
        basic_support_end = release.end_of_basic_support or end_of_basic_support(maintenance_end)
        return Lifecycle(maintenance_end, basic_support_end)

    def status(self, release: Release, on: dt.date) -> SupportStatus:
        return support_status(self.lifecycle(release), yanked=release.yanked, on=on)

    def _line_start(self, line: str) -> dt.date:
        releases = [release for release in self.releases if release.line == line]
        counted = [release for release in releases if not release.is_preview] or releases
        return min(release.release_date for release in counted)

    def _line_is_lts(self, line: str) -> bool:
        return any(release.lts for release in self.releases if release.line == line)

    def _computed_end_of_maintenance(self, release: Release) -> dt.date:
        later_line_names = sorted(
            {other.line for other in self.releases if other.sort_key[:2] > release.sort_key[:2]},
            key=lambda line: tuple(int(part) for part in line.split(".")),
        )
        next_line = later_line_names[0] if later_line_names else None
        next_lts = next((line for line in later_line_names if self._line_is_lts(line)), None)
        return end_of_maintenance(
            self._line_start(release.line),
            lts=self._line_is_lts(release.line),
            next_line_start=self._line_start(next_line) if next_line else None,
            next_lts_start=self._line_start(next_lts) if next_lts else None,
        )
