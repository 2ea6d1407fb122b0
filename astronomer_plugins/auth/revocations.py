"""Revoked control-plane tokens, polled in the background (never per request)."""

from __future__ import annotations

import datetime as dt
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from astronomer_plugins.control_plane.client import ControlPlaneClient

MAX_PAGES_PER_POLL = 50


class RevocationList:
    def __init__(self) -> None:
        self._revoked: dict[str, dt.datetime | None] = {}
        self._cursor = ""
        self._lock = threading.Lock()
        self.synced_at: dt.datetime | None = None

    def is_revoked(self, jti: str) -> bool:
        return jti in self._revoked

    def poll(self, client: ControlPlaneClient, deployment_id: str) -> int:
        """Fetch revocations since the last cursor; returns how many were new."""
        added = 0
        for _ in range(MAX_PAGES_PER_POLL):
            page = client.revoked_tokens(deployment_id, since=self._cursor)
            with self._lock:
                for entry in page.revoked:
                    added += entry.jti not in self._revoked
                    self._revoked[entry.jti] = entry.expires_at
                self._cursor = page.cursor
            if not page.revoked:
                break
        self._prune()
        self.synced_at = dt.datetime.now(dt.UTC)
        return added

    def _prune(self) -> None:
        """Forget revocations of tokens that have expired anyway (verification refuses those)."""
        now = dt.datetime.now(dt.UTC)
        with self._lock:
            self._revoked = {jti: exp for jti, exp in self._revoked.items() if exp is None or exp > now}
