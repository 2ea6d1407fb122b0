"""Anonymous logins against a control plane that accepts TCP and never answers: they take their own
few threads (the rest are refused at once with 503), never the thread pool Airflow's synchronous
endpoints share, and each exchange thread ends before its login's deadline."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import anyio
import pytest
from anyio import to_thread

from astronomer_plugins.auth import login
from astronomer_plugins.auth.context import login_client
from astronomer_plugins.auth.discovery import Endpoints

LOGIN_TIMEOUT = 2
ANYIO_DEFAULT_THREADS = 40  # anyio's shared default limiter, which Airflow's sync routes use
CALLBACKS = ANYIO_DEFAULT_THREADS + 5


@pytest.fixture
def black_hole() -> Iterator[str]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(500)  # the kernel completes handshakes; nobody ever reads or answers
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    server.close()


def test_logins_against_a_silent_control_plane_take_no_shared_threads(black_hole: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(login, "redirect_uri", lambda: "http://127.0.0.1/auth/callback")

    def unused(*args: object, **kwargs: object) -> None:
        raise AssertionError("a login against a silent control plane got past the code exchange")

    endpoints = Endpoints(f"{black_hole}/authorize", None, token_path="/oauth/token", jwks_path="/jwks")
    client = login_client(black_hole, LOGIN_TIMEOUT)
    service = login.LoginService(
        deployment_id="dep_limits",
        endpoints=lambda: endpoints,
        login_timeout=LOGIN_TIMEOUT,
        verify=unused,
        exchange_code=lambda **form: client.exchange_code(path=endpoints.token_path, **form),
        mint=unused,
        sign_state=unused,
        read_state=unused,
        report_unavailable=unused,
    )
    outcomes: list[tuple[int, float]] = []

    async def one_login() -> None:
        started = time.monotonic()
        try:
            await login._redeem(service, code="c", verifier="v" * 43)
        except login.LoginError as error:
            outcomes.append((error.status, time.monotonic() - started))

    async def trivial_thread_call() -> float:
        started = time.monotonic()
        await to_thread.run_sync(lambda: None)
        return time.monotonic() - started

    async def main() -> float:
        async with anyio.create_task_group() as group:
            for _ in range(CALLBACKS):
                group.start_soon(one_login)
            await anyio.sleep(0.3)  # every login has started; the admitted ones wait on the black hole
            return max([await trivial_thread_call() for _ in range(3)])

    worst = anyio.run(main)
    refused = [elapsed for status, elapsed in outcomes if status == 503]
    admitted = [(status, elapsed) for status, elapsed in outcomes if status != 503]
    print(f"\ntrivial to_thread call worst {worst * 1000:.0f} ms; {len(refused)} refused, admitted: {admitted}")
    assert worst < 0.2, f"a trivial to_thread call waited {worst:.2f}s behind pending logins"
    assert len(outcomes) == CALLBACKS
    assert len(admitted) == login.EXCHANGE_THREADS and len(refused) == CALLBACKS - login.EXCHANGE_THREADS
    assert max(refused) < 0.2  # refused at once, not queued
    # each admitted exchange thread gave up on its own (read timeout, 502) before the login's deadline (504)
    assert {status for status, _ in admitted} == {502} and max(elapsed for _, elapsed in admitted) < LOGIN_TIMEOUT
