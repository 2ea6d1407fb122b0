"""Wire format of the update feed (`runtimeVersionsV3`, Astro-compatible).

Defined once here and used by both sides: the build tooling and the control plane produce it, the
plugin reads it (upgrade notices). Imports pydantic, so only import it where the feed is used.
"""

from __future__ import annotations

import datetime as dt
import re

from pydantic import BaseModel, ConfigDict, Field

# A release name, `<major>.<minor>-<n>` (3.3-2): the feed's keys, the catalog's names, the image's label.
RELEASE_NAME = re.compile(r"^(?P<major>\d+)\.(?P<minor>\d+)-(?P<n>[1-9]\d*)$")


class _FeedModel(BaseModel):
    # A feed evolves: an image's plugin reads the feed of newer control planes, so fields it does not
    # know are ignored, and fields added later have defaults (older feeds still parse).
    model_config = ConfigDict(populate_by_name=True, extra="ignore")


class FeedMetadata(_FeedModel):
    airflow_version: str = Field(alias="airflowVersion")
    channel: str
    release_date: dt.date = Field(alias="releaseDate")
    end_of_maintenance: dt.date = Field(alias="endOfMaintenance")
    end_of_basic_support: dt.date = Field(alias="endOfBasicSupport")
    lts: bool = Field(alias="LTS")
    yanked: bool
    python_versions: list[str] = Field(default_factory=list, alias="pythonVersions")
    default_python_version: str | None = Field(default=None, alias="defaultPythonVersion")


class FeedMigrations(_FeedModel):
    airflow_database: bool = Field(alias="airflowDatabase")


class FeedRelease(_FeedModel):
    metadata: FeedMetadata
    migrations: FeedMigrations


class RuntimeFeed(_FeedModel):
    runtime_versions_v3: dict[str, FeedRelease] = Field(alias="runtimeVersionsV3")

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True, indent=2)


class ReleaseManifest(_FeedModel):
    """What one release curates (`/etc/astronomer/runtime-release.json` in the image): the Runtime
    page compares it with what is installed to show customer-added or changed providers."""

    name: str
    airflow_version: str = Field(alias="airflowVersion")
    providers: dict[str, str]

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True, indent=2)
