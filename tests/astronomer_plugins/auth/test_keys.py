"""The JWKS cache against a real control plane that then goes away (a controllable clock stands in
for waiting out the TTL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from astronomer_plugins.auth.keys import JwksCache
from astronomer_plugins.control_plane.client import ControlPlaneClient, RetryPolicy
from astronomer_plugins.errors import TokenRejected
from tests.servers import ControlPlaneServer

pytestmark = pytest.mark.integration


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
    cache = JwksCache(client.jwks, ttl=600, grace=3600, min_refresh_interval=30, clock=clock)
    try:
        cache.refresh()
        assert cache.key(kid).key_id == kid
    finally:
        server.stop()
    clock.now += 600 + 3600 - 1  # control plane gone; TTL passed, still within grace
    assert cache.due()
    assert cache.key(kid).key_id == kid
    clock.now += 2  # past TTL + grace: fail closed
    with pytest.raises(TokenRejected, match="stale"):
        cache.key(kid)


def test_unknown_kids_refresh_at_most_once_per_interval(tmp_path: Path) -> None:
    server = ControlPlaneServer(tmp_path / "cp").start()
    clock = Clock()
    cache = JwksCache(ControlPlaneClient(server.url).jwks, ttl=600, grace=3600, min_refresh_interval=30, clock=clock)
    try:
        cache.refresh()
        for attempt in range(10):
            with pytest.raises(TokenRejected, match="key id"):
                cache.key(f"forged-{attempt}")
        assert cache.refreshes == 1  # within the interval after the last refresh: none at all
        clock.now += 31
        for attempt in range(10):
            with pytest.raises(TokenRejected):
                cache.key(f"forged-later-{attempt}")
        assert cache.refreshes == 2  # one for the first unknown kid after the interval
        rotated = server.run("rotate-keys")
        assert rotated.returncode == 0
        new_kid = rotated.stdout.split()[3].rstrip(";")
        clock.now += 31
        assert cache.key(new_kid).key_id == new_kid  # a real rotation is picked up on first sight
    finally:
        server.stop()
