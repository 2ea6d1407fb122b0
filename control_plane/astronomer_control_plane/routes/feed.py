"""GET /v1/runtime-releases: the update feed, the same JSON as `astro-runtime feed`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from astronomer_control_plane.context import ControlPlane, control_plane
from astronomer_control_plane.errors import NotFound

router = APIRouter(tags=["releases"])


@router.get("/v1/runtime-releases")
def runtime_releases(cp: ControlPlane = Depends(control_plane)) -> dict[str, Any]:
    # The build tooling owns the catalog; the reference control plane is development-only, so it
    # reads versions.yaml through it rather than keeping a copy.
    from astronomer_runtime.catalog import load_catalog
    from astronomer_runtime.catalog.views import feed
    from astronomer_runtime.paths import CATALOG_FILE

    catalog_file = cp.settings.catalog_file or CATALOG_FILE
    if not catalog_file.exists():
        raise NotFound(f"no catalog at {catalog_file}", field="catalog")
    return feed(load_catalog(catalog_file)).model_dump(mode="json", by_alias=True)
