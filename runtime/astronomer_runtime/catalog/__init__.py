"""The Runtime catalog (versions.yaml): models, validation, lifecycle policy."""

from __future__ import annotations

from astronomer_runtime.catalog.catalog import Catalog
from astronomer_runtime.catalog.lifecycle import Lifecycle, SupportStatus
from astronomer_runtime.catalog.loader import load_catalog, parse_catalog
from astronomer_runtime.catalog.models import Channel, Release

__all__ = ["Catalog", "Channel", "Lifecycle", "Release", "SupportStatus", "load_catalog", "parse_catalog"]
