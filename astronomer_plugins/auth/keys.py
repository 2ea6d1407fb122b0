"""The control plane's signing keys (JWKS), cached.

Keys always come from memory: nothing here touches the network on the request path. The auth
context's background thread refreshes them when the TTL is due. A token with an unknown `kid` is
refused at once and *asks* for a background refresh, at most once per `min_refresh_interval` (so
forged kids can neither stall a request nor cause a refresh storm); a real key rotation is picked
up a moment later. If the control plane stays unreachable, the cached keys keep working until
TTL + grace; after that every control-plane token is refused (fail closed).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

import jwt

from astronomer_plugins.errors import TokenRejected, VerificationUnavailable

log = logging.getLogger(__name__)
ALLOWED_ALGORITHMS = ("RS256",)


def _parse(document: Any) -> dict[str, jwt.PyJWK]:
    keys = {}
    for entry in document.get("keys", []) if isinstance(document, dict) else []:
        if not isinstance(entry, dict):
            continue
        algorithm = entry.get("alg", "RS256")
        if entry.get("kty") != "RSA" or algorithm not in ALLOWED_ALGORITHMS or "kid" not in entry:
            continue
        if entry.get("use", "sig") != "sig":
            continue
        try:
            keys[entry["kid"]] = jwt.PyJWK(entry, algorithm="RS256")
        except jwt.PyJWTError as exc:
            log.warning("Ignoring an unusable key %s in the control plane's JWKS: %s", entry.get("kid"), exc)
    return keys


class JwksCache:
    def __init__(
        self,
        fetch: Callable[[], dict[str, Any]],
        *,
        ttl: float,
        grace: float,
        min_refresh_interval: float,
        clock: Callable[[], float] = time.monotonic,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self._fetch = fetch
        self._ttl, self._grace, self._min_refresh = ttl, grace, min_refresh_interval
        self._clock = clock
        self._wake = wake
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._last_attempt = -math.inf
        self._wanted = False
        self._lock = threading.Lock()
        self.refreshes = 0

    @property
    def fetched_at(self) -> float | None:
        return self._fetched_at

    def due(self) -> bool:
        """Whether the background thread should refresh now: TTL passed, or an unknown kid asked."""
        return self._wanted or self._fetched_at is None or self._clock() - self._fetched_at >= self._ttl

    def refresh(self) -> None:
        """Fetch the JWKS now (blocking; background thread only). Raises ControlPlaneError when the
        control plane cannot answer."""
        with self._lock:
            self._last_attempt = self._clock()
            self._wanted = False
            self.refreshes += 1
        keys = _parse(self._fetch())
        with self._lock:
            self._keys, self._fetched_at = keys, self._clock()

    def key(self, kid: str) -> jwt.PyJWK:
        """The key for `kid`, from memory only. An unknown kid is refused now and asks for a refresh."""
        now = self._clock()
        if self._fetched_at is None:
            raise VerificationUnavailable("the control plane's signing keys have not been fetched yet")
        if now - self._fetched_at > self._ttl + self._grace:
            raise VerificationUnavailable(
                "the control plane's signing keys are stale (control plane unreachable)"
            )
        key = self._keys.get(kid)
        if key is not None:
            return key
        self._request_refresh(now)
        raise TokenRejected("the token's key id is not among the control plane's signing keys")

    def _request_refresh(self, now: float) -> None:
        """Ask the background thread for a refresh, at most once per `min_refresh_interval`."""
        with self._lock:
            if self._wanted or now - self._last_attempt < self._min_refresh:
                return
            self._wanted = True
            self._last_attempt = now  # counts as an attempt: the next one is min_refresh away
        self._wake()
