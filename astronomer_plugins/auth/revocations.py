"""Revoked control-plane tokens, polled in the background (never per request).

The list is only as good as its last successful poll: past `max_staleness` seconds without one (or
before the first one), `check_fresh` refuses, so an outage or a rejected agent token can never let
a revoked token back in (fail closed). A revoked entry is kept until its token's `exp + leeway`,
where the leeway (`revocation_leeway`) covers the last moment verification could still accept that
token or an Airflow session made from it.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from astronomer_plugins.errors import VerificationUnavailable

if TYPE_CHECKING:
    from astronomer_plugins.control_plane.client import ControlPlaneClient

MAX_PAGES_PER_POLL = 50


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def revocation_leeway(auth_leeway: float, jwt_leeway: float) -> float:
    """How long past its `exp` a revoked token's entry must be kept. The token itself is accepted until
    `exp + auth_leeway`; a session made from it expires at most at `exp` plus one second of rounding
    (login.session_seconds), and Airflow accepts it until that plus `[api_auth] jwt_leeway`."""
    return max(auth_leeway, jwt_leeway) + 1


class RevocationList:
    def __init__(
        self,
        *,
        leeway: float = 0.0,
        max_staleness: float = math.inf,
        wall_clock: Callable[[], dt.datetime] = _utcnow,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._revoked: dict[str, dt.datetime | None] = {}
        self._cursor = ""
        self._lock = threading.Lock()
        self._leeway = dt.timedelta(seconds=leeway)
        self._max_staleness = max_staleness
        self._wall_clock, self._clock = wall_clock, clock
        self._synced_monotonic: float | None = None
        self.synced_at: dt.datetime | None = None

    def after_fork(self) -> None:
        """In a forked child: a new lock (a parent's thread may have held the old one at the fork)."""
        self._lock = threading.Lock()

    def is_revoked(self, jti: str) -> bool:
        return jti in self._revoked

    def age(self) -> float | None:
        """Seconds since the last successful poll (None: never polled successfully)."""
        synced = self._synced_monotonic
        return None if synced is None else self._clock() - synced

    def check_fresh(self) -> None:
        """Raise VerificationUnavailable when the list cannot be trusted to name every revoked token."""
        age = self.age()
        if age is None:
            raise VerificationUnavailable(
                "the revocation list has not been fetched from the control plane yet"
            )
        if age > self._max_staleness:
            raise VerificationUnavailable(
                f"the revocation list is {age:.1f}s old (more than {self._max_staleness:g}s): "
                "control plane unreachable"
            )

    def poll(self, client: ControlPlaneClient, deployment_id: str) -> int:
        """Fetch revocations since the last cursor; returns how many were new. Raises
        ControlPlaneError (the list then stays as it was and ages)."""
        added = 0
        for _ in range(MAX_PAGES_PER_POLL):
            previous = self._cursor
            page = client.revoked_tokens(deployment_id, since=previous)
            with self._lock:
                for entry in page.revoked:
                    added += entry.jti not in self._revoked
                    self._revoked[entry.jti] = entry.expires_at
                self._cursor = page.cursor
            if not page.revoked or page.cursor == previous:
                break
        else:  # more pages than one poll takes: not caught up yet, so not fresh; the next poll goes on
            self._prune()
            return added
        self._prune()
        self._synced_monotonic = self._clock()
        self.synced_at = self._wall_clock()
        return added

    def _prune(self) -> None:
        """Forget revocations of tokens that verification refuses anyway (past exp + leeway)."""
        horizon = self._wall_clock() - self._leeway
        with self._lock:
            self._revoked = {jti: exp for jti, exp in self._revoked.items() if exp is None or exp > horizon}
