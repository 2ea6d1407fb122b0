"""GET /v1/runtime-releases: the update feed, the same JSON as `astro-runtime feed`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from astronomer_control_plane.context import ControlPlane, control_plane
from astronomer_control_plane.errors import NotFound

router = APIRouter(tags=["releases"])


@router.get("/v1/runtime-releases")
def runtime_releases(cp: ControlPlane = Depends(control_plane)) -> dict[str, Any]:
    """The update feed of the file named by --feed-file."""
    # The build tooling owns the catalog and writes the file (`astro-runtime feed`, or
    # `astro-runtime control-plane`, which does it for you); the control plane never reads
    # versions.yaml. The file is validated against the wire model the plugin reads. A sync route:
    # FastAPI runs it in its thread pool, so the file read never holds the event loop.
    from pydantic import ValidationError

    from astronomer_plugins.feed import RuntimeFeed

    feed_file = cp.settings.feed_file
    if feed_file is None or not feed_file.is_file():
        raise NotFound(
            f"no update feed: start the control plane with --feed-file (missing: {feed_file})", field="feed"
        )
    try:
        feed = RuntimeFeed.model_validate_json(feed_file.read_bytes())
    except ValidationError as exc:
        raise NotFound(f"{feed_file} is not an update feed: {exc.errors()[0]['msg']}", field="feed") from None
    return feed.model_dump(mode="json", by_alias=True)
