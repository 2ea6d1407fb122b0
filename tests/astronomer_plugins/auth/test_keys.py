"""The JWKS cache against a real control plane that then goes away (a controllable clock stands in
for waiting out the TTL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from astronomer_plugins.auth.keys import JwksCache
from astronomer_plugins.control_plane.client import ControlPlaneClient, RetryPolicy
from astronomer_plugins.errors import TokenRejected, VerificationUnavailable
from tests.support.servers import ControlPlaneServer

pytestmark = pytest.mark.integration
JWKS_PATH = "/.well-known/jwks.json"  # the reference control plane's (what its discovery document names)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_cached_keys_outlive_an_outage_until_ttl_plus_grace(tmp_path: Path) -> None:
    server = ControlPlaneServer(tmp_path / "cp").start()
    kid = next((tmp_path / "cp" / "keys").glob("*.pem")).stem
    clock = Clock()
    client = ControlPlaneClient(server.url, retry=RetryPolicy(attempts=1))
    cache = JwksCache(lambda: client.jwks(JWKS_PATH), ttl=600, grace=3600, min_refresh_interval=30, clock=clock)
    try:
        cache.refresh()
        assert cache.key(kid).key_id == kid
    finally:
        server.stop()
    clock.now += 600 + 3600 - 1  # control plane gone; TTL passed, still within grace
    assert cache.due()
    assert cache.key(kid).key_id == kid
    clock.now += 2  # past TTL + grace: fail closed
    with pytest.raises(VerificationUnavailable, match="stale"):
        cache.key(kid)


def test_unknown_kids_ask_for_a_background_refresh_at_most_once_per_interval(tmp_path: Path) -> None:
    """key() never fetches: an unknown kid is refused at once and wakes the background thread (here
    the test plays that thread), at most once per min_refresh_interval."""
    server = ControlPlaneServer(tmp_path / "cp").start()
    clock = Clock()
    wakes: list[float] = []
    client = ControlPlaneClient(server.url)
    cache = JwksCache(
        lambda: client.jwks(JWKS_PATH),
        ttl=600,
        grace=3600,
        min_refresh_interval=30,
        clock=clock,
        wake=lambda: wakes.append(clock.now),
    )
    try:
        cache.refresh()
        for attempt in range(10):
            with pytest.raises(TokenRejected, match="key id"):
                cache.key(f"forged-{attempt}")
        assert (cache.refreshes, wakes, cache.due()) == (1, [], False)  # within the interval: nothing asked
        clock.now += 31
        for attempt in range(10):
            with pytest.raises(TokenRejected, match="key id"):
                cache.key(f"forged-later-{attempt}")
        assert (cache.refreshes, wakes, cache.due()) == (1, [1031.0], True)  # one wake, no fetch on this thread
        cache.refresh()  # what the background thread does when woken
        assert (cache.refreshes, cache.due()) == (2, False)
        rotated = server.run("rotate-keys")
        assert rotated.returncode == 0
        new_kid = rotated.stdout.split()[3].rstrip(";")
        clock.now += 31
        with pytest.raises(TokenRejected, match="key id"):
            cache.key(new_kid)  # a real rotation: refused once, never fetched on the caller's thread ...
        assert (cache.refreshes, len(wakes)) == (2, 2)
        cache.refresh()
        assert cache.key(new_kid).key_id == new_kid  # ... and known right after the background refresh
    finally:
        server.stop()


def test_no_keys_yet_is_unavailable_not_a_fetch(tmp_path: Path) -> None:
    """Before the first fetch (fresh start, control plane down) tokens are refused as unavailable (503)."""
    fetches: list[int] = []
    cache = JwksCache(lambda: fetches.append(1) or {}, ttl=600, grace=3600, min_refresh_interval=30)
    with pytest.raises(VerificationUnavailable, match="not been fetched"):
        cache.key("any")
    assert fetches == [] and cache.due()
