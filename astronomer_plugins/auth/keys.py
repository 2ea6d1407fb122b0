"""The control plane's signing keys (JWKS), cached.

Steady state: keys come from memory; a background loop refreshes them when the TTL is due. A token
with an unknown `kid` may refresh on the request path, at most once per `min_refresh_interval`
(so forged kids cannot cause a refresh storm). If the control plane stays unreachable, the cached
keys keep working until TTL + grace; after that every control-plane token is refused (fail closed).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

import jwt

from astronomer_plugins.errors import ControlPlaneError, TokenRejected

log = logging.getLogger(__name__)
ALLOWED_ALGORITHMS = ("RS256",)


class JwksCache:
    def __init__(
        self,
        fetch: Callable[[], dict[str, Any]],
        *,
        ttl: float,
        grace: float,
        min_refresh_interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._ttl, self._grace, self._min_refresh = ttl, grace, min_refresh_interval
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._last_attempt = -math.inf
        self._lock = threading.Lock()
        self.refreshes = 0

    @property
    def fetched_at(self) -> float | None:
        return self._fetched_at

    def due(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at >= self._ttl

    def refresh(self) -> None:
        """Fetch the JWKS now (raises ControlPlaneError when the control plane cannot answer)."""
        with self._lock:
            self._last_attempt = self._clock()
            self.refreshes += 1
        document = self._fetch()
        keys = {}
        for entry in document.get("keys", []) if isinstance(document, dict) else []:
            if entry.get("kty") != "RSA" or entry.get("alg", "RS256") not in ALLOWED_ALGORITHMS or "kid" not in entry:
                continue
            if entry.get("use", "sig") != "sig":
                continue
            try:
                keys[entry["kid"]] = jwt.PyJWK(entry, algorithm="RS256")
            except jwt.PyJWTError as exc:
                log.warning("Ignoring an unusable key %s in the control plane's JWKS: %s", entry.get("kid"), exc)
        with self._lock:
            self._keys, self._fetched_at = keys, self._clock()

    def key(self, kid: str) -> jwt.PyJWK:
        """The key for `kid`, from memory; see the module docstring for when this touches the network."""
        now = self._clock()
        if self._fetched_at is not None and now - self._fetched_at > self._ttl + self._grace:
            raise TokenRejected("the control plane's signing keys are stale (control plane unreachable); failing closed")
        key = self._keys.get(kid)
        if key is not None:
            return key
        if now - self._last_attempt >= self._min_refresh:
            try:
                self.refresh()
            except ControlPlaneError as exc:
                log.warning("Could not refresh the control plane's signing keys: %s", exc)
            key = self._keys.get(kid)
        if key is None:
            raise TokenRejected("the token's key id is not among the control plane's signing keys")
        return key
