"""The api-server's background view of the outside world, so page requests never wait on a network.

One daemon thread per api-server worker (started at lifespan startup) keeps:
- the release feed: the control plane's `/v1/runtime-releases`, fetched at most every
  `update_check_interval_hours` (a failed fetch is retried hourly); until a fetch succeeds, or
  without a control plane at all (air-gapped), the offline feed shipped in the image is used;
- the deployment's profile (names) and its components' statuses, refreshed every heartbeat interval;
- its DAG deploys (the current one and the recent history), refreshed with them.
Page requests read the latest snapshot only.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel

from astronomer_plugins import config
from astronomer_plugins.errors import AstronomerConfigError, ControlPlaneError
from astronomer_plugins.feed import ReleaseManifest, RuntimeFeed

if TYPE_CHECKING:
    from astronomer_plugins.control_plane.client import ControlPlaneClient
    from astronomer_plugins.control_plane.models import ComponentStatus, Deploy, DeploymentProfile

log = logging.getLogger(__name__)
Model = TypeVar("Model", bound=BaseModel)

FAILED_CHECK_RETRY_SECONDS = 3600.0
OFFLINE_SOURCE = "offline catalog"
CONTROL_PLANE_SOURCE = "control plane"


def _read_json(option: config.Option) -> tuple[dict | None, str | None]:
    """A JSON file named by a setting: (content, None) or (None, why not) naming file and setting."""
    path = config.get(option)
    if not path:
        return None, f"[astronomer] {option.key} is empty"
    try:
        return json.loads(Path(path).read_text(encoding="utf-8")), None
    except FileNotFoundError:
        return None, f"{path} does not exist ([astronomer] {option.key})"
    except (OSError, ValueError) as exc:
        return None, f"{path} cannot be read ({exc}); fix the file or [astronomer] {option.key}"


def _load(option: config.Option, model: type[Model], what: str) -> tuple[Model | None, str | None]:
    data, problem = _read_json(option)
    if data is None:
        return None, problem
    try:
        return model.model_validate(data), None
    except ValueError as exc:
        return None, f"{config.get(option)} is not {what}: {exc}"


def load_offline_feed() -> tuple[RuntimeFeed | None, str | None]:
    return _load(config.OFFLINE_FEED_FILE, RuntimeFeed, "a release feed")


def load_manifest() -> tuple[ReleaseManifest | None, str | None]:
    return _load(config.RELEASE_MANIFEST_FILE, ReleaseManifest, "a release manifest")


@dataclass(frozen=True)
class Snapshot:
    """What the page shows about the outside world; replaced whole, never mutated."""

    feed: RuntimeFeed | None = None
    feed_source: str = ""
    feed_checked_at: dt.datetime | None = None
    feed_problem: str | None = None
    profile: DeploymentProfile | None = None
    components: list[ComponentStatus] | None = None
    components_checked_at: dt.datetime | None = None
    control_plane_problem: str | None = None
    deploys: list[Deploy] | None = None  # newest first
    deploys_checked_at: dt.datetime | None = None
    deploys_problem: str | None = None


@dataclass
class RuntimeInfoSync:
    snapshot: Snapshot = field(default_factory=Snapshot)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _next_feed_check: float = 0.0

    def __post_init__(self) -> None:
        feed, problem = load_offline_feed()
        self.snapshot = Snapshot(feed=feed, feed_source=OFFLINE_SOURCE if feed else "", feed_problem=problem)

    def _client(self) -> tuple[ControlPlaneClient, str] | None:
        if not config.get(config.CONTROL_PLANE_URL):
            return None
        from astronomer_plugins.control_plane.client import UI_SYNC, client_for

        client = client_for(UI_SYNC)
        return client, config.require(config.DEPLOYMENT_ID)

    def refresh(self, now: float | None = None) -> None:
        """One round: the feed when due, then profile and components. Never raises."""
        now = time.monotonic() if now is None else now
        try:
            connection = self._client()
        except AstronomerConfigError as exc:
            self.snapshot = replace(self.snapshot, control_plane_problem=str(exc))
            return
        if connection is None:
            return
        client, deployment_id = connection
        try:
            if now >= self._next_feed_check:
                self._check_feed(client, now)
            self._check_deployment(client, deployment_id)
            self._check_deploys(client, deployment_id)
        finally:
            client.close()

    def _check_feed(self, client: ControlPlaneClient, now: float) -> None:
        try:
            feed = RuntimeFeed.model_validate(client.runtime_releases())
        except (ControlPlaneError, ValueError) as exc:
            self._next_feed_check = now + min(FAILED_CHECK_RETRY_SECONDS, _update_interval())
            log.warning(
                "Runtime update check failed, showing the %s feed: %s", self.snapshot.feed_source or "no", exc
            )
            self.snapshot = replace(self.snapshot, feed_problem=f"update check failed: {exc}")
            return
        self._next_feed_check = now + _update_interval()
        self.snapshot = replace(
            self.snapshot,
            feed=feed,
            feed_source=CONTROL_PLANE_SOURCE,
            feed_checked_at=dt.datetime.now(dt.UTC),
            feed_problem=None,
        )

    def _check_deployment(self, client: ControlPlaneClient, deployment_id: str) -> None:
        try:
            profile = client.deployment_profile(deployment_id)
            components = client.components(deployment_id)
        except ControlPlaneError as exc:
            self.snapshot = replace(self.snapshot, control_plane_problem=str(exc))
            return
        self.snapshot = replace(
            self.snapshot,
            profile=profile,
            components=components,
            components_checked_at=dt.datetime.now(dt.UTC),
            control_plane_problem=None,
        )

    def _check_deploys(self, client: ControlPlaneClient, deployment_id: str) -> None:
        try:
            deploys = client.deploys(deployment_id)
        except ControlPlaneError as exc:
            self.snapshot = replace(self.snapshot, deploys_problem=str(exc))
            return
        now = dt.datetime.now(dt.UTC)
        self.snapshot = replace(self.snapshot, deploys=deploys, deploys_checked_at=now, deploys_problem=None)

    def start(self) -> None:
        if self._thread is not None:
            return
        from astronomer_plugins.control_plane.preload import preload

        preload("astronomer_plugins.feed")  # the thread must never import (fork safety)
        self._thread = threading.Thread(target=self._loop, name="astronomer-runtime-info", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            try:
                self.refresh()
            except Exception:  # noqa: BLE001 - background work never dies
                log.exception("Runtime page refresh failed; trying again later")
            if self._stop.wait(_refresh_interval()):
                return

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)


def _update_interval() -> float:
    try:
        return config.get_float(config.UPDATE_CHECK_INTERVAL_HOURS) * 3600
    except AstronomerConfigError as exc:
        log.error("%s; checking daily", exc)
        return 86400.0


def _refresh_interval() -> float:
    try:
        return float(config.get_int(config.HEARTBEAT_INTERVAL))
    except AstronomerConfigError:
        return 30.0


_sync: RuntimeInfoSync | None = None
_sync_lock = threading.Lock()


def current() -> RuntimeInfoSync:
    """This process's sync (created on first use; the thread starts at api-server startup)."""
    global _sync
    with _sync_lock:
        if _sync is None:
            _sync = RuntimeInfoSync()
        return _sync


def start() -> None:
    """Lifespan startup of an api-server worker."""
    current().start()


def stop() -> None:
    if _sync is not None:
        _sync.stop()
