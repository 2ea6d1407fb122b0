"""Fixtures of the metrics tests: a receiving UDP socket, and a clean per-process metrics state."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from astronomer_plugins.agent import lifecycle
from astronomer_plugins.metrics import emit, listener


@pytest.fixture
def udp_receiver() -> Iterator[socket.socket]:
    """A UDP socket on 127.0.0.1 that stands in for a statsd daemon in unit tests."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    try:
        yield sock
    finally:
        sock.close()


@pytest.fixture(autouse=True)
def _fresh_metrics_state() -> Iterator[None]:
    listener._reset_after_fork()
    emit._reset_after_fork()
    yield
    lifecycle.stop()
    listener._reset_after_fork()
    emit._reset_after_fork()


def receive_lines(sock: socket.socket) -> list[str]:
    data, _ = sock.recvfrom(65535)
    return data.decode("ascii").split("\n")
